"""Notices (通知): the notice as drafted, approved, numbered and published, and who has read it.

Statuses are strings checked in the service layer; times UTC. A notice gets its number
(``year`` + ``seq``, unique) when it is approved, so the numbers of a year have no gaps.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.db import Base
from kiosk.db.models import KioskId, Person, UnitRef

NOTICE_STATUSES = ("draft", "approved", "published", "withdrawn")


class Notice(Base):
    """One notice (通知/提示) and its line of the issue register (发文登记)."""

    __tablename__ = "notice"
    __table_args__ = (
        UniqueConstraint("year", "seq", name="uq_notice_year_seq"),
        Index("ix_notice_status", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    department: Mapped[str] = mapped_column(String(100), default="")
    lobbies: Mapped[str] = mapped_column(String(200), default="")  # comma-separated; "" = all
    households: Mapped[bool] = mapped_column(Boolean, default=False)  # read at the kiosk
    status: Mapped[str] = mapped_column(String(16), default="draft")
    year: Mapped[int | None] = mapped_column(Integer)
    seq: Mapped[int | None] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(64), default="")
    drafted_by: Mapped[Person]
    drafted_at: Mapped[dt.datetime]
    approved_by: Mapped[Person]
    approved_at: Mapped[dt.datetime | None]
    published_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime | None]
    withdrawn_at: Mapped[dt.datetime | None]


class NoticeRead(Base):
    """A household read a notice addressed to households: once per household (the card tap)."""

    __tablename__ = "notice_read"
    __table_args__ = (UniqueConstraint("notice_id", "unit_id", name="uq_notice_read_unit"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id"), index=True)
    unit_id: Mapped[UnitRef]
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    read_at: Mapped[dt.datetime]
    kiosk: Mapped[KioskId]
