"""Item release passes (物品放行条): request at the kiosk, approval at the desk, exit at the gate.

What it puts on the kiosk and the desk is declared in ``plugin.toml``; hook
implementations only here, and the service and screens are imported inside the hooks.
"""

from __future__ import annotations

from typing import Any

from kiosk.hookspecs import hookimpl
from kiosk.plugins import plugin_hooks

globals().update(plugin_hooks(__name__))


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
