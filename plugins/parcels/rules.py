"""The parcels plugin's settings and the small rules its modules share: who works the desk,
``[plugins.parcels]``, whether an item is this lobby's, how names compare, ID last 4."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kiosk.errors import Refused
from kiosk.plugin_settings import PluginRules
from plugins.parcels.models import Parcel, Proxy

if TYPE_CHECKING:
    from kiosk.context import KioskContext


DESK_ROLES = ("butler", "security")
CODE_DIGITS = 6


@dataclass(frozen=True)
class ParcelRules(PluginRules):
    """``[plugins.parcels]`` settings with the procedure's defaults."""

    PLUGIN = "parcels"

    reminder_days: tuple[int, ...] = (3, 7)
    escalate_days: int = 15
    max_code_failures: int = 5
    code_lock_minutes: int = 10
    storage_max_days: int = 7


def served_here(ctx: KioskContext, lobby: str) -> bool:
    """May this kiosk or desk hand out an item of ``lobby``?"""
    return not ctx.lobby or lobby in (ctx.lobby, "")


def flags(p: Parcel) -> list[str]:
    return [
        name
        for name, on in (
            ("perishable", p.perishable),
            ("signature", p.signature_required),
            ("oversize", p.oversize),
            ("id_check", p.id_check),
        )
        if on
    ]


def norm_name(name: str) -> str:
    return " ".join(name.split()).casefold()


ID_LAST4 = re.compile(r"[0-9]{3}[0-9X]")


def clean_id_last4(value: str) -> str:
    """The last 4 characters of an ID document as typed at the desk ("" when none). Only
    those 4 are ever kept: a longer entry (a whole ID number) is refused, not cut."""
    v = value.strip().upper()
    if v and not ID_LAST4.fullmatch(v):
        raise Refused(
            "parcels.id_last4",
            "Enter only the last 4 characters of the ID (digits, or X last), not the whole number.",
        )
    return v


def masked_last4(value: str) -> str:
    return f"****{value}" if value else ""


def proxy_valid(now: dt.datetime) -> list[Any]:
    """Conditions for a proxy that may collect now: not removed, not expired."""
    return [Proxy.active.is_(True), (Proxy.until.is_(None)) | (Proxy.until > now)]
