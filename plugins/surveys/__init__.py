"""Satisfaction surveys (满意度调查): set by the manager, answered once per household at the
kiosk, coverage and results at the desk and in ``kiosk report surveys``; low scores become desk
alerts to follow up.

Hook implementations only; the service and screens are imported inside the hooks.
"""

from __future__ import annotations

from kiosk.i18n import N_
from kiosk.plugins import PluginPanel, PluginTile, plugin_hooks

globals().update(
    plugin_hooks(
        __name__,
        ("commands", "scenarios", "demo", "figures"),
        tiles=[PluginTile(N_("Satisfaction survey"), "screens:SurveyScreen", order=95, icon="评")],
        desk_panels=[
            PluginPanel(N_("Surveys"), "screens:SurveysDeskPanel", order=85, roles=("butler",)),
        ],
        # A low score (1-2) to follow up.
        alert_kinds={"survey_low_score": N_("Low satisfaction score")},
    )
)  # fmt: skip
