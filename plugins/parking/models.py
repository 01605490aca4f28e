"""Parking (停车): monthly rentals (月租办理记录), their IC cards and their rent periods.

A card is a core :class:`kiosk.db.models.Card` (``kind="parking"``) so any reader and any printed
form of its number finds it; :class:`ParkingCard` ties it to a rental and keeps the chain of
replacements. Money in fen, dates are local calendar dates, times UTC.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.db import Base
from kiosk.db.models import ActorName, Person, UnitRef

RENTAL_STATES = ("open", "ended")
# active: the card in use; lost: reported lost (blocked at once, replaced by a new card);
# returned: handed back at the end of the rental, deposit refunded.
PARKING_CARD_STATES = ("active", "lost", "returned")
# pending: billed, waiting for the bill to be paid; applied: the period extends the rental.
PERIOD_STATES = ("pending", "applied", "cancelled")
PAYMENT_METHODS = ("cash", "bill")


class ParkingRental(Base):
    """One monthly rental: a renter of the estate, a car, and the paid-through date."""

    __tablename__ = "parking_rental"
    __table_args__ = (
        Index("ix_parking_rental_state_end", "state", "end_date"),
        Index("ix_parking_rental_created", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    unit_id: Mapped[UnitRef] = mapped_column(index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    plate: Mapped[str] = mapped_column(String(16), index=True)
    car_model: Mapped[str] = mapped_column(String(64), default="")
    # Only the masked licence number is kept: the cashier checked the document itself.
    licence_masked: Mapped[str] = mapped_column(String(32), default="")
    identity_checked: Mapped[bool] = mapped_column(Boolean, default=False)
    checked_by: Mapped[Person]
    monthly_rent_fen: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[dt.date] = mapped_column(Date)
    # Paid through this date (inclusive); before the first payment it is start_date - 1 day.
    end_date: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[dt.datetime]
    created_by: Mapped[ActorName]
    ended_at: Mapped[dt.datetime | None]
    reminded_for: Mapped[dt.date | None] = mapped_column(Date)


class ParkingCard(Base):
    """A parking IC card bound to a rental; ``replaces_id`` links a replacement to the lost one."""

    __tablename__ = "parking_card"
    __table_args__ = (Index("ix_parking_card_rental_state", "rental_id", "state"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    rental_id: Mapped[int] = mapped_column(ForeignKey("parking_rental.id"))
    card_id: Mapped[int] = mapped_column(ForeignKey("card.id"), index=True)
    uid_hex: Mapped[str] = mapped_column(String(32))
    printed_number: Mapped[str] = mapped_column(String(32), default="")
    state: Mapped[str] = mapped_column(String(16), default="active")
    deposit_receipt: Mapped[str] = mapped_column(String(40), default="")
    deposit_state: Mapped[str] = mapped_column(String(16), default="held")
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("parking_card.id"))
    issued_at: Mapped[dt.datetime]
    issued_by: Mapped[ActorName]
    ended_at: Mapped[dt.datetime | None]
    ended_by: Mapped[Person]


class ParkingPeriod(Base):
    """Rent for ``months`` months: paid in cash at the desk (applied at once) or put on the
    unit's bill (applied when that bill is paid)."""

    __tablename__ = "parking_period"
    __table_args__ = (Index("ix_parking_period_rental_state", "rental_id", "state"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    rental_id: Mapped[int] = mapped_column(ForeignKey("parking_rental.id"))
    months: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    receipt_no: Mapped[str] = mapped_column(String(40), default="")
    bill_line_id: Mapped[int | None] = mapped_column(Integer, index=True)
    from_date: Mapped[dt.date | None] = mapped_column(Date)
    to_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime]
    created_by: Mapped[ActorName]
    applied_at: Mapped[dt.datetime | None]
