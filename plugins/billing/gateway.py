"""A local fake payment gateway over HTTP on 127.0.0.1: the bank/EMV acquirer protocol, WeChat
Pay v3 Native and Alipay precreate, with real keys and signatures, never the internet.

Tests, ``kiosk simulate`` and the demo's ``sim`` provider use it. It keeps its orders in
memory; :meth:`FakeGateway.pay` plays the payer scanning the QR and returns (and, when a
``deliver`` callback is set, delivers) the provider's signed notification.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import socket
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kiosk.clock import Clock, SystemClock
from plugins.billing import crypto

_CST = dt.timezone(dt.timedelta(hours=8))
Deliver = Callable[[str, dict[str, str], bytes], Any]


@dataclass
class FakeOrder:
    protocol: str  # bank, wechat, alipay
    out_trade_no: str
    amount_fen: int
    status: str = "pending"
    merchant: str = ""
    paid_fen: int | None = None  # what the payer really paid (a test may make it differ)
    txn_id: str = ""
    paid_at: dt.datetime | None = None
    refunds: list[tuple[str, int, dt.datetime]] = field(default_factory=list)


class FakeGateway:
    """One fake gateway serving all three protocols on an ephemeral 127.0.0.1 port."""

    def __init__(self, clock: Clock | None = None, key_bits: int = 2048) -> None:
        self.clock = clock or SystemClock()
        self.bank_secret = secrets.token_hex(16)
        self.mchid, self.appid, self.serial = "1900000109", "wx0000000000demo", "SIMSERIAL01"
        self.app_id = "2021000000000001"
        self.api_v3_key = secrets.token_hex(16)  # 32 ASCII characters, as WeChat issues them
        self.wechat_platform = crypto.new_rsa_key(key_bits)
        self.wechat_merchant = crypto.new_rsa_key(key_bits)
        self.alipay_platform = crypto.new_rsa_key(key_bits)
        self.alipay_app = crypto.new_rsa_key(key_bits)
        self._platform_pem = crypto.private_pem(self.wechat_platform)
        self._alipay_pem = crypto.private_pem(self.alipay_platform)
        self.orders: dict[str, FakeOrder] = {}
        self.requests: list[tuple[str, str]] = []
        self.deliver: Deliver | None = None
        self.lock = threading.Lock()
        # Tests: operations ("refund", "refund_query", "query") whose next answers are lost
        # after the request was carried out (the client times out), and how many.
        self.stalled: dict[str, int] = {}
        # Tests: a query for the key is answered with the value's order (a mixed-up answer).
        self.answer_as: dict[str, str] = {}
        self.released = threading.Event()
        self._serve()

    def _serve(self) -> None:
        self._connections: set[socket.socket] = set()  # the clients' open connections
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _after_fork(self) -> None:
        """In a forked child (a kiosk process of ``kiosk bench concurrency``): the server
        thread stayed in the parent, so serve on a port of our own, with the same keys."""
        self.lock = threading.Lock()
        self._server.socket.close()  # the child's copy; the parent keeps serving
        for conn in self._connections:
            conn.close()  # the child's copies of the parent's clients, not shut down
        self._serve()

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def reset(self) -> None:
        """Forget every order (a fresh statement for the next test or demo run)."""
        self.released.set()
        with self.lock:
            self.orders.clear()
            self.requests.clear()
            self.stalled.clear()
            self.answer_as.clear()
        self.released = threading.Event()

    def stall(self, operation: str, times: int = 1) -> None:
        """Carry out the next ``times`` requests of ``operation`` (``refund``, ``refund_query``,
        ``query``) but withhold their answers until :meth:`release` (or 10 s): the client
        times out not knowing whether it happened."""
        with self.lock:
            self.stalled[operation] = self.stalled.get(operation, 0) + times

    def release(self) -> None:
        self.released.set()

    def _stalls(self, method: str, path: str, body: bytes) -> bool:
        op = _operation(method, path, body)
        with self.lock:
            if op and self.stalled.get(op, 0) > 0:
                self.stalled[op] -= 1
                return True
        return False

    def refunded(self, out_trade_no: str) -> list[tuple[str, int]]:
        """The refunds the provider carried out for an order: (refund number, fen)."""
        with self.lock:
            return [(no, fen) for no, fen, _at in self.orders[out_trade_no].refunds]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        # A stopped gateway answers no more: not on the connections its clients keep either.
        with self.lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def provider_config(self, name: str) -> dict[str, str]:
        """Client-side configuration of provider ``name`` against this gateway."""
        if name in ("sim", "emv-static", "emv-dynamic"):
            # One merchant account per provider, so each gets its own statement.
            merchant = {"sim": "SIM00001", "emv-static": "PM000002", "emv-dynamic": "PM000001"}
            return {
                "base_url": self.url,
                "secret": self.bank_secret,
                "merchant_id": merchant[name],
                "merchant_name": "SUNSHINE GARDEN PM",
                "merchant_city": "SHANGHAI",
                "merchant_name_zh": "阳光花园物业",
                "merchant_city_zh": "上海",
            }
        if name == "wechat-native":
            return {
                "base_url": self.url,
                "mchid": self.mchid,
                "appid": self.appid,
                "serial_no": self.serial,
                "private_key": crypto.private_pem(self.wechat_merchant),
                "platform_public_key": crypto.public_pem(self.wechat_platform),
                "api_v3_key": self.api_v3_key,
                "notify_url": "https://kiosk.invalid/notify/wechat",
            }
        if name == "alipay-precreate":
            return {
                "base_url": self.url + "/gateway.do",
                "app_id": self.app_id,
                "private_key": crypto.private_pem(self.alipay_app),
                "alipay_public_key": crypto.public_pem(self.alipay_platform),
                "notify_url": "https://kiosk.invalid/notify/alipay",
            }
        raise KeyError(name)

    # -- the payer ---------------------------------------------------------------------------

    def pay(self, out_trade_no: str, amount_fen: int | None = None) -> tuple[dict[str, str], bytes]:
        """The payer pays ``out_trade_no`` (optionally a different amount, to test the check)."""
        with self.lock:
            order = self.orders[out_trade_no]
            if order.status == "pending":
                order.status = "paid"
                order.paid_fen = order.amount_fen if amount_fen is None else amount_fen
                order.txn_id = order.txn_id or f"42000{secrets.randbelow(10**12):012d}"
                order.paid_at = self.clock.now()
        notice = self.notification(out_trade_no, amount_fen)
        if self.deliver is not None:
            self.deliver(order.protocol, *notice)
        return notice

    def notification(
        self,
        out_trade_no: str,
        amount_fen: int | None = None,
        at: dt.datetime | None = None,
        currency: str = "CNY",
    ) -> tuple[dict[str, str], bytes]:
        """The signed notification for a paid order (call again for a duplicate delivery)."""
        order = self.orders[out_trade_no]
        amount = amount_fen if amount_fen is not None else (order.paid_fen or order.amount_fen)
        now = at or self.clock.now()
        paid_at = order.paid_at or now
        if order.protocol == "bank":
            body = json.dumps(
                {
                    "event": "payment.succeeded",
                    "out_trade_no": out_trade_no,
                    "txn_id": order.txn_id,
                    "amount_fen": amount,
                    "paid_at": paid_at.isoformat(),
                },
                separators=(",", ":"),
            ).encode()
            ts = str(int(now.timestamp()))
            return {
                "X-Gateway-Timestamp": ts,
                "X-Gateway-Signature": crypto.hmac_sign(self.bank_secret, ts, body),
            }, body
        if order.protocol == "wechat":
            tx = {
                "mchid": self.mchid,
                "appid": self.appid,
                "out_trade_no": out_trade_no,
                "transaction_id": order.txn_id,
                "trade_type": "NATIVE",
                "trade_state": "SUCCESS",
                "success_time": paid_at.astimezone(_CST).isoformat(timespec="seconds"),
                "amount": {
                    "total": amount,
                    "payer_total": amount,
                    "currency": currency,
                    "payer_currency": currency,
                },
            }
            nonce = secrets.token_hex(6)
            text = json.dumps(
                {
                    "id": secrets.token_hex(16),
                    "create_time": now.astimezone(_CST).isoformat(timespec="seconds"),
                    "resource_type": "encrypt-resource",
                    "event_type": "TRANSACTION.SUCCESS",
                    "summary": "支付成功",
                    "resource": {
                        "original_type": "transaction",
                        "algorithm": "AEAD_AES_256_GCM",
                        "ciphertext": crypto.aes_gcm_encrypt(
                            self.api_v3_key, nonce, json.dumps(tx).encode(), "transaction"
                        ),
                        "associated_data": "transaction",
                        "nonce": nonce,
                    },
                },
                ensure_ascii=False,
                separators=(",", ":"),
            )
            return self._wechat_headers(text, now), text.encode()
        params = {
            "notify_time": now.astimezone(_CST).strftime("%Y-%m-%d %H:%M:%S"),
            "notify_type": "trade_status_sync",
            "notify_id": secrets.token_hex(16),
            "app_id": self.app_id,
            "charset": "utf-8",
            "version": "1.0",
            "sign_type": "RSA2",
            "trade_no": order.txn_id,
            "out_trade_no": out_trade_no,
            "trade_status": "TRADE_SUCCESS",
            "total_amount": f"{amount // 100}.{amount % 100:02d}",
            "receipt_amount": f"{amount // 100}.{amount % 100:02d}",
            "gmt_payment": paid_at.astimezone(_CST).strftime("%Y-%m-%d %H:%M:%S"),
        }
        params["sign"] = crypto.rsa_sign(self._alipay_pem, crypto.alipay_content(params))
        return {"Content-Type": "application/x-www-form-urlencoded"}, urllib.parse.urlencode(
            params
        ).encode()

    def _wechat_headers(self, body: str, now: dt.datetime) -> dict[str, str]:
        ts, nonce = str(int(now.timestamp())), secrets.token_hex(16)
        return {
            "Wechatpay-Timestamp": ts,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": "PLATFORM01",
            "Wechatpay-Signature": crypto.rsa_sign(
                self._platform_pem, crypto.wechat_message(ts, nonce, body)
            ),
        }

    def statement_lines(
        self, protocol: str, day: dt.date, merchant: str = ""
    ) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []
        with self.lock:
            for o in self.orders.values():
                if o.protocol != protocol or (merchant and o.merchant != merchant):
                    continue
                if o.paid_at and o.paid_at.astimezone(_CST).date() == day:
                    lines.append(
                        {
                            "out_trade_no": o.out_trade_no,
                            "txn_id": o.txn_id,
                            "amount_fen": o.paid_fen if o.paid_fen is not None else o.amount_fen,
                            "kind": "payment",
                        }
                    )
                for _no, amount, at in o.refunds:
                    if at.astimezone(_CST).date() == day:
                        lines.append(
                            {
                                "out_trade_no": o.out_trade_no,
                                "txn_id": o.txn_id,
                                "amount_fen": amount,
                                "kind": "refund",
                            }
                        )
        return lines

    # -- protocol handlers (called from the HTTP thread) -------------------------------------

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        self.requests.append((method, path.split("?")[0]))
        if path.startswith("/v1/"):
            return self._bank(method, path, headers, body)
        if path.startswith("/v3/") or path.startswith("/download/wechat"):
            return self._wechat(method, path, headers, body)
        if path.startswith("/gateway.do") or path.startswith("/download/alipay"):
            return self._alipay(method, path, body)
        return 404, {}, b""

    def _bank(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        h = {k.lower(): v for k, v in headers.items()}
        if not crypto.hmac_verify(
            self.bank_secret, h.get("x-kiosk-timestamp", ""), body, h.get("x-kiosk-signature", "")
        ):
            return self._bank_answer(401, {"error": "bad signature"})
        url = urllib.parse.urlsplit(path)
        parts = url.path.strip("/").split("/")
        data = json.loads(body) if body else {}
        with self.lock:
            if method == "POST" and parts == ["v1", "orders"]:
                no = data["out_trade_no"]
                self.orders.setdefault(
                    no,
                    FakeOrder(
                        "bank", no, int(data["amount_fen"]), merchant=data.get("merchant_id", "")
                    ),
                )
                return self._bank_answer(200, {"order_id": "G" + no})
            if method == "GET" and parts[:2] == ["v1", "orders"] and len(parts) == 3:
                asked = urllib.parse.unquote(parts[2])
                o = self.orders.get(self.answer_as.get(asked, asked))
                if o is None:
                    return self._bank_answer(404, {"error": "no such order"})
                return self._bank_answer(
                    200,
                    {
                        "out_trade_no": o.out_trade_no,
                        "status": o.status,
                        "txn_id": o.txn_id,
                        "amount_fen": o.amount_fen,
                        "paid_at": o.paid_at.isoformat() if o.paid_at else "",
                    },
                )
            if method == "POST" and len(parts) == 4 and parts[3] == "close":
                o = self.orders.get(urllib.parse.unquote(parts[2]))
                if o is not None and o.status == "pending":
                    o.status = "closed"
                return self._bank_answer(200, {"status": o.status if o else "closed"})
            if method == "POST" and parts == ["v1", "refunds"]:
                o = self.orders[data["out_trade_no"]]
                _refund_once(o, data["refund_no"], int(data["amount_fen"]), self.clock.now())
                return self._bank_answer(200, {"status": "done"})
            if method == "GET" and parts[:2] == ["v1", "refunds"] and len(parts) == 3:
                found = self._find_refund(urllib.parse.unquote(parts[2]))
                if found is None:
                    return self._bank_answer(404, {"error": "no such refund"})
                o, (no, fen, _at) = found
                return self._bank_answer(
                    200,
                    {
                        "refund_no": no,
                        "out_trade_no": o.out_trade_no,
                        "amount_fen": fen,
                        "status": "done",
                    },
                )
        if method == "GET" and parts == ["v1", "statement"]:
            query = urllib.parse.parse_qs(url.query)
            day = dt.date.fromisoformat(query["day"][0])
            merchant = query.get("merchant_id", [""])[0]
            return self._bank_answer(200, {"lines": self.statement_lines("bank", day, merchant)})
        return self._bank_answer(404, {"error": "unknown"})

    def _find_refund(self, refund_no: str) -> tuple[FakeOrder, tuple[str, int, dt.datetime]] | None:
        for o in self.orders.values():
            for r in o.refunds:
                if r[0] == refund_no:
                    return o, r
        return None

    def _bank_answer(self, status: int, data: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        body = json.dumps(data).encode()
        ts = str(int(self.clock.now().timestamp()))
        return (
            status,
            {
                "X-Gateway-Timestamp": ts,
                "X-Gateway-Signature": crypto.hmac_sign(self.bank_secret, ts, body),
                "Content-Type": "application/json",
            },
            body,
        )

    def _wechat_answer(
        self, status: int, data: dict[str, Any] | None
    ) -> tuple[int, dict[str, str], bytes]:
        body = json.dumps(data, ensure_ascii=False) if data is not None else ""
        return status, self._wechat_headers(body, self.clock.now()), body.encode()

    def _wechat(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        url = urllib.parse.urlsplit(path)
        if url.path.startswith("/download/wechat"):
            day = dt.date.fromisoformat(urllib.parse.parse_qs(url.query)["day"][0])
            return 200, {}, _csv(self.statement_lines("wechat", day), "微信支付订单号").encode()
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if not self._wechat_request_ok(method, path, auth, body.decode()):
            return self._wechat_answer(401, {"code": "SIGN_ERROR", "message": "signature"})
        data = json.loads(body) if body else {}
        parts = url.path.strip("/").split("/")
        with self.lock:
            if method == "POST" and url.path == "/v3/pay/transactions/native":
                no = data["out_trade_no"]
                self.orders.setdefault(no, FakeOrder("wechat", no, int(data["amount"]["total"])))
                return self._wechat_answer(
                    200, {"code_url": f"weixin://wxpay/bizpayurl?pr={secrets.token_urlsafe(6)}"}
                )
            if parts[:4] == ["v3", "pay", "transactions", "out-trade-no"]:
                asked = urllib.parse.unquote(parts[4])
                o = self.orders.get(asked if method == "POST" else self.answer_as.get(asked, asked))
                if o is None:
                    return self._wechat_answer(
                        404, {"code": "ORDER_NOT_EXIST", "message": "no order"}
                    )
                if method == "POST" and parts[-1] == "close":
                    if o.status == "pending":
                        o.status = "closed"
                    return self._wechat_answer(204, None)
                state = {"pending": "NOTPAY", "paid": "SUCCESS", "closed": "CLOSED"}[o.status]
                answer: dict[str, Any] = {
                    "mchid": self.mchid,
                    "out_trade_no": o.out_trade_no,
                    "trade_state": state,
                    "amount": {"total": o.amount_fen, "currency": "CNY"},
                }
                if o.paid_at:
                    answer |= {
                        "transaction_id": o.txn_id,
                        "success_time": o.paid_at.astimezone(_CST).isoformat(timespec="seconds"),
                    }
                return self._wechat_answer(200, answer)
            if method == "POST" and url.path == "/v3/refund/domestic/refunds":
                o = self.orders[data["out_trade_no"]]
                _refund_once(
                    o, data["out_refund_no"], int(data["amount"]["refund"]), self.clock.now()
                )
                return self._wechat_answer(
                    200, {"status": "SUCCESS", "refund_id": "50" + secrets.token_hex(8)}
                )
            if method == "GET" and parts[:4] == ["v3", "refund", "domestic", "refunds"]:
                found = self._find_refund(urllib.parse.unquote(parts[4]))
                if found is None:
                    return self._wechat_answer(
                        404, {"code": "RESOURCE_NOT_EXISTS", "message": "no such refund"}
                    )
                o, (no, fen, _at) = found
                return self._wechat_answer(
                    200,
                    {
                        "out_refund_no": no,
                        "out_trade_no": o.out_trade_no,
                        "status": "SUCCESS",
                        "amount": {"refund": fen, "currency": "CNY"},
                    },
                )
        if method == "GET" and url.path == "/v3/bill/tradebill":
            bill_date = urllib.parse.parse_qs(url.query)["bill_date"][0]
            return self._wechat_answer(
                200,
                {
                    "hash_type": "SHA1",
                    "download_url": f"{self.url}/download/wechat?day={bill_date}",
                },
            )
        return self._wechat_answer(404, {"code": "NOT_FOUND", "message": path})

    def _wechat_request_ok(self, method: str, path: str, auth: str, body: str) -> bool:
        if not auth.startswith("WECHATPAY2-SHA256-RSA2048 "):
            return False
        fields = dict(
            item.split("=", 1)
            for item in auth[len("WECHATPAY2-SHA256-RSA2048 ") :].split(",")
            if "=" in item
        )
        f = {k.strip(): v.strip().strip('"') for k, v in fields.items()}
        message = crypto.wechat_request_message(
            method, path, f.get("timestamp", ""), f.get("nonce_str", ""), body
        )
        return f.get("mchid") == self.mchid and crypto.rsa_verify(
            crypto.public_pem(self.wechat_merchant), message, f.get("signature", "")
        )

    def _alipay(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        url = urllib.parse.urlsplit(path)
        if url.path.startswith("/download/alipay"):
            day = dt.date.fromisoformat(urllib.parse.parse_qs(url.query)["day"][0])
            return 200, {}, _csv(self.statement_lines("alipay", day), "支付宝交易号").encode()
        params = dict(urllib.parse.parse_qsl(body.decode()))
        name = params.get("method", "")
        key = name.replace(".", "_") + "_response"
        if not crypto.rsa_verify(
            crypto.public_pem(self.alipay_app),
            crypto.alipay_request_content(params),
            params.get("sign", ""),
        ):
            return self._alipay_answer(
                key,
                {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"},
            )
        biz = json.loads(params.get("biz_content", "{}"))
        ok = {"code": "10000", "msg": "Success"}
        with self.lock:
            if name == "alipay.trade.precreate":
                no = biz["out_trade_no"]
                fen = int(Decimal(biz["total_amount"]) * 100)
                self.orders.setdefault(no, FakeOrder("alipay", no, fen))
                return self._alipay_answer(
                    key,
                    ok
                    | {
                        "out_trade_no": no,
                        "qr_code": f"https://qr.alipay.com/bax{secrets.token_hex(8)}",
                    },
                )
            if name in (
                "alipay.trade.query",
                "alipay.trade.close",
                "alipay.trade.refund",
                "alipay.trade.fastpay.refund.query",
            ):
                asked = biz["out_trade_no"]
                o = self.orders.get(
                    self.answer_as.get(asked, asked) if name == "alipay.trade.query" else asked
                )
                if o is None:
                    return self._alipay_answer(
                        key,
                        {
                            "code": "40004",
                            "msg": "Business Failed",
                            "sub_code": "ACQ.TRADE_NOT_EXIST",
                        },
                    )
                if name == "alipay.trade.close":
                    if o.status == "pending":
                        o.status = "closed"
                    return self._alipay_answer(key, ok | {"out_trade_no": o.out_trade_no})
                if name == "alipay.trade.fastpay.refund.query":
                    found = self._find_refund(biz["out_request_no"])
                    if found is None or found[0] is not o:
                        return self._alipay_answer(key, ok)  # Alipay: 10000, no refund fields
                    fen = found[1][1]
                    return self._alipay_answer(
                        key,
                        ok
                        | {
                            "out_trade_no": o.out_trade_no,
                            "out_request_no": biz["out_request_no"],
                            "refund_amount": f"{fen // 100}.{fen % 100:02d}",
                            "refund_status": "REFUND_SUCCESS",
                        },
                    )
                if name == "alipay.trade.refund":
                    fen = int(Decimal(biz["refund_amount"]) * 100)
                    _refund_once(o, biz["out_request_no"], fen, self.clock.now())
                    return self._alipay_answer(
                        key, ok | {"fund_change": "Y", "refund_fee": biz["refund_amount"]}
                    )
                state = {
                    "pending": "WAIT_BUYER_PAY",
                    "paid": "TRADE_SUCCESS",
                    "closed": "TRADE_CLOSED",
                }[o.status]
                return self._alipay_answer(
                    key,
                    ok
                    | {
                        "out_trade_no": o.out_trade_no,
                        "trade_no": o.txn_id,
                        "trade_status": state,
                        "total_amount": f"{o.amount_fen // 100}.{o.amount_fen % 100:02d}",
                    },
                )
        if name == "alipay.data.dataservice.bill.downloadurl.query":
            return self._alipay_answer(
                key,
                ok | {"bill_download_url": f"{self.url}/download/alipay?day={biz['bill_date']}"},
            )
        return self._alipay_answer(
            key, {"code": "40004", "msg": "Business Failed", "sub_code": "unknown method"}
        )

    def _alipay_answer(self, key: str, data: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        inner = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        sign = crypto.rsa_sign(self._alipay_pem, inner)
        return (
            200,
            {"Content-Type": "application/json;charset=utf-8"},
            f'{{"{key}":{inner},"sign":"{sign}"}}'.encode(),
        )


def _refund_once(order: FakeOrder, refund_no: str, fen: int, at: dt.datetime) -> None:
    """Providers are idempotent on the merchant's refund number: asked again, they answer
    again and refund nothing more."""
    if not any(r[0] == refund_no for r in order.refunds):
        order.refunds.append((refund_no, fen, at))


def _operation(method: str, path: str, body: bytes) -> str:
    """The operation a request asks for, across the three protocols (for :meth:`stall`)."""
    url = urllib.parse.urlsplit(path).path
    if url.startswith("/gateway.do"):
        name = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"))).get("method", "")
        return {
            "alipay.trade.refund": "refund",
            "alipay.trade.fastpay.refund.query": "refund_query",
            "alipay.trade.query": "query",
        }.get(name, "")
    if url in ("/v1/refunds", "/v3/refund/domestic/refunds") and method == "POST":
        return "refund"
    if url.startswith(("/v1/refunds/", "/v3/refund/domestic/refunds/")) and method == "GET":
        return "refund_query"
    if method == "GET" and url.startswith(("/v1/orders/", "/v3/pay/transactions/out-trade-no/")):
        return "query"
    return ""


def _csv(lines: list[dict[str, Any]], txn_header: str) -> str:
    out = [
        f"交易时间,{txn_header},商户订单号,类型,{'应结订单金额' if '微信' in txn_header else '订单金额（元）'}"
    ]
    for x in lines:
        amount = x["amount_fen"]
        out.append(
            f"`2026-01-01 00:00:00,`{x['txn_id']},`{x['out_trade_no']},{'退款' if x['kind'] == 'refund' else '交易'},{amount // 100}.{amount % 100:02d}"
        )
    out.append("总交易单数,总金额")
    return "\n".join(out) + "\n"


def _handler(gateway: FakeGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # Keep-alive, as a provider's API serves: a client sends its requests on one
        # connection. An idle one is closed after a minute.
        protocol_version = "HTTP/1.1"
        timeout = 60
        # An answer's head and body leave in one write (flushed after each request): two
        # small writes on a kept connection wait on the client's delayed ACK (40 ms).
        wbufsize = -1

        def setup(self) -> None:
            super().setup()
            with gateway.lock:
                gateway._connections.add(self.connection)

        def finish(self) -> None:
            with gateway.lock:
                gateway._connections.discard(self.connection)
            super().finish()

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            try:
                status, headers, data = gateway.handle(
                    method, self.path, dict(self.headers.items()), body
                )
            except Exception as exc:  # noqa: BLE001 - a fake: answer 500 rather than hang up
                status, headers, data = 500, {}, repr(exc).encode()
            if gateway._stalls(method, self.path, body):
                gateway.released.wait(10)  # carried out; the answer is lost
                self.close_connection = True
                return
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            return

    return Handler


_shared: FakeGateway | None = None
_shared_lock = threading.Lock()


def _after_fork_in_child() -> None:
    global _shared_lock
    _shared_lock = threading.Lock()
    if _shared is not None:
        _shared._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def shared_gateway(clock: Clock | None = None) -> FakeGateway:
    """The process's simulated gateway (started on first use), for the ``sim`` provider."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = FakeGateway(clock, key_bits=2048)
        elif clock is not None:
            _shared.clock = clock
        return _shared
