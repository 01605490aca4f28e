"""Core models: estate, buildings, units, residents, cards, staff, audit, print jobs, alerts.

Enums are stored as strings (checked in the service layer), times as UTC, money as integer fen.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql import SQLColumnExpression

from kiosk.db import Base

RESIDENT_ROLES = ("owner", "tenant", "occupant")
CARD_KINDS = ("resident", "staff", "parking")
CARD_STATUSES = ("active", "blocked", "lost", "expired", "returned")
PRINT_STATES = ("queued", "sending", "printed", "failed", "expired")


# A person's name as a row records it (who checked, approved, collected), "" until someone did.
Person = Annotated[str, mapped_column(String(100), default="")]
# Who did what the row records (created, issued, received it): known when the row is written.
ActorName = Annotated[str, mapped_column(String(100))]
# The unit a row belongs to; ``= mapped_column(index=True)`` where rows are looked up by it.
UnitRef = Annotated[int, mapped_column(ForeignKey("unit.id"))]
# The id of the kiosk where what the row records happened; "" if not at a kiosk (or not known).
KioskId = Annotated[str, mapped_column(String(64), default="")]
# The lobby a row belongs to; "" = not tied to a lobby (rows from before the column, bulk
# loads): every desk lists it.
LobbyName = Annotated[str, mapped_column(String(32), default="", server_default="")]
# A signature as kiosk.signatures takes it from a pad: its strokes, and the PNG drawn from them.
SignatureStrokes = Annotated[list, mapped_column(JSON)]
SignaturePng = Annotated[bytes, mapped_column(LargeBinary)]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Estate(Base):
    __tablename__ = "estate"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    buildings: Mapped[list[Building]] = relationship(back_populates="estate")


class Building(Base):
    __tablename__ = "building"
    __table_args__ = (UniqueConstraint("estate_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"))
    code: Mapped[str] = mapped_column(String(16))
    lobby: Mapped[str] = mapped_column(String(32), default="A")
    estate: Mapped[Estate] = relationship(back_populates="buildings")
    units: Mapped[list[Unit]] = relationship(back_populates="building")


class Unit(Base):
    """A flat or office: ``code`` is how people write it, e.g. ``3-1205``."""

    __tablename__ = "unit"
    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    floor: Mapped[int] = mapped_column(Integer, default=1)
    # Area in dm² (hundredths of a square metre), so fees per m² stay integer arithmetic.
    area_dm2: Mapped[int] = mapped_column(Integer, default=0)
    building: Mapped[Building] = relationship(back_populates="units")
    residents: Mapped[list[Resident]] = relationship(back_populates="unit")


class Resident(Base):
    __tablename__ = "resident"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[UnitRef] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16), default="owner")
    phone: Mapped[str] = mapped_column(String(32), default="")
    id_number: Mapped[str] = mapped_column(String(32), default="")
    language: Mapped[str] = mapped_column(String(8), default="zh_CN")
    # Where notifications go (kiosk.notify_channels): "" = the first [notify] resident URL
    # that can be filled and delivers; else only URLs of that kind ("email", "sms", ...).
    email: Mapped[str] = mapped_column(String(200), default="")
    notify_channel: Mapped[str] = mapped_column(String(16), default="")
    pin_hash: Mapped[str] = mapped_column(String(200), default="")
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    unit: Mapped[Unit] = relationship(back_populates="residents")
    cards: Mapped[list[Card]] = relationship(back_populates="resident")


def role_set_of(roles: str) -> frozenset[str]:
    """The roles of a staff member's comma-separated ``roles`` column."""
    return frozenset(r.strip() for r in roles.split(",") if r.strip())


class Staff(Base):
    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    roles: Mapped[str] = mapped_column(String(200), default="butler")  # comma-separated
    lobby: Mapped[str] = mapped_column(String(32), default="")  # "" = every lobby
    pin_hash: Mapped[str] = mapped_column(String(200))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    cards: Mapped[list[Card]] = relationship(back_populates="staff")

    @property
    def role_set(self) -> frozenset[str]:
        return role_set_of(self.roles)


class Card(Base):
    """An IC card: the raw UID as read, plus the printed forms people type from the card face."""

    __tablename__ = "card"
    id: Mapped[int] = mapped_column(primary_key=True)
    uid_hex: Mapped[str] = mapped_column(String(32), unique=True)
    uid_dec: Mapped[str] = mapped_column(String(32), index=True)
    uid_dec_rev: Mapped[str] = mapped_column(String(32), index=True)
    printed_number: Mapped[str] = mapped_column(String(32), default="", index=True)
    kind: Mapped[str] = mapped_column(String(16), default="resident")
    status: Mapped[str] = mapped_column(String(16), default="active")
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resident: Mapped[Resident | None] = relationship(back_populates="cards")
    staff: Mapped[Staff | None] = relationship(back_populates="cards")


class AuditHead(Base):
    """The audit chain's head in one small row (``id`` 1): the ``seq`` and ``hash`` of its last
    event. An appender takes the row's lock and reads it in one statement (``SELECT ... FOR
    UPDATE``), writes its events and the new head in the next, and commits (see kiosk.audit)."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class AuditEvent(Base):
    """Append-only, hash-chained log of every state change (see kiosk.audit)."""

    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # The column is ``seq``; the attribute ``seq`` below also chains a pending event.
    seq_: Mapped[int] = mapped_column("seq", BigInteger, unique=True)
    at: Mapped[dt.datetime]
    actor: Mapped[ActorName]
    action: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(200), default="")
    data: Mapped[str] = mapped_column(Text, default="{}")
    kiosk_id: Mapped[KioskId]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    @hybrid_property
    def seq(self) -> int:
        """The event's place in the chain. ``audit.record`` chains events when their
        transaction commits; reading ``seq`` before that chains them at once."""
        if self.seq_ is None:
            from kiosk.audit import seal_pending

            seal_pending(self)
        return self.seq_

    @seq.inplace.setter
    def _seq_setter(self, value: int) -> None:
        self.seq_ = value

    @seq.inplace.expression
    @classmethod
    def _seq_expression(cls) -> SQLColumnExpression[int]:
        return cls.seq_


class PrintJob(Base):
    """A receipt waiting for, being sent to, or sent to a printer (see kiosk.printing)."""

    __tablename__ = "print_job"
    __table_args__ = (Index("ix_print_job_printer_state", "printer", "state"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    printer: Mapped[str] = mapped_column(String(64))
    kiosk_id: Mapped[KioskId]
    kind: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    reason: Mapped[str] = mapped_column(String(200), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    reprint_of: Mapped[int | None] = mapped_column(ForeignKey("print_job.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[dt.datetime | None]


class DeskAlert(Base):
    """Something a person at the desk must see: paper out, unknown card, emergency, plugin failure."""

    __tablename__ = "desk_alert"
    id: Mapped[int] = mapped_column(primary_key=True)
    lobby: Mapped[str] = mapped_column(String(32), default="")
    kiosk_id: Mapped[KioskId]
    kind: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16), default="info")
    message: Mapped[str] = mapped_column(String(500))
    # The wording as an English message id with {placeholders} and their values (masked), for
    # the desk to show in its own language; "" for an alert stored before there was one.
    msgid: Mapped[str] = mapped_column(String(300), default="")
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by: Mapped[Person]


class Notification(Base):
    """Outbox of messages to residents (SMS / WeChat template / desk call), sent by adapters."""

    __tablename__ = "notification"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[UnitRef | None]
    recipient: Mapped[Person]
    template: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    # Delivery (kiosk.notify.dispatch_outbox): due time (backoff, quiet hours), the claim's
    # lease, recipients already reached, when it was given up, and the last channel error.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    lease_until: Mapped[dt.datetime | None]
    claimed_by: Mapped[str] = mapped_column(String(64), default="")
    delivered: Mapped[list] = mapped_column(JSON, default=list)
    failed_at: Mapped[dt.datetime | None]
    last_error: Mapped[str] = mapped_column(String(200), default="")


class NotifyLink(Base):
    """A one-time link in a notification (kiosk.notify_links): only its id is in the URL's
    signed token; ``secret`` (a code to show) is scrubbed once used or expired."""

    __tablename__ = "notify_link"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[str] = mapped_column(String(32), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(64), default="")
    unit_id: Mapped[UnitRef | None]
    secret: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    outcome: Mapped[str] = mapped_column(String(16), default="")


class LoginGuard(Base):
    """Failed-attempt state of one thing people can guess at (see kiosk.throttle).

    ``scope`` + ``key``: ``unit``/unit id (the unit's PINs, whichever holder), ``staff``/
    account at one kiosk, ``keypad``/kiosk id (every PIN typed at that kiosk), ``invite``/kiosk
    id and ``invite_space``/"" (invite codes typed at a kiosk, and estate-wide).
    """

    __tablename__ = "login_guard"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_login_guard_scope_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    level: Mapped[int] = mapped_column(Integer, default=0)  # lockouts in a row
    window_start: Mapped[dt.datetime | None]
    last_failure_at: Mapped[dt.datetime | None]
    locked_until: Mapped[dt.datetime | None]
    alerted_at: Mapped[dt.datetime | None]
    # Accounts that failed here in the window, for spotting spraying: [[account, iso time]].
    recent: Mapped[list] = mapped_column(JSON, default=list)
