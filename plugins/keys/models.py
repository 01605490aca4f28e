"""Key custody (钥匙委托管理清册): the keys the desk holds for vacant units, and every handover.

A key is ``in_box`` (locked in its box and slot) or ``out`` (handed over, not yet back); it
is ``returned`` when custody ends and the owner took it home. Times UTC.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.db import Base
from kiosk.db.models import Person, SignaturePng, SignatureStrokes, UnitRef

KEY_STATES = ("in_box", "out", "returned")
PURPOSES = ("viewing", "contractor", "owner")


class CustodyKey(Base):
    """One numbered key of a vacant unit, kept in a locked box and slot, on the owner's word."""

    __tablename__ = "custody_key"
    __table_args__ = (Index("ix_custody_key_unit_status", "unit_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    unit_id: Mapped[UnitRef]
    label: Mapped[str] = mapped_column(String(100), default="")
    box: Mapped[str] = mapped_column(String(16), default="")
    slot: Mapped[str] = mapped_column(String(16), default="")
    status: Mapped[str] = mapped_column(String(16), default="in_box")
    owner: Mapped[Person]
    authorisation: Mapped[str] = mapped_column(String(200), default="")
    taken_at: Mapped[dt.datetime]
    taken_by: Mapped[Person]


class KeyHandover(Base):
    """One handover out and back: who took the key (ID masked), why, the accompanying staff
    member for a viewing, and both signatures."""

    __tablename__ = "key_handover"
    __table_args__ = (Index("ix_key_handover_open", "key_id", "back_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("custody_key.id"))
    person: Mapped[str] = mapped_column(String(100))
    id_masked: Mapped[str] = mapped_column(String(32), default="")
    purpose: Mapped[str] = mapped_column(String(16))
    accompanied_by: Mapped[Person]
    out_at: Mapped[dt.datetime]
    out_by: Mapped[Person]
    out_strokes: Mapped[SignatureStrokes]
    out_png: Mapped[SignaturePng]
    due_back_at: Mapped[dt.datetime]
    back_at: Mapped[dt.datetime | None]
    back_by: Mapped[Person]
    back_strokes: Mapped[SignatureStrokes | None]
    back_png: Mapped[SignaturePng | None]
    alerted_at: Mapped[dt.datetime | None]
