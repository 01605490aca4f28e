"""Repair requests, complaints and suggestions (维修服务单, 客户投诉、意见记录表): one ticket model.

Statuses, kinds and severities are strings checked in the service layer; times UTC; money in
fen. SLA deadlines are fixed on the ticket when it is filed (from the config of that moment) and
whether they were met is stored when each clock stops, so the desk panel and the monthly report
are plain indexed queries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.db import Base
from kiosk.db.models import Person, UnitRef

KINDS = ("repair", "complaint", "suggestion")
SEVERITIES = ("", "minor", "important", "major")
LOCATIONS = ("in_home", "common_area")
STATUSES = (
    "new",
    "confirmed",
    "dispatched",
    "in_progress",
    "deferred",
    "completed",
    "closed",
    "canceled",
    "reopened",
)
OPEN_STATUSES = ("new", "confirmed", "dispatched", "in_progress", "deferred", "reopened")


class RepairTicket(Base):
    """One request as the desk registers it: who, where, what, when, and how it went."""

    __tablename__ = "repair_ticket"
    __table_args__ = (
        Index("ix_repair_ticket_status_created", "status", "created_at"),
        Index("ix_repair_ticket_created", "created_at"),
        Index("ix_repair_ticket_unit", "unit_id", "created_at"),
        Index("ix_repair_ticket_clock", "clock", "clock_due_at"),
        Index("ix_repair_ticket_clock_due", "clock_due_at"),
        Index("ix_repair_ticket_event", "kind", "category", "building_id", "created_at"),
        Index("ix_repair_ticket_forward_due", "forward_due_at"),
        Index("ix_repair_ticket_visit_due", "visit_due_at"),
        Index("ix_repair_ticket_reply_due", "reply_due_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    kind: Mapped[str] = mapped_column(String(12), default="repair")
    severity: Mapped[str] = mapped_column(String(12), default="")
    unit_id: Mapped[UnitRef | None]
    location: Mapped[str] = mapped_column(String(16), default="in_home")
    floor: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(500), default="")
    reporter: Mapped[Person]
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    received_by: Mapped[Person]
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    appointment_at: Mapped[dt.datetime | None]
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    external: Mapped[bool] = mapped_column(Boolean, default=False)
    paid: Mapped[bool] = mapped_column(Boolean, default=False)
    price_fen: Mapped[int] = mapped_column(Integer, default=0)
    consent_at: Mapped[dt.datetime | None]
    charge_fen: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="new")
    assignee: Mapped[Person]
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    renotify_count: Mapped[int] = mapped_column(Integer, default=0)
    notified_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    confirmed_at: Mapped[dt.datetime | None]
    dispatched_at: Mapped[dt.datetime | None]
    started_at: Mapped[dt.datetime | None]
    deferred_at: Mapped[dt.datetime | None]
    deferred_until: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    canceled_at: Mapped[dt.datetime | None]
    note: Mapped[str] = mapped_column(String(300), default="")
    # SLA clocks: deadlines fixed at filing; when each stopped; met or not (None = running).
    respond_due_at: Mapped[dt.datetime]
    solve_due_at: Mapped[dt.datetime | None]
    resolve_due_at: Mapped[dt.datetime]
    responded_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]
    sla_met: Mapped[bool | None] = mapped_column(Boolean)
    # The clock running now (respond / resolve / committed) and its deadline; NULL when none
    # runs. Kept by every transition so the desk panel reads one index in deadline order.
    clock: Mapped[str | None] = mapped_column(String(12))
    clock_due_at: Mapped[dt.datetime | None]
    signature: Mapped[Any] = mapped_column(JSON, default=None, nullable=True)
    signed_at: Mapped[dt.datetime | None]
    visit_due_at: Mapped[dt.datetime | None]
    visited_at: Mapped[dt.datetime | None]
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str] = mapped_column(String(300), default="")
    escalated_at: Mapped[dt.datetime | None]
    # Where the event happened, for grouping complaints about one event and outages: the unit's
    # building, or the building named for a common area (NULL: not known).
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id"))
    # A repair reporting a loss of water or power (what makes a sudden wide outage).
    outage: Mapped[bool] = mapped_column(Boolean, default=False)
    # Complaints (000 投诉): forwarded within 10 minutes by whoever heard it; judged valid or
    # invalid with an explanation; why it became major; the reply to the complainant.
    forward_due_at: Mapped[dt.datetime | None]
    forwarded_at: Mapped[dt.datetime | None]
    forwarded_to: Mapped[str] = mapped_column(String(100), default="")
    valid: Mapped[bool | None] = mapped_column(Boolean)
    judged_at: Mapped[dt.datetime | None]
    judged_by: Mapped[Person]
    explanation: Mapped[str] = mapped_column(String(300), default="")
    major_reason: Mapped[str] = mapped_column(String(16), default="")
    reported_up_at: Mapped[dt.datetime | None]
    reply_due_at: Mapped[dt.datetime | None]
    replied_at: Mapped[dt.datetime | None]
    reply_text: Mapped[str] = mapped_column(String(500), default="")
