"""``kiosk keys list|take|out|back|sweep|register``: the custody register's steps as a
signed-in staff member (``--staff`` and the PIN); ``--json`` prints one JSON document."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from kiosk.commands import (
    ConfigOpt,
    JsonOpt,
    SignatureOpt,
    context,
    lazy_module,
    print_text,
    read_strokes,
    show_records,
    staff_command,
)

keys_app = typer.Typer(help="Key custody for vacant units (钥匙委托管理).", no_args_is_help=True)
KeyArg = Annotated[str, typer.Argument(help="Key number, e.g. K0001.")]


_service = lazy_module("plugins.keys.service")


def _line(k: Any) -> str:
    where = f"{k.box}/{k.slot}"
    held = f" {k.holder} ({k.purpose}{', ' + k.accompanied_by if k.accompanied_by else ''})"
    late = " OVERDUE" if k.overdue else ""
    return f"{k.number} {k.unit_code} {k.label} {where} {k.status}{held if k.holder else ''}{late}"


_emit = show_records(_line, indent=None)


@keys_app.command("list")
def list_cmd(
    unit: Annotated[str, typer.Option("--unit", help="Only this unit.")] = "",
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Keys in custody: where each is, who holds one that is out, which are overdue."""
    show_records(_line, indent=None, empty="no keys in custody")(
        _service().keys(context(config), unit), as_json
    )


@staff_command(keys_app, "take", _emit)
def take_step(
    ctx: Any,
    actor: Any,
    unit: Annotated[str, typer.Option("--unit", help="The vacant unit, e.g. 1-101.")],
    key: Annotated[list[str], typer.Option("--key", help="A key's label; repeat per key.")],
    box: Annotated[str, typer.Option("--box", help="The locked key box.")],
    slot: Annotated[str, typer.Option("--slot", help="The slot in the box.")],
    owner: Annotated[str, typer.Option("--owner", help="The owner who authorises.")],
    authorisation: Annotated[
        str, typer.Option("--authorisation", help="The owner's authorisation (form, date).")
    ],
    vacant: Annotated[bool, typer.Option("--vacant", help="The unit is vacant.")] = False,
) -> Any:
    """Take a vacant unit's keys into custody on the owner's authorisation."""
    return _service().take_into_custody(
        ctx, actor, unit_code=unit, labels=key, box=box, slot=slot, owner=owner,
        authorisation=authorisation, vacant=vacant,
    )  # fmt: skip


@staff_command(keys_app, "out", _emit)
def out_step(
    ctx: Any,
    actor: Any,
    number: KeyArg,
    person: Annotated[str, typer.Option("--person", help="Who takes the key.")],
    id_number: Annotated[str, typer.Option("--id", help="Their ID number (kept masked).")],
    purpose: Annotated[str, typer.Option("--purpose", help="viewing, contractor or owner.")],
    signature: SignatureOpt,
    accompanied_by: Annotated[
        str, typer.Option("--with", help="Staff number going along (a viewing needs one).")
    ] = "",
) -> Any:
    """Hand a key over, signed; a viewing names the accompanying staff member."""
    return _service().hand_out(
        ctx, actor, number, person=person, id_number=id_number, purpose=purpose,
        signature=read_strokes(signature), accompanied_by=accompanied_by,
    )  # fmt: skip


@staff_command(keys_app, "back", _emit)
def back_step(ctx: Any, actor: Any, number: KeyArg, signature: SignatureOpt) -> Any:
    """A key is back in its box, signed by the person returning it."""
    return _service().hand_back(ctx, actor, number, read_strokes(signature))


@keys_app.command("sweep")
def sweep_cmd(config: ConfigOpt = None) -> None:
    """Raise a desk alert for every key out too long (run from cron)."""
    typer.echo(json.dumps({"alerted": _service().alert_overdue(context(config))}))


@staff_command(keys_app, "register", print_text, json_option=False)
def register_step(ctx: Any, actor: Any) -> str:
    """The custody register (钥匙委托管理清册) as CSV on stdout."""
    return str(_service().register_csv(ctx, actor))


def register(cli: Any) -> None:
    cli.app.add_typer(keys_app, name="keys")
