"""``kiosk notify ...``: deliver the outbox, show its state, send a test message.

Exit codes: ``dispatch`` 0 when every due message was delivered (or held for quiet hours),
1 when some are left pending or were given up; ``test`` 0 when the unit was reached.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from kiosk.commands import (
    ConfigOpt,
    JsonOpt,
    UnitOpt,
    fail,
    open_ctx,
    refusals,
    settings_or_exit,
)
from kiosk.commands import emit as _emit

notify_app = typer.Typer(help="Notifications: deliver the outbox, its state, a test message.",
                         no_args_is_help=True)  # fmt: skip


@contextmanager
def _opened(config: Path | None) -> Iterator[Any]:
    """The context of ``config`` for one command; its database connections are closed after."""
    from kiosk.cli import warn_if_world_readable

    settings = settings_or_exit(config)
    warn_if_world_readable(settings)
    ctx = open_ctx(settings)
    try:
        yield ctx
    finally:
        ctx.database().dispose()


@notify_app.command("dispatch")
def dispatch(
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 500,
    retry_now: Annotated[
        bool,
        typer.Option("--retry-now", help="Retry failed messages now (the channel is back)."),
    ] = False,
) -> None:
    """Deliver every due message once; exit 1 when some are left pending (channel down)."""
    from kiosk.notify import run_dispatch

    with _opened(config) as ctx:
        try:
            report = run_dispatch(ctx, limit, retry_now=retry_now)
        except Exception as exc:  # noqa: BLE001 - the database is gone: say so in one line
            fail(f"cannot dispatch notifications: {type(exc).__name__}: {exc}")
    text = report.summary() + "".join(f"\n  {e}" for e in report.errors)
    _emit(report.as_dict(), as_json, text)
    if not report.ok:
        raise typer.Exit(1)


@notify_app.command("status")
def status(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Messages per state, how many are due, the oldest waiting one and the last errors."""
    from kiosk.notify import outbox_status
    from kiosk.notify_channels import AUDIENCES, check_url

    with _opened(config) as ctx:
        data = outbox_status(ctx)
    data["channel_problems"] = [
        f"notify.{audience}: {problem}"
        for audience in AUDIENCES
        for url in getattr(ctx.settings.notify, audience)
        if (problem := check_url(url, deep=True))
    ]
    states = ", ".join(f"{k} {v}" for k, v in sorted(data["states"].items())) or "empty"
    lines = [f"outbox: {states}; due now {data['due']}"]
    if data["oldest_pending_minutes"] is not None:
        lines.append(f"oldest waiting: {data['oldest_pending_minutes']} min")
    lines += [f"  #{e['id']} {e['template']}: {e['error']}" for e in data["errors"]]
    lines += [f"channel problem: {p}" for p in data["channel_problems"]]
    _emit(data, as_json, "\n".join(lines))


@notify_app.command("test")
def test(unit: UnitOpt, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Queue a test message to a unit's residents and deliver it now."""
    from kiosk.identity import unit_by_code
    from kiosk.notify import queue_notification, run_dispatch

    with _opened(config) as ctx:
        with refusals(), ctx.database().write() as session:
            row = unit_by_code(session, unit)
            code = row.code
            note = queue_notification(
                session,
                channel="sms",
                template="notify.test",
                at=ctx.clock.now(),
                unit_id=row.id,
                payload={"unit": row.code},
            )
            note_id = note.id
        report = run_dispatch(ctx)
        from kiosk.db.models import Notification

        with ctx.database().read() as session:
            n = session.get(Notification, note_id)
            state, error = (n.state, n.last_error) if n else ("missing", "")
    data = {"notification": note_id, "state": state, "error": error, "dispatch": report.as_dict()}
    _emit(
        data,
        as_json,
        f"test message #{note_id} to {code}: {state}" + (f" ({error})" if error else ""),
    )
    if state != "sent":
        raise typer.Exit(1)


@notify_app.command("contact")
def contact(
    unit: UnitOpt,
    name: Annotated[str, typer.Option("--name", help="The resident's name as registered.")],
    email: Annotated[
        str | None, typer.Option("--email", help='Email address ("" to remove).')
    ] = None,
    channel: Annotated[
        str | None,
        typer.Option("--channel", help='Preferred channel: email, sms, a scheme, or "" (any).'),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Record where a resident is reached (the office's command; audited)."""
    from kiosk.identity import SYSTEM
    from kiosk.notify import set_contact

    with _opened(config) as ctx:
        set_contact(ctx, SYSTEM, unit, name, email=email, channel=channel)
    typer.echo(f"contact of {name.strip()} ({unit.strip()}) updated")
