"""The demo estate's bills use the estate's own parking amounts, and its parking story holds
together: 王小明 (3-1205) rents a bay, his rent is on his bills as the parking plugin's
pending periods, and his card's deposit is held."""

from __future__ import annotations

from sqlalchemy import select

from kiosk.context import KioskContext
from kiosk.db.models import Unit
from plugins.billing.models import Bill, BillLine, Deposit
from plugins.parking.models import ParkingCard, ParkingPeriod, ParkingRental
from plugins.parking.service import ParkingRules, period_reference

CARD_DEPOSIT = Deposit.kind == "parking_card"


def test_the_demo_parking_lines_use_the_configured_rent_and_deposit(ctx: KioskContext) -> None:
    rules = ParkingRules.of(ctx)
    # The seed's amounts: rent 100 CNY a month, deposit 50 CNY (the parking plugin's defaults).
    assert (rules.monthly_rent_fen, rules.deposit_fen) == (10000, 5000)
    with ctx.database().read() as s:
        unit = s.scalar(select(Unit).where(Unit.code == "3-1205"))
        assert unit is not None
        rents = s.scalars(
            select(BillLine)
            .join(Bill, Bill.id == BillLine.bill_id)
            .where(Bill.unit_id == unit.id, BillLine.kind == "parking_rent")
        ).all()
        deposit = s.scalar(select(Deposit).where(Deposit.unit_id == unit.id, CARD_DEPOSIT))
        rental = s.scalar(select(ParkingRental).where(ParkingRental.unit_id == unit.id))
        assert rental is not None
        pending = s.scalars(
            select(ParkingPeriod).where(
                ParkingPeriod.rental_id == rental.id, ParkingPeriod.state == "pending"
            )
        ).all()
        card = s.scalar(select(ParkingCard).where(ParkingCard.rental_id == rental.id))
    assert len(rents) == 2  # last month's (overdue) and this month's
    assert {line.amount_fen for line in rents} == {rules.monthly_rent_fen}
    # Each rent line is a pending period of his rental: paying the bill renews the card.
    assert {line.source_ref for line in rents} == {period_reference(p.id) for p in pending}
    assert {line.id for line in rents} == {p.bill_line_id for p in pending}
    assert deposit is not None and deposit.amount_fen == rules.deposit_fen
    assert deposit.status == "held" and card is not None
    assert (card.deposit_receipt, card.deposit_state) == (deposit.receipt_no, "held")


def test_the_demo_seed_follows_a_changed_parking_rent(db_url: str) -> None:
    from kiosk.clock import FixedClock
    from kiosk.db import Database
    from kiosk.demo import seed_demo
    from kiosk.plugins import load_plugins
    from tests.conftest import settings_for

    settings = settings_for(
        db_url, plugin_settings={"parking": {"monthly_rent_fen": 12345, "deposit_fen": 6789}}
    )
    ctx = KioskContext(
        settings=settings, clock=FixedClock(), db=Database(db_url), plugins=load_plugins()
    )
    try:
        with ctx.database().write() as s:
            seed_demo(s, ctx)
        with ctx.database().read() as s:
            rents = {
                line.amount_fen
                for line in s.scalars(select(BillLine).where(BillLine.kind == "parking_rent"))
            }
            deposit = s.scalar(select(Deposit).where(CARD_DEPOSIT))
        assert rents == {12345}
        assert deposit is not None and deposit.amount_fen == 6789
    finally:
        ctx.database().dispose()
