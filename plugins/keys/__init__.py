"""Key custody (钥匙委托管理): keys of vacant units kept at the desk, every handover signed.

Hook implementations only; the service and screens are imported inside the hooks.
"""

from __future__ import annotations

from kiosk.i18n import N_
from kiosk.plugins import PluginPanel, PluginRegister, plugin_hooks

globals().update(
    plugin_hooks(
        __name__,
        ("commands", "scenarios", "household", "purge"),
        registers=[
            PluginRegister(N_("Key custody register"), "service:register_csv", order=50,
                           roles=("butler", "manager")),
        ],
        desk_panels=[PluginPanel(N_("Keys"), "screens:KeysDeskPanel", order=82, roles=("butler",))],
        alert_kinds={"key_overdue": N_("Key not back")},
    )
)  # fmt: skip
