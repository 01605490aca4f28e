"""The parking plugin's figures for the manager's report (hook ``kiosk_report_figures``): the
monthly rentals open at each month's end, and the rentals opened, ended and lapsed (paid-through
date passed without a renewal) in each of the last six months."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import select

from kiosk.clock import as_utc
from kiosk.hookspecs import ReportFigure, ReportPeriod, ReportSeries
from kiosk.i18n import _
from plugins.parking.models import ParkingRental

if TYPE_CHECKING:
    from kiosk.context import KioskContext

TREND_MONTHS = 6


def report_figures(ctx: KioskContext, period: ReportPeriod) -> list[ReportFigure]:
    """Rentals open by month; rentals opened, ended and lapsed by month."""
    months = period.months_back(TREND_MONTHS)
    R = ParkingRental
    with ctx.database().read() as session:
        rentals = session.execute(
            select(R.created_at, R.ended_at, R.start_date, R.end_date).where(
                R.created_at < period.end
            )
        ).all()
    today = period.as_of.astimezone(period.zone).date()

    def local(at: dt.datetime) -> dt.date:
        return as_utc(at).astimezone(period.zone).date()

    opened, ended, lapsed, active = [], [], [], []
    for _label, start, end in months:
        until = min(end, period.as_of)
        first, last = local(start), local(end) - dt.timedelta(days=1)
        opened.append(float(sum(1 for r in rentals if start <= as_utc(r.created_at) < end)))
        ended.append(
            float(sum(1 for r in rentals if r.ended_at and start <= as_utc(r.ended_at) < end))
        )
        # Paid at least once, paid through a day of this month already past, not renewed.
        lapsed.append(
            float(
                sum(
                    1
                    for r in rentals
                    if r.start_date <= r.end_date
                    and first <= r.end_date <= last
                    and r.end_date < today
                    and (r.ended_at is None or local(r.ended_at) > r.end_date)
                )
            )
        )
        active.append(
            float(
                sum(
                    1
                    for r in rentals
                    if as_utc(r.created_at) < until
                    and (r.ended_at is None or as_utc(r.ended_at) >= until)
                )
            )
        )
    labels = tuple(label for label, _s, _e in months)
    return [
        ReportFigure(
            key="parking.active", report="parking", kind="line", order=40, unit=_("rentals"),
            title=_("Monthly parking rentals open"), categories=labels,
            series=(ReportSeries(_("Open at the month's end"), tuple(active)),),
        ),
        ReportFigure(
            key="parking.changes", report="parking", kind="bar", order=41, unit=_("rentals"),
            title=_("Parking rentals opened, ended and lapsed"), categories=labels,
            series=(
                ReportSeries(_("Opened"), tuple(opened)),
                ReportSeries(_("Ended"), tuple(ended)),
                ReportSeries(_("Lapsed"), tuple(lapsed)),
            ),
            note=_("Lapsed: paid through a day of the month that has passed, not renewed."),
        ),
    ]  # fmt: skip
