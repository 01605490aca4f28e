"""Parcels and mail (邮件签收登记表), pickup codes, proxies, releases, item storage (物品寄存).

Statuses are strings checked in the service layer; times are UTC; a release row keeps the
signature (strokes JSON and a PNG) of the person who took the items. Parcels and stored items
belong to the lobby whose desk took them in (``lobby``); pickup codes, proxies and releases
are per unit, estate-wide.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.db import Base
from kiosk.db.models import (
    ActorName,
    KioskId,
    LobbyName,
    Person,
    SignaturePng,
    SignatureStrokes,
    UnitRef,
)

PARCEL_STATUSES = ("waiting", "released", "returned")
CODE_STATUSES = ("active", "used", "spent")
STORAGE_STATUSES = ("stored", "released")


class Parcel(Base):
    """One item logged at the desk (a row of 邮件签收登记表)."""

    __tablename__ = "parcel"
    __table_args__ = (
        Index("ix_parcel_unit_status", "unit_id", "status"),
        Index("ix_parcel_status_checked_in", "status", "checked_in_at"),
        Index("ix_parcel_lobby_status", "lobby", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_number: Mapped[str] = mapped_column(String(40), unique=True)
    # The lobby whose shelf holds it (the checking-in desk's); "" = not tied to a lobby (rows
    # from before p0002, bulk loads): every desk lists it and any kiosk may release it.
    lobby: Mapped[LobbyName]
    carrier: Mapped[str] = mapped_column(String(16), default="")
    unit_id: Mapped[UnitRef]
    recipient_name: Mapped[Person]
    shelf: Mapped[str] = mapped_column(String(16), default="")
    perishable: Mapped[bool] = mapped_column(Boolean, default=False)
    signature_required: Mapped[bool] = mapped_column(Boolean, default=False)
    oversize: Mapped[bool] = mapped_column(Boolean, default=False)
    # 000 "必要时请领取人出示身份证核实": only the desk releases it, after seeing an ID.
    id_check: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    checked_in_at: Mapped[dt.datetime]
    checked_in_by: Mapped[Person]
    reminded_3_at: Mapped[dt.datetime | None]
    reminded_7_at: Mapped[dt.datetime | None]
    escalated_at: Mapped[dt.datetime | None]
    release_id: Mapped[int | None] = mapped_column(ForeignKey("parcel_release.id"), index=True)
    released_at: Mapped[dt.datetime | None]
    returned_at: Mapped[dt.datetime | None]
    returned_by: Mapped[Person]
    return_reason: Mapped[str] = mapped_column(String(200), default="")


class PickupCode(Base):
    """A one-time pickup code sent to a unit; only its digest is stored."""

    __tablename__ = "parcel_pickup_code"
    __table_args__ = (Index("ix_parcel_pickup_code_unit_digest", "unit_id", "digest"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[UnitRef]
    digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class CodeGuard(Base):
    """Wrong-code counter and lock of one unit's pickup codes."""

    __tablename__ = "parcel_code_guard"
    unit_id: Mapped[UnitRef] = mapped_column(primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]


class Proxy(Base):
    """A person the household named to pick up its parcels (family friend, nanny, driver)."""

    __tablename__ = "parcel_proxy"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[UnitRef] = mapped_column(index=True)
    # Whose parcels: one resident's (their addressed items and the unit's unaddressed ones),
    # or None = the whole household's (named at the desk).
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(32), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    until: Mapped[dt.datetime | None]
    created_by: Mapped[Person]
    created_at: Mapped[dt.datetime]
    removed_by: Mapped[Person] = mapped_column(server_default="")
    removed_at: Mapped[dt.datetime | None]


class Release(Base):
    """One pickup: who took which items (the parcels point here), when, and their signature."""

    __tablename__ = "parcel_release"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[UnitRef] = mapped_column(index=True)
    picker_kind: Mapped[str] = mapped_column(String(16))  # resident / proxy
    picker_resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    picker_proxy_id: Mapped[int | None] = mapped_column(ForeignKey("parcel_proxy.id"))
    picker_name: Mapped[str] = mapped_column(String(100))
    via: Mapped[str] = mapped_column(String(16))  # card / code / desk
    item_count: Mapped[int] = mapped_column(Integer)
    released_at: Mapped[dt.datetime]
    kiosk_id: Mapped[KioskId]
    signature_strokes: Mapped[SignatureStrokes]
    signature_png: Mapped[SignaturePng]
    print_job_id: Mapped[int | None] = mapped_column(ForeignKey("print_job.id"))
    # A desk release: the staff member, the last 4 characters of the ID they saw (never more),
    # and why a picker who is not the addressee (nor their proxy) was let through.
    staff: Mapped[Person] = mapped_column(server_default="")
    id_last4: Mapped[str] = mapped_column(String(4), default="", server_default="")
    override_reason: Mapped[str] = mapped_column(String(200), default="", server_default="")


class StoredItem(Base):
    """Temporary storage at the desk (物品寄存申请表)."""

    __tablename__ = "storage_item"
    __table_args__ = (Index("ix_storage_item_status", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket: Mapped[str] = mapped_column(String(16), unique=True)
    lobby: Mapped[LobbyName]  # as Parcel
    unit_id: Mapped[UnitRef | None]
    depositor_name: Mapped[str] = mapped_column(String(100))
    depositor_phone: Mapped[str] = mapped_column(String(32), default="")
    description: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    condition: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="stored")
    deposited_at: Mapped[dt.datetime]
    deposited_by: Mapped[Person]
    expected_pickup_at: Mapped[dt.datetime]
    released_at: Mapped[dt.datetime | None]
    released_by: Mapped[Person]
    released_to: Mapped[Person]
    # 000 "有效证件登记, 核实所寄存物品的完好情况": at release, the last 4 characters of the
    # claimant's ID (never more) and the item's condition as handed back.
    claimant_id_last4: Mapped[str] = mapped_column(String(4), default="", server_default="")
    release_condition: Mapped[str] = mapped_column(String(200), default="", server_default="")
    signature_strokes: Mapped[SignatureStrokes | None]
    signature_png: Mapped[SignaturePng | None]


class StorageCheck(Base):
    """The daily check of stored items at the shift handover (交接班)."""

    __tablename__ = "storage_check"
    id: Mapped[int] = mapped_column(primary_key=True)
    checked_at: Mapped[dt.datetime]
    checked_by: Mapped[ActorName]
    handed_to: Mapped[Person]
    items: Mapped[list] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(300), default="")
