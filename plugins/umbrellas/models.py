"""Umbrella lending (便民雨伞): the lobby's stock and the loan register (物品借取登记表).

States and conditions are strings checked in the service layer; money in fen; times UTC.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.db import Base
from kiosk.db.models import KioskId, Person, UnitRef

UMBRELLA_STATES = ("available", "lent", "overdue", "damaged", "lost", "retired")
UMBRELLA_KINDS = ("long", "short")
RETURN_CONDITIONS = ("intact", "damaged", "lost")
# none: nothing owed; pending: the butler has to confirm; billed: a bill line of the unit;
# desk: to be paid at the desk (no billing plugin); paid; waived.
FEE_STATUSES = ("none", "pending", "billed", "desk", "paid", "waived")


class Umbrella(Base):
    """One umbrella of a lobby's stock, known by the tag on its handle."""

    __tablename__ = "umbrella"
    __table_args__ = (Index("ix_umbrella_lobby_state", "lobby", "state"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tag: Mapped[str] = mapped_column(String(32), unique=True)
    lobby: Mapped[str] = mapped_column(String(32), default="")
    kind: Mapped[str] = mapped_column(String(8), default="long")
    price_fen: Mapped[int] = mapped_column(Integer, default=0)
    condition: Mapped[str] = mapped_column(String(100), default="intact")
    state: Mapped[str] = mapped_column(String(16), default="available")
    added_at: Mapped[dt.datetime]


class UmbrellaLoan(Base):
    """One line of the loan register: who took which umbrella in what condition, and back."""

    __tablename__ = "umbrella_loan"
    __table_args__ = (
        Index("ix_umbrella_loan_unit_open", "unit_id", "returned_at"),
        Index("ix_umbrella_loan_umbrella", "umbrella_id", "returned_at"),
        Index("ix_umbrella_loan_fee_status", "fee_status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    umbrella_id: Mapped[int] = mapped_column(ForeignKey("umbrella.id"))
    unit_id: Mapped[UnitRef]
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    lent_at: Mapped[dt.datetime]
    due_at: Mapped[dt.datetime]
    lent_kiosk: Mapped[KioskId]
    condition_out: Mapped[str] = mapped_column(String(100), default="intact")
    returned_at: Mapped[dt.datetime | None]
    returned_kiosk: Mapped[KioskId]
    condition_in: Mapped[str] = mapped_column(String(16), default="")
    late_fee_fen: Mapped[int] = mapped_column(Integer, default=0)
    compensation_fen: Mapped[int] = mapped_column(Integer, default=0)
    fee_status: Mapped[str] = mapped_column(String(16), default="none")
    confirmed_by: Mapped[Person]
    confirmed_at: Mapped[dt.datetime | None]
    reminded_at: Mapped[dt.datetime | None]
