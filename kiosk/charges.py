"""Putting a charge on a unit's account: one helper for every service.

A plugin that owes the estate money for a service (a paid repair, an umbrella fee, parking
rent) calls :func:`charge` inside its own transaction. The helper asks the plugins that take
charges (``kiosk_charge``; the billing plugin puts it on the unit's bill) and, when none does
(billing not installed or disabled), raises a desk alert so the butler collects it by hand.
No plugin imports another plugin's service for this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kiosk.db.models import Unit
from kiosk.errors import Refused
from kiosk.hookspecs import Charge, ChargeTaken
from kiosk.i18n import N_
from kiosk.money import format_fen
from kiosk.notify import raise_kiosk_alert

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from kiosk.context import KioskContext

# The desk alert a charge becomes when nobody takes it, by kind of charge.
COLLECT_ALERTS = {"repair": "repair_collect", "umbrella": "umbrella_collect"}
COLLECT_ALERT = "charge_collect"


def charge(
    ctx: KioskContext,
    session: Session,
    actor: Any,
    unit_id: int,
    kind: str,
    amount_fen: int,
    reference: str,
    description: str,
    *,
    period: str | None = None,
    collect_message: str = "",
    collect_params: dict[str, Any] | None = None,
) -> ChargeTaken | None:
    """Put ``amount_fen`` on unit ``unit_id``'s account inside ``session`` (not committed).

    Returns what the plugin that took it recorded, or None when no plugin takes charges: then
    a desk alert asks the butler to collect it (``collect_message``, an English message id
    with ``{amount}``, ``{unit}``, ``{what}`` and ``collect_params``; by default a line naming
    the unit, the amount and ``description``). A charge with the same ``reference`` lands once.
    """
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise Refused("charges.amount", "A charge must be a positive amount.")
    item = Charge(unit_id, kind, amount_fen, reference, description, actor, period)
    taken = None
    if ctx.plugins is not None:
        # Called straight, not isolated: a refused charge (not your unit, a bad kind) must
        # fail the caller's transaction, not disable billing and turn into a desk alert.
        taken = ctx.plugins.pm.hook.kiosk_charge(ctx=ctx, session=session, charge=item)
    if taken is not None:
        return taken  # type: ignore[no-any-return]
    unit = session.get(Unit, unit_id)
    raise_kiosk_alert(
        ctx,
        session,
        COLLECT_ALERTS.get(kind, COLLECT_ALERT),
        collect_message or N_("collect {amount} from {unit} ({what})"),
        {
            "amount": format_fen(amount_fen),
            "unit": unit.code if unit else unit_id,
            "what": description,
            **(collect_params or {}),
        },
    )
    return None
