"""Key custody (钥匙委托管理): keys of vacant units kept at the desk, every handover signed.

Hook implementations only; the service and screens are imported inside the hooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.hookspecs import hookimpl

HERE = Path(__file__).parent


@hookimpl
def kiosk_models() -> list[str]:
    return ["plugins.keys.models"]


@hookimpl
def kiosk_migrations() -> list[str]:
    return [str(HERE / "migrations" / "versions")]


@hookimpl
def kiosk_startup(ctx: Any) -> None:
    from kiosk.i18n import register_catalog

    register_catalog(HERE / "locale", "keys")


@hookimpl
def kiosk_register_commands(cli: Any) -> None:
    from plugins.keys.cli import register

    register(cli)


def _desk_panel(ctx: Any) -> Any:
    from plugins.keys.screens import KeysDeskPanel

    return KeysDeskPanel(ctx)


@hookimpl
def kiosk_desk_panels(ctx: Any) -> list[Any]:
    from kiosk.hookspecs import DeskPanel
    from kiosk.i18n import N_

    return [DeskPanel(id="keys", title=N_("Keys"), widget=_desk_panel, order=82, roles=("butler",))]


@hookimpl
def kiosk_scenarios() -> list[Any]:
    from plugins.keys.scenarios import scenarios

    return scenarios()


@hookimpl
def kiosk_purge(ctx: Any, session: Any, now: Any, dry_run: bool) -> list[Any]:
    """Handovers back more than ``[plugins.keys] retention_days`` ago lose the person's name,
    ID and signatures (``kiosk purge``)."""
    from plugins.keys.service import purge_in

    return purge_in(session, ctx, now, dry_run)


@hookimpl
def kiosk_household_sections(ctx: Any, unit_code: str) -> list[Any]:
    from plugins.keys.household import household_section

    return [household_section(ctx, unit_code)]


@hookimpl
def kiosk_alert_kinds() -> dict[str, str]:
    """The desk-alert kinds this plugin raises, as the desk titles them."""
    from kiosk.i18n import N_

    return {"key_overdue": N_("Key not back")}
