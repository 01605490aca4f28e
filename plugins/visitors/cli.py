"""``kiosk report visitors`` (来访人员登记表), ``kiosk visitors close|purge``, and the desk's
steps as commands acting as a signed-in staff member (``--staff``, the PIN): ``pending``,
``approve``, ``decline``, ``sign-out``, ``block``, ``unblock``, ``blocklist``. Thin typer commands
over :mod:`plugins.visitors.service`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from kiosk.commands import (
    CommandGroup,
    LobbyOpt,
    context,
    day_option,
    show_fields,
    table_report,
)

group = CommandGroup(
    "visitors", "Visitors: passes, sign-out, retention.", "plugins.visitors.service"
)
visitors_app = group.app


@table_report
def report_visitors(
    config: Path | None,
    as_csv: bool,
    day: Annotated[
        str | None, typer.Option("--day", help="YYYY-MM-DD (default: today, estate time).")
    ] = None,
    lobby: LobbyOpt = "",
) -> Any:
    """The day's visitor log (来访人员登记表), names and phones masked."""
    when = day_option(day) if day else None
    from kiosk.lobby import named_lobby
    from plugins.visitors.service import LOG_COLUMNS, daily_log, daily_log_csv

    ctx = context(config)
    if as_csv:
        return daily_log_csv(ctx, when, named_lobby(ctx, lobby))
    rows = daily_log(ctx, when, named_lobby(ctx, lobby))
    lines = [" | ".join(LOG_COLUMNS), *(" | ".join(row.values()) for row in rows)]
    return rows, "\n".join(lines)


@group.job("close")
def close(ctx: Any) -> Any:
    """Sign out visitors whose window has ended and time out unanswered requests."""
    from plugins.visitors.service import close_ended_visits, expire_pending

    return {"signed_out": close_ended_visits(ctx), "timed_out": expire_pending(ctx)}


@group.job("purge")
def purge(ctx: Any) -> Any:
    """Anonymise visitor PII older than retention.visitor_days (run daily)."""
    from plugins.visitors.service import purge_pii

    return purge_pii(ctx)


VisitArg = Annotated[int, typer.Argument(help="The visit's id (see `kiosk visitors pending`).")]


@group.staff("pending", show_fields)
def pending_step(ctx: Any, actor: Any) -> Any:
    """Visits waiting for an answer at this staff member's lobby (names and phones masked)."""
    service = group.service()
    from kiosk.identity import require_role

    require_role(actor, "visitor.decide", *service.DESK_ROLES)
    return service.pending_visits(ctx, service.desk_lobby(ctx, actor))


def _decided(view: Any) -> dict[str, Any]:
    return {"id": view.id, "status": view.status}


@group.staff("approve", show_fields)
def approve_step(ctx: Any, actor: Any, visit: VisitArg) -> Any:
    """Let a waiting visitor in: the pass is issued and printed at the visitor's kiosk."""
    return _decided(group.service().decide(ctx, actor, visit, approve=True))


@group.staff("decline", show_fields)
def decline_step(
    ctx: Any, actor: Any, visit: VisitArg,
    note: Annotated[str, typer.Option("--note", help="Why (kept on the record).")] = "",
) -> Any:  # fmt: skip
    """Decline a waiting visit; the visitor is told at the kiosk."""
    return _decided(group.service().decide(ctx, actor, visit, approve=False, note=note))


@group.staff("sign-out", show_fields)
def sign_out_step(ctx: Any, actor: Any, visit: VisitArg) -> Any:
    """Sign a visitor out at the desk."""
    group.service().sign_out_by_desk(ctx, actor, visit)
    return {"id": visit, "signed_out": True}


@group.staff("block", show_fields)
def block_step(
    ctx: Any,
    actor: Any,
    name: Annotated[str, typer.Option("--name", help="The person's name.")] = "",
    phone: Annotated[str, typer.Option("--phone", help="Their phone.")] = "",
    id_number: Annotated[str, typer.Option("--id-number", help="Their ID number.")] = "",
    reason: Annotated[str, typer.Option("--reason", help="Why.")] = "",
) -> Any:
    """Put someone on the block list: their visits wait, silently, for the desk."""
    entry = group.service().block(
        ctx, actor, name=name, phone=phone, id_number=id_number, reason=reason
    )
    return {"id": entry, "blocked": True}


@group.staff("unblock", show_fields)
def unblock_step(
    ctx: Any, actor: Any,
    entry: Annotated[int, typer.Argument(help="The entry's id (see `blocklist`).")],
) -> Any:  # fmt: skip
    """Remove an entry from the block list (kept on record, inactive)."""
    group.service().unblock(ctx, actor, entry)
    return {"id": entry, "blocked": False}


@group.steps(show_fields)("blocklist")
def block_list() -> None:
    """The active block list (masked)."""


def register(cli: Any) -> None:
    """Mount the visitors commands on the kiosk CLI."""
    group.mount(cli, report=report_visitors)
