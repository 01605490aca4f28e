"""Repair requests, complaints and suggestions (维修服务单, 投诉).

Hook implementations only; the service, CLI and screens are imported inside the hooks.
"""

from __future__ import annotations

from pathlib import Path

from kiosk.hookspecs import DeskPanel, Tile
from kiosk.i18n import N_
from kiosk.plugins import lazy, plugin_hooks

HERE = Path(__file__).parent
globals().update(
    plugin_hooks(
        __name__,
        ("commands", "scenarios", "purge", "figures"),
        tiles=[
            Tile(id="repairs", title=N_("Repairs and feedback"),
                 screen=lazy("plugins.repairs.screens:RepairScreen"), order=30,
                 audience="resident", icon="修", needs_resident=True),
        ],
        desk_panels=[
            DeskPanel(id="repairs", title=N_("Repairs"),
                      widget=lazy("plugins.repairs.desk:RepairsDeskPanel"), order=30,
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
        },
        household_sections="desk:household_section",
    )
)  # fmt: skip
