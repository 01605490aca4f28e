"""``kiosk report visitors`` (来访人员登记表), ``kiosk visitors close|purge``: thin typer
commands over :mod:`plugins.visitors.service`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import typer

from kiosk.commands import ConfigOpt, JsonOpt, context, one_format, usage_error

visitors_app = typer.Typer(help="Visitors: passes, sign-out, retention.", no_args_is_help=True)


def report_visitors(
    day: Annotated[
        str | None, typer.Option("--day", help="YYYY-MM-DD (default: today, estate time).")
    ] = None,
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="来访人员登记表 as CSV.")] = False,
    lobby: Annotated[
        str, typer.Option("--lobby", help="Only visits at this lobby (default: every lobby).")
    ] = "",
    config: ConfigOpt = None,
) -> None:
    """The day's visitor log (来访人员登记表), names and phones masked."""
    one_format(as_json, as_csv)
    try:
        when = dt.date.fromisoformat(day) if day else None
    except ValueError:
        usage_error(f"--day {day!r} is not a date (YYYY-MM-DD)")
    from plugins.visitors.service import LOG_COLUMNS, daily_log, daily_log_csv

    ctx = context(config)
    if as_csv:
        typer.echo(daily_log_csv(ctx, when, lobby.strip() or None), nl=False)
        return
    rows = daily_log(ctx, when, lobby.strip() or None)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    typer.echo(" | ".join(LOG_COLUMNS))
    for row in rows:
        typer.echo(" | ".join(row.values()))


@visitors_app.command("close")
def close(config: ConfigOpt = None) -> None:
    """Sign out visitors whose window has ended and time out unanswered requests."""
    from plugins.visitors.service import close_ended_visits, expire_pending

    ctx = context(config)
    typer.echo(
        json.dumps({"signed_out": close_ended_visits(ctx), "timed_out": expire_pending(ctx)})
    )


@visitors_app.command("purge")
def purge(config: ConfigOpt = None) -> None:
    """Anonymise visitor PII older than retention.visitor_days (run daily)."""
    from plugins.visitors.service import purge_pii

    typer.echo(json.dumps(purge_pii(context(config))))


def register(cli: Any) -> None:
    """Mount the visitors commands on the kiosk CLI."""
    cli.app.add_typer(visitors_app, name="visitors")
    cli.report.command("visitors")(report_visitors)
