"""The demo estate's people as the plugins' tests act as them: the desk's staff, the residents
as their card tap identifies them, a signature drawn on the pad, and the ``kiosk`` command line
over a test's database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from kiosk.context import KioskContext
from kiosk.db.models import Resident, Unit
from kiosk.identity import Actor

BUTLER = Actor("staff", 1, "李管家", frozenset({"butler"}))
MANAGER = Actor("staff", 5, "周经理", frozenset({"manager", "butler", "cashier"}))
CASHIER = Actor("staff", 2, "陈收银", frozenset({"cashier"}))
ENGINEER = Actor("staff", 3, "赵工程", frozenset({"engineer"}))
GUARD = Actor("staff", 4, "孙保安", frozenset({"security"}))
DEMO_UNITS = {"张伟": "1-101", "刘芳": "2-803", "王小明": "3-1205", "Emily Wang": "3-1205"}
# A short zig-zag, as a finger draws it on the pad (cell coordinates); a single dot is no
# signature.
SIGNED = [[[2, 5], [4, 3], [6, 6], [9, 2], [12, 5]], [[13, 4], [16, 4]]]
DOT = [[[5, 5]]]


def resident(ctx: KioskContext, name: str) -> Actor:
    """A demo resident as their card tap identifies them (names repeat across the estate)."""
    with ctx.database().read() as session:
        r = session.scalars(
            select(Resident)
            .join(Unit, Unit.id == Resident.unit_id)
            .where(Resident.name == name, Unit.code == DEMO_UNITS[name])
        ).one()
        return Actor.of_resident(r)


def cli_with(name: str, register: Any) -> Any:
    """The root ``kiosk`` command with the plugin ``name``'s commands registered (once)."""
    from kiosk.cli import CommandRegistry, app, report_app

    if not any(g.name == name for g in app.registered_groups):
        register(CommandRegistry(app=app, report=report_app))
    return app


def config_for(ctx: KioskContext, tmp_path: Path) -> str:
    """A config file pointing at the test's database, for ``-c``."""
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[database]\nurl = "{ctx.settings.database_url}"\n', "utf-8")
    return str(path)
