"""Item release passes (物品放行条): request at the kiosk, approval at the desk, exit at the gate.

Hook implementations only; the service and screens are imported inside the hooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.hookspecs import hookimpl

HERE = Path(__file__).parent


@hookimpl
def kiosk_models() -> list[str]:
    return ["plugins.releases.models"]


@hookimpl
def kiosk_migrations() -> list[str]:
    return [str(HERE / "migrations" / "versions")]


@hookimpl
def kiosk_startup(ctx: Any) -> None:
    from kiosk.i18n import register_catalog

    register_catalog(HERE / "locale", "releases")


@hookimpl
def kiosk_register_commands(cli: Any) -> None:
    from plugins.releases.cli import register

    register(cli)


def _screen(ctx: Any) -> Any:
    from plugins.releases.screens import ReleaseRequestScreen

    return ReleaseRequestScreen(ctx)


@hookimpl
def kiosk_tiles(ctx: Any) -> list[Any]:
    from kiosk.hookspecs import Tile
    from kiosk.i18n import N_

    return [
        Tile(id="releases", title=N_("Item pass"), screen=_screen, order=45,
             audience="resident", icon="出", needs_resident=True)
    ]  # fmt: skip


def _approvals(ctx: Any) -> Any:
    from plugins.releases.screens import ReleasesDeskPanel

    return ReleasesDeskPanel(ctx)


def _gate(ctx: Any) -> Any:
    from plugins.releases.screens import GateExitPanel

    return GateExitPanel(ctx)


@hookimpl
def kiosk_desk_panels(ctx: Any) -> list[Any]:
    from kiosk.hookspecs import DeskPanel
    from kiosk.i18n import N_

    return [
        DeskPanel(id="releases", title=N_("Item passes"), widget=_approvals, order=80,
                  roles=("butler",)),
        DeskPanel(id="gate", title=N_("Gate exit"), widget=_gate, order=81,
                  roles=("security", "butler")),
    ]  # fmt: skip


@hookimpl
def kiosk_scenarios() -> list[Any]:
    from plugins.releases.scenarios import scenarios

    return scenarios()


@hookimpl
def kiosk_doctor_checks(settings: Any, sim: bool) -> list[Any]:
    """Release passes signed with the public development key (or none) can be forged."""
    from kiosk.hookspecs import DoctorWarning
    from kiosk.signing import uses_dev_key

    if not uses_dev_key(settings, "releases", "pass_key", "KIOSK_RELEASE_PASS_KEY"):
        return []
    return [
        DoctorWarning(
            "plugins.releases.pass_key",
            "unset or the development key: item release passes are signed with a public key "
            "and can be forged; set a long random pass_key (or KIOSK_RELEASE_PASS_KEY)",
        )
    ]


@hookimpl
def kiosk_purge(ctx: Any, session: Any, now: Any, dry_run: bool) -> list[Any]:
    """Passes closed more than ``[plugins.releases] retention_days`` ago lose names and
    signatures (``kiosk purge``)."""
    from plugins.releases.service import purge_in

    return purge_in(session, ctx, now, dry_run)


@hookimpl
def kiosk_household_sections(ctx: Any, unit_code: str) -> list[Any]:
    from plugins.releases.household import household_section

    return [household_section(ctx, unit_code)]
