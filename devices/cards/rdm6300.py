"""RDM6300 / EM4100 125 kHz readers (9600 8N1, output only).

Frame: ``02`` + 10 ASCII hex digits (5 UID bytes) + 2 ASCII hex digits (XOR of the 5 bytes)
+ ``03``. The reader repeats the frame while the card stays in the field.
"""

from __future__ import annotations

from devices.cards.common import ParseResult, uid_bytes, uid_hex

STX, ETX = 0x02, 0x03
FRAME_LEN = 14
_HEXDIGITS = frozenset(b"0123456789ABCDEFabcdef")


def checksum(uid: bytes) -> int:
    """XOR of the UID bytes."""
    x = 0
    for b in uid:
        x ^= b
    return x


def build_frame(uid: str) -> bytes:
    """The frame for a 5-byte UID (a shorter UID is left-padded with zero bytes)."""
    data = uid_bytes(uid)
    if len(data) > 5:
        raise ValueError(f"EM4100 UID {uid!r} (expected at most 5 bytes)")
    data = data.rjust(5, b"\x00")
    body = (uid_hex(data) + f"{checksum(data):02X}").encode("ascii")
    return bytes([STX]) + body + bytes([ETX])


def decode_frame(frame: bytes) -> str | None:
    """The UID of one complete 14-byte frame, or None if it is not valid."""
    if len(frame) != FRAME_LEN or frame[0] != STX or frame[-1] != ETX:
        return None
    body = frame[1:-1]
    if not all(b in _HEXDIGITS for b in body):
        return None
    data = bytes.fromhex(body[:10].decode("ascii"))
    if checksum(data) != int(body[10:], 16):
        return None
    return uid_hex(data)


def parse(buf: bytes) -> ParseResult[str]:
    """UIDs of the complete frames in ``buf`` (see :mod:`devices.cards.common`)."""
    uids: list[str] = []
    dropped = 0
    i = 0
    n = len(buf)
    while i < n:
        if buf[i] != STX:
            j = buf.find(bytes([STX]), i)
            dropped += 1
            if j < 0:
                return ParseResult(uids, b"", dropped)
            i = j
            continue
        if n - i < FRAME_LEN:
            # A frame start that can't be a frame (a second STX, a non-hex byte) is garbage now,
            # not later: keep only a tail that could still complete.
            tail = buf[i + 1 :]
            bad = next((k for k, b in enumerate(tail) if b not in _HEXDIGITS), None)
            if bad is None:
                return ParseResult(uids, buf[i:], dropped)
            dropped += 1
            i = i + 1 + bad
            continue
        uid = decode_frame(buf[i : i + FRAME_LEN])
        if uid is None:
            dropped += 1
            j = buf.find(bytes([STX]), i + 1)
            if j < 0:
                return ParseResult(uids, b"", dropped)
            i = j
            continue
        uids.append(uid)
        i += FRAME_LEN
    return ParseResult(uids, b"", dropped)
