"""Item release passes (物品放行条): the pass register and its three signatures.

A pass goes ``requested`` -> ``approved`` (printed with a signed QR) -> ``used`` (the guard
recorded the exit); or ``refused``. Times UTC; money in fen.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.db import Base
from kiosk.db.models import KioskId, Person, SignaturePng, SignatureStrokes, UnitRef

PASS_STATES = ("requested", "approved", "used", "refused")
REASONS = ("move_out", "temporary")
SIGNERS = ("applicant", "butler", "guard")


class ReleasePass(Base):
    """One 物品放行条: who carries what out, why and when, the owner's word, the fee check,
    the butler's approval and the guard's record of the exit."""

    __tablename__ = "release_pass"
    __table_args__ = (Index("ix_release_pass_status", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # the id inside the signed QR
    unit_id: Mapped[UnitRef] = mapped_column(index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    applicant: Mapped[Person]
    applicant_role: Mapped[str] = mapped_column(String(16), default="")
    carrier: Mapped[str] = mapped_column(String(100), default="")
    items: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(String(16), default="temporary")
    leave_on: Mapped[dt.date | None] = mapped_column(Date)
    requested_at: Mapped[dt.datetime]
    requested_kiosk: Mapped[KioskId]
    status: Mapped[str] = mapped_column(String(16), default="requested")
    # The owner's confirmation (a tenant's or helper's pass): when, by whom, what was said.
    owner_confirmed_at: Mapped[dt.datetime | None]
    owner_note: Mapped[str] = mapped_column(String(200), default="")
    # A move-out's fee check: "" (not a move-out), "billing" (nothing open), "by_hand" (no
    # billing plugin here: the butler checked with the cashier).
    fees_check: Mapped[str] = mapped_column(String(16), default="")
    approved_by: Mapped[Person]
    approved_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime | None]
    refused_reason: Mapped[str] = mapped_column(String(200), default="")
    exited_at: Mapped[dt.datetime | None]
    guard: Mapped[Person]


class ReleaseSignature(Base):
    """One of a pass's three signatures (applicant, butler, guard): strokes and a PNG."""

    __tablename__ = "release_signature"
    __table_args__ = (Index("ix_release_signature_pass", "pass_id", "signer"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    pass_id: Mapped[int] = mapped_column(ForeignKey("release_pass.id"))
    signer: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100), default="")
    signed_at: Mapped[dt.datetime]
    strokes: Mapped[SignatureStrokes]
    png: Mapped[SignaturePng]
