"""Visitors (访客): visits (rows of 来访人员登记表), invites, the block list.

A visit's ``status``: pending (host asked) -> approved | declined | timed_out; an approved visit
has a pass (``pass_id``, signed in the QR) valid until ``valid_until``; ``signed_out_at`` ends
it (at the kiosk, by the desk, or automatically at the end of the window); ``revoked_at`` voids
the pass. PII (name, phone, ID number) is anonymised after the retention period. A visit
belongs to the lobby where it was registered (``lobby``); invites are estate-wide (valid at
any lobby), the visit they open gets the redeeming kiosk's lobby.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.db import Base
from kiosk.db.models import ActorName, KioskId, LobbyName, Person, UnitRef

VISIT_STATUSES = ("pending", "approved", "declined", "timed_out")
VISIT_KINDS = ("walkup", "invite")
INVITE_STATUSES = ("active", "used", "revoked")


class Visit(Base):
    __tablename__ = "visitor_visit"
    __table_args__ = (
        Index("ix_visitor_visit_status_signed_out", "status", "signed_out_at"),
        Index("ix_visitor_visit_created_at", "created_at"),
        Index("ix_visitor_visit_lobby_status", "lobby", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    # The lobby of the kiosk (or desk) where the visitor registered or redeemed the invite;
    # "" = not tied to a lobby (visits from before v0002): every desk lists it.
    lobby: Mapped[LobbyName]
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(32), default="")
    id_number: Mapped[str] = mapped_column(String(32), default="")
    unit_id: Mapped[UnitRef] = mapped_column(index=True)
    purpose: Mapped[str] = mapped_column(String(100), default="")
    party_size: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    held_for_desk: Mapped[bool] = mapped_column(Boolean, default=False)
    invite_id: Mapped[int | None] = mapped_column(ForeignKey("visitor_invite.id"))
    kiosk_id: Mapped[KioskId]
    created_at: Mapped[dt.datetime]
    decided_at: Mapped[dt.datetime | None]
    decided_by: Mapped[Person]
    pass_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    valid_until: Mapped[dt.datetime | None]
    print_job_id: Mapped[int | None] = mapped_column(ForeignKey("print_job.id"))
    signed_out_at: Mapped[dt.datetime | None]
    sign_out_by: Mapped[str] = mapped_column(String(16), default="")  # kiosk / desk / auto
    revoked_at: Mapped[dt.datetime | None]
    id_checked: Mapped[bool] = mapped_column(Boolean, default=False)
    id_checked_by: Mapped[Person]
    anonymised_at: Mapped[dt.datetime | None]


class Invite(Base):
    """A pre-registered visit: a code (and QR) valid in a time window, used once."""

    __tablename__ = "visitor_invite"
    __table_args__ = (Index("ix_visitor_invite_code_status", "code", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16))  # keyed digest (service.invite_digest)
    unit_id: Mapped[UnitRef] = mapped_column(index=True)
    visitor_name: Mapped[str] = mapped_column(String(100))
    visitor_phone: Mapped[str] = mapped_column(String(32), default="")
    purpose: Mapped[str] = mapped_column(String(100), default="")
    party_size: Mapped[int] = mapped_column(Integer, default=1)
    valid_from: Mapped[dt.datetime]
    valid_until: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_by: Mapped[ActorName]
    created_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    anonymised_at: Mapped[dt.datetime | None]


class BlockEntry(Base):
    """Someone whose visits wait, silently, for the desk's approval."""

    __tablename__ = "visitor_block"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(32), default="", index=True)
    id_number: Mapped[str] = mapped_column(String(32), default="")
    reason: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[ActorName]
    created_at: Mapped[dt.datetime]
