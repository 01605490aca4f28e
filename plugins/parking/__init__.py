"""Parking IC cards (停车): monthly rentals, cards issued at the desk, temporary fees.

Hook implementations only; the service, screens and CLI are imported inside the hooks.
"""

from __future__ import annotations

from typing import Any

from kiosk.hookspecs import hookimpl
from kiosk.i18n import N_
from kiosk.plugins import PluginPanel, PluginRegister, PluginTile, plugin_hooks

globals().update(
    plugin_hooks(
        __name__,
        ("commands", "scenarios", "household", "badges", "demo", "purge", "figures"),
        tiles=[PluginTile(N_("Monthly parking"), "screens:entry_screen", order=60, icon="车")],
        registers=[
            PluginRegister(N_("Monthly parking record"), "records:records_csv", order=70,
                           roles=("cashier", "butler", "security")),
        ],
        desk_panels=[
            PluginPanel(N_("Parking"), "screens:ParkingDeskPanel", order=60,
                        roles=("cashier", "butler", "security")),
        ],
        alert_kinds={"parking_card_lost": N_("Lost parking card")},
        # Desks racing to bind, return and tap the same few cards (``kiosk bench concurrency``).
        workload="workload:ParkingRace",
        # Expire lapsed cards and apply paid renewals now (cron runs ``kiosk parking sweep``).
        startup_sweep="service:sweep",
    )
)  # fmt: skip


@hookimpl
def kiosk_card_presented(card: Any, ctx: Any) -> Any:
    """A parking card tap: its validity (and renewal), or a refusal for a lost/returned card."""
    if getattr(card, "kind", "") != "parking":
        return None
    from plugins.parking.taps import card_outcome

    return card_outcome(ctx, card.uid, getattr(card, "card_id", None))
