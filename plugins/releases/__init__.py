"""Item release passes (物品放行条): request at the kiosk, approval at the desk, exit at the gate.

Hook implementations only; the service and screens are imported inside the hooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.hookspecs import DeskPanel, Tile, hookimpl
from kiosk.i18n import N_
from kiosk.plugins import lazy, plugin_hooks

HERE = Path(__file__).parent
SCREENS = "plugins.releases.screens:"
globals().update(
    plugin_hooks(
        __name__,
        ("commands", "scenarios", "household", "purge"),
        tiles=[
            Tile(id="releases", title=N_("Item pass"), screen=lazy(SCREENS + "ReleaseRequestScreen"),
                 order=45, audience="resident", icon="出", needs_resident=True),
        ],
        desk_panels=[
            DeskPanel(id="releases", title=N_("Item passes"),
                      widget=lazy(SCREENS + "ReleasesDeskPanel"), order=80, roles=("butler",)),
            DeskPanel(id="gate", title=N_("Gate exit"), widget=lazy(SCREENS + "GateExitPanel"),
                      order=81, roles=("security", "butler")),
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
