"""Staff sign-in options for CLI commands that act as a person (``--staff`` and the PIN).

A PIN typed as ``--pin 1357`` is visible to every user of the machine in ``ps`` and stays in
the shell history, so the PIN comes, in this order, from ``--pin`` (kept for scripts, but
discouraged), the ``KIOSK_PIN`` environment variable, or a prompt with hidden input (on a
terminal; piped standard input is read as the PIN). Every plugin command uses these two
options, so the rule is the same everywhere.
"""

from __future__ import annotations

from typing import Annotated

import typer

PIN_ENV = "KIOSK_PIN"
# Billing's commands read this name before the shared option existed; still honoured.
LEGACY_PIN_ENV = "KIOSK_STAFF_PIN"


def resolve_pin(value: str | None) -> str:
    """The PIN given by ``--pin`` or the environment, else asked for without echo."""
    if value:
        return value
    try:
        pin = typer.prompt("Staff PIN", hide_input=True, err=True)
    except typer.Abort:
        raise typer.BadParameter(
            f"no staff PIN: type it at the prompt or set {PIN_ENV}", param_hint="--pin"
        ) from None
    return str(pin).strip()


StaffOpt = Annotated[str, typer.Option("--staff", help="Staff number or card, e.g. S002.")]
PinOpt = Annotated[
    str | None,
    typer.Option(
        "--pin",
        envvar=[PIN_ENV, LEGACY_PIN_ENV],
        show_envvar=False,
        callback=resolve_pin,
        help=(
            f"Staff PIN. Leave it out to be asked (hidden input) or set ${PIN_ENV}: "
            "a PIN on the command line shows in `ps` and the shell history (discouraged)."
        ),
    ),
]
