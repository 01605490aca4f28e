"""The bills' part of a unit's household file at the desk."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kiosk.hookspecs import HouseholdSection
from kiosk.i18n import N_, _
from kiosk.money import format_fen
from plugins.billing.service import due_now_total, open_bills

if TYPE_CHECKING:
    from kiosk.context import KioskContext
    from kiosk.identity import Actor


def household_section(ctx: KioskContext, unit_code: str) -> HouseholdSection:
    """Bills the unit still owes (number, period, what paying it costs today): the same sum
    as the cashier's statement and the kiosk, the late fee to today included."""

    def line(b: Any) -> str:
        text = _("Bill {number} ({period}) owes {amount}").format(
            number=b.number, period=b.period, amount=format_fen(b.due_now_fen)
        )
        if b.late_fee_now_fen:
            fee = format_fen(b.late_fee_now_fen)
            text += " " + _("(late fee {amount} included)").format(amount=fee)
        return text

    lines = tuple(line(b) for b in open_bills(ctx, unit_code))
    return HouseholdSection(N_("Bills owed"), lines or (_("none"),), order=50)


def tile_badges(ctx: KioskContext, actor: Actor) -> dict[str, str]:
    """The bills tile's mark for an identified resident: what paying everything open costs
    today (late fees to today included), the same sum the bills screen offers to pay."""
    if actor.kind != "resident" or actor.unit_id is None:
        return {}
    owed = due_now_total(open_bills(ctx, actor.unit_id))
    return {"billing": format_fen(owed)} if owed > 0 else {}
