"""What the parking screens, CLI and reports show of a rental: :class:`RentalView` (holder,
phone and licence masked), its shown state, and finding a rental by id or number."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from kiosk.db import read_views
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


# A rental's active card (its printed number, else its UID) and the rent billed but not paid.
_CARD_AND_PENDING = select(
    select(func.coalesce(func.nullif(ParkingCard.printed_number, ""), ParkingCard.uid_hex))
    .where(ParkingCard.rental_id == bindparam("rental_id"), ParkingCard.state == "active")
    .order_by(ParkingCard.id)
    .limit(1)
    .scalar_subquery(),
    select(func.coalesce(func.sum(ParkingPeriod.amount_fen), 0))
    .where(ParkingPeriod.rental_id == bindparam("rental_id"), ParkingPeriod.state == "pending")
    .scalar_subquery(),
)


def rental_view(ctx: KioskContext, session: Session, rental: ParkingRental) -> RentalView:
    unit = session.get(Unit, rental.unit_id)
    resident = session.get(Resident, rental.resident_id)
    card_number, pending = (
        session.connection().execute(_CARD_AND_PENDING, {"rental_id": rental.id}).one()
    )
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
        card_number=card_number or "",
        monthly_rent_fen=rental.monthly_rent_fen,
        pending_fen=pending,
    )


def is_rental_id(ref: int | str) -> bool:
    """Whether ``ref`` names a rental by its id (else by its ``PK...`` number)."""
    return isinstance(ref, int) or str(ref).isdigit() and not str(ref).startswith("PK")


def no_rental(ref: int | str) -> Refused:
    return Refused("parking.no_rental", "There is no parking rental {ref}.", ref=ref)


def find_rental(session: Session, ref: int | str) -> ParkingRental:
    if is_rental_id(ref):
        rental = session.get(ParkingRental, int(ref))
    else:
        rental = session.scalar(select(ParkingRental).where(ParkingRental.number == str(ref)))
    if rental is None:
        raise no_rental(ref)
    return rental


def get_rental(ctx: KioskContext, ref: int | str) -> RentalView:
    with ctx.database().read() as session:
        return rental_view(ctx, session, find_rental(session, ref))


def rentals_of_unit(ctx: KioskContext, unit_id: int) -> list[RentalView]:
    open_rentals = (
        select(ParkingRental)
        .where(ParkingRental.unit_id == unit_id, ParkingRental.state == "open")
        .order_by(ParkingRental.id)
    )
    return read_views(ctx, open_rentals, rental_view)
