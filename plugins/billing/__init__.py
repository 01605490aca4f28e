"""Bill payment by QR: bills, fees, deposits, payment orders, providers, receipts, reports.

Hook implementations only; the service, providers and screens are imported inside the hooks.
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
def kiosk_register_commands(cli: Any) -> None:
    from plugins.billing.cli import register

    register(cli)


@hookimpl
def kiosk_startup(ctx: Any) -> None:
    """Settle refunds left unconfirmed (an answer lost, a process killed midway)."""
    from plugins.billing.service import resolve_refunds

    try:
        resolve_refunds(ctx)
    except Exception:  # noqa: BLE001 - a provider down must not stop the kiosk
        import logging

        logging.getLogger(__name__).exception("refund sweep at start-up failed")


@hookimpl
def kiosk_charge(ctx: Any, session: Any, charge: Any) -> Any:
    """A charge from any service becomes a line on the unit's bill (idempotent on its
    reference)."""
    from kiosk.hookspecs import ChargeTaken
    from plugins.billing.service import add_charge_in

    line = add_charge_in(
        session,
        ctx,
        charge.actor,
        charge.unit_id,
        charge.kind,
        charge.amount_fen,
        charge.description,
        source_ref=charge.reference,
        period=charge.period,
    )
    return ChargeTaken("billing", charge.reference, line.id)


@hookimpl
def kiosk_link_actions(ctx: Any) -> list[Any]:
    from plugins.billing.links import link_actions

    return link_actions()


@hookimpl
def kiosk_payment_providers() -> list[Any]:
    from plugins.billing.providers import BUILTIN

    return list(BUILTIN)


@hookimpl
def kiosk_seed_demo(session: Any, ctx: Any) -> list[str] | None:
    from plugins.billing.demo import seed

    return seed(session, ctx)


@hookimpl
def kiosk_tiles(ctx: Any) -> list[Any]:
    return [
        Tile(
            id="billing",
            title=N_("Pay bills"),
            screen=lazy("plugins.billing.screens:entry_screen"),
            order=40,
            audience="resident",
            icon="￥",
            needs_resident=True,
        )
    ]


@hookimpl
def kiosk_scenarios() -> list[Any]:
    from plugins.billing.scenarios import scenarios

    return scenarios()


@hookimpl
def kiosk_workload(ctx: Any) -> list[Any]:
    from plugins.billing.workload import BillRace

    return BillRace().ops()


@hookimpl
def kiosk_desk_panels(ctx: Any) -> list[Any]:
    return [
        DeskPanel(
            id="billing",
            title=N_("Bills"),
            widget=lazy("plugins.billing.desk:panel"),
            order=40,
            roles=("cashier", "butler", "manager"),
        )
    ]


@hookimpl
def kiosk_household_sections(ctx: Any, unit_code: str) -> list[Any]:
    from plugins.billing.household import household_section

    return [household_section(ctx, unit_code)]


@hookimpl
def kiosk_doctor_checks(settings: Any, sim: bool) -> list[Any]:
    """The simulated gateway among the enabled providers: payments there are not real."""
    from kiosk.hookspecs import DoctorWarning

    billing = settings.plugin("billing")
    enabled = billing.get("providers_enabled", ["sim"])
    if sim or not isinstance(enabled, list) or "sim" not in enabled:
        return []
    default = "" if "providers_enabled" in billing else " (the default)"
    return [
        DoctorWarning(
            "plugins.billing.providers_enabled",
            f"includes the simulated payment gateway 'sim'{default}: payments are not "
            'real; list only the estate\'s providers (e.g. ["wechat", "alipay"])',
        )
    ]


@hookimpl
def kiosk_alert_kinds() -> dict[str, str]:
    """The desk-alert kinds this plugin raises, as the desk titles them."""
    return {
        "billing.payment_flagged": N_("Payment flagged"),
    }
