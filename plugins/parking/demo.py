"""Demo parking: one valid monthly rental with a card, one lapsed (its card says so), and
王小明's (3-1205): lapsed, its card's deposit held, the rent for last month and this month on
his bills. Paying those bills at the kiosk (the demo's bill flow) brings his card back: the
periods apply the next time the card is read."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

import plugins.billing.api as billing
from kiosk import audit
from kiosk.db.models import Card, Resident, Unit
from kiosk.identity import SYSTEM, Actor, card_forms
from plugins.parking.models import ParkingCard, ParkingPeriod, ParkingRental
from plugins.parking.service import ParkingRules, _take_rent, add_months, period_end

# unit, plate, car model, card UID as an RDM6300 reads it, months paid in cash, days ago it
# started, months billed since (last month's and this month's rent, on the unit's bills)
DEMO_RENTALS = (
    ("1-1001", "粤B12345", "大众 朗逸", "5A0000AB01", 1, 3, 0),
    ("2-502", "粤BD12345", "比亚迪 秦", "5A0000AB02", 1, 40, 0),
    ("3-1205", "粤B88K66", "丰田 卡罗拉", "5A0000AB03", 1, 75, 2),
)
CASHIER = Actor("staff", 2, "陈收银", frozenset({"cashier"}))


def seed(session: Any, ctx: Any) -> list[str]:
    rules = ParkingRules.of(ctx)
    today, now = ctx.today(), ctx.clock.now()
    lines = []
    for n, (code, plate, model, uid, months, ago, billed) in enumerate(DEMO_RENTALS, start=1):
        unit = session.scalar(select(Unit).where(Unit.code == code))
        owner = unit and session.scalar(
            select(Resident).where(Resident.unit_id == unit.id, Resident.role == "owner")
        )
        if owner is None:
            continue
        start = today - dt.timedelta(days=ago)
        end = period_end(start, months)
        rental = ParkingRental(
            number=f"PK{start:%Y%m}{n:04d}", unit_id=unit.id, resident_id=owner.id, plate=plate,
            car_model=model, licence_masked="4403**********1234", identity_checked=True,
            checked_by="staff:2", monthly_rent_fen=rules.monthly_rent_fen, start_date=start,
            end_date=end, state="open", created_at=now - dt.timedelta(days=ago),
            created_by="staff:2",
        )  # fmt: skip
        session.add(rental)
        session.flush()
        session.add(
            ParkingPeriod(
                rental_id=rental.id, months=months, amount_fen=months * rules.monthly_rent_fen,
                method="cash", state="applied", receipt_no=f"YZDEMO{n:04d}", from_date=start,
                to_date=end, created_at=rental.created_at, created_by="staff:2",
                applied_at=rental.created_at,
            )
        )  # fmt: skip
        hex_uid, dec, rev = card_forms(uid)
        card = Card(
            uid_hex=hex_uid, uid_dec=dec, uid_dec_rev=rev, printed_number=dec, kind="parking",
            status="active" if end >= today else "expired", resident_id=owner.id,
            created_at=rental.created_at,
        )  # fmt: skip
        session.add(card)
        session.flush()
        binding = ParkingCard(
            rental_id=rental.id, card_id=card.id, uid_hex=hex_uid, printed_number=dec,
            state="active", deposit_receipt="", deposit_state="none",
            issued_at=rental.created_at, issued_by="staff:2",
        )  # fmt: skip
        session.add(binding)
        session.flush()
        if billed:
            # Issued as the desk issues a card today: its deposit held on the unit's ledger.
            if rules.deposit_fen and billing.available(ctx):
                binding.deposit_receipt = billing.take_deposit_in(
                    session, ctx, CASHIER, unit.id, "parking_card", rules.deposit_fen,
                    "停车卡押金", source_ref=f"parking:card:{binding.id}",
                )  # fmt: skip
                binding.deposit_state = "held"
                audit.record_for(
                    ctx, session, CASHIER, "parking.card.issued", f"rental:{rental.number}",
                    {"card": dec, "uid": hex_uid, "replaces": None,
                     "deposit": binding.deposit_receipt},
                )  # fmt: skip
            # The service's own billed renewal (its callers check the role; the seed is the
            # system): on last month's bill, then this month's.
            for back in range(billed - 1, -1, -1):
                month = f"{add_months(today, -back):%Y-%m}"
                _take_rent(ctx, session, SYSTEM, rental, 1, "bill", bill_period=month)
        state = "valid to" if end >= today else "expired on"
        owed = f", {billed} months' rent on the unit's bills" if billed else ""
        lines.append(f"parking: card {uid} ({code} {plate}) {state} {end}{owed}")
    return lines
