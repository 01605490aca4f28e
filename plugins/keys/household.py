"""The key custody's part of a unit's household file at the desk."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.hookspecs import HouseholdSection
from kiosk.i18n import N_, _
from plugins.keys.service import key_line, keys

if TYPE_CHECKING:
    from kiosk.context import KioskContext


def household_section(ctx: KioskContext, unit_code: str) -> HouseholdSection:
    """The unit's keys the desk holds: where each is, who has one that is out."""
    lines = tuple(key_line(k) for k in keys(ctx, unit_code))
    return HouseholdSection(N_("Keys in custody"), lines or (_("none"),), order=47)
