"""Repair requests, complaints and suggestions (维修服务单, 投诉).

Hook implementations only; the service, CLI and screens are imported inside the hooks.
"""

from __future__ import annotations

from kiosk.i18n import N_
from kiosk.plugins import PluginPanel, PluginTile, plugin_hooks

globals().update(
    plugin_hooks(
        __name__,
        ("commands", "scenarios", "purge", "figures"),
        tiles=[PluginTile(N_("Repairs and feedback"), "screens:RepairScreen", order=30, icon="修")],
        desk_panels=[
            PluginPanel(N_("Repairs"), "desk:RepairsDeskPanel", order=30,
                        roles=("butler", "engineer")),
        ],
        alert_kinds={
            "repair_emergency": N_("Repair emergency"),
            "complaint_major": N_("Major complaint"),
            "complaint_important": N_("Important complaint"),
            "repair_collect": N_("Collect a repair charge"),
            "repair_reopened": N_("Repair reopened"),
            "complaint_escalated": N_("Complaint escalated"),
            "repair_unclaimed": N_("Repair not taken"),
            "repair_daily_check": N_("Repairs daily check"),
            "repair_dispatched": N_("Repair dispatched"),
            "complaint_reported_up": N_("Complaint reported up"),
            "complaint_forwarded": N_("Complaint forwarded"),
            "complaint_new": N_("New complaint"),
        },
        household_sections="desk:household_section",
    )
)  # fmt: skip
