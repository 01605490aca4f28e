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
