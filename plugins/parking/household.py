"""Parking's part of a unit's household file at the desk: its open monthly rentals."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import select

from kiosk.db.models import Unit
from kiosk.hookspecs import HouseholdSection
from kiosk.i18n import N_, _
from plugins.parking.views import rentals_of_unit, state_label

if TYPE_CHECKING:
    from kiosk.context import KioskContext
    from kiosk.identity import Actor


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
            state=_(state_label(r.shown_state)),  # lapsed reads "expired", not "open"
            holder=r.holder,
        )
        for r in rentals
    )
    return HouseholdSection(N_("Monthly parking"), lines or (_("none"),), order=60)


def tile_badges(ctx: KioskContext, actor: Actor) -> dict[str, str]:
    """The parking tile's mark for an identified resident whose rental needs them: lapsed
    ("expired"), never paid ("payment pending"), or ending within the reminder days (the
    same ``remind_days`` the reminders use); a rental paid well ahead says nothing."""
    from plugins.parking.service import ParkingRules

    if actor.kind != "resident" or actor.unit_id is None:
        return {}
    rentals = rentals_of_unit(ctx, actor.unit_id)
    for wanted in ("expired", "unpaid"):
        if any(r.shown_state == wanted for r in rentals):
            return {"parking": _(state_label(wanted))}
    soon = ctx.today() + dt.timedelta(days=ParkingRules.of(ctx).remind_days)
    ending = sorted(r.end_date for r in rentals if r.shown_state == "open" and r.end_date <= soon)
    if ending:
        return {"parking": _("ends {date}").format(date=f"{ending[0]:%m-%d}")}
    return {}
