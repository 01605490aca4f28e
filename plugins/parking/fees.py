"""Temporary parking fee and plate validation: pure functions, no database.

Default rule (seeds/000 停车): 2 CNY covers the first 2 hours; each hour after that costs 1 CNY
more; at most 6 CNY per 24 hours counted from entry. Configurable in ``[plugins.parking]``:

``first_minutes`` (120) and ``first_fen`` (200)
    what the first block costs;
``step_minutes`` (60) and ``step_fen`` (100)
    each further block;
``rounding`` ("started")
    ``started``: every started block counts (2 h 01 min -> 3.00); ``completed``: only completed
    blocks after the first count (2 h 59 min -> 2.00);
``grace_minutes`` (0)
    a stay this short is free (0 = only a zero-minute stay is free);
``cap_fen`` (600) and ``cap_window_minutes`` (1440)
    the most a window costs; windows are counted from entry (rolling), so 24 h 01 min is one
    full window (6.00) plus a new window's first block (2.00) = 8.00;
``max_minutes`` (90 days)
    longer stays are refused as absurd (a lost ticket is the desk's matter).

The fee never decreases as the stay grows, and no window costs more than the cap (property
tests in tests/plugins/parking check both).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kiosk.errors import Refused
from kiosk.plugin_settings import at_least, one_of, rules_from

ROUNDINGS = ("started", "completed")


@dataclass(frozen=True)
class FeeRule:
    first_minutes: int = at_least(1, default=120)
    first_fen: int = 200
    step_minutes: int = at_least(1, default=60)
    step_fen: int = 100
    rounding: str = one_of(ROUNDINGS, default="started")
    grace_minutes: int = 0
    cap_fen: int = 600
    cap_window_minutes: int = at_least(1, default=1440)
    max_minutes: int = 90 * 1440

    @classmethod
    def of(cls, raw: dict[str, Any]) -> FeeRule:
        """The rule from ``[plugins.parking]``; a bad value raises :class:`Refused` naming it."""
        return rules_from(cls, "parking", raw)


def _window_fee(minutes: int, rule: FeeRule) -> int:
    """The fee of ``minutes`` (0 < minutes <= one window) inside one window, before the cap."""
    if minutes <= rule.first_minutes:
        return rule.first_fen
    extra = minutes - rule.first_minutes
    steps = (
        -(-extra // rule.step_minutes) if rule.rounding == "started" else extra // rule.step_minutes
    )
    return rule.first_fen + steps * rule.step_fen


def parking_fee(minutes: int, rule: FeeRule | None = None) -> int:
    """Fee in fen for a stay of ``minutes``; refuses negative and absurd durations."""
    rule = rule or FeeRule()
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise Refused("parking.minutes", "The stay must be a whole number of minutes.")
    if minutes < 0:
        raise Refused(
            "parking.minutes", "A stay cannot be negative ({minutes} min).", minutes=minutes
        )
    if minutes > rule.max_minutes:
        raise Refused(
            "parking.minutes",
            "{minutes} minutes is longer than {days} days; please see the desk.",
            minutes=minutes,
            days=rule.max_minutes // 1440,
        )
    if minutes <= rule.grace_minutes or minutes == 0:
        return 0
    windows, rest = divmod(minutes, rule.cap_window_minutes)
    full = min(rule.cap_fen, _window_fee(rule.cap_window_minutes, rule))
    return windows * full + (min(rule.cap_fen, _window_fee(rest, rule)) if rest else 0)


# -- plates ---------------------------------------------------------------------------------

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_LETTER = "A-HJ-NP-Z"  # I and O are not used on plates
# Regular: province, issuing letter, 5 serial characters of which at most 2 are letters (GA 36:
# a serial uses no more than two letters), the last may be 挂学警港澳.
_REGULAR = re.compile(rf"^[{PROVINCES}][{_LETTER}][{_LETTER}0-9]{{4}}[{_LETTER}0-9挂学警港澳]$")
# New-energy (8 characters), the current series: small cars carry the energy letter third
# (D/A/B/C/E battery electric, F/G/H/J/K other new energy), then a letter or digit and 4
# digits; large vehicles 5 digits then D (battery electric) or F (other).
_NEW_ENERGY = re.compile(
    rf"^[{PROVINCES}][{_LETTER}](?:[DABCEFGHJK][{_LETTER}0-9][0-9]{{4}}|[0-9]{{5}}[DF])$"
)
PLATE_FORMAT = (
    "a province character, a letter, then 5 letters or digits with at most 2 letters "
    "(e.g. 粤B12345), or 6 for a new-energy car (e.g. 粤BD12345, 粤AF12345, 粤B12345D)"
)


def normalise_plate(text: str) -> str:
    """``粤b·d1234 5`` -> ``粤BD12345``: spaces, dots and hyphens dropped, letters upper-case."""
    return re.sub(r"[\s·.\-•]", "", text).upper()


def validate_plate(text: str) -> str:
    """The normalised plate, or :class:`Refused` saying what a plate looks like."""
    plate = normalise_plate(text)
    if _NEW_ENERGY.match(plate):
        return plate
    regular = _REGULAR.match(plate)
    if regular and sum("A" <= c <= "Z" for c in plate[2:7]) <= 2:
        return plate
    raise Refused(
        "parking.plate",
        "{plate!r} is not a mainland plate: expected {expected}.",
        plate=text.strip()[:20],
        expected=PLATE_FORMAT,
    )


def is_new_energy(plate: str) -> bool:
    return bool(_NEW_ENERGY.match(normalise_plate(plate)))
