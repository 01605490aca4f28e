"""What card readers report: one event type through one callback, plus counters."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from devices.urls import DeviceURL

log = logging.getLogger(__name__)

EventKind = Literal["tap", "status", "removed"]


@dataclass(frozen=True)
class ReaderEvent:
    """A tap (``uid`` set, raw hex), a card leaving the field (``removed``, PC/SC readers), or
    a status change (``status``: 'connected',
    'disconnected', 'stopped'; ``detail`` says why).

    ``text`` is the number as the reader printed it, when that differs from the hex UID (wedge
    readers type decimals). ``at`` is ``time.monotonic()`` when the frame was complete.
    """

    device: str
    kind: EventKind
    uid: str | None = None
    text: str | None = None
    status: str | None = None
    detail: str = ""
    protocol: str = ""
    at: float = field(default_factory=time.monotonic)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)


@dataclass
class ReaderStats:
    """Counters of one reader (updated by its thread; read them from anywhere)."""

    bytes: int = 0
    frames: int = 0
    taps: int = 0
    debounced: int = 0
    garbled: int = 0
    reconnects: int = 0
    connected: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)


class ReaderThread:
    """What every threaded reader (serial, PC/SC) does the same way: start and stop its thread,
    hand events to the one callback (a broken handler must not kill the thread), report status
    and debounce taps. A subclass calls :meth:`_init_thread` and implements ``_run`` and
    :meth:`_protocol`."""

    name: str
    on_event: Callable[[ReaderEvent], None]
    debounce: float
    clock: Callable[[], float]
    stats: ReaderStats
    backoff_min: float
    backoff_max: float
    thread_prefix = "card-reader"

    def _init_thread(
        self,
        url: DeviceURL,
        on_event: Callable[[ReaderEvent], None],
        debounce: float | None,
        backoff_min: float,
        backoff_max: float,
        clock: Callable[[], float],
    ) -> None:
        """What every reader keeps: its device, callback, debounce (the URL's unless given),
        backoff and clock, its counters, and its (not yet started) thread."""
        self.url = url
        self.name = url.name
        self.on_event = on_event
        self.debounce = url.debounce if debounce is None else debounce
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.clock = clock
        self.stats = ReaderStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_uid: str | None = None
        self._last_seen = float("-inf")

    def _protocol(self) -> str:
        raise NotImplementedError

    def _run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        """Start the reader thread (returns at once; 'connected' arrives as an event)."""
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"{self.thread_prefix}-{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread (it closes what it opened on its way out)."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return bool(self._thread and self._thread.is_alive())

    # The link to the device, as ``_run`` opens it, loses it and opens it again with backoff.

    def _link_begins(self) -> None:
        self._link = ""
        self._ever_connected = False
        self._delay = self.backoff_min

    def _cannot_open(self, detail: str) -> None:
        """Opening failed: say 'disconnected' once, then wait before the next try (each wait
        twice the last, up to ``backoff_max``)."""
        if self._link != "disconnected":
            self._link = "disconnected"
            self._status("disconnected", detail)
        self._stop.wait(self._delay)
        self._delay = min(self._delay * 2, self.backoff_max)

    def _opened(self, detail: str) -> None:
        """Open: say 'connected' (a reconnect when it was open before) and reset the backoff."""
        if self._ever_connected:
            self.stats.reconnects += 1
        self._ever_connected = True
        self._delay = self.backoff_min
        self._link = "connected"
        self._status("connected", detail)

    def _lost(self, detail: str) -> None:
        """The open link went away: say 'disconnected' (the next failure to open stays quiet)."""
        self._link = "disconnected"
        self._status("disconnected", detail)

    def _emit(self, event: ReaderEvent) -> None:
        try:
            self.on_event(event)
        except Exception:  # a broken handler must not kill the reader thread
            log.exception("card reader %r: on_event handler failed", self.name)

    def _status(self, status: str, detail: str = "") -> None:
        self.stats.connected = status == "connected"
        self._emit(
            ReaderEvent(
                self.name, "status", status=status, detail=detail, protocol=self._protocol()
            )
        )

    def _seen(self, uid: str, now: float) -> None:
        """A card read at ``now``: a tap, unless it is the same card still held (or shown again)
        within ``debounce`` seconds."""
        if uid == self._last_uid and now - self._last_seen < self.debounce:
            self.stats.debounced += 1
            self._last_seen = now  # still held: extend the window
            return
        self._last_uid, self._last_seen = uid, now
        self.stats.taps += 1
        self._emit(ReaderEvent(self.name, "tap", uid=uid, protocol=self._protocol(), at=now))
