"""Masking of personal data: phone and ID numbers are stored for lookup, shown masked everywhere."""

from __future__ import annotations

import re
from typing import Any

# A mainland mobile, also written with the country code (+86 / 0086 / 86, maybe a space or
# dash after it): the code is kept, the number masked. People group the 11 digits 3-4-4 with
# spaces or dashes ("138 0013 8000", "138-0013-8000"): those are the same number. A run of
# digits inside a longer word of letters and digits (a hex token in a QR code) is no number.
_MOBILE = re.compile(
    r"(?<![0-9A-Za-z])(?P<cc>(?:\+|00)?86[- ]?)?(?P<num>1[3-9]\d[- ]?\d{4}[- ]?\d{4})"
    r"(?![0-9A-Za-z])"
)
# Resident ID numbers: 18 characters (17 digits and a digit or X), and the old 15-digit form
# still on some cards and records: area code, YYMMDD birth date, sequence. The date is checked
# so that other 15-digit numbers (tracking numbers, order numbers) are not taken for IDs.
_ID_NUMBER = re.compile(
    r"(?<![0-9A-Za-z])"
    r"(?:\d{17}[\dXx]|[1-8]\d{5}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3})"
    r"(?![0-9A-Za-z])"
)
PII_KEYS = frozenset({"phone", "id_number", "contact_phone", "licence_number", "driving_licence"})


def _mask_digits(text: str, head: int, tail: int) -> str:
    """Mask the digits of ``text`` but the first ``head`` and last ``tail``; separators stay."""
    total = sum(c.isdigit() for c in text)
    seen, out = 0, []
    for c in text:
        if c.isdigit():
            out.append(c if seen < head or seen >= total - tail else "*")
            seen += 1
        else:
            out.append(c)
    return "".join(out)


def mask_phone(phone: str) -> str:
    """``13800000000`` -> ``138****0000``, ``138 0013 8000`` -> ``138 **** 8000``; shorter
    numbers keep only their last 4 digits."""
    d = phone.strip()
    mobile = _MOBILE.fullmatch(d)
    if mobile:
        return (mobile.group("cc") or "") + _mask_digits(mobile.group("num"), 3, 4)
    if len(d) >= 11:
        return d[:3] + "*" * (len(d) - 7) + d[-4:]
    if len(d) > 4:
        return "*" * (len(d) - 4) + d[-4:]
    return "*" * len(d)


def mask_id_number(number: str) -> str:
    """``310101199001011234`` -> ``3101**********1234`` (first 4, last 4 kept)."""
    n = number.strip()
    if len(n) <= 8:
        return "*" * len(n)
    return n[:4] + "*" * (len(n) - 8) + n[-4:]


def mask_name(name: str) -> str:
    """``张三丰`` -> ``张*丰``, ``李四`` -> ``李*``, ``Alice Wong`` -> ``A**** W***``."""
    n = name.strip()
    if not n:
        return n
    if n.isascii():
        return " ".join(w[0] + "*" * (len(w) - 1) for w in n.split())
    if len(n) == 1:
        return n
    if len(n) == 2:
        return n[0] + "*"
    return n[0] + "*" * (len(n) - 2) + n[-1]


def mask_text(text: str) -> str:
    """Mask every mobile and ID number found in free text (log lines, descriptions)."""
    text = _ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), text)
    return _MOBILE.sub(lambda m: (m.group("cc") or "") + mask_phone(m.group("num")), text)


def find_unmasked(text: str) -> list[str]:
    """Unmasked mobile or ID numbers in ``text`` (used by the PII scan of screens and exports)."""
    return _ID_NUMBER.findall(text) + [m.group(0) for m in _MOBILE.finditer(text)]


def mask_data(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` with PII keys masked and PII in string values masked."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, str):
            if key in PII_KEYS:
                mobile = _MOBILE.fullmatch(value.strip())
                id_like = not mobile and len(value.strip()) > 11
                out[key] = mask_id_number(value) if id_like else mask_phone(value)
            else:
                out[key] = mask_text(value)
        elif isinstance(value, dict):
            out[key] = mask_data(value)
        else:
            out[key] = value
    return out
