"""``kiosk surveys create|list|close|results`` and ``kiosk report surveys``: thin typer commands
over the service (``--staff`` and the PIN for the manager's steps, ``--json`` everywhere)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer

from kiosk.commands import (
    CommandGroup,
    ConfigOpt,
    JsonOpt,
    chart_report,
    context,
    show_records,
    table_report,
    typed_day,
)

group = CommandGroup("surveys", "Satisfaction surveys (满意度调查).", "plugins.surveys.service")
surveys_app = group.app

IdArg = Annotated[int, typer.Argument(help="The survey's id (kiosk surveys list).")]


def _line(s: Any) -> str:
    return (f"{s.id} {s.title} {s.opens_at:%Y-%m-%d} - {s.closes_at:%Y-%m-%d} UTC, "
            f"{len(s.questions)} questions")  # fmt: skip


_show = show_records(_line)


@group.staff("create", _show)
def create_step(
    ctx: Any,
    actor: Any,
    title: Annotated[str, typer.Option("--title", help="The survey's title.")],
    question: Annotated[
        list[str], typer.Option("--question", help="A question (repeat), scored 1-5.")
    ],
    opens: Annotated[str, typer.Option("--opens", help="First day, YYYY-MM-DD.")],
    closes: Annotated[str, typer.Option("--closes", help="Last day, YYYY-MM-DD.")],
) -> Any:
    """Set a survey and the days it is open (the manager)."""
    survey_id = group.service().create(ctx, actor, title=title, questions=list(question),
                                  opens_on=typed_day(opens, "surveys.date"),
                                  closes_on=typed_day(closes, "surveys.date"))  # fmt: skip
    return group.service().survey(ctx, survey_id)


@group.staff("close", _show)
def close_step(ctx: Any, actor: Any, survey_id: IdArg) -> Any:
    """Close an open survey now (the manager)."""
    group.service().close(ctx, actor, survey_id)
    return group.service().survey(ctx, survey_id)


@group.read("list", _show)
def surveys(ctx: Any) -> Any:
    """Surveys, newest first."""
    return group.service().surveys(ctx)


def _results_text(r: Any) -> str:
    lines = [
        f"{r.title}: answered by {r.answered} of {r.households} households "
        f"({r.coverage_pct}%; target {r.target_pct}%: {'reached' if r.reached else 'not reached'})"
    ]
    for q in r.questions:
        avg = "-" if q.average is None else f"{q.average:.2f}"
        counts = " ".join(f"{s}:{n}" for s, n in q.scores.items())
        lines.append(f"  {q.position}. {q.text}: average {avg} ({counts}), low {q.low}")
    return "\n".join(lines)


@chart_report("surveys", month_help="With --html: YYYY-MM.")
@table_report
def report_surveys(
    config: Path | None,
    as_csv: bool,
    survey: Annotated[
        int | None, typer.Option("--survey", help="The survey; default the latest.")
    ] = None,
) -> Any:
    """满意度调查统计表: coverage (target 60 % of households) and results per question.
    With --html FILE (a manager: --staff), the charts of the latest survey opened by the end of
    --month: the average per question and the spread of the scores."""
    service = group.service()
    ctx = context(config)
    if survey is None:
        latest = service.surveys(ctx, limit=1)
        if not latest:
            from kiosk.errors import Refused

            raise Refused("surveys.none", "There is no survey yet.")
        survey = latest[0].id
    r = service.results(ctx, survey)
    if as_csv:
        return service.results_csv(ctx, survey)
    return dataclasses.asdict(r), _results_text(r)


@group.app.command("results")
def results_cmd(survey_id: IdArg, as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Coverage and results per question of one survey."""
    report_surveys(survey=survey_id, as_json=as_json, as_csv=False, html=None, staff=None,
                   pin=None, month=None, lang=None, config=config)  # fmt: skip


def register(cli: Any) -> None:
    group.mount(cli, report=report_surveys)
