"""The parcels plugin's figures for the manager's report (hook ``kiosk_report_figures``): how
long the waiting parcels have waited (the aging buckets of ``kiosk report parcels --aging``) as
of the report's end, and the week-by-week flow of parcels in, collected and returned."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import or_, select

from kiosk.clock import as_utc
from kiosk.hookspecs import ReportFigure, ReportPeriod, ReportSeries
from kiosk.i18n import _
from plugins.parcels.aging import AGING_BUCKETS
from plugins.parcels.models import Parcel

if TYPE_CHECKING:
    from kiosk.context import KioskContext


def report_figures(ctx: KioskContext, period: ReportPeriod) -> list[ReportFigure]:
    """Waiting parcels by age at the month's end, and parcels in and out by week."""
    as_of, weeks = period.as_of, period.weeks()
    P = Parcel
    with ctx.database().read() as session:
        waiting = session.scalars(
            select(P.checked_in_at).where(
                P.checked_in_at < as_of,
                or_(P.released_at.is_(None), P.released_at >= as_of),
                or_(P.returned_at.is_(None), P.returned_at >= as_of),
                P.status.in_(("waiting", "released", "returned")),
            )
        ).all()
        moved = session.execute(
            select(P.checked_in_at, P.released_at, P.returned_at).where(
                or_(P.checked_in_at >= period.start, P.released_at >= period.start,
                    P.returned_at >= period.start)
            )
        ).all()  # fmt: skip
    counts = {label: 0 for _lo, _hi, label in AGING_BUCKETS}
    for checked_in in waiting:
        days = max(0, (as_of - as_utc(checked_in)).days)
        label = next(
            lb for lo, hi, lb in AGING_BUCKETS if days >= lo and (hi is None or days <= hi)
        )
        counts[label] += 1

    def per_week(column: int) -> tuple[float, ...]:
        times = [r[column] for r in moved]
        return tuple(
            float(sum(1 for at in times if at and start <= as_utc(at) < end))
            for _label, start, end in weeks
        )

    return [
        ReportFigure(
            key="parcels.aging", report="parcels", kind="bar", order=20, unit=_("parcels"),
            title=_("Waiting parcels by age"),
            categories=tuple(_(label) for label in counts),
            series=(ReportSeries(_("Waiting"), tuple(float(n) for n in counts.values())),),
            note=_("Parcels waiting on the shelves on {day}, by days since check-in.").format(
                day=as_of.astimezone(period.zone).strftime("%Y-%m-%d %H:%M")),
        ),
        ReportFigure(
            key="parcels.weekly", report="parcels", kind="bar", order=21, unit=_("parcels"),
            title=_("Parcels by week"),
            categories=tuple(label for label, _s, _e in weeks),
            series=(
                ReportSeries(_("Checked in"), per_week(0)),
                ReportSeries(_("Collected"), per_week(1)),
                ReportSeries(_("Returned to sender"), per_week(2)),
            ),
        ),
    ]  # fmt: skip
