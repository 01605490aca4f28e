"""Demo parking: one valid monthly rental with a card, one lapsed (its card says so)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from kiosk.db.models import Card, Resident, Unit
from kiosk.identity import card_forms
from plugins.parking.models import ParkingCard, ParkingPeriod, ParkingRental
from plugins.parking.service import ParkingRules, period_end

# unit, plate, car model, card UID as an RDM6300 reads it, months paid, days ago it started
DEMO_RENTALS = (
    ("1-1001", "粤B12345", "大众 朗逸", "5A0000AB01", 1, 3),
    ("2-502", "粤BD12345", "比亚迪 秦", "5A0000AB02", 1, 40),
)


def seed(session: Any, ctx: Any) -> list[str]:
    rules = ParkingRules.of(ctx)
    today, now = ctx.today(), ctx.clock.now()
    lines = []
    for n, (code, plate, model, uid, months, ago) in enumerate(DEMO_RENTALS, start=1):
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
        session.add(
            ParkingCard(
                rental_id=rental.id, card_id=card.id, uid_hex=hex_uid, printed_number=dec,
                state="active", deposit_receipt="", deposit_state="none",
                issued_at=rental.created_at, issued_by="staff:2",
            )
        )  # fmt: skip
        session.flush()
        state = "valid to" if end >= today else "expired on"
        lines.append(f"parking: card {uid} ({code} {plate}) {state} {end}")
    return lines
