"""Wiegand-26 / Wiegand-34 readers behind a Wiegand-to-serial converter (one line per card).

A line is either the raw bit string (26 or 34 ``0``/``1`` characters) or the converter's
``facility,number`` form. Wiegand-26: even parity over the first 12 bits, 8-bit facility,
16-bit number, odd parity over the last 12 bits. Wiegand-34: the same around 32 data bits
(parity over 16 + 16). The UID is the data bits as hex (3 bytes for W26, 4 for W34).
"""

from __future__ import annotations

from devices.cards.common import ParseResult, parse_lines, uid_bytes, uid_hex

MAX_LINE = 64


def _parity_ok(bits: str) -> bool:
    half = (len(bits) - 2) // 2
    data = bits[1:-1]
    even = (bits[0] + data[:half]).count("1") % 2 == 0
    odd = (data[half:] + bits[-1]).count("1") % 2 == 1
    return even and odd


def encode_bits(data: bytes) -> str:
    """Wiegand bit string for 3 data bytes (W26) or 4 (W34), parity bits included."""
    if len(data) not in (3, 4):
        raise ValueError("Wiegand carries 3 (W26) or 4 (W34) data bytes")
    bits = "".join(f"{b:08b}" for b in data)
    half = len(bits) // 2
    lead = "1" if bits[:half].count("1") % 2 else "0"
    trail = "0" if bits[half:].count("1") % 2 else "1"
    return lead + bits + trail


def encode_w26(facility: int, number: int) -> str:
    """Wiegand-26 bits for a facility (0..255) and card number (0..65535)."""
    return encode_bits(bytes([facility]) + number.to_bytes(2, "big"))


def build_line(uid: str, form: str = "bits") -> bytes:
    """A converter line for ``uid`` (3 or 4 bytes): ``bits`` or ``facility,number`` (3 bytes)."""
    data = uid_bytes(uid)
    if form == "pair":
        if len(data) != 3:
            raise ValueError("the facility,number form carries 3 bytes (Wiegand-26)")
        return f"{data[0]},{int.from_bytes(data[1:], 'big')}\r\n".encode("ascii")
    return (encode_bits(data) + "\r\n").encode("ascii")


def decode_line(line: str) -> str | None:
    """The UID in one line, or None if it is not a valid W26/W34 bit string or pair."""
    line = line.strip()
    if len(line) in (26, 34) and set(line) <= {"0", "1"}:
        if not _parity_ok(line):
            return None
        return uid_hex(int(line[1:-1], 2).to_bytes((len(line) - 2) // 8, "big"))
    if "," in line:
        facility, _, number = line.partition(",")
        facility, number = facility.strip(), number.strip()
        if facility.isdigit() and number.isdigit() and facility.isascii() and number.isascii():
            f, n = int(facility), int(number)
            if f <= 255 and n <= 65535:
                return uid_hex(bytes([f]) + n.to_bytes(2, "big"))
    return None


def parse(buf: bytes) -> ParseResult[str]:
    """UIDs of the complete lines (CR and/or LF terminated) in ``buf``."""
    return parse_lines(buf, decode_line, MAX_LINE)
