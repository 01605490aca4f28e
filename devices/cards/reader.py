"""The card reader adapter: one thread per device, one callback for everything it reports.

The thread opens the port named by the URL, reads into a buffer (frames arrive split across
reads), parses with the protocol's pure parser, debounces (a card held in the field, or shown
again within ``debounce`` seconds, is one tap), counts garbled frames, and when the port
vanishes (USB unplugged: SerialException / OSError) reports 'disconnected' and reopens it with
exponential backoff. It never touches the UI: the callback gets a :class:`ReaderEvent` and the
UI posts it to itself (``call_from_thread``).
"""

from __future__ import annotations

import contextlib
import logging
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devices.cards import pn532, rc5xx, rdm6300, wedge, wiegand
from devices.cards.common import ParseResult
from devices.cards.reader_events import ReaderEvent, ReaderThread
from devices.cards.wedge import KeyboardWedge
from devices.urls import DeviceURL, as_device_url

if TYPE_CHECKING:
    from devices.cards.pcsc import PcscReader

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Protocol:
    """How to talk to one reader family: parser, default speed, setup and polling commands."""

    name: str
    parse: Callable[[bytes], ParseResult[str]]
    baudrate: int
    setup: bytes = b""
    poll: bytes = b""


PROTOCOLS: dict[str, Protocol] = {
    "rdm6300": Protocol("rdm6300", rdm6300.parse, 9600),
    "pn532": Protocol(
        "pn532",
        pn532.parse,
        115200,
        # Wake up, normal SAM mode, and few passive-activation retries so that polling answers
        # "no card" quickly instead of blocking until a card comes.
        setup=pn532.WAKEUP + pn532.sam_configuration() + pn532.command(0x32, b"\x05\xff\x01\x02"),
        poll=pn532.in_list_passive_target(),
    ),
    "rc5xx": Protocol("rc5xx", rc5xx.parse, 9600),
    "wiegand": Protocol("wiegand", wiegand.parse, 9600),
    "wedge": Protocol("wedge", wedge.parse, 9600),
}


class CardReader(ReaderThread):
    """A serial card reader on its own thread. Create with :func:`open_reader`."""

    def __init__(
        self,
        url: DeviceURL,
        path: str,
        on_event: Callable[[ReaderEvent], None],
        *,
        baudrate: int | None = None,
        debounce: float | None = None,
        read_timeout: float = 0.05,
        frame_timeout: float = 0.3,
        poll_interval: float = 0.1,
        backoff_min: float = 0.05,
        backoff_max: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._init_thread(url, on_event, debounce, backoff_min, backoff_max, clock)
        self.path = path
        self.protocol = PROTOCOLS[url.protocol]
        self.baudrate = baudrate or int(url.options.get("baudrate", self.protocol.baudrate))
        self.read_timeout = read_timeout
        self.frame_timeout = frame_timeout
        self.poll_interval = poll_interval

    def __repr__(self) -> str:
        return f"<CardReader {self.name!r} {self.protocol.name} {self.path}>"

    def _protocol(self) -> str:
        return self.protocol.name

    def _run(self) -> None:
        import serial

        self._link_begins()
        while not self._stop.is_set():
            try:
                port = serial.Serial(self.path, self.baudrate, timeout=self.read_timeout)
            except (serial.SerialException, OSError, ValueError, termios.error) as exc:
                self._cannot_open(f"cannot open {self.path}: {exc}")
                continue
            self._opened(f"{self.path} @ {self.baudrate}")
            try:
                self._session(port)
            except (serial.SerialException, OSError, ValueError, termios.error) as exc:
                self._lost(f"lost {self.path}: {exc}")
            finally:
                with contextlib.suppress(serial.SerialException, OSError):
                    port.close()
        self._status("stopped")

    def _session(self, port: Any) -> None:
        if self.protocol.setup:
            port.write(self.protocol.setup)
        buf = b""
        last_rx = self.clock()
        next_poll = last_rx
        while not self._stop.is_set():
            if self.protocol.poll and self.clock() >= next_poll:
                port.write(self.protocol.poll)
                next_poll = self.clock() + self.poll_interval
            data = port.read(max(1, port.in_waiting))
            now = self.clock()
            if data:
                self.stats.bytes += len(data)
                last_rx = now
                result = self.protocol.parse(buf + data)
                buf = result.rest
                self.stats.garbled += result.dropped
                for uid in result.items:
                    self._seen(uid, now)
            elif buf and now - last_rx > self.frame_timeout:
                # Half a frame and then silence: the rest is never coming (glitch, card pulled
                # away mid-read). Drop it so it can't glue onto the next frame.
                self.stats.garbled += 1
                buf = b""

    def _seen(self, uid: str, now: float) -> None:
        self.stats.frames += 1
        super()._seen(uid, now)


def open_reader(
    url: DeviceURL | str,
    on_event: Callable[[ReaderEvent], None],
    *,
    name: str = "card",
    **options: Any,
) -> CardReader | KeyboardWedge | PcscReader:
    """A reader for ``url`` (not started: call ``start()``).

    ``serial://`` and ``sim://card`` give a :class:`CardReader` (``sim://`` starts an
    in-process simulator); ``pcsc://`` a :class:`devices.cards.pcsc.PcscReader`; ``keyboard://`` gives a :class:`KeyboardWedge` the UI feeds keys to.
    ``options`` go to the constructor (timeouts, backoff, debounce; see :class:`CardReader`).
    """
    dev = as_device_url(url, name)
    if dev.kind != "card":
        raise ValueError(f"device {dev.name!r}: {dev.url} is a printer, not a card reader")
    if dev.scheme == "pcsc":
        from devices.cards.pcsc import PcscReader

        return PcscReader(dev, on_event, **options)
    if dev.scheme == "keyboard":
        return KeyboardWedge(on_event, name=dev.name, debounce=dev.debounce, **options)
    if dev.scheme == "sim":
        from devices.sim import ensure_sim

        return CardReader(dev, ensure_sim(dev), on_event, **options)
    if dev.scheme == "serial":
        return CardReader(dev, dev.path, on_event, **options)
    raise ValueError(f"device {dev.name!r}: scheme {dev.scheme!r} is not a card reader transport")
