"""What the parking screens, CLI and reports show of a rental: :class:`RentalView` (holder,
phone and licence masked), its shown state, and finding a rental by id or number."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.db.models import Resident, Unit
from kiosk.errors import Refused
from kiosk.pii import mask_name, mask_phone
from plugins.parking.models import ParkingCard, ParkingPeriod, ParkingRental

if TYPE_CHECKING:
    from kiosk.context import KioskContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RentalView:
    id: int
    number: str
    unit_code: str
    holder: str  # masked
    phone: str  # masked
    plate: str
    car_model: str
    licence: str  # masked
    start_date: dt.date
    end_date: dt.date
    state: str
    paid: bool  # paid through today or later
    card_number: str
    monthly_rent_fen: int
    pending_fen: int  # rent billed but not paid yet

    @property
    def shown_state(self) -> str:
        """open, unpaid (never paid: payment pending), expired (paid once, lapsed) or ended."""
        return rental_state(self.state, self.start_date, self.end_date, self.paid)


def rental_state(state: str, start: dt.date, end: dt.date, paid: bool) -> str:
    """What a rental's state is called where it is shown: an open rental not paid through today
    is ``unpaid`` (payment pending) while no month was ever paid (it ends before it starts),
    and ``expired`` once paid months have run out."""
    if state != "open" or paid:
        return state
    return "unpaid" if end < start else "expired"


def state_label(state: str) -> str:
    """How a shown state reads (an English msgid; zh_CN in the plugin's catalog, STATE_ZH)."""
    return {"unpaid": "payment pending"}.get(state, state)


def rental_view(ctx: KioskContext, session: Session, rental: ParkingRental) -> RentalView:
    unit = session.get(Unit, rental.unit_id)
    resident = session.get(Resident, rental.resident_id)
    card = session.scalar(
        select(ParkingCard).where(ParkingCard.rental_id == rental.id, ParkingCard.state == "active")
    )
    pending = session.scalars(
        select(ParkingPeriod.amount_fen).where(
            ParkingPeriod.rental_id == rental.id, ParkingPeriod.state == "pending"
        )
    ).all()
    return RentalView(
        id=rental.id,
        number=rental.number,
        unit_code=unit.code if unit else "",
        holder=mask_name(resident.name) if resident else "",
        phone=mask_phone(resident.phone) if resident else "",
        plate=rental.plate,
        car_model=rental.car_model,
        licence=rental.licence_masked,
        start_date=rental.start_date,
        end_date=rental.end_date,
        state=rental.state,
        paid=rental.end_date >= ctx.today(),
        card_number=(card.printed_number or card.uid_hex) if card else "",
        monthly_rent_fen=rental.monthly_rent_fen,
        pending_fen=sum(pending),
    )


def find_rental(session: Session, ref: int | str) -> ParkingRental:
    if isinstance(ref, int) or str(ref).isdigit() and not str(ref).startswith("PK"):
        rental = session.get(ParkingRental, int(ref))
    else:
        rental = session.scalar(select(ParkingRental).where(ParkingRental.number == str(ref)))
    if rental is None:
        raise Refused("parking.no_rental", "There is no parking rental {ref}.", ref=ref)
    return rental


def get_rental(ctx: KioskContext, ref: int | str) -> RentalView:
    with ctx.database().read() as session:
        return rental_view(ctx, session, find_rental(session, ref))


def rentals_of_unit(ctx: KioskContext, unit_id: int) -> list[RentalView]:
    with ctx.database().read() as session:
        rows = session.scalars(
            select(ParkingRental)
            .where(ParkingRental.unit_id == unit_id, ParkingRental.state == "open")
            .order_by(ParkingRental.id)
        ).all()
        return [rental_view(ctx, session, r) for r in rows]
