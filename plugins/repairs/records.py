"""The repairs plugin's monthly report (counts by kind, category and status, SLA met, ratings,
paid repairs) and its retention purge; re-exported by :mod:`plugins.repairs.service`."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from kiosk.db import retention
from kiosk.errors import Refused
from kiosk.hookspecs import PurgeCount
from plugins.repairs.models import RepairTicket

if TYPE_CHECKING:
    from kiosk.context import KioskContext


# -- monthly report ---------------------------------------------------------------------------


def month_bounds(ctx: KioskContext, month: str) -> tuple[dt.datetime, dt.datetime]:
    """UTC bounds of a local calendar month ``YYYY-MM``."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", month.strip())
    try:
        if match is None or not 1900 <= int(match[1]) <= 9000:
            raise ValueError(month)
        year, mon = int(match[1]), int(match[2])
        first = dt.date(year, mon, 1)
    except ValueError:
        raise Refused("repairs.month", "A month is written YYYY-MM, not {month}.",
                      month=month) from None  # fmt: skip
    nxt = dt.date(year + (mon == 12), mon % 12 + 1, 1)
    zone = ctx.zone
    return (
        dt.datetime.combine(first, dt.time(), zone).astimezone(dt.UTC),
        dt.datetime.combine(nxt, dt.time(), zone).astimezone(dt.UTC),
    )


def monthly_report(ctx: KioskContext, month: str) -> dict[str, Any]:
    """Counts by category, kind and status of tickets filed in ``month``; SLA met % over the
    tickets whose clocks stopped; average rating; paid-repair charges; return visits made
    after their deadline (or still not made and overdue)."""
    start_at, end_at = month_bounds(ctx, month)
    now = ctx.clock.now()
    RT = RepairTicket
    in_month = (RT.created_at >= start_at) & (RT.created_at < end_at)
    with ctx.database().read() as session:
        by_cat: dict[str, int] = {}
        by_status: dict[str, int] = {}
        by_kind: dict[str, int] = {}
        for cat, kind, status, n in session.execute(
            select(RT.category, RT.kind, RT.status, func.count())
            .where(in_month).group_by(RT.category, RT.kind, RT.status)
        ):  # fmt: skip
            by_cat[cat] = by_cat.get(cat, 0) + n
            by_status[status] = by_status.get(status, 0) + n
            by_kind[kind] = by_kind.get(kind, 0) + n
        measured, met, rated, rating_sum, charges, paid_n, emergencies, reopens = session.execute(
            select(
                func.count(RT.sla_met),
                func.coalesce(func.sum(case((RT.sla_met.is_(True), 1), else_=0)), 0),
                func.count(RT.rating),
                func.coalesce(func.sum(RT.rating), 0),
                func.coalesce(func.sum(RT.charge_fen), 0),
                func.coalesce(func.sum(case((RT.charge_fen > 0, 1), else_=0)), 0),
                func.coalesce(func.sum(case((RT.emergency.is_(True), 1), else_=0)), 0),
                func.coalesce(func.sum(RT.reopen_count), 0),
            ).where(in_month)
        ).one()  # fmt: skip
        # A return visit made after its deadline, or not made (closed without one, or still
        # waiting) when the deadline passed.
        late_visit = RT.visit_due_at.is_not(None) & or_(
            RT.visited_at > RT.visit_due_at,
            RT.visited_at.is_(None) & (RT.closed_at > RT.visit_due_at),
            RT.visited_at.is_(None) & RT.closed_at.is_(None) & (RT.visit_due_at < now),
        )
        visits_late = session.scalar(
            select(func.coalesce(func.sum(case((late_visit, 1), else_=0)), 0)).where(in_month)
        )
    total = sum(by_status.values())
    return {
        "month": month,
        "total": total,
        "by_kind": dict(sorted(by_kind.items())),
        "by_category": dict(sorted(by_category_items(by_cat))),
        "by_status": dict(sorted(by_status.items())),
        "sla_measured": int(measured),
        "sla_met": int(met),
        "sla_met_pct": round(100.0 * met / measured, 1) if measured else None,
        "rated": int(rated),
        "average_rating": round(rating_sum / rated, 2) if rated else None,
        "paid_repairs": int(paid_n),
        "paid_charges_fen": int(charges),
        "emergencies": int(emergencies),
        "reopens": int(reopens),
        "return_visits_late": int(visits_late or 0),
    }


def by_category_items(by_cat: dict[str, int]) -> list[tuple[str, int]]:
    return list(by_cat.items())


# -- retention ----------------------------------------------------------------------------------


def purge_in(
    session: Session, ctx: KioskContext, now: dt.datetime, dry_run: bool = False
) -> list[PurgeCount]:
    """Anonymise, inside ``session`` (hook ``kiosk_purge``), tickets finished (closed,
    completed or canceled) more than ``retention.repair_days`` ago: the reporter becomes 已匿名,
    the contact phone, the resident's signature and comments are erased and the description
    (free text a resident may have filled with names and numbers) is replaced. Number, unit,
    category, times, SLA results, charges and ratings stay for the monthly report; open
    tickets are never touched."""
    days = ctx.settings.retention.repair_days
    before = retention.cutoff(now, days)
    RT = RepairTicket
    count = retention.anonymise(
        session,
        RT,
        [
            RT.status.in_(("closed", "completed", "canceled")),
            func.coalesce(RT.closed_at, RT.canceled_at, RT.completed_at) < before,
            RT.reporter != retention.ANONYMOUS,
        ],
        {
            "reporter": retention.ANONYMOUS,
            "reporter_id": None,
            "contact_phone": "",
            "description": retention.ANONYMOUS,
            "rating_comment": "",
            "note": "",
            "signature": None,
        },
        dry_run,
    )
    return [PurgeCount("repairs", "repair_ticket", count, before, days)]
