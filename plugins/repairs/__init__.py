"""Repair requests, complaints and suggestions (维修服务单, 投诉).

Hook implementations only; the service, CLI and screens are imported inside the hooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.hookspecs import DeskPanel, Tile, hookimpl
from kiosk.i18n import N_
from kiosk.plugins import lazy, plugin_package

HERE = Path(__file__).parent
kiosk_models, kiosk_migrations = plugin_package(__name__)


@hookimpl
def kiosk_purge(ctx: Any, session: Any, now: Any, dry_run: bool) -> list[Any]:
    """Tickets closed, completed or canceled more than ``retention.repair_days`` ago lose the
    reporter, contact phone, description, comments and signature (``kiosk purge``)."""
    from plugins.repairs.service import purge_in

    return purge_in(session, ctx, now, dry_run)


@hookimpl
def kiosk_register_commands(cli: Any) -> None:
    from plugins.repairs.cli import register

    register(cli)


@hookimpl
def kiosk_tiles(ctx: Any) -> list[Any]:
    return [
        Tile(id="repairs", title=N_("Repairs and feedback"),
             screen=lazy("plugins.repairs.screens:RepairScreen"), order=30,
             audience="resident", icon="修", needs_resident=True)
    ]  # fmt: skip


@hookimpl
def kiosk_desk_panels(ctx: Any) -> list[Any]:
    return [
        DeskPanel(id="repairs", title=N_("Repairs"),
                  widget=lazy("plugins.repairs.desk:RepairsDeskPanel"), order=30,
                  roles=("butler", "engineer"))
    ]  # fmt: skip


@hookimpl
def kiosk_scenarios() -> list[Any]:
    from plugins.repairs.scenarios import scenarios

    return scenarios()


@hookimpl
def kiosk_household_sections(ctx: Any, unit_code: str) -> list[Any]:
    from plugins.repairs.desk import household_section

    return [household_section(ctx, unit_code)]


@hookimpl
def kiosk_alert_kinds() -> dict[str, str]:
    """The desk-alert kinds this plugin raises, as the desk titles them."""
    return {
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
    }


@hookimpl
def kiosk_report_figures(ctx: Any, period: Any) -> list[Any]:
    """Timeliness (及时率) by week and month, rework (返修率), complaints by grade."""
    from plugins.repairs.figures import report_figures

    return report_figures(ctx, period)
