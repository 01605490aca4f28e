"""``kiosk surveys create|list|close|results`` and ``kiosk report surveys``: thin typer commands
over the service (``--staff`` and the PIN for the manager's steps, ``--json`` everywhere)."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

import typer

from kiosk.commands import (
    ConfigOpt,
    CsvOpt,
    JsonOpt,
    chart_report,
    context,
    lazy_module,
    one_format,
    read_command,
    refusals,
    show_records,
    staff_command,
    typed_day,
)

surveys_app = typer.Typer(help="Satisfaction surveys (满意度调查).", no_args_is_help=True)

IdArg = Annotated[int, typer.Argument(help="The survey's id (kiosk surveys list).")]


_service = lazy_module("plugins.surveys.service")


def _line(s: Any) -> str:
    return (f"{s.id} {s.title} {s.opens_at:%Y-%m-%d} - {s.closes_at:%Y-%m-%d} UTC, "
            f"{len(s.questions)} questions")  # fmt: skip


_show = show_records(_line)


@staff_command(surveys_app, "create", _show)
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
    survey_id = _service().create(ctx, actor, title=title, questions=list(question),
                                  opens_on=typed_day(opens, "surveys.date"),
                                  closes_on=typed_day(closes, "surveys.date"))  # fmt: skip
    return _service().survey(ctx, survey_id)


@staff_command(surveys_app, "close", _show)
def close_step(ctx: Any, actor: Any, survey_id: IdArg) -> Any:
    """Close an open survey now (the manager)."""
    _service().close(ctx, actor, survey_id)
    return _service().survey(ctx, survey_id)


@read_command(surveys_app, "list", _show)
def surveys(ctx: Any) -> Any:
    """Surveys, newest first."""
    return _service().surveys(ctx)


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
def report_surveys(
    survey: Annotated[
        int | None, typer.Option("--survey", help="The survey; default the latest.")
    ] = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
    config: ConfigOpt = None,
) -> None:
    """满意度调查统计表: coverage (target 60 % of households) and results per question.
    With --html FILE (a manager: --staff), the charts of the latest survey opened by the end of
    --month: the average per question and the spread of the scores."""
    one_format(as_json, as_csv)
    service = _service()
    with refusals():
        ctx = context(config)
        if survey is None:
            latest = service.surveys(ctx, limit=1)
            if not latest:
                from kiosk.errors import Refused

                raise Refused("surveys.none", "There is no survey yet.")
            survey = latest[0].id
        r = service.results(ctx, survey)
        if as_csv:
            typer.echo(service.results_csv(ctx, survey), nl=False)
            return
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(r), ensure_ascii=False, indent=2, default=str))
        return
    typer.echo(_results_text(r))


@surveys_app.command("results")
def results_cmd(survey_id: IdArg, as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Coverage and results per question of one survey."""
    report_surveys(survey=survey_id, as_json=as_json, as_csv=False, html=None, staff=None,
                   pin=None, month=None, lang=None, config=config)  # fmt: skip


def register(cli: Any) -> None:
    cli.app.add_typer(surveys_app, name="surveys")
    cli.report.command("surveys")(report_surveys)
