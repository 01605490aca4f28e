"""Visitors (访客): walk-up registration with host approval, invites, passes, sign-out,
来访人员登记表, block list, retention.

Hook implementations only; the service, CLI and screens are imported inside the hooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.hookspecs import DeskPanel, Tile, hookimpl
from kiosk.i18n import N_
from kiosk.plugins import lazy, plugin_hooks

HERE = Path(__file__).parent
SCREENS = "plugins.visitors.screens:"
globals().update(
    plugin_hooks(
        __name__,
        ("commands", "scenarios", "household", "links", "purge"),
        tiles=[
            Tile(id="visitors", title=N_("Visitor registration"), screen=lazy(SCREENS + "WalkupScreen"),
                 order=10, audience="all", icon="访"),
            Tile(id="visitors-invite", title=N_("I have an invite"),
                 screen=lazy(SCREENS + "InviteScreen"), order=11, audience="all", icon="邀"),
            Tile(id="visitors-signout", title=N_("Visitor sign-out"),
                 screen=lazy(SCREENS + "SignOutScreen"), order=12, audience="all", icon="离"),
            Tile(id="visitors-create-invite", title=N_("Invite a visitor"),
                 screen=lazy(SCREENS + "CreateInviteScreen"), order=13, audience="resident",
                 icon="请", needs_resident=True),
        ],
        desk_panels=[
            DeskPanel(id="visitors", title=N_("Visitors"), widget=lazy(SCREENS + "VisitorsDeskPanel"),
                      order=10, roles=("butler", "security")),
        ],
        alert_kinds={
            "invite_guessing": N_("Invite code guessing"),
            "invite_codes_closed": N_("Invite codes closed"),
            "visitor.waiting": N_("Visitor waiting"),
            "visitor.held": N_("Visitor on the block list"),
        },
    )
)  # fmt: skip


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
