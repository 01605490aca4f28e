"""``kiosk billing notify-server`` against a stranger: the real server on 127.0.0.1, raw bytes
for what http clients will not send, and a flood of forged notices."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from kiosk.db.models import AuditEvent
from plugins.billing import notify_server, service
from plugins.billing.models import NoticeLog


@pytest.fixture
def server(bctx) -> Iterator[int]:
    srv = notify_server.serve_in_background(bctx)
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def _raw(port: int, data: bytes) -> bytes:
    """Send ``data`` and read the answer's status line without closing our side: a server
    that waits for the end of the body (or of the stream) never answers and this times out."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        answer = b""
        while b"\r\n" not in answer:
            chunk = s.recv(1024)
            if not chunk:
                break
            answer += chunk
        return answer.split(b"\r\n", 1)[0]


def _count(ctx, model, *where) -> int:
    with ctx.database().read() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def _post(port: int, path: str, headers: dict[str, str], body: bytes) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("length", "status"),
    [
        ("-1", b"400"),
        ("-65536", b"400"),
        ("+10", b"400"),
        ("1e3", b"400"),
        ("0x10", b"400"),
        ("99999999999999999999999", b"400"),
        (str(notify_server.MAX_BODY + 1), b"413"),
        (str(10**9), b"413"),
    ],
)
def test_a_content_length_that_is_not_a_small_count_is_refused_before_reading(
    bctx, server, length, status
) -> None:
    head = f"POST /notify/sim HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n"
    line = _raw(server, head.encode() + b"x" * 4096)
    assert line.split(b" ")[1] == status, line
    assert _count(bctx, NoticeLog) == 0


@pytest.mark.parametrize(
    "head",
    [
        "POST /notify/sim HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /notify/sim HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    ],
)
def test_a_body_without_a_length_is_refused(bctx, server, head) -> None:
    assert _raw(server, head.encode() + b"10\r\n" + b"x" * 16).split(b" ")[1] == b"411"


def test_two_content_lengths_are_refused(bctx, server) -> None:
    head = "POST /notify/sim HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 70000\r\n\r\nab"
    assert _raw(server, head.encode()).split(b" ")[1] == b"400"


def test_an_unknown_provider_is_not_found(bctx, server) -> None:
    assert _post(server, "/notify/nosuch", {}, b"{}") == 404
    assert _post(server, "/notify/sim/x", {}, b"{}") == 404


def test_a_thousand_forged_notices_cost_constant_rows_and_a_valid_one_still_pays(
    bctx, server, gateway, people
) -> None:
    bill = service.open_bills(bctx, "3-1205")[0]
    order = service.create_payment_order(bctx, people.resident(bctx, "3-1205"), bill.id, "sim")
    headers, body = gateway.pay(order.out_trade_no)
    forged = body.replace(b'"amount_fen":', b'"amount_fen":1,"x":')
    statuses = [_post(server, "/notify/sim", headers, forged) for _ in range(1000)]
    budget = notify_server.REJECT_BUDGET
    assert statuses[:budget] == [400] * budget  # the provider protocol's "rejected"
    assert set(statuses[budget:]) == {429}  # then the client is throttled
    assert service.order_status(bctx, order.out_trade_no).status == "pending"

    # The real provider's notice, from the same (throttled) address, is applied.
    assert _post(server, "/notify/sim", headers, body) == 200
    assert service.order_status(bctx, order.out_trade_no).status == "paid"

    assert service.flush_rejections(bctx) == 999
    assert service.flush_rejections(bctx) == 0
    rows = _count(bctx, NoticeLog, NoticeLog.verdict == "rejected")
    events = _count(bctx, AuditEvent, AuditEvent.action == "billing.notice.rejected")
    assert rows == events == 2  # the first, and "999 more" for the window
    with bctx.database().read() as s:
        details = s.scalars(
            select(NoticeLog.detail).where(NoticeLog.verdict == "rejected").order_by(NoticeLog.id)
        ).all()
    assert details[0] == "signature does not verify"
    assert details[1].startswith("999 more rejected")


def test_a_new_window_records_its_first_rejection_and_the_last_windows_count(
    bctx, gateway, people
) -> None:
    bill = service.open_bills(bctx, "3-1205")[0]
    order = service.create_payment_order(bctx, people.resident(bctx, "3-1205"), bill.id, "sim")
    headers, body = gateway.pay(order.out_trade_no)
    forged = body + b" "
    for _ in range(5):
        assert service.handle_notification(bctx, "sim", headers, forged).verdict == "rejected"
    assert _count(bctx, NoticeLog, NoticeLog.verdict == "rejected") == 1
    bctx.clock.advance(minutes=2)
    assert service.handle_notification(bctx, "sim", headers, forged).verdict == "rejected"
    with bctx.database().read() as s:
        details = s.scalars(select(NoticeLog.detail).order_by(NoticeLog.id)).all()
    assert len(details) == 3 and details[1].startswith("4 more rejected")


def test_the_client_throttle_counts_per_address_and_window(bctx) -> None:
    t = notify_server.ClientThrottle(budget=2)
    now = bctx.clock.now()
    assert [t.reject("10.0.0.1", now) for _ in range(3)] == [False, False, True]
    assert t.reject("10.0.0.2", now) is False
    assert t.reject("10.0.0.1", now + notify_server.REJECT_WINDOW) is False
