"""One card, several printed forms.

A UID is kept raw as upper-case hex (``12345678``). Cards and readers print it in other forms:
the 10-digit zero-padded decimal (``0305419896``), the byte-reversed decimal some readers send
(``2018915346``), and the Wiegand-26 ``facility,number`` pair printed on EM4100 fobs
(``052,22136``). :func:`uid_forms` lists the forms of a UID; :func:`normalize_uid_text` turns
what a person typed (or a wedge reader sent) into one of those forms, so a card matches when
``normalize_uid_text(typed) in uid_forms(card_uid)``.
"""

from __future__ import annotations

import re

from devices.cards.common import uid_bytes, uid_hex

_FAC_NUM = re.compile(r"^(\d{1,3})\s*[,/]\s*(\d{1,5})$")
_HEX = re.compile(r"^(?:0x)?([0-9a-f]{2}(?:[ :\-]?[0-9a-f]{2})*)$", re.IGNORECASE)


def _dec(value: int) -> str:
    return f"{value:010d}"


def _fac_num(facility: int, number: int) -> str:
    return f"{facility:03d},{number:05d}"


def uid_forms(uid: str) -> set[str]:
    """The printed forms of a hex UID: hex, decimal, reversed decimal, Wiegand-26 pair.

    For UIDs longer than 4 bytes (EM4100's 5 bytes, 7-byte MIFARE) the decimal of the low
    4 bytes is included too, because that is what the fob's label and most wedge readers show.
    """
    data = uid_bytes(uid)
    forms = {uid_hex(data), _dec(int.from_bytes(data, "big")), _dec(int.from_bytes(data, "little"))}
    if len(data) > 4:
        forms.add(_dec(int.from_bytes(data[-4:], "big")))
        forms.add(_dec(int.from_bytes(data[-4:], "little")))
    if len(data) >= 3:
        forms.add(_fac_num(data[-3], int.from_bytes(data[-2:], "big")))
    return forms


def normalize_uid_text(text: str) -> str | None:
    """Normalize a typed or printed card number to one of the :func:`uid_forms` forms.

    ``"52,22136"`` -> ``"052,22136"``; ``"305419896"`` -> ``"0305419896"`` (all-digit text is
    read as decimal); ``"0x12:34:56:78"`` / ``"12 34 56 7a"`` -> hex upper. None when it is
    none of these.
    """
    text = text.strip()
    if not text:
        return None
    m = _FAC_NUM.match(text)
    if m:
        facility, number = int(m.group(1)), int(m.group(2))
        if facility <= 255 and number <= 65535:
            return _fac_num(facility, number)
        return None
    if text.isdigit() and text.isascii():
        return _dec(int(text)) if len(text) <= 20 else None
    m = _HEX.match(text)
    if m:
        return uid_hex(uid_bytes(m.group(1)))
    return None


def uid_from_decimal(digits: str) -> str | None:
    """Hex UID for a decimal card number (as wedge readers type it): 4 bytes if it fits."""
    if not digits.isdigit() or not digits.isascii() or len(digits) > 20:
        return None
    value = int(digits)
    size = max(4, (value.bit_length() + 7) // 8)
    return uid_hex(value.to_bytes(size, "big"))
