"""Item release passes (物品放行条): request at the kiosk, approval at the desk, exit at the gate.

Hook implementations only; the service and screens are imported inside the hooks.
"""

from __future__ import annotations

from typing import Any

from kiosk.hookspecs import hookimpl
from kiosk.i18n import N_
from kiosk.plugins import PluginPanel, PluginRegister, PluginTile, plugin_hooks

globals().update(
    plugin_hooks(
        __name__,
        ("commands", "scenarios", "household", "purge"),
        tiles=[PluginTile(N_("Item pass"), "screens:ReleaseRequestScreen", order=45, icon="出")],
        registers=[
            PluginRegister(N_("Item pass register"), "service:register_csv", order=60,
                           roles=("butler", "security", "manager")),
        ],
        desk_panels=[
            PluginPanel(N_("Item passes"), "screens:ReleasesDeskPanel", order=80,
                        roles=("butler",)),
            PluginPanel(N_("Gate exit"), "screens:GateExitPanel", order=81,
                        roles=("security", "butler"), id="gate"),
        ],
    )
)  # fmt: skip


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
