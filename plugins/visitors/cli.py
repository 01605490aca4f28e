"""``kiosk report visitors`` (来访人员登记表), ``kiosk visitors close|purge``, and the desk's
steps as commands acting as a signed-in staff member (``--staff``, the PIN): ``pending``,
``approve``, ``decline``, ``sign-out``, ``block``, ``unblock``, ``blocklist``. Thin typer commands
over :mod:`plugins.visitors.service`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from kiosk.commands import (
    ConfigOpt,
    CsvOpt,
    JsonOpt,
    LobbyOpt,
    context,
    day_option,
    job_command,
    lazy_module,
    one_format,
    service_steps,
    show_fields,
    staff_command,
)

visitors_app = typer.Typer(help="Visitors: passes, sign-out, retention.", no_args_is_help=True)


def report_visitors(
    day: Annotated[
        str | None, typer.Option("--day", help="YYYY-MM-DD (default: today, estate time).")
    ] = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
    lobby: LobbyOpt = "",
    config: ConfigOpt = None,
) -> None:
    """The day's visitor log (来访人员登记表), names and phones masked."""
    one_format(as_json, as_csv)
    when = day_option(day) if day else None
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


@job_command(visitors_app, "close")
def close(ctx: Any) -> Any:
    """Sign out visitors whose window has ended and time out unanswered requests."""
    from plugins.visitors.service import close_ended_visits, expire_pending

    return {"signed_out": close_ended_visits(ctx), "timed_out": expire_pending(ctx)}


@job_command(visitors_app, "purge")
def purge(ctx: Any) -> Any:
    """Anonymise visitor PII older than retention.visitor_days (run daily)."""
    from plugins.visitors.service import purge_pii

    return purge_pii(ctx)


VisitArg = Annotated[int, typer.Argument(help="The visit's id (see `kiosk visitors pending`).")]


_service = lazy_module("plugins.visitors.service")


@staff_command(visitors_app, "pending", show_fields)
def pending_step(ctx: Any, actor: Any) -> Any:
    """Visits waiting for an answer at this staff member's lobby (names and phones masked)."""
    service = _service()
    from kiosk.identity import require_role

    require_role(actor, "visitor.decide", *service.DESK_ROLES)
    return service.pending_visits(ctx, service.desk_lobby(ctx, actor))


def _decided(view: Any) -> dict[str, Any]:
    return {"id": view.id, "status": view.status}


@staff_command(visitors_app, "approve", show_fields)
def approve_step(ctx: Any, actor: Any, visit: VisitArg) -> Any:
    """Let a waiting visitor in: the pass is issued and printed at the visitor's kiosk."""
    return _decided(_service().decide(ctx, actor, visit, approve=True))


@staff_command(visitors_app, "decline", show_fields)
def decline_step(
    ctx: Any, actor: Any, visit: VisitArg,
    note: Annotated[str, typer.Option("--note", help="Why (kept on the record).")] = "",
) -> Any:  # fmt: skip
    """Decline a waiting visit; the visitor is told at the kiosk."""
    return _decided(_service().decide(ctx, actor, visit, approve=False, note=note))


@staff_command(visitors_app, "sign-out", show_fields)
def sign_out_step(ctx: Any, actor: Any, visit: VisitArg) -> Any:
    """Sign a visitor out at the desk."""
    _service().sign_out_by_desk(ctx, actor, visit)
    return {"id": visit, "signed_out": True}


@staff_command(visitors_app, "block", show_fields)
def block_step(
    ctx: Any,
    actor: Any,
    name: Annotated[str, typer.Option("--name", help="The person's name.")] = "",
    phone: Annotated[str, typer.Option("--phone", help="Their phone.")] = "",
    id_number: Annotated[str, typer.Option("--id-number", help="Their ID number.")] = "",
    reason: Annotated[str, typer.Option("--reason", help="Why.")] = "",
) -> Any:
    """Put someone on the block list: their visits wait, silently, for the desk."""
    entry = _service().block(ctx, actor, name=name, phone=phone, id_number=id_number, reason=reason)
    return {"id": entry, "blocked": True}


@staff_command(visitors_app, "unblock", show_fields)
def unblock_step(
    ctx: Any, actor: Any,
    entry: Annotated[int, typer.Argument(help="The entry's id (see `blocklist`).")],
) -> Any:  # fmt: skip
    """Remove an entry from the block list (kept on record, inactive)."""
    _service().unblock(ctx, actor, entry)
    return {"id": entry, "blocked": False}


@service_steps(visitors_app, _service, show_fields)("blocklist")
def block_list() -> None:
    """The active block list (masked)."""


def register(cli: Any) -> None:
    """Mount the visitors commands on the kiosk CLI."""
    cli.app.add_typer(visitors_app, name="visitors")
    cli.report.command("visitors")(report_visitors)
