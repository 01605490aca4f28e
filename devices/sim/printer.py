"""A simulated ESC/POS receipt printer: records what it gets, answers DLE EOT like a real one.

Faults: ``paper_out``, ``paper_near_end``, ``cover_open``, ``error``, ``offline`` (no answer at
all, like a printer that is off), ``slow`` (9600-baud pacing), unplug/replug (pty only) and
``unplug_after`` (pull the cable once N bytes of a job arrived).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from pathlib import Path

from devices.printer.status import encode_answers
from devices.sim.pty import PtyDevice

FAULTS = ("paper_out", "paper_near_end", "cover_open", "error", "offline", "slow")
RECEIPTS_ENV = "KIOSK_RECEIPTS_DIR"  # where simulated printers keep each slip (a demo aid)
CUT = b"\x1dV"  # GS V: the paper is cut, the slip is complete
log = logging.getLogger(__name__)


def spool_slip(directory: Path, data: bytes) -> Path:
    """Keep one printed slip: its ESC/POS bytes as ``NNNNNN.bin`` (numbered, no clock) and a
    PNG preview beside it (``devices.receipt_decode``). Returns the .bin path."""
    directory.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.stem) for p in directory.glob("*.bin") if p.stem.isdigit()]
    path = directory / f"{max(numbers, default=0) + 1:06d}.bin"
    path.write_bytes(data)
    try:
        from devices.receipt_decode import decode_escpos, to_png

        to_png(decode_escpos(data)).save(path.with_suffix(".png"), format="PNG")
    except Exception as exc:  # noqa: BLE001 - the preview is a convenience
        log.warning("no PNG preview for %s: %s", path, exc)
    return path


class PrinterModel:
    """The printer's behaviour, independent of the wire (shared by the pty and TCP sims)."""

    def __init__(self) -> None:
        self.paper_out = False
        self.paper_near_end = False
        self.cover_open = False
        self.error = False
        self.offline = False
        self.received = bytearray()
        self.status_queries = 0
        self._tail = b""
        self._cond = threading.Condition()
        spool = os.environ.get(RECEIPTS_ENV, "")
        self.spool_dir: Path | None = Path(spool) if spool else None
        self._slip = bytearray()

    def set_fault(self, fault: str, on: bool = True) -> None:
        """Switch a fault on or off (one of :data:`FAULTS`)."""
        if fault not in FAULTS:
            raise ValueError(
                f"unknown printer fault {fault!r} (expected one of {', '.join(FAULTS)})"
            )
        setattr(self, fault, on)

    def clear_faults(self) -> None:
        """Back to a healthy printer."""
        for fault in FAULTS:
            setattr(self, fault, False)

    def handle(self, data: bytes) -> bytes:
        """Record ``data``; return the answers to any DLE EOT n in it (split ones included)."""
        answers = bytearray()
        scan = self._tail + data
        i = 0
        while True:
            j = scan.find(b"\x10\x04", i)
            if j < 0 or j + 2 >= len(scan):
                break
            n = scan[j + 2]
            if 1 <= n <= 4:
                self.status_queries += 1
                if not self.offline:
                    answers.append(self.answers()[n])
            i = j + 2
        # Keep the last 2 bytes: a DLE EOT split across reads is still answered.
        if scan.endswith(b"\x10\x04"):
            self._tail = b"\x10\x04"
        elif scan.endswith(b"\x10"):
            self._tail = b"\x10"
        else:
            self._tail = b""
        with self._cond:
            self.received += data
            self._cond.notify_all()
        if self.spool_dir is not None:
            self._spool(data)
        return bytes(answers)

    def _spool(self, data: bytes) -> None:
        """Collect a slip's bytes; at the cut, keep it in :attr:`spool_dir`."""
        self._slip += data
        cut = self._slip.rfind(CUT)
        if cut < 0 or self.spool_dir is None:
            return
        slip, self._slip = bytes(self._slip), bytearray()
        try:
            spool_slip(self.spool_dir, slip)
        except OSError as exc:
            log.warning("cannot keep the slip in %s: %s", self.spool_dir, exc)

    def answers(self) -> dict[int, int]:
        """The DLE EOT 1..4 answers for the current state."""
        return encode_answers(
            cover_open=self.cover_open,
            paper_near_end=self.paper_near_end,
            paper_out=self.paper_out,
            error=self.error,
        )

    def wait_for(self, size: int, timeout: float = 2.0) -> bool:
        """Block until ``size`` bytes were received (True) or ``timeout`` passed (False)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.received) < size:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def take(self) -> bytes:
        """Everything received so far, clearing the record."""
        with self._cond:
            data = bytes(self.received)
            self.received.clear()
        return data


class SimPrinter(PtyDevice, PrinterModel):
    """The printer on a pty: ``Printer`` opens :attr:`path` as a serial port."""

    def __init__(
        self, name: str = "printer", *, link_dir: str | None = None, baudrate: int = 9600
    ) -> None:
        PtyDevice.__init__(self, name, link_dir=link_dir, baudrate=baudrate)
        PrinterModel.__init__(self)
        self.unplug_after: int | None = None

    def set_fault(self, fault: str, on: bool = True) -> None:
        """Switch a fault on or off (one of :data:`FAULTS`; also 'unplugged')."""
        if fault == "unplugged":
            if on:
                self.unplug()
            else:
                self.plug()
            return
        PrinterModel.set_fault(self, fault, on)

    def on_bytes(self, data: bytes) -> None:
        answer = self.handle(data)
        if answer:
            self.write(answer)
        if self.unplug_after is not None and len(self.received) >= self.unplug_after:
            self.unplug_after = None
            self.unplug()


class SimTcpPrinter(PrinterModel):
    """The printer on a local TCP port (like a network printer's raw port 9100)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__()
        self._server = socket.create_server((host, port))
        self.host, self.port = self._server.getsockname()[:2]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="sim-tcp-printer", daemon=True)
        self._conns: list[socket.socket] = []

    @property
    def url(self) -> str:
        """``tcp://host:port`` of this simulator."""
        return f"tcp://{self.host}:{self.port}"

    def start(self) -> SimTcpPrinter:
        """Start accepting connections. Returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listening socket and every connection."""
        self._stop.set()
        self._server.close()
        for conn in self._conns:
            conn.close()
        self._thread.join(2.0)

    def _serve(self) -> None:
        self._server.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        with conn:
            while not self._stop.is_set():
                try:
                    data = conn.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                answer = self.handle(data)
                if answer:
                    conn.sendall(answer)
