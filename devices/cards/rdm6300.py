"""RDM6300 / EM4100 125 kHz readers (9600 8N1, output only).

Frame: ``02`` + 10 ASCII hex digits (5 UID bytes) + 2 ASCII hex digits (XOR of the 5 bytes)
+ ``03``. The reader repeats the frame while the card stays in the field.
"""

from __future__ import annotations

from devices.cards.common import ParseResult, Step, scan_frames, uid_bytes, uid_hex, xor

STX, ETX = 0x02, 0x03
FRAME_LEN = 14
_HEXDIGITS = frozenset(b"0123456789ABCDEFabcdef")


def build_frame(uid: str) -> bytes:
    """The frame for a 5-byte UID (a shorter UID is left-padded with zero bytes)."""
    data = uid_bytes(uid)
    if len(data) > 5:
        raise ValueError(f"EM4100 UID {uid!r} (expected at most 5 bytes)")
    data = data.rjust(5, b"\x00")
    body = (uid_hex(data) + f"{xor(data):02X}").encode("ascii")
    return bytes([STX]) + body + bytes([ETX])


def decode_frame(frame: bytes) -> str | None:
    """The UID of one complete 14-byte frame, or None if it is not valid."""
    if len(frame) != FRAME_LEN or frame[0] != STX or frame[-1] != ETX:
        return None
    body = frame[1:-1]
    if not all(b in _HEXDIGITS for b in body):
        return None
    data = bytes.fromhex(body[:10].decode("ascii"))
    if xor(data) != int(body[10:], 16):
        return None
    return uid_hex(data)


def parse(buf: bytes) -> ParseResult[str]:
    """UIDs of the complete frames in ``buf`` (see :mod:`devices.cards.common`)."""
    return scan_frames(buf, bytes([STX]), _read_frame)


def _read_frame(buf: bytes, i: int) -> Step[str]:
    """The UID of the frame at the STX at ``i`` (see :func:`devices.cards.common.scan_frames`)."""
    if len(buf) - i < FRAME_LEN:
        # A frame start that can't be a frame (a second STX, a non-hex byte) is garbage now,
        # not later: keep only a tail that could still complete.
        tail = buf[i + 1 :]
        bad = next((k for k, b in enumerate(tail) if b not in _HEXDIGITS), None)
        return None if bad is None else (None, True, i + 1 + bad)
    uid = decode_frame(buf[i : i + FRAME_LEN])
    if uid is None:
        j = buf.find(bytes([STX]), i + 1)
        return None, True, j if j >= 0 else len(buf)
    return uid, False, i + FRAME_LEN
