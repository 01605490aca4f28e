"""A simulated card reader on a pty, for every supported protocol.

``tap(uid)`` sends what the real reader sends for that card (for PN532: the card is in the
field for ``hold`` seconds and the answer to the host's polling carries it). Faults:
``garbled()`` (a frame with a bad checksum), ``tap_split()`` (one frame in several writes),
``partial()`` (the first half of a frame, then nothing), ``noise()``, unplug/replug.
"""

from __future__ import annotations

import time

from devices.cards import pn532, rc5xx, rdm6300, wedge, wiegand
from devices.cards.common import uid_bytes
from devices.sim.pty import PtyDevice

DEFAULT_UIDS = {
    "rdm6300": "3C00A1B2C3",
    "pn532": "12345678",
    "rc5xx": "12345678",
    "wiegand": "345678",
    "wedge": "12345678",
}


def frame_for(protocol: str, uid: str) -> bytes:
    """The bytes a ``protocol`` reader sends unprompted for ``uid`` (not PN532: it is polled)."""
    if protocol == "rdm6300":
        return rdm6300.build_frame(uid)
    if protocol == "rc5xx":
        return rc5xx.build_uid_frame(uid)
    if protocol == "wiegand":
        return wiegand.build_line(uid)
    if protocol == "wedge":
        return wedge.build_line(uid)
    if protocol == "pn532":
        return pn532.target_response(uid)
    raise ValueError(f"unknown card protocol {protocol!r}")


class SimCardReader(PtyDevice):
    """A card reader of family ``protocol`` on a pty (see :mod:`devices.cards`)."""

    def __init__(
        self,
        protocol: str = "rdm6300",
        name: str = "card",
        *,
        link_dir: str | None = None,
        baudrate: int = 9600,
    ) -> None:
        if protocol not in DEFAULT_UIDS:
            raise ValueError(
                f"unknown card protocol {protocol!r} (expected {', '.join(DEFAULT_UIDS)})"
            )
        super().__init__(name, link_dir=link_dir, baudrate=baudrate)
        self.protocol = protocol
        self.commands: list[int] = []  # PN532 command codes received, for tests
        self._card: str | None = None
        self._card_until = 0.0
        self._rx = b""

    def tap(self, uid: str | None = None, hold: float = 0.3) -> None:
        """Present a card (the protocol's sample UID when None)."""
        uid = uid or DEFAULT_UIDS[self.protocol]
        if self.protocol == "pn532":
            self._card, self._card_until = uid.upper(), time.monotonic() + hold
        else:
            self.write(frame_for(self.protocol, uid))

    def remove(self) -> None:
        """Take the card away (PN532)."""
        self._card = None

    def garbled(self, uid: str | None = None) -> None:
        """Send a frame with a wrong checksum (or parity) that a reader must drop."""
        uid = uid or DEFAULT_UIDS[self.protocol]
        frame = bytearray(frame_for(self.protocol, uid))
        if self.protocol == "rdm6300":
            frame[-2] = ord("0") if frame[-2] != ord("0") else ord("1")
        elif self.protocol in ("rc5xx", "pn532"):
            frame[-2 if self.protocol == "rc5xx" else -3] ^= 0x5A
        else:  # text lines: make it no longer a number
            frame[0:1] = b"X"
        self.write(bytes(frame))

    def tap_split(self, uid: str | None = None, parts: int = 3, gap: float = 0.02) -> None:
        """Send one card's frame in ``parts`` writes ``gap`` seconds apart."""
        frame = frame_for(self.protocol, uid or DEFAULT_UIDS[self.protocol])
        step = max(1, len(frame) // parts)
        for i in range(0, len(frame), step):
            self.write(frame[i : i + step])
            time.sleep(gap)

    def partial(self, uid: str | None = None) -> None:
        """Send only the first half of a frame (the rest never comes)."""
        frame = frame_for(self.protocol, uid or DEFAULT_UIDS[self.protocol])
        self.write(frame[: len(frame) // 2])

    def noise(self, data: bytes = b"\x7f\x13\x99 noise") -> None:
        """Send bytes that are not a frame."""
        self.write(data)

    def on_bytes(self, data: bytes) -> None:
        if self.protocol != "pn532":
            return  # output-only readers ignore the host
        result = pn532.parse_frames(self._rx + data)
        self._rx = result.rest[-64:]
        for frame in result.items:
            if frame.kind != "data" or frame.tfi != pn532.HOST or frame.command is None:
                continue
            code = frame.command
            self.commands.append(code)
            self.write(pn532.ACK)
            if code == pn532.GET_FIRMWARE_VERSION:
                self.write(pn532.firmware_response())
            elif code == pn532.IN_LIST_PASSIVE_TARGET:
                card = self._card if time.monotonic() < self._card_until else None
                self.write(pn532.target_response(card))
            else:
                self.write(pn532.response(code + 1))

    def uid_bytes(self, uid: str) -> bytes:
        """Bytes of ``uid`` (helper for tests)."""
        return uid_bytes(uid)
