"""On PostgreSQL, with real parallel transactions: the same notification delivered 50 times
at once pays the bill once, and orders sharing bills pay them once without deadlocking."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from kiosk.clock import FixedClock
from kiosk.config import Settings
from kiosk.context import KioskContext
from kiosk.db import Database, make_engine
from kiosk.plugins import load_plugins
from plugins.billing import service
from plugins.billing.models import Bill, NoticeLog, Payment
from plugins.billing.providers import SimGateway

pytestmark = pytest.mark.postgres


def _parallel_ctx(postgres, gateway, connections: int) -> KioskContext:
    """The demo estate on a fresh PostgreSQL database, one connection per delivery so that
    the transactions really run at once; the sim provider wired to the fake gateway."""
    url = postgres.fresh(seeded=True)
    ctx = KioskContext(
        settings=Settings(database_url=url, kiosk_id="test-kiosk", source="<tests>"),
        clock=FixedClock(),
        db=Database(url, engine=make_engine(url, pool_size=connections, max_overflow=5)),
        plugins=load_plugins(),
    )
    gateway.clock = ctx.clock
    gateway.deliver = None
    service.use_providers(ctx, {"sim": SimGateway(gateway.provider_config("sim"), ctx.clock)})
    return ctx


def _deliver_at_once(ctx: KioskContext, notices: list[tuple[dict, bytes]]) -> list[str]:
    """Deliver every notice on its own thread, all starting together; their verdicts."""
    start = threading.Barrier(len(notices))
    verdicts: list[str] = []
    errors: list[BaseException] = []

    def deliver(headers: dict, body: bytes) -> None:
        start.wait()
        try:
            verdicts.append(service.handle_notification(ctx, "sim", headers, body).verdict)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=deliver, args=notice) for notice in notices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return verdicts


def test_fifty_parallel_deliveries_of_one_notification_pay_once(postgres, gateway, people) -> None:
    ctx = _parallel_ctx(postgres, gateway, 50)
    bill = service.open_bills(ctx, "3-1205")[0]
    order = service.create_payment_order(ctx, people.resident(ctx, "3-1205"), bill.id, "sim")
    notice = gateway.pay(order.out_trade_no)
    try:
        verdicts = _deliver_at_once(ctx, [notice] * 50)
        assert sorted(verdicts) == ["duplicate"] * 49 + ["paid"]
        with ctx.database().read() as s:
            assert s.scalar(select(func.count()).select_from(Payment)) == 1
            paid = s.get(Bill, bill.id)
            assert paid is not None and paid.status == "paid" and paid.balance_fen == 0
            assert paid.paid_fen == order.amount_fen
            assert s.scalar(select(func.count()).select_from(NoticeLog)) == 50
    finally:
        ctx.database().dispose()


def test_an_order_of_arrears_and_one_bills_order_racing_pay_once(postgres, gateway, people) -> None:
    """Notices for an order of all arrears and for an order of its newest bill, delivered
    at once, ten times each: no deadlock, one of them paid, the other flagged for a refund."""
    ctx = _parallel_ctx(postgres, gateway, 20)
    me = people.resident(ctx, "3-1205")
    bills = service.open_bills(ctx, "3-1205")
    arrears = service.create_arrears_order(ctx, me, "3-1205", "sim")
    newest = service.create_payment_order(ctx, me, bills[-1].id, "sim")
    notices = [gateway.pay(arrears.out_trade_no), gateway.pay(newest.out_trade_no)]
    try:
        verdicts = _deliver_at_once(ctx, notices * 10)
        assert sorted(set(verdicts)) == ["duplicate", "flagged", "paid"]
        assert verdicts.count("paid") == 1
        ids = [b.id for b in bills]
        with ctx.database().read() as s:
            received = s.scalar(
                select(func.sum(Payment.amount_fen)).where(Payment.bill_id.in_(ids))
            )
            applied = s.scalar(select(func.sum(Bill.paid_fen)).where(Bill.id.in_(ids)))
        assert received == applied
        assert received in (arrears.amount_fen, newest.amount_fen)
    finally:
        ctx.database().dispose()
