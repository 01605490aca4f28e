"""On PostgreSQL, with real parallel transactions: the same notification delivered 50 times
at once pays the bill once."""

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


def test_fifty_parallel_deliveries_of_one_notification_pay_once(postgres, gateway, people) -> None:
    url = postgres.fresh(seeded=True)
    # One connection per delivery, so all 50 transactions really run at once.
    ctx = KioskContext(
        settings=Settings(database_url=url, kiosk_id="test-kiosk", source="<tests>"),
        clock=FixedClock(),
        db=Database(url, engine=make_engine(url, pool_size=50, max_overflow=5)),
        plugins=load_plugins(),
    )
    gateway.clock = ctx.clock
    gateway.deliver = None
    service.use_providers(ctx, {"sim": SimGateway(gateway.provider_config("sim"), ctx.clock)})
    bill = service.open_bills(ctx, "3-1205")[0]
    order = service.create_payment_order(ctx, people.resident(ctx, "3-1205"), bill.id, "sim")
    headers, body = gateway.pay(order.out_trade_no)

    start = threading.Barrier(50)
    verdicts: list[str] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        start.wait()
        try:
            verdicts.append(service.handle_notification(ctx, "sim", headers, body).verdict)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert sorted(verdicts) == ["duplicate"] * 49 + ["paid"]
        with ctx.database().read() as s:
            assert s.scalar(select(func.count()).select_from(Payment)) == 1
            paid = s.get(Bill, bill.id)
            assert paid is not None and paid.status == "paid" and paid.balance_fen == 0
            assert paid.paid_fen == order.amount_fen
            assert s.scalar(select(func.count()).select_from(NoticeLog)) == 50
    finally:
        ctx.database().dispose()
