"""Visitors (访客): walk-up registration with host approval, invites, passes, sign-out,
来访人员登记表, block list, retention.

Hook implementations only; the service, CLI and screens are imported inside the hooks.
"""

from __future__ import annotations

from typing import Any

from kiosk.hookspecs import hookimpl
from kiosk.i18n import N_
from kiosk.plugins import PluginPanel, PluginRegister, PluginTile, plugin_hooks

globals().update(
    plugin_hooks(
        __name__,
        ("commands", "scenarios", "household", "links", "purge"),
        tiles=[
            PluginTile(N_("Visitor registration"), "screens:WalkupScreen", order=10, audience="all",
                       icon="访"),
            PluginTile(N_("I have an invite"), "screens:InviteScreen", order=11, audience="all",
                       icon="邀", id="visitors-invite"),
            PluginTile(N_("Visitor sign-out"), "screens:SignOutScreen", order=12, audience="all",
                       icon="离", id="visitors-signout"),
            PluginTile(N_("Invite a visitor"), "screens:CreateInviteScreen", order=13, icon="请",
                       id="visitors-create-invite"),
        ],
        registers=[
            PluginRegister(N_("Visitor register"), "records:desk_register", order=10,
                           roles=("butler", "security", "manager")),
        ],
        desk_panels=[
            PluginPanel(N_("Visitors"), "screens:VisitorsDeskPanel", order=10,
                        roles=("butler", "security")),
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
