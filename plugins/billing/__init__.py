"""Bill payment by QR: bills, fees, deposits, payment orders, providers, receipts, reports.

What it puts on the kiosk and the desk is declared in ``plugin.toml``; hook
implementations only here, and the service, providers and screens are imported inside the hooks.
"""

from __future__ import annotations

from typing import Any

from kiosk.hookspecs import hookimpl
from kiosk.plugins import plugin_hooks

globals().update(plugin_hooks(__name__))


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
def kiosk_payment_providers() -> list[Any]:
    from plugins.billing.providers import BUILTIN

    return list(BUILTIN)


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
