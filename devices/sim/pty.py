"""A simulated serial device on a real pty, with a stable path that survives unplug/replug.

The simulator holds the pty master; the adapter opens the slave through a symlink
(``<sim dir>/<name>``), the way udev's ``/dev/serial/by-id/...`` links name a USB-serial
adapter. Unplug closes the master (the adapter's next read/write fails with SerialException /
OSError, exactly like a pulled cable) and removes the link; replug makes a new pty and points
the link at it, so the adapter's reconnect loop reopens "the same" path for real.
"""

from __future__ import annotations

import contextlib
import os
import select
import tempfile
import threading
import time
import tty

_DIR_LOCK = threading.Lock()
_SIM_DIR: str | None = None


def sim_dir() -> str:
    """The per-process folder holding the simulators' device links."""
    global _SIM_DIR
    with _DIR_LOCK:
        if _SIM_DIR is None or not os.path.isdir(_SIM_DIR):
            _SIM_DIR = tempfile.mkdtemp(prefix="kiosk-sim-")
        return _SIM_DIR


class PtyDevice:
    """Base class: owns the pty, a reader thread calling :meth:`on_bytes`, plug state."""

    def __init__(self, name: str, *, link_dir: str | None = None, baudrate: int = 9600) -> None:
        self.name = name
        self.path = os.path.join(link_dir or sim_dir(), name)
        self.baudrate = baudrate
        # Slow wire: pace reading to the baud rate (10 bits per byte) so the writer blocks
        # like on a real 9600-baud cable once the pty buffer is full.
        self.slow = False
        self._lock = threading.RLock()
        self._master: int | None = None
        self._slave: int | None = None
        self._generation = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pty_name = ""

    # -- plug state ----------------------------------------------------------------------------

    @property
    def plugged(self) -> bool:
        """Whether the device is "connected" (its path exists)."""
        return self._master is not None

    def plug(self) -> None:
        """Create the pty and (re)point the stable path at it."""
        with self._lock:
            if self._master is not None:
                return
            master, slave = os.openpty()
            tty.setraw(slave)  # no echo, no line editing: bytes pass as they are
            self.pty_name = os.ttyname(slave)
            tmp = f"{self.path}.{os.getpid()}.tmp"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            os.symlink(self.pty_name, tmp)
            os.replace(tmp, self.path)
            # Keep our own slave fd open so the master never sees EIO while no adapter is
            # attached (the pty would otherwise hang up between adapter sessions).
            self._master, self._slave = master, slave
            self._generation += 1

    def unplug(self) -> None:
        """Pull the cable: the adapter's port errors out, and the path disappears."""
        with self._lock:
            for fd in (self._master, self._slave):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._master = self._slave = None
            self._generation += 1
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)

    def replug(self) -> None:
        """Unplug (if plugged) and plug again: the same path, a new pty."""
        self.unplug()
        self.plug()

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> PtyDevice:
        """Plug in and start answering. Returns self."""
        self.plug()
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"sim-{self.name}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and unplug."""
        self._stop.set()
        if self._thread:
            self._thread.join(2.0)
            self._thread = None
        self.unplug()

    def write(self, data: bytes) -> bool:
        """Send bytes to the adapter; False (dropped) when unplugged."""
        with self._lock:
            if self._master is None:
                return False
            try:
                os.write(self._master, data)
                return True
            except OSError:
                return False

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                fd, gen = self._master, self._generation
            if fd is None:
                self._stop.wait(0.01)
                continue
            try:
                ready = select.select([fd], [], [], 0.05)[0]
            except (OSError, ValueError):
                continue  # closed under us by unplug
            if not ready:
                self.on_idle()
                continue
            chunk = max(1, self.baudrate // 1000) if self.slow else 4096
            with self._lock:
                if self._generation != gen or self._master is None:
                    continue
                try:
                    data = os.read(fd, chunk)
                except OSError:
                    continue
            if self.slow:
                time.sleep(len(data) * 10 / self.baudrate)
            if data:
                self.on_bytes(data)

    # -- for subclasses --------------------------------------------------------------------------

    def on_bytes(self, data: bytes) -> None:
        """Bytes the adapter wrote."""

    def on_idle(self) -> None:
        """Called about every 50 ms when nothing arrives."""
