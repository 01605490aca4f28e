"""``kiosk notices list|current|draft|approve|publish|withdraw|reads|register``: thin typer
commands over the service. The steps act as a signed-in staff member (``--staff`` and the PIN)
and print the notice (``--json``: one JSON document)."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

import typer

from kiosk.commands import (
    CommandGroup,
    ConfigOpt,
    JsonOpt,
    LobbyOpt,
    context,
    refusals,
    show_records,
    typed_day,
)

group = CommandGroup(
    "notices", "Notices (通知): draft, approve, publish, register.", "plugins.notices.service"
)
notices_app = group.app

IdArg = Annotated[int, typer.Argument(help="The notice's id (kiosk notices list).")]


def _line(n: Any) -> str:
    signed = f" read by {n.read}" if n.households else ""
    return f"{n.id} {n.number or '-'} {n.status} {n.title}{signed}"


_emit = show_records(_line)


@group.read("list", _emit)
def notices(
    ctx: Any,
    status: Annotated[
        str, typer.Option("--status", help="draft, approved, published, withdrawn.")
    ] = "",
) -> Any:
    """Notices, newest first, with how many households read them."""
    return group.service().notices(ctx, status or None)


@group.read("current", _emit)
def current(ctx: Any, lobby: LobbyOpt = "") -> Any:
    """The notices on show now (expired ones are down by their date)."""
    from kiosk.lobby import named_lobby

    return group.service().current(ctx, named_lobby(ctx, lobby))


@group.staff("draft", _emit)
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
    service = group.service()
    notice_id = service.draft(ctx, actor, title=title, body=body, lobbies=tuple(lobby or ()),
                              households=households,
                              expires_on=typed_day(expires, "notices.date") if expires else None,
                              department=department)  # fmt: skip
    return service.notice(ctx, notice_id)


step = group.steps(_emit)


@step("approve")
def approve(notice_id: IdArg) -> None:
    """Approve a draft (the manager): it is numbered and dated."""


@step("publish")
def publish(notice_id: IdArg) -> None:
    """Publish an approved notice to its lobbies' kiosks."""


@group.staff("withdraw", _emit)
def withdraw_step(ctx: Any, actor: Any, notice_id: IdArg) -> Any:
    """Take a published notice down before its date."""
    group.service().withdraw(ctx, actor, notice_id)
    return group.service().notice(ctx, notice_id)


@group.app.command("reads")
def reads_cmd(notice_id: IdArg, as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Households that read a notice, of those it concerns, and the units still to sign."""
    with refusals():
        count = group.service().read_count(context(config), notice_id)
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
    group.mount(cli)
