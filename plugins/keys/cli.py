"""``kiosk keys list|take|out|back|sweep|register``: the custody register's steps as a
signed-in staff member (``--staff`` and the PIN); ``--json`` prints one JSON document."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from kiosk.commands import CommandGroup, SignatureOpt, show_records

group = CommandGroup("keys", "Key custody for vacant units (钥匙委托管理).", "plugins.keys.service")
keys_app = group.app
KeyArg = Annotated[str, typer.Argument(help="Key number, e.g. K0001.")]


def _line(k: Any) -> str:
    where = f"{k.box}/{k.slot}"
    held = f" {k.holder} ({k.purpose}{', ' + k.accompanied_by if k.accompanied_by else ''})"
    late = " OVERDUE" if k.overdue else ""
    return f"{k.number} {k.unit_code} {k.label} {where} {k.status}{held if k.holder else ''}{late}"


_emit = show_records(_line, indent=None)


@group.read("list", show_records(_line, indent=None, empty="no keys in custody"))
def keys_in_custody(
    ctx: Any, unit: Annotated[str, typer.Option("--unit", help="Only this unit.")] = ""
) -> Any:
    """Keys in custody: where each is, who holds one that is out, which are overdue."""
    return group.service().keys(ctx, unit)


step = group.steps(_emit)


@step("take")
def take_into_custody(
    *,
    unit_code: Annotated[str, typer.Option("--unit", help="The vacant unit, e.g. 1-101.")],
    labels: Annotated[list[str], typer.Option("--key", help="A key's label; repeat per key.")],
    box: Annotated[str, typer.Option("--box", help="The locked key box.")],
    slot: Annotated[str, typer.Option("--slot", help="The slot in the box.")],
    owner: Annotated[str, typer.Option("--owner", help="The owner who authorises.")],
    authorisation: Annotated[
        str, typer.Option("--authorisation", help="The owner's authorisation (form, date).")
    ],
    vacant: Annotated[bool, typer.Option("--vacant", help="The unit is vacant.")] = False,
) -> None:
    """Take a vacant unit's keys into custody on the owner's authorisation."""


@step("out")
def hand_out(
    number: KeyArg,
    *,
    person: Annotated[str, typer.Option("--person", help="Who takes the key.")],
    id_number: Annotated[str, typer.Option("--id", help="Their ID number (kept masked).")],
    purpose: Annotated[str, typer.Option("--purpose", help="viewing, contractor or owner.")],
    signature: SignatureOpt,
    accompanied_by: Annotated[
        str, typer.Option("--with", help="Staff number going along (a viewing needs one).")
    ] = "",
) -> None:
    """Hand a key over, signed; a viewing names the accompanying staff member."""


@step("back")
def hand_back(number: KeyArg, signature: SignatureOpt) -> None:
    """A key is back in its box, signed by the person returning it."""


@group.job("sweep")
def sweep(ctx: Any) -> Any:
    """Raise a desk alert for every key out too long (run from cron)."""
    return {"alerted": group.service().alert_overdue(ctx)}


@step("register", document=True)
def register_csv() -> None:
    """The custody register (钥匙委托管理清册) as CSV on stdout."""


def register(cli: Any) -> None:
    group.mount(cli)
