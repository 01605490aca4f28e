"""Shared types for the card frame parsers.

Every parser is a pure function ``parse(buf: bytes) -> ParseResult``: complete frames found in
``buf`` become items, an incomplete frame at the end stays in ``rest`` (the caller prepends it to
the next read — frames arrive split across reads), and bytes that cannot be a frame are dropped
and counted (one count per discarded run or bad frame).
"""

from __future__ import annotations

from typing import Generic, NamedTuple, TypeVar

T = TypeVar("T")


class ParseResult(NamedTuple, Generic[T]):
    """Items parsed from a buffer, the unconsumed tail, and how many garbled frames were dropped."""

    items: list[T]
    rest: bytes
    dropped: int


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
