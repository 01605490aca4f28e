"""Parcels and mail (邮件签收) and item storage (物品寄存).

Hook implementations only; the service, CLI and screens are imported inside the hooks.
"""

from __future__ import annotations

from kiosk.i18n import N_
from kiosk.plugins import PluginPanel, PluginRegister, PluginTile, plugin_hooks

# The demo pickup code and proxy of 3-1205 (seeded by .demo, used by the scenarios).
DEMO_CODE = "246810"
DEMO_PROXY = "李阿姨"
globals().update(
    plugin_hooks(
        __name__,
        ("commands", "scenarios", "household", "badges", "demo", "purge", "figures"),
        # Opened without a card tap too: unit + pickup code say whose parcels they are.
        tiles=[PluginTile(N_("Collect parcels"), "screens:entry_screen", order=20, icon="件",
                          needs_resident=False)],
        registers=[
            PluginRegister(N_("Parcel register"), "aging:desk_register", order=20,
                           roles=("butler", "security", "manager")),
        ],
        desk_panels=[
            PluginPanel(N_("Parcels"), "screens:ParcelsDeskPanel", order=20,
                        roles=("butler", "security")),
            PluginPanel(N_("Item storage"), "screens:StorageDeskPanel", order=21,
                        roles=("butler", "security"), id="storage"),
        ],
        alert_kinds={
            "parcel_code_locked": N_("Pickup codes locked"),
            "parcel_picker_unknown": N_("Unknown parcel picker"),
            "parcel_overdue": N_("Parcel overdue"),
            "storage_check": N_("Storage check"),
            "parcel_to_desk": N_("Parcel to release at the desk"),
            "parcel_override": N_("Parcel released by override"),
        },
        workload="workload:ParcelRace",
    )
)  # fmt: skip
