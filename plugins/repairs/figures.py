"""The repairs plugin's figures for the manager's report (hook ``kiosk_report_figures``):
timeliness (及时率) by month and by week, rework (返修率) by month, complaints by grade.

Timeliness is the share of tickets whose SLA clocks stopped within their deadlines among the
tickets measured (clocks stopped), by the month or week they were filed, as in the monthly
report (``sla_met_pct``). Rework is the share of completed repairs that came back (reopened at
least once). Data only: the core draws them."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import Row, select

from kiosk.clock import as_utc
from kiosk.hookspecs import ReportFigure, ReportPeriod, ReportSeries
from kiosk.i18n import N_, _
from plugins.repairs.models import RepairTicket

if TYPE_CHECKING:
    from kiosk.context import KioskContext

GRADES = (
    ("minor", N_("Minor")),
    ("important", N_("Important")),
    ("major", N_("Major")),
    ("", N_("Not graded")),
)
TREND_MONTHS = 6
# A ticket as the figures read it: filed, kind, grade, SLA met, times reopened, completed.
_Ticket = Row[dt.datetime, str, str, bool | None, int, dt.datetime | None]


def rate(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in percent, one decimal; None when nothing was measured."""
    return round(100.0 * part / whole, 1) if whole else None


def report_figures(ctx: KioskContext, period: ReportPeriod) -> list[ReportFigure]:
    """Timeliness (及时率) by week and month, rework (返修率), complaints by grade."""
    months = period.months_back(TREND_MONTHS)
    weeks = period.weeks()
    RT = RepairTicket
    with ctx.database().read() as session:
        rows = session.execute(
            select(RT.created_at, RT.kind, RT.severity, RT.sla_met, RT.reopen_count,
                   RT.completed_at)
            .where(RT.created_at >= months[0][1], RT.created_at < period.end)
        ).all()  # fmt: skip

    def within(start: dt.datetime, end: dt.datetime) -> list[_Ticket]:
        return [r for r in rows if start <= as_utc(r.created_at) < end]

    def timeliness(bucket: list[_Ticket]) -> tuple[int, int]:
        measured = [r for r in bucket if r.sla_met is not None]
        return sum(1 for r in measured if r.sla_met), len(measured)

    def rework(bucket: list[_Ticket]) -> float | None:
        done = [r for r in bucket if r.kind == "repair" and r.completed_at is not None]
        return rate(sum(1 for r in done if r.reopen_count), len(done))

    by_month = [within(start, end) for _label, start, end in months]
    by_week = [within(start, end) for _label, start, end in weeks]
    this_month = by_month[-1]
    met, measured = timeliness(this_month)
    complaints = [r for r in this_month if r.kind == "complaint"]
    on_time = _("Timeliness")
    return [
        ReportFigure(
            key="repairs.timeliness_weekly", report="repairs", kind="bar", unit="%", order=10,
            title=_("Repairs timeliness by week"),
            categories=tuple(label for label, _s, _e in weeks),
            series=(ReportSeries(on_time, tuple(rate(*timeliness(b)) for b in by_week)),),
            note=_("{met} of {measured} tickets with stopped clocks were on time this month "
                   "({rate}).").format(met=met, measured=measured,
                                       rate="-" if not measured else f"{rate(met, measured)}%"),
        ),
        ReportFigure(
            key="repairs.timeliness_monthly", report="repairs", kind="line", unit="%", order=11,
            title=_("Repairs timeliness by month"),
            categories=tuple(label for label, _s, _e in months),
            series=(ReportSeries(on_time, tuple(rate(*timeliness(b)) for b in by_month)),),
            note=_("By the month a ticket was filed; a month without measured tickets is a gap."),
        ),
        ReportFigure(
            key="repairs.rework_monthly", report="repairs", kind="line", unit="%", order=12,
            title=_("Rework rate by month"),
            categories=tuple(label for label, _s, _e in months),
            series=(ReportSeries(_("Rework"), tuple(rework(b) for b in by_month)),),
            note=_("Completed repairs that came back (reopened) among those completed."),
        ),
        ReportFigure(
            key="repairs.complaints_by_grade", report="repairs", kind="bar", order=13,
            unit=_("complaints"), title=_("Complaints by grade"),
            categories=tuple(_(title) for _code, title in GRADES),
            series=(ReportSeries(_("Complaints this month"), tuple(
                float(sum(1 for r in complaints if r.severity == code)) for code, _t in GRADES
            )),),
        ),
    ]  # fmt: skip
