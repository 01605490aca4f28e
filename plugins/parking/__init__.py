"""Parking IC cards (停车): monthly rentals, cards issued at the desk, temporary fees.

Hook implementations only; the service, screens and CLI are imported inside the hooks.
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
def kiosk_startup(ctx: Any) -> None:
    """Expire lapsed cards and apply paid renewals now (cron runs ``kiosk parking sweep``)."""
    from plugins.parking.service import sweep

    try:
        sweep(ctx)
    except Exception:  # noqa: BLE001 - a sweep failure must not stop the kiosk
        import logging

        logging.getLogger(__name__).exception("parking sweep at start-up failed")


@hookimpl
def kiosk_register_commands(cli: Any) -> None:
    from plugins.parking.cli import register

    register(cli)


@hookimpl
def kiosk_seed_demo(session: Any, ctx: Any) -> list[str] | None:
    from plugins.parking.demo import seed

    return seed(session, ctx)


@hookimpl
def kiosk_card_presented(card: Any, ctx: Any) -> Any:
    """A parking card tap: its validity (and renewal), or a refusal for a lost/returned card."""
    if getattr(card, "kind", "") != "parking":
        return None
    from plugins.parking.taps import card_outcome

    return card_outcome(ctx, card.uid)


@hookimpl
def kiosk_workload(ctx: Any) -> list[Any]:
    """Desks racing to bind, return and tap the same few cards (``kiosk bench concurrency``)."""
    from plugins.parking.workload import ParkingRace

    return ParkingRace().ops()


@hookimpl
def kiosk_purge(ctx: Any, session: Any, now: Any, dry_run: bool) -> list[Any]:
    """Rentals ended more than ``[plugins.parking] retention_days`` (730) ago lose plate, car
    model and licence (``kiosk purge``)."""
    from plugins.parking.service import purge_in

    return purge_in(session, ctx, now, dry_run)


@hookimpl
def kiosk_tiles(ctx: Any) -> list[Any]:
    return [
        Tile(id="parking", title=N_("Monthly parking"),
             screen=lazy("plugins.parking.screens:entry_screen"), order=60,
             audience="resident", icon="车", needs_resident=True)
    ]  # fmt: skip


@hookimpl
def kiosk_scenarios() -> list[Any]:
    from plugins.parking.scenarios import scenarios

    return scenarios()


@hookimpl
def kiosk_desk_panels(ctx: Any) -> list[Any]:
    return [
        DeskPanel(id="parking", title=N_("Parking"),
                  widget=lazy("plugins.parking.screens:ParkingDeskPanel"), order=60,
                  roles=("cashier", "butler", "security"))
    ]  # fmt: skip


@hookimpl
def kiosk_alert_kinds() -> dict[str, str]:
    """The desk-alert kinds this plugin raises, as the desk titles them."""
    return {
        "parking_card_lost": N_("Lost parking card"),
    }


@hookimpl
def kiosk_report_figures(ctx: Any, period: Any) -> list[Any]:
    """Rentals open by month; rentals opened, ended and lapsed by month."""
    from plugins.parking.figures import report_figures

    return report_figures(ctx, period)


@hookimpl
def kiosk_household_sections(ctx: Any, unit_code: str) -> list[Any]:
    from plugins.parking.household import household_section

    return [household_section(ctx, unit_code)]
