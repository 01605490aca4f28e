"""Parking's part of a unit's household file at the desk: its open monthly rentals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from kiosk.db.models import Unit
from kiosk.hookspecs import HouseholdSection
from kiosk.i18n import N_, _
from plugins.parking.views import rentals_of_unit, state_label

if TYPE_CHECKING:
    from kiosk.context import KioskContext


def household_section(ctx: KioskContext, unit_code: str) -> HouseholdSection:
    """Each open rental: plate, paid through, card, state (the holder masked)."""
    with ctx.database().read() as s:
        unit_id = s.scalar(select(Unit.id).where(Unit.code == unit_code))
    rentals = rentals_of_unit(ctx, unit_id) if unit_id is not None else []
    lines = tuple(
        _("{plate} paid through {end}, card {card} ({state}) · {holder}").format(
            plate=r.plate,
            end=r.end_date.isoformat(),
            card=r.card_number or "-",
            state=_(state_label(r.state)),
            holder=r.holder,
        )
        for r in rentals
    )
    return HouseholdSection(N_("Monthly parking"), lines or (_("none"),), order=60)
