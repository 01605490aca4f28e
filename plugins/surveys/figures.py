"""The surveys plugin's figures for the manager's report (hook ``kiosk_report_figures``): the
average score of each question of the latest survey opened by the end of the period, and how
the scores spread (1-5), with the coverage against the 60 % target as the note."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from kiosk.hookspecs import ReportFigure, ReportPeriod, ReportSeries
from kiosk.i18n import _
from plugins.surveys.models import Survey
from plugins.surveys.service import SCORES, results

if TYPE_CHECKING:
    from kiosk.context import KioskContext


def report_figures(ctx: KioskContext, period: ReportPeriod) -> list[ReportFigure]:
    """The latest survey's average per question and its scores, with the coverage."""
    with ctx.database().read() as session:
        survey_id = session.scalar(
            select(Survey.id).where(Survey.opens_at < period.end).order_by(Survey.id.desc())
        )
    if survey_id is None:
        return []
    r = results(ctx, survey_id)
    questions = tuple(f"{q.position}. {q.text[:14]}" for q in r.questions)
    note = _(
        "Answered by {answered} of {households} households ({pct}%); target {target}%: {state}"
    ).format(
        answered=r.answered, households=r.households, pct=r.coverage_pct, target=r.target_pct,
        state=_("reached") if r.reached else _("not reached"),
    )  # fmt: skip
    return [
        ReportFigure(
            key="surveys.average", report="surveys", kind="bar", order=60,
            unit=_("points (1-5)"), title=f"{r.title}: " + _("average score per question"),
            categories=questions,
            series=(ReportSeries(_("Average"), tuple(q.average for q in r.questions)),),
            note=note,
        ),
        ReportFigure(
            key="surveys.scores", report="surveys", kind="stacked", order=61,
            unit=_("households"), title=f"{r.title}: " + _("scores per question"),
            categories=questions,
            series=tuple(
                ReportSeries(str(s), tuple(float(q.scores[s]) for q in r.questions))
                for s in SCORES
            ),
            note=_("Scores of 1 and 2 are on the desk's alerts to follow up."),
        ),
    ]  # fmt: skip
