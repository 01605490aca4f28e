"""The visitors' part of a unit's household file at the desk (names masked)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from kiosk.db.models import Unit
from kiosk.hookspecs import HouseholdSection
from kiosk.i18n import N_, _
from kiosk.pii import mask_name
from plugins.visitors.models import Visit

if TYPE_CHECKING:
    from kiosk.context import KioskContext

STATES = {
    "pending": N_("waiting for an answer"), "approved": N_("approved"),
    "declined": N_("declined"), "timed_out": N_("no answer"),
}  # fmt: skip


def household_section(ctx: KioskContext, unit_code: str) -> HouseholdSection:
    """The unit's last 10 visits."""
    with ctx.database().read() as s:
        rows = s.scalars(
            select(Visit)
            .join(Unit, Unit.id == Visit.unit_id)
            .where(Unit.code == unit_code)
            .order_by(Visit.id.desc())
            .limit(10)
        ).all()
        lines = tuple(
            f"{ctx.local_time(v.created_at)}  {mask_name(v.name)} x{v.party_size}  "
            f"{_(STATES.get(v.status, N_('other')))}"
            for v in rows
        )
    return HouseholdSection(N_("Visits"), lines or (_("none"),), order=10)
