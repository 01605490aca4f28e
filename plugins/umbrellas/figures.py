"""The umbrellas plugin's figures for the manager's report (hook ``kiosk_report_figures``): the
stock by state (in the stand, lent, overdue, lost, damaged) in each lobby, as the desk counts it
now, and the loans and returns of each week of the month."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import or_, select

from kiosk.clock import as_utc
from kiosk.hookspecs import ReportFigure, ReportPeriod, ReportSeries
from kiosk.i18n import N_, _
from plugins.umbrellas.models import UmbrellaLoan
from plugins.umbrellas.service import stock

if TYPE_CHECKING:
    from kiosk.context import KioskContext

# The states a manager counts (retired umbrellas are out of the stock).
STOCK_STATES = (
    ("available", N_("In the stand")),
    ("lent", N_("On loan")),
    ("overdue", N_("Overdue")),
    ("lost", N_("Lost")),
    ("damaged", N_("Damaged")),
)


def report_figures(ctx: KioskContext, period: ReportPeriod) -> list[ReportFigure]:
    """The umbrella stock by state and lobby, and loans and returns by week."""
    by_lobby = stock(ctx)
    weeks = period.weeks()
    L = UmbrellaLoan
    with ctx.database().read() as session:
        loans = session.execute(
            select(L.lent_at, L.returned_at).where(
                or_(L.lent_at >= period.start, L.returned_at >= period.start),
                L.lent_at < period.end,
            )
        ).all()

    def per_week(column: int) -> tuple[float, ...]:
        times = [r[column] for r in loans]
        return tuple(
            float(sum(1 for at in times if at and start <= as_utc(at) < end))
            for _label, start, end in weeks
        )

    series = tuple(
        ReportSeries(
            _("Lobby {lobby}").format(lobby=lobby) if lobby else _("No lobby"),
            tuple(float(counts.get(state, 0)) for state, _t in STOCK_STATES),
        )
        for lobby, counts in sorted(by_lobby.items())
    )
    return [
        ReportFigure(
            key="umbrellas.stock", report="umbrellas", kind="stacked", order=30,
            unit=_("umbrellas"), title=_("Umbrella stock"),
            categories=tuple(_(title) for _s, title in STOCK_STATES),
            series=series or (ReportSeries(_("No lobby"), (0.0,) * len(STOCK_STATES)),),
            note=_("As the desk counts them now; retired umbrellas are left out."),
        ),
        ReportFigure(
            key="umbrellas.weekly", report="umbrellas", kind="bar", order=31,
            unit=_("loans"), title=_("Umbrella loans by week"),
            categories=tuple(label for label, _s, _e in weeks),
            series=(ReportSeries(_("Lent out"), per_week(0)),
                    ReportSeries(_("Given back"), per_week(1))),
        ),
    ]  # fmt: skip
