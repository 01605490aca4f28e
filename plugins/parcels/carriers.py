"""Tracking numbers: clean what a barcode scanner typed, and guess the carrier from the format.

A barcode scanner is a keyboard wedge: it "types" the number followed by Enter (sometimes Tab),
and cheap scanners add stray spaces. :func:`normalise_tracking` strips all that.

Carrier patterns (checked November 2026 against published examples; carriers change them):

=======  ============================================  =========================================
Carrier  Pattern                                       Notes
=======  ============================================  =========================================
SF       ``SF`` + 12-15 digits                         顺丰; unambiguous
JD       ``JD`` + 11-18 letters/digits (JDVA..., JDX)  京东; unambiguous
JT       ``JT`` + 13 digits                            极兔; unambiguous
YTO      ``YT`` + 13-17 digits                         圆通; older all-digit numbers not covered
EMS      2 letters + 9 digits + 2 letters (UPU S10)    also China Post registered mail
ZTO      12 digits starting 73/75/76/78/79, or 14
         digits starting 7                              中通
STO      13 digits starting 77/88, or 12 digits
         starting 268/368/468/568/668/868/968           申通
Yunda    13 digits starting 10/11/12/13/19/31/43/46,
         or 15 digits starting 43/46/31                 韵达
=======  ============================================  =========================================

Limits: the all-digit formats overlap (a 13-digit number starting 10 could be Yunda or EMS
domestic), carriers reuse ranges, and a number can be valid for a carrier not listed. So a
letter-prefixed match is certain; an all-digit number gets a carrier only when exactly one
pattern matches, and otherwise ``""`` (unknown) with the candidates, for the desk to choose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kiosk.i18n import N_

CARRIERS = ("SF", "JD", "JT", "YTO", "EMS", "ZTO", "STO", "YUNDA", "OTHER")
# What people call them (the code is what is stored and exported); msgids, translated where
# shown: the desk, the resident's screen, the arrival message in the resident's language.
CARRIER_NAMES = {
    "SF": N_("SF Express"),
    "JD": N_("JD Logistics"),
    "JT": N_("J&T Express"),
    "YTO": N_("YTO Express"),
    "EMS": N_("EMS (China Post)"),
    "ZTO": N_("ZTO Express"),
    "STO": N_("STO Express"),
    "YUNDA": N_("Yunda Express"),
    "OTHER": N_("Other carrier"),
}

_PREFIXED: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("SF", re.compile(r"SF\d{12,15}")),
    ("JD", re.compile(r"JD[A-Z0-9]{11,18}")),
    ("JT", re.compile(r"JT\d{13}")),
    ("YTO", re.compile(r"YT\d{13,17}")),
    ("EMS", re.compile(r"[A-Z]{2}\d{9}[A-Z]{2}")),
)
_DIGITS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ZTO", re.compile(r"(?:7[35689]\d{10}|7\d{13})")),
    ("STO", re.compile(r"(?:(?:77|88)\d{11}|[2-9]68\d{9})")),
    ("YUNDA", re.compile(r"(?:(?:1[01239]|31|43|46)\d{11}|(?:43|46|31)\d{13})")),
    ("EMS", re.compile(r"(?:1[01]|50|51|9[5789])\d{11}")),
)
_VALID = re.compile(r"[A-Z0-9]{8,30}")
_JUNK = re.compile(r"[\s\-_/\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class CarrierGuess:
    """``carrier`` is "" when unknown or ambiguous; ``candidates`` lists every pattern matched."""

    carrier: str
    candidates: tuple[str, ...]

    @property
    def certain(self) -> bool:
        return bool(self.carrier)


def carrier_name(code: str) -> str:
    """The carrier's name (a msgid: pass it through ``_()``) for a stored code; a code typed
    at the desk that is not one of ours is shown as typed."""
    return CARRIER_NAMES.get(code, code)


def normalise_tracking(raw: str) -> str:
    """Upper-case, without whitespace, dashes, or the Enter/Tab a keyboard-wedge scanner sends."""
    return _JUNK.sub("", raw).upper()


def is_valid_tracking(number: str) -> bool:
    """8-30 letters and digits (after :func:`normalise_tracking`)."""
    return bool(_VALID.fullmatch(number))


def detect_carrier(raw: str) -> CarrierGuess:
    """The carrier a tracking number's format points to (see the module table and its limits)."""
    number = normalise_tracking(raw)
    for name, pattern in _PREFIXED:
        if pattern.fullmatch(number):
            return CarrierGuess(name, (name,))
    if number.isdigit():
        found = tuple(name for name, pattern in _DIGITS if pattern.fullmatch(number))
        return CarrierGuess(found[0] if len(found) == 1 else "", found)
    return CarrierGuess("", ())
