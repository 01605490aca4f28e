"""Keyboard-wedge readers: the card number typed as digits followed by Enter.

Two ways in: a reader in virtual-COM mode sends the same digits + CR/LF on a serial port
(:func:`parse`), and a USB-HID reader types into the terminal, so the UI feeds the keys to a
:class:`KeyboardWedge`. Wedge readers type the low 4 bytes of the UID as a 10-digit decimal.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from devices.cards.common import ParseResult, parse_lines, uid_bytes
from devices.cards.reader_events import ReaderEvent, ReaderStats
from devices.cards.uid import uid_from_decimal

MAX_LINE = 24
MIN_DIGITS = 8


def build_line(uid: str) -> bytes:
    """What a wedge reader sends for ``uid``: 10-digit decimal of the low 4 bytes + CR LF."""
    data = uid_bytes(uid)[-4:]
    return f"{int.from_bytes(data, 'big'):010d}\r\n".encode("ascii")


def parse(buf: bytes) -> ParseResult[str]:
    """UIDs (hex) of the complete digit lines in ``buf``."""
    return parse_lines(buf, _decode, MAX_LINE)


def _decode(line: str) -> str | None:
    return uid_from_decimal(line) if len(line) >= MIN_DIGITS else None


class KeyboardWedge:
    """Turns keys from the terminal into taps: 8+ digits typed fast, then Enter.

    A person typing on the keypad is slower than ``max_gap`` seconds between keys, so their
    digits are not taken for a card (``feed`` then returns None and the UI handles the key).
    Same interface as :class:`devices.cards.reader.CardReader` (``start``/``stop``/``stats``).
    """

    def __init__(
        self,
        on_event: Callable[[ReaderEvent], None] | None = None,
        *,
        name: str = "wedge",
        max_gap: float = 0.08,
        debounce: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.on_event = on_event
        self.max_gap = max_gap
        self.debounce = debounce
        self.clock = clock
        self.stats = ReaderStats()
        self._digits = ""
        self._last_key = 0.0
        self._last_uid: str | None = None
        self._last_tap = float("-inf")

    def start(self) -> None:
        """Nothing to open: keys come from the UI."""
        if self.on_event:
            self.on_event(ReaderEvent(self.name, "status", status="connected", protocol="wedge"))

    def stop(self) -> None:
        """Forget any half-typed number."""
        self._digits = ""

    def feed(self, key: str) -> ReaderEvent | None:
        """Feed one key (``"0"``..``"9"``, ``"enter"``); returns the tap event when complete.

        Also calls ``on_event`` with it. Any other key, or a slow key, resets the buffer.
        """
        now = self.clock()
        if self._digits and now - self._last_key > self.max_gap:
            self._digits = ""
        self._last_key = now
        if len(key) == 1 and key.isdigit() and key.isascii():
            self._digits += key
            return None
        if key in ("enter", "\r", "\n", "ctrl+m", "ctrl+j"):
            digits, self._digits = self._digits, ""
            if len(digits) < MIN_DIGITS:
                return None
            self.stats.frames += 1
            uid = uid_from_decimal(digits)
            if uid is None:
                self.stats.garbled += 1
                return None
            if uid == self._last_uid and now - self._last_tap < self.debounce:
                self.stats.debounced += 1
                self._last_tap = now
                return None
            self._last_uid, self._last_tap = uid, now
            self.stats.taps += 1
            event = ReaderEvent(self.name, "tap", uid=uid, text=digits, protocol="wedge")
            if self.on_event:
                self.on_event(event)
            return event
        self._digits = ""
        return None
