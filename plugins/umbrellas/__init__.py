"""Umbrella lending (便民雨伞, 物品借取登记表).

Hook implementations only; the service and screens are imported inside the hooks.
"""

from __future__ import annotations

from kiosk.i18n import N_
from kiosk.plugins import PluginPanel, PluginRegister, PluginTile, plugin_hooks

globals().update(
    plugin_hooks(
        __name__,
        ("commands", "scenarios", "household", "badges", "demo", "figures"),
        tiles=[PluginTile(N_("Umbrellas"), "screens:umbrella_screen", order=40, icon="伞")],
        registers=[
            PluginRegister(N_("Umbrella loan register"), "service:loan_register_csv", order=40,
                           roles=("butler", "security")),
        ],
        desk_panels=[
            PluginPanel(N_("Umbrellas"), "screens:UmbrellasDeskPanel", order=40,
                        roles=("butler", "security")),
        ],
        alert_kinds={
            "umbrella_charge": N_("Umbrella charge"),
            "umbrella_collect": N_("Umbrella to collect"),
            "umbrella_not_lent": N_("Umbrella not on loan"),
        },
        workload="workload:UmbrellaRace",
    )
)  # fmt: skip
