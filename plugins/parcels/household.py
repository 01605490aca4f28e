"""The parcels' part of a unit's household file at the desk."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from kiosk.clock import as_utc
from kiosk.db.models import Unit
from kiosk.hookspecs import HouseholdSection
from kiosk.i18n import N_, _
from plugins.parcels.models import Parcel

if TYPE_CHECKING:
    from kiosk.context import KioskContext
    from kiosk.identity import Actor


def household_section(ctx: KioskContext, unit_code: str) -> HouseholdSection:
    """Parcels waiting for the unit (the tracking number's end, shelf, days waiting)."""
    now = ctx.clock.now()
    with ctx.database().read() as s:
        rows = s.scalars(
            select(Parcel)
            .join(Unit, Unit.id == Parcel.unit_id)
            .where(Unit.code == unit_code, Parcel.status == "waiting")
            .order_by(Parcel.checked_in_at)
            .limit(20)
        ).all()
        lines = tuple(
            _("…{tail} shelf {shelf}, waiting {days} days").format(
                tail=p.tracking_number[-6:],
                shelf=p.shelf or "-",
                days=(now - as_utc(p.checked_in_at)).days,
            )
            for p in rows
        )
    return HouseholdSection(N_("Parcels waiting"), lines or (_("none"),), order=20)


def tile_badges(ctx: KioskContext, actor: Actor) -> dict[str, str]:
    """The parcel tile's mark for an identified resident: how many items wait for their unit
    at this lobby (those at another lobby's desk are not collected here)."""
    from plugins.parcels.service import served_here, waiting_parcels

    if actor.kind != "resident" or actor.unit_id is None:
        return {}
    with ctx.database().read() as s:
        here = [p for p in waiting_parcels(s, actor.unit_id) if served_here(ctx, p.lobby)]
    return {"parcels": str(len(here))} if here else {}
