"""PC/SC desk readers (ACR122U and the like) through pyscard: ``pcsc://?reader=NAME``.

One thread per reader waits on ``SCardGetStatusChange`` (short timeouts, so ``stop()`` is
prompt). When a card enters the field it connects and sends the reader's standard
``FF CA 00 00 00`` (GET DATA: UID) APDU; the answer ``UID + 90 00`` is a tap, reported as
upper-case hex like the serial readers. A card leaving the field is a ``removed`` event.

It survives the usual failures: pcscd restarted or not running (``SCARD_E_NO_SERVICE``: the
context is released and established again), the reader unplugged or not there yet (reported
'disconnected' naming the readers that are present, looked for again with backoff), and a
card pulled away in the middle of the read (no tap; the next one works).

pyscard is imported on the reader's thread, not at start-up.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from devices.cards.reader_events import ReaderEvent, ReaderThread
from devices.urls import DeviceURL

log = logging.getLogger(__name__)

GET_UID = [0xFF, 0xCA, 0x00, 0x00, 0x00]
PROTOCOL = "pcsc"


class _Lost(Exception):
    """The reader or the PC/SC service went away; ``service`` when the context is dead."""

    def __init__(self, detail: str, service: bool = False) -> None:
        super().__init__(detail)
        self.service = service


class PcscReader(ReaderThread):
    """A PC/SC reader on its own thread. Create with :func:`devices.cards.open_reader`."""

    thread_prefix = "pcsc"

    def __init__(
        self,
        url: DeviceURL,
        on_event: Callable[[ReaderEvent], None],
        *,
        debounce: float | None = None,
        wait_ms: int = 200,
        backoff_min: float = 0.05,
        backoff_max: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._init_thread(url, on_event, debounce, backoff_min, backoff_max, clock)
        self.reader_name = url.reader
        self.wait_ms = wait_ms
        self.reader_in_use = ""

    def __repr__(self) -> str:
        return f"<PcscReader {self.name!r} {self.reader_name or '(first reader)'}>"

    def _protocol(self) -> str:
        return PROTOCOL

    def _run(self) -> None:
        try:
            from smartcard import scard
        except ImportError:  # the optional extra: pip install 'lobby-kiosk[pcsc]'
            self._status(
                "disconnected", "pyscard is not installed: pip install 'lobby-kiosk[pcsc]'"
            )
            log.error("card reader %r: pyscard is not installed (lobby-kiosk[pcsc])", self.name)
            return

        self._scard = scard
        self._link_begins()
        ctx: Any = None
        while not self._stop.is_set():
            try:
                if ctx is None:
                    ctx = self._establish()
                reader = self._find_reader(ctx)
            except _Lost as exc:
                if exc.service and ctx is not None:
                    self._release(ctx)
                    ctx = None
                self._cannot_open(str(exc))
                continue
            self.reader_in_use = reader
            self._opened(f"PC/SC reader {reader!r}")
            try:
                self._session(ctx, reader)
            except _Lost as exc:
                self._lost(str(exc))
                if exc.service:
                    self._release(ctx)
                    ctx = None
        if ctx is not None:
            self._release(ctx)
        self._status("stopped")

    # -- PC/SC calls ---------------------------------------------------------------------------

    def _error(self, hresult: int) -> str:
        try:
            text = self._scard.SCardGetErrorMessage(hresult)
        except Exception:
            text = ""
        return f"{text.strip() or 'PC/SC error'} (0x{hresult & 0xFFFFFFFF:08X})"

    def _service_gone(self, hresult: int) -> bool:
        s = self._scard
        return hresult in (
            s.SCARD_E_NO_SERVICE,
            s.SCARD_E_SERVICE_STOPPED,
            s.SCARD_E_INVALID_HANDLE,
        )

    def _establish(self) -> Any:
        s = self._scard
        hresult, ctx = s.SCardEstablishContext(s.SCARD_SCOPE_USER)
        if hresult != s.SCARD_S_SUCCESS:
            raise _Lost(f"PC/SC service not reachable (is pcscd running?): {self._error(hresult)}")
        return ctx

    def _release(self, ctx: Any) -> None:
        with contextlib.suppress(Exception):
            self._scard.SCardReleaseContext(ctx)

    def _find_reader(self, ctx: Any) -> str:
        s = self._scard
        hresult, readers = s.SCardListReaders(ctx, [])
        if hresult == s.SCARD_E_NO_READERS_AVAILABLE:
            readers = []
        elif hresult != s.SCARD_S_SUCCESS:
            raise _Lost(f"cannot list PC/SC readers: {self._error(hresult)}", service=True)
        if not self.reader_name:
            if readers:
                return str(readers[0])
            raise _Lost("no PC/SC reader plugged in")
        if self.reader_name in readers:
            return self.reader_name
        # 'ACS ACR122U' matches 'ACS ACR122U PICC Interface 00 00': names carry slot numbers.
        for name in readers:
            if str(name).startswith(self.reader_name):
                return str(name)
        present = ", ".join(map(repr, readers)) or "none"
        raise _Lost(f"PC/SC reader {self.reader_name!r} not found (present: {present})")

    def _session(self, ctx: Any, reader: str) -> None:
        s = self._scard
        current = s.SCARD_STATE_UNAWARE
        present_uid: str | None = None
        present = False
        while not self._stop.is_set():
            hresult, states = s.SCardGetStatusChange(ctx, self.wait_ms, [(reader, current)])
            if hresult == s.SCARD_E_TIMEOUT:
                continue
            if hresult != s.SCARD_S_SUCCESS:
                raise _Lost(
                    f"lost PC/SC reader {reader!r}: {self._error(hresult)}",
                    service=self._service_gone(hresult),
                )
            _, event_state, _atr = states[0]
            current = event_state & ~s.SCARD_STATE_CHANGED
            if event_state & (s.SCARD_STATE_UNKNOWN | s.SCARD_STATE_UNAVAILABLE):
                raise _Lost(f"PC/SC reader {reader!r} unplugged")
            now_present = bool(event_state & s.SCARD_STATE_PRESENT) and not (
                event_state & s.SCARD_STATE_MUTE
            )
            if now_present and not present:
                present = True
                present_uid = self._read_uid(ctx, reader)
                if present_uid is not None:
                    self._seen(present_uid, self.clock())
            elif not now_present and present:
                present = False
                if present_uid is not None:
                    self._last_seen = self.clock()  # debounce counts from when it left
                    self._emit(
                        ReaderEvent(self.name, "removed", uid=present_uid, protocol=PROTOCOL)
                    )
                present_uid = None

    def _read_uid(self, ctx: Any, reader: str) -> str | None:
        """The UID of the card in the field (``FF CA 00 00 00``), None if it could not be read."""
        s = self._scard
        self.stats.frames += 1
        hresult, card, protocol = s.SCardConnect(
            ctx, reader, s.SCARD_SHARE_SHARED, s.SCARD_PROTOCOL_T0 | s.SCARD_PROTOCOL_T1
        )
        if hresult != s.SCARD_S_SUCCESS:
            if self._service_gone(hresult):
                raise _Lost(f"PC/SC service lost: {self._error(hresult)}", service=True)
            self.stats.garbled += 1  # card pulled away, or a card that refuses to talk
            log.info("card reader %r: connect failed: %s", self.name, self._error(hresult))
            return None
        try:
            hresult, response = s.SCardTransmit(card, protocol, GET_UID)
        finally:
            s.SCardDisconnect(card, s.SCARD_LEAVE_CARD)
        if hresult != s.SCARD_S_SUCCESS:
            self.stats.garbled += 1
            return None
        self.stats.bytes += len(response)
        if len(response) < 3 or response[-2:] != [0x90, 0x00] or len(response) - 2 > 10:
            # No UID (6A 81: not supported; a reader that doesn't implement GET DATA).
            self.stats.garbled += 1
            return None
        return bytes(response[:-2]).hex().upper()


def probe_pcsc(dev: DeviceURL) -> tuple[bool, str, dict[str, Any]]:
    """(ok, detail, extra) for ``kiosk devices probe``: service up, reader present, card in it."""
    try:
        from smartcard import scard
    except ImportError:  # the optional extra
        return False, "pyscard is not installed: pip install 'lobby-kiosk[pcsc]'", {}
    hresult, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        return False, "PC/SC service not reachable (is pcscd running?)", {}
    try:
        probe = PcscReader(dev, lambda _e: None)
        probe._scard = scard
        try:
            reader = probe._find_reader(ctx)
        except _Lost as exc:
            return False, str(exc), {}
        hresult, states = scard.SCardGetStatusChange(ctx, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
        card = hresult == scard.SCARD_S_SUCCESS and bool(states[0][1] & scard.SCARD_STATE_PRESENT)
        detail = f"PC/SC reader {reader!r}" + (" (card in the field)" if card else "")
        return True, detail, {"reader": reader, "card_present": card}
    finally:
        scard.SCardReleaseContext(ctx)
