"""A virtual contactless card for a real pcscd through vsmartcard's ``vpcd`` reader driver.

``vpcd`` (Debian package ``vsmartcard-vpcd``) is a PC/SC reader driver that waits on a TCP
port for a virtual card; while a card is connected the reader reports it present. The wire
protocol is small: every message is a 2-byte big-endian length and a body; a 1-byte body is
a control (0 power off, 1 power on, 2 reset, 4 send the ATR), anything else is an APDU to
answer. This card answers ``FF CA 00 00 00`` (GET DATA: UID) with its UID and ``90 00``, as
an ACR122U-class reader does for a MIFARE card, and ``6D 00`` to everything else.

:meth:`VirtualCard.insert` puts the card on the reader, :meth:`VirtualCard.remove` takes it
away. Used by the PC/SC tests and handy for trying a desk reader set-up without hardware.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

# ATR of a contactless storage card as PC/SC part 3 builds it (MIFARE Classic 1K).
ATR = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")
_CTRL_ATR = 4


class VirtualCard:
    """One card with ``uid`` (hex) for the vpcd reader listening on ``host:port``."""

    def __init__(self, uid: str, port: int, host: str = "127.0.0.1") -> None:
        self.uid = bytes.fromhex(uid)
        self.host, self.port = host, port
        self.apdus: list[bytes] = []
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def inserted(self) -> bool:
        """Whether the card is on the reader."""
        return self._sock is not None

    def insert(self, timeout: float = 5.0) -> None:
        """Connect to vpcd (the reader then sees a card in the field)."""
        if self._sock is not None:
            return
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        sock.settimeout(None)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
        self._thread.start()

    def remove(self) -> None:
        """Disconnect (the card leaves the field)."""
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None

    def answer(self, apdu: bytes) -> bytes:
        """The response to one command APDU."""
        if apdu[:4] == b"\xff\xca\x00\x00":
            return self.uid + b"\x90\x00"
        return b"\x6d\x00"  # instruction not supported

    def _serve(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                header = _read_exact(sock, 2)
                if header is None:
                    return
                (size,) = struct.unpack(">H", header)
                body = _read_exact(sock, size)
                if body is None:
                    return
                if size == 1:
                    if body[0] == _CTRL_ATR:
                        sock.sendall(struct.pack(">H", len(ATR)) + ATR)
                    continue  # power on / off / reset need no answer
                self.apdus.append(body)
                reply = self.answer(body)
                sock.sendall(struct.pack(">H", len(reply)) + reply)


def _read_exact(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data
