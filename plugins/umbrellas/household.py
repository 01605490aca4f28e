"""The umbrellas' part of a unit's household file at the desk."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from kiosk.clock import as_utc
from kiosk.db.models import Unit
from kiosk.hookspecs import HouseholdSection
from kiosk.i18n import N_, _
from plugins.umbrellas.models import Umbrella, UmbrellaLoan

if TYPE_CHECKING:
    from kiosk.context import KioskContext
    from kiosk.identity import Actor


def household_section(ctx: KioskContext, unit_code: str) -> HouseholdSection:
    """Umbrellas the unit has out now, with when each is due back."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(ctx.settings.estate.timezone)
    with ctx.database().read() as s:
        rows = s.execute(
            select(Umbrella.tag, UmbrellaLoan.due_at)
            .join(UmbrellaLoan, UmbrellaLoan.umbrella_id == Umbrella.id)
            .join(Unit, Unit.id == UmbrellaLoan.unit_id)
            .where(Unit.code == unit_code, UmbrellaLoan.returned_at.is_(None))
        ).all()
    lines = tuple(
        _("Umbrella {tag}, due back {due}").format(
            tag=tag, due=f"{as_utc(due).astimezone(zone):%m-%d %H:%M}"
        )
        for tag, due in rows
    )
    return HouseholdSection(N_("Umbrellas borrowed"), lines or (_("none"),), order=40)


def tile_badges(ctx: KioskContext, actor: Actor) -> dict[str, str]:
    """The umbrella tile's mark for an identified resident: how many the unit has out."""
    if actor.kind != "resident" or actor.unit_id is None:
        return {}
    with ctx.database().read() as s:
        out = s.scalar(
            select(func.count())
            .select_from(UmbrellaLoan)
            .where(UmbrellaLoan.unit_id == actor.unit_id, UmbrellaLoan.returned_at.is_(None))
        )
    return {"umbrellas": str(out)} if out else {}
