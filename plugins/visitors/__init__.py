"""Visitors (访客): walk-up registration with host approval, invites, passes, sign-out,
来访人员登记表, block list, retention.

Hook implementations only; the service, CLI and screens are imported inside the hooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.hookspecs import DeskPanel, Tile, hookimpl
from kiosk.i18n import N_
from kiosk.plugins import lazy, plugin_package

HERE = Path(__file__).parent
kiosk_models, kiosk_migrations = plugin_package(__name__)
SCREENS = "plugins.visitors.screens:"


@hookimpl
def kiosk_register_commands(cli: Any) -> None:
    from plugins.visitors.cli import register

    register(cli)


@hookimpl
def kiosk_tiles(ctx: Any) -> list[Any]:
    return [
        Tile(id="visitors", title=N_("Visitor registration"), screen=lazy(SCREENS + "WalkupScreen"),
             order=10, audience="all", icon="访"),
        Tile(id="visitors-invite", title=N_("I have an invite"),
             screen=lazy(SCREENS + "InviteScreen"), order=11, audience="all", icon="邀"),
        Tile(id="visitors-signout", title=N_("Visitor sign-out"),
             screen=lazy(SCREENS + "SignOutScreen"), order=12, audience="all", icon="离"),
        Tile(id="visitors-create-invite", title=N_("Invite a visitor"),
             screen=lazy(SCREENS + "CreateInviteScreen"), order=13, audience="resident",
             icon="请", needs_resident=True),
    ]  # fmt: skip


@hookimpl
def kiosk_desk_panels(ctx: Any) -> list[Any]:
    return [
        DeskPanel(id="visitors", title=N_("Visitors"), widget=lazy(SCREENS + "VisitorsDeskPanel"),
                  order=10,
                  roles=("butler", "security"))
    ]  # fmt: skip


@hookimpl
def kiosk_scenarios() -> list[Any]:
    from plugins.visitors.scenarios import scenarios

    return scenarios()


@hookimpl
def kiosk_purge(ctx: Any, session: Any, now: Any, dry_run: bool) -> list[Any]:
    """Visits and invites closed more than ``retention.visitor_days`` ago lose name, phone
    and ID number (``kiosk purge``)."""
    from plugins.visitors.service import purge_in

    return purge_in(session, ctx, now, dry_run)


@hookimpl
def kiosk_household_sections(ctx: Any, unit_code: str) -> list[Any]:
    from plugins.visitors.household import household_section

    return [household_section(ctx, unit_code)]


@hookimpl
def kiosk_link_actions(ctx: Any) -> list[Any]:
    from plugins.visitors.links import link_actions

    return link_actions()


@hookimpl
def kiosk_doctor_checks(settings: Any, sim: bool) -> list[Any]:
    """Passes signed with the public development key (or none) can be forged."""
    from kiosk.hookspecs import DoctorWarning
    from kiosk.signing import uses_dev_key
    from plugins.visitors.passes import KEY_SETTING

    if not uses_dev_key(settings, *KEY_SETTING):
        return []
    return [
        DoctorWarning(
            "plugins.visitors.pass_key",
            "unset or the development key: visitor passes are signed with a public key "
            "and can be forged; set a long random pass_key (or KIOSK_VISITOR_PASS_KEY)",
        )
    ]


@hookimpl
def kiosk_alert_kinds() -> dict[str, str]:
    """The desk-alert kinds this plugin raises, as the desk titles them."""
    return {
        "invite_guessing": N_("Invite code guessing"),
        "invite_codes_closed": N_("Invite codes closed"),
        "visitor.waiting": N_("Visitor waiting"),
        "visitor.held": N_("Visitor on the block list"),
    }
