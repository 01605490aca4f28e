"""Start a kiosk or desk shell: what ``kiosk run`` and ``kiosk desk`` do, without the command
line's libraries (typer, rich), so that the home screen is up as soon as it can be.

:func:`main` is the ``kiosk`` console script: ``kiosk run|desk [-c CONFIG] [--sim]`` starts
the shell straight away; everything else (``--help`` included) goes to the full command line
in :mod:`kiosk.cli`.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk.config import Settings

SHELLS = {"run": "lobby", "desk": "desk"}


def start(kind: str, settings: Settings, sim: bool) -> int:
    """Run the shell of ``kind`` (lobby or desk) until it is left; returns its exit code."""
    from kiosk.clock import NOW_ENV
    from kiosk.hardening import config_mode_warning

    if os.environ.get(NOW_ENV, "").strip() and not sim:
        # A kiosk serving people keeps the real time: receipts, due dates and audit events
        # would be wrong. The set clock is for simulated runs and replays only.
        print(
            f"kiosk: {NOW_ENV} is set: a {kind} on real devices keeps the real time "
            "(unset it, or add --sim)",
            file=sys.stderr,
        )
        return 1
    line = config_mode_warning(settings)
    if line:  # config files hold PINs and keys; a kiosk's journal keeps the warning
        logging.getLogger("kiosk").warning("config: %s", line)
    from kiosk.ui.guard import run_until_left

    def build() -> Any:
        if kind == "lobby":
            from kiosk.ui.lobby_app import LobbyApp

            return LobbyApp(settings, sim=sim, own_process=True)
        from kiosk.ui.desk_app import DeskApp

        return DeskApp(settings, sim=sim, start_devices=True, own_process=True)

    # A shell that stopped after an error starts again: a kiosk never drops to a prompt.
    shell = run_until_left(build)
    return int(shell.return_code or 0)


def _quick(argv: list[str]) -> tuple[str, str | None, bool] | None:
    """(shell, config, sim) when ``argv`` is a plain ``run``/``desk`` call, else None."""
    if not argv or argv[0] not in SHELLS:
        return None
    config, sim, rest = None, False, argv[1:]
    while rest:
        word = rest.pop(0)
        if word == "--sim":
            sim = True
        elif word in ("-c", "--config") and rest:
            config = rest.pop(0)
        elif word.startswith("--config="):
            config = word.split("=", 1)[1]
        else:  # --help, a typo: the full command line answers
            return None
    return SHELLS[argv[0]], config, sim


def main() -> None:
    """Console-script entry point."""
    quick = _quick(sys.argv[1:])
    if quick is None:
        from kiosk.cli import main as full

        full()
        return
    kind, config, sim = quick
    logging.basicConfig(level=os.environ.get("KIOSK_LOG_LEVEL", "WARNING"), stream=sys.stderr)
    from kiosk.config import ConfigError, load_settings

    try:
        settings = load_settings(config)
    except ConfigError as exc:
        print(f"kiosk: bad config: {exc}", file=sys.stderr)
        sys.exit(1)
    sys.exit(start(kind, settings, sim))
