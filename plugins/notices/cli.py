"""``kiosk notices list|current|draft|approve|publish|withdraw|reads|register``: thin typer
commands over the service. The steps act as a signed-in staff member (``--staff`` and the PIN)
and print the notice (``--json``: one JSON document)."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

import typer

from kiosk.commands import (
    ConfigOpt,
    JsonOpt,
    LobbyOpt,
    context,
    lazy_module,
    read_command,
    refusals,
    service_steps,
    show_records,
    staff_command,
    typed_day,
)

notices_app = typer.Typer(
    help="Notices (通知): draft, approve, publish, register.", no_args_is_help=True
)

IdArg = Annotated[int, typer.Argument(help="The notice's id (kiosk notices list).")]


_service = lazy_module("plugins.notices.service")


def _line(n: Any) -> str:
    signed = f" read by {n.read}" if n.households else ""
    return f"{n.id} {n.number or '-'} {n.status} {n.title}{signed}"


_emit = show_records(_line)


@read_command(notices_app, "list", _emit)
def notices(
    ctx: Any,
    status: Annotated[
        str, typer.Option("--status", help="draft, approved, published, withdrawn.")
    ] = "",
) -> Any:
    """Notices, newest first, with how many households read them."""
    return _service().notices(ctx, status or None)


@read_command(notices_app, "current", _emit)
def current(ctx: Any, lobby: LobbyOpt = "") -> Any:
    """The notices on show now (expired ones are down by their date)."""
    return _service().current(ctx, lobby or None)


@staff_command(notices_app, "draft", _emit)
def draft_step(
    ctx: Any,
    actor: Any,
    title: Annotated[str, typer.Option("--title", help="The notice's title.")],
    body: Annotated[str, typer.Option("--body", help="The notice's text.")] = "",
    lobby: Annotated[
        list[str] | None, typer.Option("--lobby", help="A lobby it concerns (repeat); none: all.")
    ] = None,
    households: Annotated[
        bool, typer.Option("--households", help="Addressed to households: they sign at the kiosk.")
    ] = False,
    expires: Annotated[str, typer.Option("--expires", help="Last day on show, YYYY-MM-DD.")] = "",
    department: Annotated[str, typer.Option("--department", help="Issuing department.")] = "",
) -> Any:
    """Draft a notice (butler); the manager approves it before anyone sees it."""
    service = _service()
    notice_id = service.draft(ctx, actor, title=title, body=body, lobbies=tuple(lobby or ()),
                              households=households,
                              expires_on=typed_day(expires, "notices.date") if expires else None,
                              department=department)  # fmt: skip
    return service.notice(ctx, notice_id)


step = service_steps(notices_app, _service, _emit)


@step("approve")
def approve(notice_id: IdArg) -> None:
    """Approve a draft (the manager): it is numbered and dated."""


@step("publish")
def publish(notice_id: IdArg) -> None:
    """Publish an approved notice to its lobbies' kiosks."""


@staff_command(notices_app, "withdraw", _emit)
def withdraw_step(ctx: Any, actor: Any, notice_id: IdArg) -> Any:
    """Take a published notice down before its date."""
    _service().withdraw(ctx, actor, notice_id)
    return _service().notice(ctx, notice_id)


@notices_app.command("reads")
def reads_cmd(notice_id: IdArg, as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Households that read a notice, of those it concerns, and the units still to sign."""
    with refusals():
        count = _service().read_count(context(config), notice_id)
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(count), ensure_ascii=False))
        return
    typer.echo(f"{count.number}: read by {count.read} of {count.households} households")


@step("register", document=True)
def register_csv(
    year: Annotated[int | None, typer.Option("--year", help="The year; default this year.")] = None,
) -> None:
    """The issue register (发文登记) as CSV on stdout."""


def register(cli: Any) -> None:
    cli.app.add_typer(notices_app, name="notices")
