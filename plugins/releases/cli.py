"""``kiosk releases list|request|confirm-owner|approve|refuse|check|exit|register``: the desk's
and the gate's steps as a signed-in staff member (``--staff`` and the PIN), each printing the
pass (``--json``: one JSON document)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from kiosk.commands import (
    CommandGroup,
    Into,
    SignatureOpt,
    UnitOpt,
    show_records,
)

group = CommandGroup("releases", "Item release passes (物品放行条).", "plugins.releases.service")
releases_app = group.app
PassArg = Annotated[int, typer.Argument(help="Pass number without FX, e.g. 12 for FX000012.")]


def _line(view: Any) -> str:
    code = f"\n  code {view.qr}" if view.qr else ""
    return f"{view.number} {view.unit_code} {view.reason} {view.status}: {view.items}{code}"


_emit = show_records(_line, indent=None)


@group.read("list", show_records(_line, indent=None, empty="no passes waiting"))
def passes_open(ctx: Any) -> Any:
    """Requests waiting for the butler and approved passes the gate has not seen."""
    service = group.service()
    return service.waiting(ctx) + service.approved(ctx)


def _leaving_day(text: str) -> dt.date | None:
    from kiosk.errors import Refused

    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        raise Refused("releases.leave_on_format", "Write the leaving day as YYYY-MM-DD.") from None


step = group.steps(_emit)


@step("request")
def request_pass(
    *,
    unit_code: UnitOpt,
    applicant: Annotated[str, typer.Option("--applicant", help="Who asks (a resident).")],
    carrier: Annotated[str, typer.Option("--carrier", help="Who carries the items out.")],
    items: Annotated[str, typer.Option("--items", help="What leaves.")],
    signature: SignatureOpt,
    reason: Annotated[str, typer.Option("--reason", help="move_out or temporary.")] = "temporary",
    leave_on: Annotated[
        str, typer.Option("--leave-on", help="YYYY-MM-DD (today)."), Into(_leaving_day)
    ] = "",
) -> None:
    """File a request for a resident at the counter; the applicant signs."""


@step("confirm-owner")
def confirm_owner(
    number: PassArg,
    note: Annotated[str, typer.Option("--note", help="What the owner said on the phone.")],
) -> None:
    """Record the owner's confirmation by phone (a tenant's or helper's pass)."""


@step("approve")
def approve(
    number: PassArg,
    signature: SignatureOpt,
    *,
    fees_cleared_by_hand: Annotated[
        bool,
        typer.Option("--fees-cleared", help="Without billing: the cashier says nothing is owed."),
    ] = False,
) -> None:
    """Approve and sign; the pass is printed with its signed QR."""


@step("refuse")
def refuse(number: PassArg, reason: Annotated[str, typer.Option("--reason", help="Why.")]) -> None:
    """Turn a request down."""


@step("check")
def check_pass(code: Annotated[str, typer.Argument(help="The scanned QR text.")]) -> None:
    """At the gate: what a code lets out, or why nothing may leave."""


@step("exit")
def record_exit(
    code: Annotated[str, typer.Argument(help="The scanned QR text.")], signature: SignatureOpt
) -> None:
    """At the gate: the guard signs and the exit is recorded (the pass is used up)."""


@step("register", document=True)
def register_csv() -> None:
    """The pass register (物品放行条存档) as CSV on stdout."""


def register(cli: Any) -> None:
    group.mount(cli)
