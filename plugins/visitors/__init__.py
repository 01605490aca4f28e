"""Visitors (访客): walk-up registration with host approval, invites, passes, sign-out,
来访人员登记表, block list, retention.

What it puts on the kiosk and the desk is declared in ``plugin.toml``; hook
implementations only here, and the service, CLI and screens are imported inside the hooks.
"""

from __future__ import annotations

from typing import Any

from kiosk.hookspecs import hookimpl
from kiosk.plugins import plugin_hooks

globals().update(plugin_hooks(__name__))


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
