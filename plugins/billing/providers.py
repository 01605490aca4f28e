"""Payment providers behind one interface.

Each provider can: create an order and give the QR content to show, verify a notification,
query an order, close it, refund it, and list a day's statement. The service never knows which
protocol it talks to. Providers are contributed through ``kiosk_payment_providers`` as classes
with a ``name``; :func:`build_providers` instantiates them with their configuration.

Configuration (credentials only ever come from here): ``[plugins.billing.providers.<name>]``
in the kiosk config, each key overridable by ``KIOSK_BILLING_<NAME>_<KEY>`` in the environment
(``wechat-native`` -> ``KIOSK_BILLING_WECHAT_NATIVE_API_V3_KEY``). Keys, secrets and private
keys are never logged and never appear in :meth:`PaymentProvider.describe`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import logging
import os
import secrets
import select
import socket
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from kiosk.clock import Clock, SystemClock
from kiosk.money import yuan
from plugins.billing import crypto, emv

log = logging.getLogger(__name__)
SECRET_WORDS = ("key", "secret", "password", "token")
TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class NewOrder:
    """An order to open (what :meth:`PaymentProvider.create_order` hands its subclass)."""

    out_trade_no: str
    amount_fen: int
    description: str
    bill_number: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class NewRefund:
    """A refund to ask for (what :meth:`PaymentProvider.refund` hands its subclass)."""

    out_trade_no: str
    refund_no: str
    amount_fen: int
    total_fen: int
    reason: str


@dataclass(frozen=True)
class CreatedOrder:
    """What a provider answered to a new order: the QR to show and its own order id."""

    qr_content: str
    provider_order_id: str = ""


@dataclass(frozen=True)
class PaidNotice:
    """A verified notification that an order was paid."""

    out_trade_no: str
    txn_id: str
    amount_fen: int
    paid_at: dt.datetime


@dataclass(frozen=True)
class OrderState:
    """A provider's answer to a query: ``pending``, ``paid``, ``closed`` or ``unknown``."""

    status: str
    txn_id: str = ""
    amount_fen: int = 0
    paid_at: dt.datetime | None = None


@dataclass(frozen=True)
class StatementLine:
    """One line of a provider's daily statement (``kind``: payment or refund)."""

    out_trade_no: str
    txn_id: str
    amount_fen: int
    kind: str = "payment"


class NotificationRejected(Exception):
    """A notification that failed verification (forged, tampered, replayed, malformed)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class ProviderError(Exception):
    """The provider could not be reached or refused a request (detail for the log only).

    ``ambiguous`` says whether the provider may have carried the request out all the same: an
    answer that timed out, a connection lost mid-answer, a 5xx, an answer not signed by the
    provider. Only a request that never left (connection refused, unknown host) or a signed
    refusal is unambiguous. A refund whose request was ambiguous is never treated as failed:
    its state is asked of the provider, and it is only ever retried with the same number.
    """

    def __init__(self, message: str, *, ambiguous: bool = True, refused: bool = False) -> None:
        self.ambiguous = ambiguous and not refused
        self.refused = refused  # the provider answered, signed, that it will not do it
        super().__init__(message)


# What leaves a query without an answer: the provider could not be asked, or what it said
# makes no sense (not signed, for another order, malformed).
_NO_ANSWER = (ProviderError, KeyError, ValueError, TypeError, AttributeError, ArithmeticError)


class PaymentProvider:
    """Base of every provider. Subclasses set ``name`` and implement the methods (``_query``
    for :meth:`query`, ``_create_order`` for :meth:`create_order`, ``_refund`` for
    :meth:`refund`)."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    required: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: Mapping[str, Any], clock: Clock | None = None) -> None:
        self.config = dict(config)
        self.clock = clock or SystemClock()
        missing = [k for k in self.required if not self.config.get(k)]
        if missing:
            raise ProviderError(f"provider {self.name}: missing configuration {', '.join(missing)}")

    def describe(self) -> dict[str, Any]:
        """The configuration with every secret redacted (safe for logs and --json)."""
        return {
            k: ("***" if any(w in k.lower() for w in SECRET_WORDS) else v)
            for k, v in sorted(self.config.items())
        }

    # -- the interface ---------------------------------------------------------------------

    def create_order(
        self,
        *,
        out_trade_no: str,
        amount_fen: int,
        description: str,
        bill_number: str,
        expires_at: dt.datetime,
    ) -> CreatedOrder:
        """Open an order for ``amount_fen``; what to show as QR and the provider's order id."""
        return self._create_order(
            NewOrder(out_trade_no, amount_fen, description, bill_number, expires_at)
        )

    def _create_order(self, order: NewOrder) -> CreatedOrder:
        """Open ``order`` at the provider (what :meth:`create_order` asks of a subclass)."""
        raise NotImplementedError

    def verify_notification(self, headers: Mapping[str, str], body: bytes) -> PaidNotice:
        raise NotImplementedError

    def notification_reply(self, ok: bool) -> tuple[int, bytes]:
        """HTTP status and body to answer the provider's notification with."""
        return (200, b"") if ok else (400, b"")

    def query(self, out_trade_no: str) -> OrderState:
        """The order's state at the provider; ``unknown`` (logged) without an answer."""
        try:
            return self._query(out_trade_no)
        except _NO_ANSWER as exc:
            log.warning("query of %s at %s: %s", out_trade_no, self.name, exc)
            return OrderState("unknown")

    def _query(self, out_trade_no: str) -> OrderState:
        """Ask the provider (:meth:`query` turns any failure into ``unknown``)."""
        raise NotImplementedError

    def close(self, out_trade_no: str) -> None:
        raise NotImplementedError

    def refund(
        self, *, out_trade_no: str, refund_no: str, amount_fen: int, total_fen: int, reason: str
    ) -> str:
        """Ask for a refund; returns the provider's status (``done`` or ``processing``).
        Idempotent on ``refund_no`` at the provider: asking again with the same number never
        refunds twice."""
        return self._refund(NewRefund(out_trade_no, refund_no, amount_fen, total_fen, reason))

    def _refund(self, ask: NewRefund) -> str:
        """Ask the provider for ``ask`` (what :meth:`refund` asks of a subclass)."""
        raise NotImplementedError

    def refund_state(self, out_trade_no: str, refund_no: str) -> str:
        """What the provider knows of refund ``refund_no``: ``done``, ``processing``, ``failed``
        (it will not happen) or ``absent`` (never received). Raises :class:`ProviderError`
        when the provider cannot tell now."""
        raise NotImplementedError

    def statement(self, day: dt.date) -> list[StatementLine]:
        raise NotImplementedError

    # -- helpers ---------------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        return self.clock.now()

    def _fresh(self, timestamp: str) -> None:
        try:
            at = int(timestamp)
        except (TypeError, ValueError):
            raise NotificationRejected("timestamp missing or not a number") from None
        if abs(self._now().timestamp() - at) > TOLERANCE_SECONDS:
            raise NotificationRejected("timestamp outside the 300 s window (replayed or stale)")

    def _http(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urllib.parse.urlsplit(url)
        timeout = float(self.config.get("timeout", 5))
        kept = self.__dict__.get("_kept")
        if kept is None:
            kept = self.__dict__.setdefault("_kept", _KeptAlive())
        conn = kept.connection(parts, timeout)
        if conn is None:  # through a proxy, or not HTTP: urllib, a connection per request
            return self._http_once(method, url, body, headers, timeout)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = {"User-Agent": _USER_AGENT, **(headers or {})}
        try:
            conn.request(method, target, body=body, headers=sent)
            resp = conn.getresponse()
            data = resp.read()
        except (http.client.HTTPException, OSError) as exc:
            kept.drop(parts)
            # A kept connection the provider had closed is found before sending (see
            # _KeptAlive.connection): what fails here is as ambiguous as with urllib.
            raise self._failed(method, url, exc, exc) from None
        if resp.will_close:
            kept.drop(parts)
        return resp.status, dict(resp.headers.items()), data

    def _http_once(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: Mapping[str, str] | None,
        timeout: float,
    ) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - configured URL
                return resp.status, dict(resp.headers.items()), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers.items()), exc.read()
        except (urllib.error.URLError, OSError) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise self._failed(method, url, exc, reason) from None

    def _failed(self, method: str, url: str, exc: Exception, reason: object) -> ProviderError:
        """The request failed on the way (``reason``: why, under ``exc``). Only a request that
        never left is unambiguous; a timeout or a connection lost after sending may have been
        carried out."""
        never_sent = isinstance(reason, (ConnectionRefusedError, socket.gaierror))
        return ProviderError(
            f"{self.name}: {method} {_strip_query(url)}: {exc}", ambiguous=not never_sent
        )


# What urllib sends as User-Agent (some providers refuse a request without one).
_USER_AGENT = f"Python-urllib/{sys.version_info[0]}.{sys.version_info[1]}"


class _KeptAlive(threading.local):
    """A provider's HTTP connections, one per origin and thread, kept open between requests
    (a payment's order, query and close do not each pay for a new connection). In a forked
    process the parent's connections are left alone and new ones made."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.open: dict[tuple[str, str], http.client.HTTPConnection] = {}
        self.direct: dict[tuple[str, str], bool] = {}

    def connection(
        self, parts: urllib.parse.SplitResult, timeout: float
    ) -> http.client.HTTPConnection | None:
        """The origin's kept connection, or a new one; None where urllib must carry the
        request (a proxy applies, or the scheme is not HTTP)."""
        if self.pid != os.getpid():
            self.pid, self.open = os.getpid(), {}  # the parent's sockets: not ours to use
        origin = (parts.scheme, parts.netloc)
        conn = self.open.get(origin)
        if conn is not None:
            sock = conn.sock
            # An idle connection with something to read was closed by the provider (or
            # holds a stray answer): not reused, so the request is not sent into it.
            if sock is None or select.select([sock], [], [], 0)[0]:
                self.drop(parts)
            else:
                sock.settimeout(timeout)
                return conn
        direct = self.direct.get(origin)
        if direct is None:
            direct = self.direct[origin] = parts.scheme in ("http", "https") and (
                parts.scheme not in urllib.request.getproxies()
                or bool(urllib.request.proxy_bypass(parts.hostname or ""))
            )
        if not direct:
            return None
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = self.open[origin] = cls(parts.netloc, timeout=timeout)
        return conn

    def drop(self, parts: urllib.parse.SplitResult) -> None:
        conn = self.open.pop((parts.scheme, parts.netloc), None)
        if conn is not None:
            conn.close()


def _strip_query(url: str) -> str:
    return url.split("?", 1)[0]


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _named(ask: NewOrder | NewRefund, *names: str) -> dict[str, Any]:
    """``ask``'s fields ``names`` as JSON members of the same names (the gateway's protocol
    names them as the kiosk does)."""
    return {name: getattr(ask, name) for name in names}


# -- bank gateway (EMV acquirer) and simulator -----------------------------------------------


class GatewayProvider(PaymentProvider):
    """A local bank/acquirer gateway speaking JSON with HMAC-SHA256 over ``timestamp.body``."""

    required: ClassVar[tuple[str, ...]] = ("base_url", "secret")

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        body = json.dumps(payload or {}, separators=(",", ":")).encode() if payload else b""
        ts = str(int(self._now().timestamp()))
        status, headers, data = self._http(
            method,
            self.config["base_url"].rstrip("/") + path,
            body or None,
            {
                "Content-Type": "application/json",
                "X-Kiosk-Timestamp": ts,
                "X-Kiosk-Signature": crypto.hmac_sign(self.config["secret"], ts, body),
            },
        )
        h = _lower(headers)
        if not crypto.hmac_verify(
            self.config["secret"],
            h.get("x-gateway-timestamp", ""),
            data,
            h.get("x-gateway-signature", ""),
        ):
            raise ProviderError(f"{self.name}: response to {path} is not signed by the gateway")
        if status >= 400:
            raise ProviderError(
                f"{self.name}: {_strip_query(path)} answered {status}", refused=status < 500
            )
        return json.loads(data) if data else {}

    def _qr(self, out_trade_no: str, amount_fen: int, bill_number: str) -> str:
        raise NotImplementedError

    def _create_order(self, order: NewOrder) -> CreatedOrder:
        answer = self._call(
            "POST",
            "/v1/orders",
            {
                **_named(order, "out_trade_no", "amount_fen", "description", "bill_number"),
                "merchant_id": self.config.get("merchant_id", ""),
                "expires_at": order.expires_at.isoformat(),
            },
        )
        return CreatedOrder(
            self._qr(order.out_trade_no, order.amount_fen, order.bill_number)
            or answer.get("qr_content", ""),
            str(answer.get("order_id", "")),
        )

    def verify_notification(self, headers: Mapping[str, str], body: bytes) -> PaidNotice:
        h = _lower(headers)
        ts, sig = h.get("x-gateway-timestamp", ""), h.get("x-gateway-signature", "")
        if not sig or not crypto.hmac_verify(self.config["secret"], ts, body, sig):
            raise NotificationRejected("signature does not verify")
        self._fresh(ts)
        try:
            data = json.loads(body)
            if data.get("event") != "payment.succeeded":
                raise NotificationRejected(f"event {data.get('event')!r} is not a payment")
            return PaidNotice(
                str(data["out_trade_no"]),
                str(data["txn_id"]),
                _int_fen(data["amount_fen"]),
                dt.datetime.fromisoformat(data["paid_at"]),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise NotificationRejected(f"malformed body: {type(exc).__name__}") from None

    def _query(self, out_trade_no: str) -> OrderState:
        d = self._call("GET", f"/v1/orders/{urllib.parse.quote(out_trade_no)}")
        _same_order(self.name, d.get("out_trade_no"), out_trade_no)
        paid_at = dt.datetime.fromisoformat(d["paid_at"]) if d.get("paid_at") else None
        return OrderState(
            str(d["status"]), str(d.get("txn_id", "")), _int_fen(d.get("amount_fen")), paid_at
        )

    def close(self, out_trade_no: str) -> None:
        self._call("POST", f"/v1/orders/{urllib.parse.quote(out_trade_no)}/close", {"close": True})

    def _refund(self, ask: NewRefund) -> str:
        d = self._call(
            "POST",
            "/v1/refunds",
            _named(ask, "out_trade_no", "refund_no", "amount_fen"),
        )
        return str(d.get("status", "done"))

    def refund_state(self, out_trade_no: str, refund_no: str) -> str:
        try:
            d = self._call("GET", f"/v1/refunds/{urllib.parse.quote(refund_no, safe='')}")
        except ProviderError as exc:
            if exc.refused and "answered 404" in str(exc):
                return "absent"
            raise
        if d.get("refund_no") != refund_no or d.get("out_trade_no") != out_trade_no:
            raise ProviderError(f"{self.name}: refund answer is for another refund")
        return {"done": "done", "processing": "processing", "failed": "failed"}.get(
            str(d.get("status", "")), "processing"
        )

    def statement(self, day: dt.date) -> list[StatementLine]:
        merchant = urllib.parse.quote(str(self.config.get("merchant_id", "")))
        d = self._call("GET", f"/v1/statement?day={day.isoformat()}&merchant_id={merchant}")
        return [
            StatementLine(x["out_trade_no"], x["txn_id"], int(x["amount_fen"]), x["kind"])
            for x in d["lines"]
        ]


class EMVDynamic(GatewayProvider):
    """EMV merchant-presented QR with the amount, bill number and order reference in it."""

    name = "emv-dynamic"
    label = "EMV QR (amount included)"
    required: ClassVar[tuple[str, ...]] = ("base_url", "secret", "merchant_id")

    def merchant(self, amount_fen: int | None, bill_number: str, reference: str) -> emv.MerchantQR:
        cfg = self.config
        additional = {"terminal_label": cfg.get("terminal_label", "KIOSK")}
        if bill_number:
            additional["bill_number"] = bill_number
        if reference:
            additional["reference_label"] = reference
        return emv.MerchantQR(
            accounts={
                "26": {"00": cfg.get("scheme_id", "COM.EXAMPLE.KIOSK"), "01": cfg["merchant_id"]}
            },
            mcc=str(cfg.get("mcc", "6513")),
            currency="156",
            country="CN",
            merchant_name=str(cfg.get("merchant_name", "PROPERTY MANAGEMENT"))[:25],
            merchant_city=str(cfg.get("merchant_city", "SHANGHAI"))[:15],
            amount_fen=amount_fen,
            initiation=emv.DYNAMIC if amount_fen is not None else emv.STATIC,
            additional=additional,
            alt_language="ZH" if cfg.get("merchant_name_zh") else "",
            alt_name=str(cfg.get("merchant_name_zh", "")),
            alt_city=str(cfg.get("merchant_city_zh", "")),
        )

    def _qr(self, out_trade_no: str, amount_fen: int, bill_number: str) -> str:
        return emv.encode(self.merchant(amount_fen, bill_number, out_trade_no))


class EMVStatic(EMVDynamic):
    """The estate's static EMV QR: the payer types the amount and the order reference."""

    name = "emv-static"
    label = "EMV QR (static)"

    def _qr(self, out_trade_no: str, amount_fen: int, bill_number: str) -> str:
        return emv.encode(self.merchant(None, "", ""))


class SimGateway(GatewayProvider):
    """The simulated gateway (demos, scenarios, tests): the bank protocol against
    :class:`plugins.billing.gateway.FakeGateway`, started on 127.0.0.1 when no URL is set."""

    name = "sim"
    label = "Simulated gateway"
    required: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: Mapping[str, Any], clock: Clock | None = None) -> None:
        super().__init__(config, clock)
        if not self.config.get("base_url"):
            from plugins.billing.gateway import shared_gateway

            gw = shared_gateway(self.clock)
            self.config.setdefault("secret", gw.bank_secret)
            self.config["base_url"] = gw.url
        if not self.config.get("secret"):
            # An empty HMAC key: anyone could sign a "paid" notification.
            raise ProviderError("provider sim: base_url configured without its secret")

    def _qr(self, out_trade_no: str, amount_fen: int, bill_number: str) -> str:
        return f"https://pay.sim.invalid/o/{out_trade_no}"


def _same_order(name: str, answered: Any, asked: str) -> None:
    """A query answer must be about the order asked for: a signed answer for another order
    (replayed, or mixed up by a proxy) is not evidence about this one."""
    if answered != asked:
        raise ProviderError(f"{name}: query answer is for another order")


def _int_fen(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("amount is not an integer number of fen")
    return value


# -- WeChat Pay Native (API v3) --------------------------------------------------------------


class WeChatNative(PaymentProvider):
    """WeChat Pay Native: ``code_url`` QR; v3 signatures; AES-256-GCM notification resource."""

    name = "wechat-native"
    label = "WeChat Pay"
    required = (
        "mchid",
        "appid",
        "serial_no",
        "private_key",
        "platform_public_key",
        "api_v3_key",
        "notify_url",
    )

    def _base(self) -> str:
        return str(self.config.get("base_url", "https://api.mch.weixin.qq.com")).rstrip("/")

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False) if payload else ""
        ts, nonce = str(int(self._now().timestamp())), secrets.token_hex(16)
        sig = crypto.rsa_sign(
            self.config["private_key"], crypto.wechat_request_message(method, path, ts, nonce, body)
        )
        auth = (
            f'WECHATPAY2-SHA256-RSA2048 mchid="{self.config["mchid"]}",nonce_str="{nonce}",'
            f'signature="{sig}",timestamp="{ts}",serial_no="{self.config["serial_no"]}"'
        )
        status, headers, data = self._http(
            method,
            self._base() + path,
            body.encode() or None,
            {
                "Authorization": auth,
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        h = _lower(headers)
        if not crypto.rsa_verify(
            self.config["platform_public_key"],
            crypto.wechat_message(
                h.get("wechatpay-timestamp", ""), h.get("wechatpay-nonce", ""), data.decode()
            ),
            h.get("wechatpay-signature", ""),
        ):
            raise ProviderError(f"wechat-native: response to {_strip_query(path)} is not signed")
        if status >= 400:
            code = ""
            with contextlib.suppress(ValueError, AttributeError):
                code = str(json.loads(data).get("code", ""))
            raise ProviderError(
                f"wechat-native: {_strip_query(path)} answered {status} {code}".rstrip(),
                refused=status < 500 and code not in ("SYSTEM_ERROR", "FREQUENCY_LIMITED"),
            )
        return json.loads(data) if data else {}

    def _create_order(self, order: NewOrder) -> CreatedOrder:
        d = self._call(
            "POST",
            "/v3/pay/transactions/native",
            {
                "appid": self.config["appid"],
                "mchid": self.config["mchid"],
                "description": order.description[:127],
                "out_trade_no": order.out_trade_no,
                "time_expire": order.expires_at.astimezone(dt.UTC).strftime(
                    "%Y-%m-%dT%H:%M:%S+00:00"
                ),
                "attach": order.bill_number,
                "notify_url": self.config["notify_url"],
                "amount": {"total": order.amount_fen, "currency": "CNY"},
            },
        )
        if not str(d.get("code_url", "")).startswith("weixin://"):
            raise ProviderError("wechat-native: no code_url in the answer")
        return CreatedOrder(d["code_url"])

    def verify_notification(self, headers: Mapping[str, str], body: bytes) -> PaidNotice:
        h = _lower(headers)
        ts, nonce = h.get("wechatpay-timestamp", ""), h.get("wechatpay-nonce", "")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise NotificationRejected("body is not UTF-8") from None
        if not crypto.rsa_verify(
            self.config["platform_public_key"],
            crypto.wechat_message(ts, nonce, text),
            h.get("wechatpay-signature", ""),
        ):
            raise NotificationRejected("signature does not verify")
        self._fresh(ts)
        try:
            envelope = json.loads(text)
            res = envelope["resource"]
            if res.get("algorithm") != "AEAD_AES_256_GCM":
                raise NotificationRejected(f"algorithm {res.get('algorithm')!r}")
            plain = crypto.aes_gcm_decrypt(
                self.config["api_v3_key"],
                res["nonce"],
                res["ciphertext"],
                res.get("associated_data", ""),
            )
            tx = json.loads(plain)
        except NotificationRejected:
            raise
        except Exception as exc:  # noqa: BLE001 - any decryption/parse failure is a rejection
            raise NotificationRejected(f"resource does not decrypt: {type(exc).__name__}") from None
        if tx.get("trade_state") != "SUCCESS" or tx.get("mchid") != self.config["mchid"]:
            raise NotificationRejected(f"not a success for this merchant ({tx.get('trade_state')})")
        amount = tx.get("amount")
        if not isinstance(amount, dict) or amount.get("currency") != "CNY":
            # Bills are in yuan: 100 of another currency is not 100 fen.
            raise NotificationRejected("the amount is not in CNY")
        try:
            return PaidNotice(
                str(tx["out_trade_no"]),
                str(tx["transaction_id"]),
                _int_fen(tx["amount"]["total"]),
                dt.datetime.fromisoformat(tx["success_time"]),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise NotificationRejected(f"malformed transaction: {type(exc).__name__}") from None

    def notification_reply(self, ok: bool) -> tuple[int, bytes]:
        if ok:
            return 204, b""
        return 400, json.dumps({"code": "FAIL", "message": "rejected"}).encode()

    def _query(self, out_trade_no: str) -> OrderState:
        d = self._call(
            "GET",
            f"/v3/pay/transactions/out-trade-no/{urllib.parse.quote(out_trade_no)}"
            f"?mchid={self.config['mchid']}",
        )
        _same_order(self.name, d.get("out_trade_no"), out_trade_no)
        if d.get("mchid", self.config["mchid"]) != self.config["mchid"]:
            raise ProviderError("wechat-native: query answer is for another merchant")
        amount = d.get("amount") or {}
        if amount.get("currency", "CNY") != "CNY":
            raise ProviderError("wechat-native: query answer is not in CNY")
        state = {"SUCCESS": "paid", "NOTPAY": "pending", "USERPAYING": "pending"}.get(
            d.get("trade_state", ""), "closed"
        )
        success = d.get("success_time")
        paid_at = dt.datetime.fromisoformat(success) if success else None
        return OrderState(
            state, str(d.get("transaction_id", "")), _int_fen(amount.get("total")), paid_at
        )

    def close(self, out_trade_no: str) -> None:
        self._call(
            "POST",
            f"/v3/pay/transactions/out-trade-no/{urllib.parse.quote(out_trade_no)}/close",
            {"mchid": self.config["mchid"]},
        )

    def _refund(self, ask: NewRefund) -> str:
        d = self._call(
            "POST",
            "/v3/refund/domestic/refunds",
            {
                "out_trade_no": ask.out_trade_no,
                "out_refund_no": ask.refund_no,
                "reason": ask.reason[:80],
                "amount": {"refund": ask.amount_fen, "total": ask.total_fen, "currency": "CNY"},
            },
        )
        return "done" if d.get("status") == "SUCCESS" else "processing"

    def refund_state(self, out_trade_no: str, refund_no: str) -> str:
        try:
            d = self._call(
                "GET", f"/v3/refund/domestic/refunds/{urllib.parse.quote(refund_no, safe='')}"
            )
        except ProviderError as exc:
            if exc.refused and "RESOURCE_NOT_EXISTS" in str(exc):
                return "absent"
            raise
        if d.get("out_refund_no") != refund_no or d.get("out_trade_no") != out_trade_no:
            raise ProviderError("wechat-native: refund answer is for another refund")
        return {"SUCCESS": "done", "CLOSED": "failed"}.get(str(d.get("status")), "processing")

    def statement(self, day: dt.date) -> list[StatementLine]:
        d = self._call("GET", f"/v3/bill/tradebill?bill_date={day.isoformat()}&bill_type=ALL")
        _, _, raw = self._http("GET", d["download_url"])
        return _statement_csv(raw.decode("utf-8"), "微信支付订单号", "商户订单号", "应结订单金额")


def _statement_csv(text: str, txn_col: str, no_col: str, amount_col: str) -> list[StatementLine]:
    """Provider statements are CSV with Chinese headers; cells may carry a leading backtick."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return []
    head = [h.strip() for h in rows[0]]

    def col(name: str) -> int:
        return next(i for i, h in enumerate(head) if h.startswith(name))

    ti, ni, ai, ki = col(txn_col), col(no_col), col(amount_col), col("类型")
    out = []
    for r in rows[1:]:
        if len(r) < len(head):
            continue  # the summary lines at the end
        cells = [c.strip().lstrip("`") for c in r]
        kind = "refund" if cells[ki] in ("退款", "REFUND") else "payment"
        out.append(StatementLine(cells[ni], cells[ti], abs(yuan(cells[ai])), kind))
    return out


# -- Alipay precreate -------------------------------------------------------------------------


class AlipayPrecreate(PaymentProvider):
    """Alipay face-to-face precreate: ``qr_code`` URL; RSA2 over sorted ``k=v``."""

    name = "alipay-precreate"
    label = "Alipay"
    required = ("app_id", "private_key", "alipay_public_key", "notify_url")

    def _gateway(self) -> str:
        return str(self.config.get("base_url", "https://openapi.alipay.com/gateway.do"))

    def _call(self, method: str, biz: dict[str, Any]) -> dict[str, Any]:
        params = {
            "app_id": self.config["app_id"],
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": self._now().astimezone(_CST).strftime("%Y-%m-%d %H:%M:%S"),
            "version": "1.0",
            "notify_url": self.config["notify_url"] if method.endswith("precreate") else "",
            "biz_content": json.dumps(biz, separators=(",", ":"), ensure_ascii=False),
        }
        params = {k: v for k, v in params.items() if v}
        params["sign"] = crypto.rsa_sign(
            self.config["private_key"], crypto.alipay_request_content(params)
        )
        status, _, data = self._http(
            "POST",
            self._gateway(),
            urllib.parse.urlencode(params).encode(),
            {"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
        )
        text = data.decode("utf-8")
        key = method.replace(".", "_") + "_response"
        raw = _json_member(text, key)
        doc = json.loads(text)
        if raw is None or not crypto.rsa_verify(
            self.config["alipay_public_key"], raw, doc.get("sign", "")
        ):
            raise ProviderError(f"alipay: answer to {method} is not signed by Alipay")
        answer: dict[str, Any] = json.loads(raw)
        if answer.get("code") != "10000":
            raise ProviderError(
                f"alipay: {method} answered {answer.get('code')} {answer.get('sub_code', '')}",
                refused=answer.get("code") != "20000"
                and answer.get("sub_code") not in ("ACQ.SYSTEM_ERROR", "aop.ACQ.SYSTEM_ERROR"),
            )
        return answer

    def _create_order(self, order: NewOrder) -> CreatedOrder:
        d = self._call(
            "alipay.trade.precreate",
            {
                "out_trade_no": order.out_trade_no,
                "total_amount": _yuan_text(order.amount_fen),
                "subject": order.description[:256],
                "body": order.bill_number,
                "time_expire": order.expires_at.astimezone(_CST).strftime("%Y-%m-%d %H:%M:%S"),
            },
        )
        return CreatedOrder(d["qr_code"])

    def verify_notification(self, headers: Mapping[str, str], body: bytes) -> PaidNotice:
        try:
            pairs = urllib.parse.parse_qsl(
                body.decode("utf-8"), keep_blank_values=True, strict_parsing=True
            )
        except (UnicodeDecodeError, ValueError):
            raise NotificationRejected("body is not a form") from None
        params = dict(pairs)
        if len(params) != len(pairs):
            raise NotificationRejected("a parameter appears twice")
        sig = params.get("sign", "")
        if params.get("sign_type", "RSA2") != "RSA2" or not crypto.rsa_verify(
            self.config["alipay_public_key"], crypto.alipay_content(params), sig
        ):
            raise NotificationRejected("signature does not verify")
        if params.get("app_id") != self.config["app_id"]:
            raise NotificationRejected("for another app_id")
        try:
            notify_time = dt.datetime.strptime(params["notify_time"], "%Y-%m-%d %H:%M:%S")
        except (KeyError, ValueError):
            raise NotificationRejected("notify_time missing or malformed") from None
        self._fresh(str(int(notify_time.replace(tzinfo=_CST).timestamp())))
        if params.get("trade_status") not in ("TRADE_SUCCESS", "TRADE_FINISHED"):
            raise NotificationRejected(f"trade_status {params.get('trade_status')!r}")
        try:
            paid = dt.datetime.strptime(params["gmt_payment"], "%Y-%m-%d %H:%M:%S")
            return PaidNotice(
                params["out_trade_no"],
                params["trade_no"],
                _strict_yuan(params["total_amount"]),
                paid.replace(tzinfo=_CST).astimezone(dt.UTC),
            )
        except (KeyError, ValueError) as exc:
            raise NotificationRejected(f"malformed notification: {type(exc).__name__}") from None

    def notification_reply(self, ok: bool) -> tuple[int, bytes]:
        return 200, b"success" if ok else b"failure"

    def _query(self, out_trade_no: str) -> OrderState:
        d = self._call("alipay.trade.query", {"out_trade_no": out_trade_no})
        _same_order(self.name, d.get("out_trade_no"), out_trade_no)
        state = {
            "TRADE_SUCCESS": "paid",
            "TRADE_FINISHED": "paid",
            "WAIT_BUYER_PAY": "pending",
        }.get(d.get("trade_status", ""), "closed")
        return OrderState(state, str(d.get("trade_no", "")), _strict_yuan(str(d["total_amount"])))

    def close(self, out_trade_no: str) -> None:
        self._call("alipay.trade.close", {"out_trade_no": out_trade_no})

    def _refund(self, ask: NewRefund) -> str:
        d = self._call(
            "alipay.trade.refund",
            {
                "out_trade_no": ask.out_trade_no,
                "refund_amount": _yuan_text(ask.amount_fen),
                "out_request_no": ask.refund_no,
                "refund_reason": ask.reason[:256],
            },
        )
        return "done" if d.get("fund_change") == "Y" else "processing"

    def refund_state(self, out_trade_no: str, refund_no: str) -> str:
        d = self._call(
            "alipay.trade.fastpay.refund.query",
            {"out_trade_no": out_trade_no, "out_request_no": refund_no},
        )
        if not d.get("out_request_no") and not d.get("refund_amount"):
            return "absent"  # Alipay answers 10000 without the refund when it has none
        if d.get("out_request_no") != refund_no or d.get("out_trade_no") != out_trade_no:
            raise ProviderError("alipay: refund answer is for another refund")
        return (
            "done" if d.get("refund_status", "REFUND_SUCCESS") == "REFUND_SUCCESS" else "processing"
        )

    def statement(self, day: dt.date) -> list[StatementLine]:
        d = self._call(
            "alipay.data.dataservice.bill.downloadurl.query",
            {"bill_type": "trade", "bill_date": day.isoformat()},
        )
        _, _, raw = self._http("GET", d["bill_download_url"])
        return _statement_csv(raw.decode("utf-8"), "支付宝交易号", "商户订单号", "订单金额")


_CST = dt.timezone(dt.timedelta(hours=8))


def _yuan_text(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _strict_yuan(text: str) -> int:
    """A provider's amount in yuan -> fen; more than two decimals is malformed, not rounded."""
    value = Decimal(text) * 100
    if value != value.to_integral_value():
        raise ValueError(f"amount {text!r} has more than two decimals")
    return int(value)


def _json_member(text: str, key: str) -> str | None:
    """The raw text of ``"key": {...}`` in ``text`` — Alipay signs that exact substring."""
    marker = f'"{key}"'
    i = text.find(marker)
    if i < 0:
        return None
    i = text.find("{", i + len(marker))
    if i < 0:
        return None
    depth, in_str, esc = 0, False, False
    for j in range(i, len(text)):
        c = text[j]
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[i : j + 1]
    return None


BUILTIN = (EMVStatic, EMVDynamic, WeChatNative, AlipayPrecreate, SimGateway)


def provider_config(plugin_cfg: Mapping[str, Any], name: str) -> dict[str, Any]:
    """``[plugins.billing.providers.<name>]`` overlaid with ``KIOSK_BILLING_<NAME>_<KEY>``;
    ``*_file`` keys are read from disk (e.g. ``private_key_file``)."""
    section = dict((plugin_cfg.get("providers") or {}).get(name) or {})
    prefix = "KIOSK_BILLING_" + name.upper().replace("-", "_") + "_"
    for var, value in os.environ.items():
        if var.startswith(prefix):
            section[var[len(prefix) :].lower()] = value
    for key in [k for k in section if k.endswith("_file")]:
        path = section.pop(key)
        with open(path, encoding="utf-8") as fh:
            section[key[: -len("_file")]] = fh.read()
    return section


def build_providers(
    classes: list[type[PaymentProvider]], plugin_cfg: Mapping[str, Any], clock: Clock
) -> tuple[dict[str, PaymentProvider], dict[str, str]]:
    """Instantiate the enabled providers: (name -> provider, name -> why it is unavailable).
    ``enabled`` in the billing config lists them (default: ``["sim"]``)."""
    enabled = list(plugin_cfg.get("providers_enabled", ["sim"]))
    by_name = {c.name: c for c in classes}
    ready: dict[str, PaymentProvider] = {}
    problems: dict[str, str] = {}
    for name in enabled:
        cls = by_name.get(name)
        if cls is None:
            problems[name] = "no such provider"
            continue
        try:
            ready[name] = cls(provider_config(plugin_cfg, name), clock)
        except (ProviderError, OSError) as exc:
            problems[name] = str(exc)
    return ready, problems
