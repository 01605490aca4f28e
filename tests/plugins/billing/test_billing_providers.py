"""The provider protocols, signed and verified for real against keys made here and a fake
gateway on 127.0.0.1: WeChat Pay v3 Native, Alipay precreate, the EMV/bank gateway."""

from __future__ import annotations

import base64
import datetime as dt
import json
import urllib.parse

import pytest

from kiosk.clock import FixedClock
from plugins.billing import crypto, emv, service
from plugins.billing.gateway import FakeGateway
from plugins.billing.providers import (
    AlipayPrecreate,
    EMVDynamic,
    EMVStatic,
    NotificationRejected,
    ProviderError,
    SimGateway,
    WeChatNative,
    build_providers,
    provider_config,
)


@pytest.fixture
def clock(gateway: FakeGateway) -> FixedClock:
    c = FixedClock()
    gateway.clock = c
    gateway.deliver = None
    return c


def _order(prov, no: str, fen: int = 12345):
    return prov.create_order(
        out_trade_no=no,
        amount_fen=fen,
        description="阳光花园 B202611-3-1205",
        bill_number="B202611-3-1205",
        expires_at=dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC),
    )


# -- signatures, independent of any gateway ---------------------------------------------------


def test_sha256withrsa_verifies_the_wechat_message_and_nothing_else() -> None:
    key = crypto.new_rsa_key()
    msg = crypto.wechat_message("1700000000", "abc", '{"a":1}')
    assert msg == '1700000000\nabc\n{"a":1}\n'
    sig = crypto.rsa_sign(crypto.private_pem(key), msg)
    assert crypto.rsa_verify(crypto.public_pem(key), msg, sig)
    assert not crypto.rsa_verify(crypto.public_pem(key), msg.replace("1}", "2}"), sig)
    assert not crypto.rsa_verify(crypto.public_pem(crypto.new_rsa_key()), msg, sig)
    assert not crypto.rsa_verify(crypto.public_pem(key), msg, "not base64!")


def test_alipay_signs_sorted_pairs_without_sign_and_sign_type() -> None:
    params = {"b": "2", "a": "1", "sign": "x", "sign_type": "RSA2", "empty": ""}
    assert crypto.alipay_content(params) == "a=1&b=2"
    assert crypto.alipay_request_content(params) == "a=1&b=2&sign_type=RSA2"


def test_aes_256_gcm_resource_round_trip_and_tamper_detection() -> None:
    key = "0123456789abcdef0123456789abcdef"
    ct = crypto.aes_gcm_encrypt(key, "nonce123456", b'{"x":1}', "transaction")
    assert crypto.aes_gcm_decrypt(key, "nonce123456", ct, "transaction") == b'{"x":1}'
    raw = bytearray(base64.b64decode(ct))
    raw[0] ^= 1
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag
        crypto.aes_gcm_decrypt(key, "nonce123456", base64.b64encode(raw).decode(), "transaction")


# -- WeChat Pay Native ------------------------------------------------------------------------


def test_wechat_native_order_gives_a_code_url_and_its_notification_verifies(gateway, clock) -> None:
    prov = WeChatNative(gateway.provider_config("wechat-native"), clock)
    created = _order(prov, "KOWX0001")
    assert created.qr_content.startswith("weixin://wxpay/bizpayurl?pr=")
    headers, body = gateway.pay("KOWX0001")
    notice = prov.verify_notification(headers, body)
    assert (notice.out_trade_no, notice.amount_fen) == ("KOWX0001", 12345)
    assert notice.txn_id == gateway.orders["KOWX0001"].txn_id
    assert prov.query("KOWX0001").status == "paid"
    assert prov.notification_reply(True) == (204, b"")


def test_wechat_rejects_a_bad_signature_a_tampered_resource_and_a_stale_timestamp(
    gateway, clock
) -> None:
    prov = WeChatNative(gateway.provider_config("wechat-native"), clock)
    _order(prov, "KOWX0002")
    headers, body = gateway.pay("KOWX0002")
    with pytest.raises(NotificationRejected, match="signature"):
        prov.verify_notification(headers | {"Wechatpay-Nonce": "other"}, body)
    doc = json.loads(body)
    doc["resource"]["ciphertext"] = doc["resource"]["ciphertext"][:-4] + "AAAA"
    tampered = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    resigned = gateway._wechat_headers(tampered, clock.now())
    with pytest.raises(NotificationRejected, match="decrypt"):
        prov.verify_notification(resigned, tampered.encode())
    clock.advance(seconds=301)
    with pytest.raises(NotificationRejected, match="window"):
        prov.verify_notification(headers, body)


def test_wechat_refuses_an_answer_not_signed_by_the_platform(gateway, clock) -> None:
    cfg = gateway.provider_config("wechat-native")
    cfg["platform_public_key"] = crypto.public_pem(crypto.new_rsa_key())
    with pytest.raises(ProviderError, match="not signed"):
        _order(WeChatNative(cfg, clock), "KOWX0003")


def test_wechat_close_refund_and_statement(gateway, clock) -> None:
    prov = WeChatNative(gateway.provider_config("wechat-native"), clock)
    _order(prov, "KOWX0004", 5000)
    _order(prov, "KOWX0005", 7000)
    prov.close("KOWX0004")
    assert prov.query("KOWX0004").status == "closed"
    gateway.pay("KOWX0005")
    assert (
        prov.refund(
            out_trade_no="KOWX0005", refund_no="TK1", amount_fen=1000, total_fen=7000, reason="r"
        )
        == "done"
    )
    lines = prov.statement(clock.now().astimezone(dt.timezone(dt.timedelta(hours=8))).date())
    mine = [
        (ln.out_trade_no, ln.amount_fen, ln.kind) for ln in lines if ln.out_trade_no == "KOWX0005"
    ]
    assert sorted(mine) == [("KOWX0005", 1000, "refund"), ("KOWX0005", 7000, "payment")]


# -- Alipay precreate -------------------------------------------------------------------------


def test_alipay_precreate_gives_a_qr_code_and_its_notification_verifies(gateway, clock) -> None:
    prov = AlipayPrecreate(gateway.provider_config("alipay-precreate"), clock)
    created = _order(prov, "KOALI0001", 2372)
    assert created.qr_content.startswith("https://qr.alipay.com/")
    headers, body = gateway.pay("KOALI0001")
    notice = prov.verify_notification(headers, body)
    assert (notice.out_trade_no, notice.amount_fen) == ("KOALI0001", 2372)
    assert prov.notification_reply(True) == (200, b"success")
    assert prov.query("KOALI0001").status == "paid"


def test_alipay_rejects_a_changed_amount_and_a_foreign_signature(gateway, clock) -> None:
    prov = AlipayPrecreate(gateway.provider_config("alipay-precreate"), clock)
    _order(prov, "KOALI0002", 2372)
    _, body = gateway.pay("KOALI0002")
    params = dict(urllib.parse.parse_qsl(body.decode()))
    changed = urllib.parse.urlencode(params | {"total_amount": "0.01"}).encode()
    with pytest.raises(NotificationRejected, match="signature"):
        prov.verify_notification({}, changed)
    other = crypto.private_pem(crypto.new_rsa_key())
    forged = params | {"sign": crypto.rsa_sign(other, crypto.alipay_content(params))}
    with pytest.raises(NotificationRejected, match="signature"):
        prov.verify_notification({}, urllib.parse.urlencode(forged).encode())


def test_alipay_refuses_an_answer_not_signed_by_alipay(gateway, clock) -> None:
    cfg = gateway.provider_config("alipay-precreate")
    cfg["alipay_public_key"] = crypto.public_pem(crypto.new_rsa_key())
    with pytest.raises(ProviderError, match="not signed"):
        _order(AlipayPrecreate(cfg, clock), "KOALI0003")


# -- EMV QR through the bank gateway ------------------------------------------------------------


def test_emv_dynamic_qr_carries_amount_bill_and_order_reference(gateway, clock) -> None:
    prov = EMVDynamic(gateway.provider_config("emv-dynamic"), clock)
    created = _order(prov, "KOEMV0001", 123450)
    qr = emv.decode(created.qr_content, strict=True)
    assert qr.amount_fen == 123450 and qr.dynamic
    assert qr.additional["bill_number"] == "B202611-3-1205"
    assert qr.additional["reference_label"] == "KOEMV0001"
    assert qr.alt_name == "阳光花园物业"
    notice = prov.verify_notification(*gateway.pay("KOEMV0001"))
    assert notice.amount_fen == 123450


def test_emv_static_qr_has_no_amount(gateway, clock) -> None:
    prov = EMVStatic(gateway.provider_config("emv-static"), clock)
    qr = emv.decode(_order(prov, "KOEMV0002").qr_content)
    assert qr.amount_fen is None and not qr.dynamic


def test_bank_notification_with_a_wrong_hmac_is_rejected(gateway, clock) -> None:
    prov = SimGateway(gateway.provider_config("sim"), clock)
    _order(prov, "KOSIM0001")
    headers, body = gateway.pay("KOSIM0001")
    with pytest.raises(NotificationRejected):
        prov.verify_notification(headers | {"X-Gateway-Signature": "0" * 64}, body)


# -- configuration --------------------------------------------------------------------------


def test_credentials_come_from_config_and_env_and_are_never_described(monkeypatch) -> None:
    monkeypatch.setenv("KIOSK_BILLING_WECHAT_NATIVE_API_V3_KEY", "k" * 32)
    cfg = provider_config({"providers": {"wechat-native": {"mchid": "1900"}}}, "wechat-native")
    assert cfg == {"mchid": "1900", "api_v3_key": "k" * 32}
    ready, problems = build_providers(
        [WeChatNative, SimGateway], {"providers_enabled": ["wechat-native"]}, FixedClock()
    )
    assert ready == {} and "missing configuration" in problems["wechat-native"]
    assert "k" * 32 not in problems["wechat-native"]


def test_describe_redacts_every_secret(gateway, clock) -> None:
    prov = WeChatNative(gateway.provider_config("wechat-native"), clock)
    text = json.dumps(prov.describe())
    assert gateway.api_v3_key not in text and "PRIVATE KEY" not in text
    assert prov.describe()["mchid"] == gateway.mchid


# -- end to end through the service ----------------------------------------------------------


@pytest.mark.parametrize("name", ["wechat-native", "alipay-precreate", "emv-dynamic"])
def test_a_bill_is_paid_through_each_real_protocol(people, bctx, gateway, name) -> None:
    bill = service.open_bills(bctx, "3-1205")[0]
    order = service.create_payment_order(bctx, people.resident(bctx, "3-1205"), bill.id, name)
    headers, body = gateway.pay(order.out_trade_no)
    outcome = service.handle_notification(bctx, name, headers, body)
    assert outcome.verdict == "paid"
    assert service.handle_notification(bctx, name, headers, body).verdict == "duplicate"
    assert service.get_bill(bctx, bill.id).status == "paid"


def test_notifications_arrive_over_http_and_get_the_providers_reply(bctx, gateway, people) -> None:
    import urllib.request

    from plugins.billing.notify_server import serve_in_background

    server = serve_in_background(bctx)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/notify/alipay-precreate"
        bill = service.open_bills(bctx, "3-1205")[0]
        order = service.create_payment_order(
            bctx, people.resident(bctx, "3-1205"), bill.id, "alipay-precreate"
        )
        headers, body = gateway.pay(order.out_trade_no)
        req = urllib.request.Request(url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert (resp.status, resp.read()) == (200, b"success")
        assert service.order_status(bctx, order.out_trade_no).status == "paid"
    finally:
        server.shutdown()
        server.server_close()


# -- anything a stranger can post is a rejection, never a crash ------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode),
    headers=st.dictionaries(
        st.sampled_from(
            [
                "Wechatpay-Timestamp",
                "Wechatpay-Nonce",
                "Wechatpay-Signature",
                "X-Gateway-Timestamp",
                "X-Gateway-Signature",
            ]
        ),
        st.text(max_size=40),
    ),
)
def test_random_posts_to_any_provider_are_rejected_cleanly(gateway, body, headers) -> None:
    clock = FixedClock()
    for cls in (WeChatNative, AlipayPrecreate, SimGateway):
        prov = cls(gateway.provider_config(cls.name), clock)
        with pytest.raises(NotificationRejected):
            prov.verify_notification(headers, body)


# -- the connection a provider keeps ----------------------------------------------------------


def test_a_provider_keeps_its_connection_and_a_stopped_gateway_answers_no_more() -> None:
    import socket
    import time

    gw = FakeGateway(key_bits=1024)
    try:
        prov = SimGateway(gw.provider_config("sim"), FixedClock())
        gw.clock = prov.clock
        for no in ("KEEP1", "KEEP2", "KEEP3"):
            assert _order(prov, no).qr_content.endswith(no)
        assert len(gw._connections) == 1  # three orders, one connection
        # The gateway closes it while idle: the next request goes on a new one, unharmed.
        for conn in list(gw._connections):
            conn.shutdown(socket.SHUT_RDWR)
        for _ in range(100):
            if not gw._connections:
                break
            time.sleep(0.01)
        assert prov.query("KEEP1").status == "pending"
    finally:
        gw.stop()
    # Stopped, it answers on no connection, the kept one included; the request never left.
    with pytest.raises(ProviderError) as refused:
        _order(prov, "KEEP4")
    assert not refused.value.ambiguous
