"""``kiosk releases list|request|confirm-owner|approve|refuse|check|exit|register``: the desk's
and the gate's steps as a signed-in staff member (``--staff`` and the PIN), each printing the
pass (``--json``: one JSON document)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from kiosk.commands import (
    ConfigOpt,
    JsonOpt,
    SignatureOpt,
    UnitOpt,
    context,
    lazy_module,
    print_text,
    read_strokes,
    show_records,
    staff_command,
)

releases_app = typer.Typer(help="Item release passes (物品放行条).", no_args_is_help=True)
PassArg = Annotated[int, typer.Argument(help="Pass number without FX, e.g. 12 for FX000012.")]


_service = lazy_module("plugins.releases.service")


def _line(view: Any) -> str:
    code = f"\n  code {view.qr}" if view.qr else ""
    return f"{view.number} {view.unit_code} {view.reason} {view.status}: {view.items}{code}"


_emit = show_records(_line, indent=None)


@releases_app.command("list")
def list_cmd(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Requests waiting for the butler and approved passes the gate has not seen."""
    service = _service()
    ctx = context(config)
    rows = service.waiting(ctx) + service.approved(ctx)
    show_records(_line, indent=None, empty="no passes waiting")(rows, as_json)


@staff_command(releases_app, "request", _emit)
def request_step(
    ctx: Any,
    actor: Any,
    unit: UnitOpt,
    applicant: Annotated[str, typer.Option("--applicant", help="Who asks (a resident).")],
    carrier: Annotated[str, typer.Option("--carrier", help="Who carries the items out.")],
    items: Annotated[str, typer.Option("--items", help="What leaves.")],
    signature: SignatureOpt,
    reason: Annotated[str, typer.Option("--reason", help="move_out or temporary.")] = "temporary",
    leave_on: Annotated[str, typer.Option("--leave-on", help="YYYY-MM-DD (today).")] = "",
) -> Any:
    """File a request for a resident at the counter; the applicant signs."""
    from kiosk.errors import Refused

    try:
        day = dt.date.fromisoformat(leave_on) if leave_on else None
    except ValueError:
        raise Refused("releases.leave_on_format", "Write the leaving day as YYYY-MM-DD.") from None
    return _service().request_pass(
        ctx, actor, carrier=carrier, items=items, reason=reason, leave_on=day,
        signature=read_strokes(signature), unit_code=unit, applicant=applicant,
    )  # fmt: skip


@staff_command(releases_app, "confirm-owner", _emit)
def confirm_owner_step(
    ctx: Any,
    actor: Any,
    number: PassArg,
    note: Annotated[str, typer.Option("--note", help="What the owner said on the phone.")],
) -> Any:
    """Record the owner's confirmation by phone (a tenant's or helper's pass)."""
    return _service().confirm_owner(ctx, actor, number, note)


@staff_command(releases_app, "approve", _emit)
def approve_step(
    ctx: Any,
    actor: Any,
    number: PassArg,
    signature: SignatureOpt,
    fees_cleared: Annotated[
        bool,
        typer.Option("--fees-cleared", help="Without billing: the cashier says nothing is owed."),
    ] = False,
) -> Any:
    """Approve and sign; the pass is printed with its signed QR."""
    return _service().approve(ctx, actor, number, read_strokes(signature),
                              fees_cleared_by_hand=fees_cleared)  # fmt: skip


@staff_command(releases_app, "refuse", _emit)
def refuse_step(
    ctx: Any,
    actor: Any,
    number: PassArg,
    reason: Annotated[str, typer.Option("--reason", help="Why.")],
) -> Any:
    """Turn a request down."""
    return _service().refuse(ctx, actor, number, reason)


@staff_command(releases_app, "check", _emit)
def check_step(
    ctx: Any, actor: Any, code: Annotated[str, typer.Argument(help="The scanned QR text.")]
) -> Any:
    """At the gate: what a code lets out, or why nothing may leave."""
    return _service().check_pass(ctx, actor, code)


@staff_command(releases_app, "exit", _emit)
def exit_step(
    ctx: Any,
    actor: Any,
    code: Annotated[str, typer.Argument(help="The scanned QR text.")],
    signature: SignatureOpt,
) -> Any:
    """At the gate: the guard signs and the exit is recorded (the pass is used up)."""
    return _service().record_exit(ctx, actor, code, read_strokes(signature))


@staff_command(releases_app, "register", print_text, json_option=False)
def register_step(ctx: Any, actor: Any) -> str:
    """The pass register (物品放行条存档) as CSV on stdout."""
    return str(_service().register_csv(ctx, actor))


def register(cli: Any) -> None:
    cli.app.add_typer(releases_app, name="releases")
