"""PC/SC desk readers against a real pcscd with vsmartcard's virtual reader (vpcd) and a
virtual card (devices.sim.vicc): UID by ``FF CA 00 00 00``, presence and removal, pcscd
restarts, a reader that is not plugged in, and a parking card issued at the desk.

pcscd, vsmartcard-vpcd come from Debian (the Makefile's venv step installs them as root);
without them these tests skip, except under CI=true where they fail.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devices.cards import ReaderEvent, open_reader
from devices.cards.pcsc import GET_UID, PcscReader
from devices.sim.vicc import VirtualCard
from devices.urls import DeviceURLError, parse_device_url
from tests.conftest import missing
from tests.waiting import wait_until

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
PCSCD_PID = Path("/run/pcscd/pcscd.pid")
READER = "Virtual PCD 00 00"


def _unavailable(why: str) -> None:
    missing(f"PC/SC tests need {why}")


def _pid_alive(path: Path) -> bool:
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def _free_port_pair() -> int:
    """A port p with p and p+1 free (vpcd opens two slots)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port >= 65535:
            continue
        try:
            with socket.socket() as s2:
                s2.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair")


class Pcscd:
    """A pcscd in the foreground, with a reader.conf.d of our own (vpcd on ``port``)."""

    def __init__(self, tmp: Path) -> None:
        self.port = _free_port_pair()
        self.with_reader = tmp / "with-reader"
        self.no_reader = tmp / "no-reader"
        self.with_reader.mkdir()
        self.no_reader.mkdir()
        (self.with_reader / "vpcd").write_text(
            'FRIENDLYNAME "Virtual PCD"\n'
            f"DEVICENAME   /dev/null:{self.port}\n"
            f"LIBPATH      {VPCD_DRIVER}\n"
            f"CHANNELID    {self.port}\n"
        )
        self.log = tmp / "pcscd.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, reader: bool = True) -> None:
        conf = self.with_reader if reader else self.no_reader
        if self.proc is not None and self.proc.poll() is None:
            raise AssertionError("pcscd already started")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [shutil.which("pcscd") or "pcscd", "--foreground", "--config", str(conf)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        # Ready when a client can list readers (and vpcd listens, when configured).
        assert wait_until(self._up, 30), "pcscd did not come up"
        if reader:
            assert wait_until(self._vpcd_listens, 30), "vpcd did not open its port"

    def _up(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"pcscd exited: {self.log.read_text()[-2000:]}")
        return self._listing() is not None

    def _listing(self) -> list[str] | None:
        from smartcard import scard

        hresult, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            return None
        try:
            hresult, readers = scard.SCardListReaders(ctx, [])
            return list(readers) if hresult == scard.SCARD_S_SUCCESS else []
        finally:
            scard.SCardReleaseContext(ctx)

    def _vpcd_listens(self) -> bool:
        # Read the kernel's table rather than connecting: a connection to vpcd *is* a card.
        wanted = f":{self.port:04X} "
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                lines = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            if any(wanted in line.split(None, 2)[1] + " " and line.split()[3] == "0A"
                   for line in lines):  # fmt: skip
                return True
        return False

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@pytest.fixture
def pcscd(tmp_path: Path) -> Iterator[Pcscd]:
    if shutil.which("pcscd") is None:
        _unavailable("pcscd (Debian package pcscd)")
    if not VPCD_DRIVER.exists():
        _unavailable("the vpcd reader driver (Debian package vsmartcard-vpcd)")
    try:
        import smartcard.scard  # noqa: F401
    except ImportError:
        _unavailable("pyscard")
    if _pid_alive(PCSCD_PID):
        _unavailable("no other pcscd running (one already owns /run/pcscd)")
    daemon = Pcscd(tmp_path)
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()


class Events:
    """Reader events in a queue; wait for the next one matching a condition."""

    def __init__(self) -> None:
        self.q: queue.Queue[ReaderEvent] = queue.Queue()
        self.seen: list[ReaderEvent] = []

    def __call__(self, event: ReaderEvent) -> None:
        self.q.put(event)

    def next(self, match: Callable[[ReaderEvent], bool], timeout: float = 10.0) -> ReaderEvent:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching reader event; seen {self.seen}")
            try:
                event = self.q.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(event)
            if match(event):
                return event

    def status(self, status: str, timeout: float = 10.0) -> ReaderEvent:
        return self.next(lambda e: e.kind == "status" and e.status == status, timeout)


def _reader(events: Events, name: str = READER) -> PcscReader:
    reader = open_reader(
        parse_device_url("desk", f"pcsc://?reader={name.replace(' ', '%20')}"),
        events,
        backoff_max=0.2,
        wait_ms=100,
    )
    assert isinstance(reader, PcscReader)
    return reader


def test_tap_reads_the_uid_with_get_data_and_reports_removal(pcscd: Pcscd) -> None:
    events = Events()
    reader = _reader(events)
    reader.start()
    try:
        connected = events.status("connected")
        assert READER in connected.detail
        card = VirtualCard("04A1B2C3D4E5F6", pcscd.port)
        card.insert()
        tap = events.next(lambda e: e.kind == "tap")
        assert tap.uid == "04A1B2C3D4E5F6" and tap.protocol == "pcsc"
        assert card.apdus == [bytes(GET_UID)]  # the standard PC/SC GET DATA, nothing else
        card.remove()
        removed = events.next(lambda e: e.kind == "removed")
        assert removed.uid == "04A1B2C3D4E5F6"
        # another card is another tap
        other = VirtualCard("0A0B0C0D", pcscd.port)
        other.insert()
        assert events.next(lambda e: e.kind == "tap").uid == "0A0B0C0D"
        other.remove()
        assert reader.stats.taps == 2 and reader.stats.garbled == 0
    finally:
        reader.stop()
    assert events.status("stopped").status == "stopped"


def test_survives_a_pcscd_restart(pcscd: Pcscd) -> None:
    events = Events()
    reader = _reader(events)
    reader.start()
    try:
        events.status("connected")
        pcscd.stop()
        down = events.status("disconnected")
        assert "PC/SC" in down.detail
        pcscd.start()
        events.status("connected", timeout=15)
        assert reader.stats.reconnects >= 1
        card = VirtualCard("11223344", pcscd.port)
        card.insert()
        assert events.next(lambda e: e.kind == "tap", timeout=15).uid == "11223344"
        card.remove()
    finally:
        reader.stop()


def test_reader_not_plugged_in_is_reported_then_found(pcscd: Pcscd) -> None:
    pcscd.stop()
    pcscd.start(reader=False)  # the daemon runs, the reader is unplugged
    events = Events()
    reader = _reader(events)
    reader.start()
    try:
        missing = events.status("disconnected")
        assert f"PC/SC reader {READER!r} not found" in missing.detail
        assert not reader.stats.connected
        pcscd.stop()
        pcscd.start(reader=True)  # plugged in
        events.status("connected", timeout=15)
        card = VirtualCard("55667788", pcscd.port)
        card.insert()
        assert events.next(lambda e: e.kind == "tap", timeout=15).uid == "55667788"
        card.remove()
    finally:
        reader.stop()


def test_probe_names_the_reader(pcscd: Pcscd) -> None:
    from devices.probe import probe_device

    ok = probe_device("desk", f"pcsc://?reader={READER.replace(' ', '%20')}")
    assert ok.ok and READER in ok.detail and ok.extra["reader"] == READER
    missing = probe_device("desk", "pcsc://?reader=ACS%20ACR122U")
    assert not missing.ok and "'ACS ACR122U' not found" in missing.detail


def test_parking_card_issued_at_the_desk_through_pcsc(pcscd: Pcscd, ctx) -> None:  # type: ignore[no-untyped-def]
    from kiosk.lobby import tap_card
    from plugins.parking import service, taps
    from tests.plugins.parking.parking_helpers import CASHIER, open_cash

    rental = open_cash(ctx)
    events = Events()
    reader = _reader(events)
    reader.start()
    try:
        events.status("connected")
        blank = VirtualCard("04C0FFEE1234AB", pcscd.port)
        blank.insert()
        uid = events.next(lambda e: e.kind == "tap").uid
        blank.remove()
    finally:
        reader.stop()
    assert uid == "04C0FFEE1234AB"
    card = service.issue_card(ctx, CASHIER, rental.number, uid)
    assert card.state == "active" and card.uid_hex == "04C0FFEE1234AB"
    validity = taps.card_validity(ctx, uid)
    assert validity is not None and validity.state == "valid"
    outcome = tap_card(ctx, uid)  # the card now opens the car park
    assert outcome.plugin is not None and not outcome.plugin.refused


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("pcsc://reader", "expected pcsc://?reader=NAME"),
        ("pcsc://?reader=", "reader= is empty"),
        ("pcsc://?protocol=pn532", "unknown option 'protocol' for a pcsc:// card"),
    ],
)
def test_malformed_pcsc_urls_are_refused_in_one_line(url: str, message: str) -> None:
    with pytest.raises(DeviceURLError) as err:
        parse_device_url("desk", url)
    assert message in str(err.value) and "\n" not in str(err.value)


class NoUidCard(VirtualCard):
    """A card (or reader) that refuses GET DATA, or answers with a malformed UID."""

    def __init__(self, reply: bytes, port: int) -> None:
        super().__init__("00", port)
        self.reply = reply

    def answer(self, apdu: bytes) -> bytes:
        return self.reply


@pytest.mark.parametrize(
    "reply",
    [b"\x6a\x81", b"\x90\x00", b"\x01" * 11 + b"\x90\x00", b"\x04\xa1\xb2\x63\x00"],
    ids=["not-supported", "empty-uid", "uid-too-long", "warning-status"],
)
def test_a_card_without_a_readable_uid_is_no_tap(pcscd: Pcscd, reply: bytes) -> None:
    events = Events()
    reader = _reader(events)
    reader.start()
    try:
        events.status("connected")
        bad = NoUidCard(reply, pcscd.port)
        bad.insert()
        assert wait_until(lambda: reader.stats.garbled == 1), "the bad answer was not counted"
        bad.remove()
        good = VirtualCard("0A0B0C0D", pcscd.port)  # the reader still works afterwards
        good.insert()
        tap = events.next(lambda e: e.kind == "tap")
        good.remove()
    finally:
        reader.stop()
    assert tap.uid == "0A0B0C0D" and reader.stats.taps == 1
    assert not any(e.kind == "tap" and e.uid != "0A0B0C0D" for e in events.seen)
