"""The release passes' part of a unit's household file at the desk."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.hookspecs import HouseholdSection
from kiosk.i18n import N_, _
from plugins.releases.service import reason_label, recent_of_unit, status_label

if TYPE_CHECKING:
    from kiosk.context import KioskContext


def household_section(ctx: KioskContext, unit_code: str) -> HouseholdSection:
    """The unit's last three passes: number, reason, status, leaving day."""
    views = recent_of_unit(ctx, unit_code)
    lines = tuple(
        f"{v.number} {_(reason_label(v.reason))} {_(status_label(v.status))} {v.leave_on or ''}"
        for v in views
    )
    return HouseholdSection(N_("Item release passes"), lines or (_("none"),), order=45)
