"""Shared types for the card frame parsers.

Every parser is a pure function ``parse(buf: bytes) -> ParseResult``: complete frames found in
``buf`` become items, an incomplete frame at the end stays in ``rest`` (the caller prepends it to
the next read — frames arrive split across reads), and bytes that cannot be a frame are dropped
and counted (one count per discarded run or bad frame).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, NamedTuple, TypeVar

T = TypeVar("T")


class ParseResult(NamedTuple, Generic[T]):
    """Items parsed from a buffer, the unconsumed tail, and how many garbled frames were dropped."""

    items: list[T]
    rest: bytes
    dropped: int


def parse_lines(buf: bytes, decode: Callable[[str], str | None], max_line: int) -> ParseResult[str]:
    """UIDs of the complete lines (CR and/or LF terminated) in ``buf``, for readers that send
    text: ``decode`` turns a line into a UID or None (garbled: dropped and counted). A tail longer
    than ``max_line`` with no terminator in sight is noise, not a line."""
    uids: list[str] = []
    dropped = 0
    start = 0
    for i, b in enumerate(buf):
        if b in (0x0A, 0x0D):
            line = buf[start:i]
            start = i + 1
            if not line:
                continue
            uid = decode(line.decode("ascii", "replace"))
            if uid is None:
                dropped += 1
            else:
                uids.append(uid)
    rest = buf[start:]
    if len(rest) > max_line:
        return ParseResult(uids, b"", dropped + 1)
    return ParseResult(uids, rest, dropped)


def uid_hex(data: bytes) -> str:
    """Canonical UID text: upper-case hex, no separators."""
    return data.hex().upper()


def uid_bytes(uid: str) -> bytes:
    """Bytes of a hex UID (separators ' ', ':' and '-' allowed); ValueError if not hex."""
    cleaned = uid.replace(" ", "").replace(":", "").replace("-", "")
    if cleaned.lower().startswith("0x"):
        cleaned = cleaned[2:]
    if not cleaned or len(cleaned) % 2:
        raise ValueError(f"UID {uid!r} (expected an even number of hex digits)")
    return bytes.fromhex(cleaned)


def xor(data: bytes) -> int:
    """XOR of the bytes: the check byte of the RDM6300 and RC5xx frames."""
    x = 0
    for b in data:
        x ^= b
    return x


# What reading a frame at a start marker gives :func:`scan_frames`: None, the frame is not all
# there yet (the caller keeps it for the next read); else the item (None when the frame is
# consumed without one), whether the bytes were a bad frame (dropped and counted), and where
# to look next.
Step = tuple[T | None, bool, int] | None


def scan_frames(
    buf: bytes, start: bytes, read: Callable[[bytes, int], Step[T]], padding: bytes = b""
) -> ParseResult[T]:
    """The frames of a binary protocol whose frames begin with the marker ``start``: bytes
    before a marker are dropped and counted (one count per run; ``padding`` bytes alone are
    legal filler), a tail that may be the beginning of a marker split across reads is kept,
    and ``read(buf, i)`` reads the frame at each marker (see :data:`Step`)."""
    items: list[T] = []
    dropped = 0
    i = 0
    n = len(buf)
    while i < n:
        j = buf.find(start, i)
        if j < 0:
            keep = _marker_tail(buf[i:], start)
            if buf[i : n - keep].strip(padding):
                dropped += 1
            return ParseResult(items, buf[n - keep :], dropped)
        if buf[i:j].strip(padding):
            dropped += 1
        i = j
        step = read(buf, i)
        if step is None:
            return ParseResult(items, buf[i:], dropped)
        item, bad, i = step
        dropped += bad
        if item is not None:
            items.append(item)
    return ParseResult(items, b"", dropped)


def _marker_tail(buf: bytes, start: bytes) -> int:
    """How many bytes at the end of ``buf`` may be the beginning of ``start``, split across
    reads (0 for a one-byte marker)."""
    for k in range(len(start) - 1, 0, -1):
        if len(buf) >= k and start.startswith(buf[-k:]):
            return k
    return 0
