"""Card readers through real ptys: taps, debounce, garbled and split frames, unplug/reconnect."""

from __future__ import annotations

import threading

import pytest

from devices.cards import CardReader, KeyboardWedge, ReaderEvent, open_reader
from devices.sim import SimCardReader, get_sim
from tests.waiting import wait_until

PROTOCOLS = ["rdm6300", "pn532", "rc5xx", "wiegand", "wedge"]
EXPECTED = {
    "rdm6300": "003C5A7F01",
    "pn532": "3C5A7F01",
    "rc5xx": "3C5A7F01",
    "wiegand": "5A7F01",
    "wedge": "3C5A7F01",
}


class Events:
    """Collects reader events from the reader thread."""

    def __init__(self) -> None:
        self.items: list[ReaderEvent] = []
        self.lock = threading.Lock()

    def __call__(self, event: ReaderEvent) -> None:
        with self.lock:
            self.items.append(event)

    def taps(self) -> list[str | None]:
        with self.lock:
            return [e.uid for e in self.items if e.kind == "tap"]

    def statuses(self) -> list[str | None]:
        with self.lock:
            return [e.status for e in self.items if e.kind == "status"]


def start_reader(protocol: str, debounce: float = 1.0) -> tuple[CardReader, SimCardReader, Events]:
    events = Events()
    reader = open_reader(
        f"sim://card?protocol={protocol}&debounce={debounce}",
        events,
        name=f"card-{protocol}",
        backoff_min=0.02,
        backoff_max=0.1,
        frame_timeout=0.15,
        poll_interval=0.03,
    )
    assert isinstance(reader, CardReader)
    sim = get_sim(f"card-{protocol}")
    assert isinstance(sim, SimCardReader)
    reader.start()
    return reader, sim, events


def uid_for(protocol: str) -> str:
    return EXPECTED[protocol][-6:] if protocol == "wiegand" else EXPECTED[protocol][-8:]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_tap_arrives_as_one_event_with_the_raw_uid(protocol: str) -> None:
    reader, sim, events = start_reader(protocol)
    try:
        assert wait_until(lambda: "connected" in events.statuses())
        sim.tap(uid_for(protocol))
        assert wait_until(lambda: events.taps() == [EXPECTED[protocol]])
        tap = next(e for e in events.items if e.kind == "tap")
        assert tap.device == f"card-{protocol}" and tap.protocol == protocol
    finally:
        reader.stop()
    assert events.statuses()[-1] == "stopped"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_garbled_and_truncated_frames_are_dropped_and_counted(protocol: str) -> None:
    reader, sim, events = start_reader(protocol)
    try:
        assert wait_until(lambda: reader.stats.connected)
        sim.garbled()
        if protocol != "pn532":
            sim.partial()  # half a frame, then silence
        assert wait_until(lambda: reader.stats.garbled >= (1 if protocol == "pn532" else 2))
        sim.tap(uid_for(protocol))
        assert wait_until(lambda: events.taps() == [EXPECTED[protocol]])
    finally:
        reader.stop()


@pytest.mark.parametrize("protocol", ["rdm6300", "rc5xx", "wiegand", "wedge"])
def test_a_frame_split_across_reads_is_put_back_together(protocol: str) -> None:
    reader, sim, events = start_reader(protocol)
    try:
        assert wait_until(lambda: reader.stats.connected)
        sim.tap_split(uid_for(protocol), parts=4, gap=0.01)
        assert wait_until(lambda: events.taps() == [EXPECTED[protocol]])
        assert reader.stats.garbled == 0
    finally:
        reader.stop()


@pytest.mark.parametrize("protocol", ["rdm6300", "pn532"])
def test_a_card_held_on_the_reader_is_one_tap(protocol: str) -> None:
    reader, sim, events = start_reader(protocol, debounce=1.0)
    try:
        assert wait_until(lambda: reader.stats.connected)
        if protocol == "pn532":
            sim.tap(uid_for(protocol), hold=0.4)  # answered on every poll while held
        else:
            for _ in range(5):  # the RDM6300 repeats its frame while the card is there
                sim.tap(uid_for(protocol))
        assert wait_until(lambda: reader.stats.debounced >= 2)
        assert events.taps() == [EXPECTED[protocol]]
    finally:
        reader.stop()


def test_two_different_cards_are_two_taps() -> None:
    reader, sim, events = start_reader("rdm6300")
    try:
        assert wait_until(lambda: reader.stats.connected)
        sim.tap("0000000001")
        sim.tap("0000000002")
        assert wait_until(lambda: events.taps() == ["0000000001", "0000000002"])
    finally:
        reader.stop()


@pytest.mark.parametrize("protocol", ["rdm6300", "pn532"])
def test_an_unplugged_reader_reconnects_by_itself(protocol: str) -> None:
    # A PN532 reports a card at every poll while it is held: the debounce makes the held card
    # one tap (with none, the taps grow every 30 ms and "exactly one" is a race with the poll).
    # The card stays a second, as a hand does, so a busy machine's reader still polls it.
    reader, sim, events = start_reader(protocol, debounce=5.0)
    try:
        assert wait_until(lambda: reader.stats.connected)
        sim.unplug()
        assert wait_until(lambda: "disconnected" in events.statuses())
        assert not reader.stats.connected
        sim.plug()
        assert wait_until(lambda: reader.stats.connected and reader.stats.reconnects == 1)
        sim.tap(uid_for(protocol), hold=1.0)
        assert wait_until(lambda: events.taps() == [EXPECTED[protocol]])
        assert events.statuses()[:3] == ["connected", "disconnected", "connected"]
    finally:
        reader.stop()


def test_a_reader_missing_at_startup_connects_when_plugged_in() -> None:
    reader, sim, events = start_reader("rc5xx")
    try:
        assert wait_until(lambda: reader.stats.connected)
        reader.stop()
        sim.unplug()
        events.items.clear()
        reader.start()
        assert wait_until(lambda: events.statuses() == ["disconnected"])
        sim.plug()
        assert wait_until(lambda: reader.stats.connected)
    finally:
        reader.stop()


def test_a_failing_handler_does_not_kill_the_reader() -> None:
    seen: list[str | None] = []

    def handler(event: ReaderEvent) -> None:
        if event.kind == "tap":
            seen.append(event.uid)
            raise RuntimeError("UI bug")

    reader = open_reader("sim://card?protocol=rdm6300&debounce=0", handler, name="flaky")
    sim = get_sim("flaky")
    assert isinstance(sim, SimCardReader) and isinstance(reader, CardReader)
    reader.start()
    try:
        assert wait_until(lambda: reader.stats.connected)
        sim.tap("0000000001")
        sim.tap("0000000002")
        assert wait_until(lambda: len(seen) == 2)
        assert reader.running
    finally:
        reader.stop()


def test_pn532_answers_firmware_and_polling_like_the_chip() -> None:
    reader, sim, events = start_reader("pn532")
    try:
        assert wait_until(lambda: 0x4A in sim.commands)
        assert sim.commands[0] == 0x14  # SAMConfiguration first
    finally:
        reader.stop()


def test_keyboard_url_gives_a_wedge_fed_by_the_ui() -> None:
    events = Events()
    wedge = open_reader("keyboard://", events, name="desk-wedge", max_gap=10.0)
    assert isinstance(wedge, KeyboardWedge)
    wedge.start()
    for key in "0305419896":
        wedge.feed(key)
    assert wedge.feed("enter") is not None
    assert events.taps() == ["12345678"]
