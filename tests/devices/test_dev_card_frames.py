"""Card frame parsers: the VECTORS.md frames, round trips, split frames, and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.cards import (
    KeyboardWedge,
    normalize_uid_text,
    pn532,
    rc5xx,
    rdm6300,
    uid_forms,
    wedge,
    wiegand,
)
from devices.cards.common import ParseResult
from devices.cards.reader import PROTOCOLS

# -- the published vectors ---------------------------------------------------------------------


def test_rdm6300_vector() -> None:
    frame = b"\x02" + b"3C00A1B2C3EC" + b"\x03"
    assert rdm6300.build_frame("3C00A1B2C3") == frame
    assert rdm6300.parse(frame) == ParseResult(["3C00A1B2C3"], b"", 0)


def test_pn532_get_firmware_version_and_ack_vectors() -> None:
    assert pn532.get_firmware_version() == bytes.fromhex("0000FF02FED4022A00")
    assert bytes.fromhex("0000FF00FF00") == pn532.ACK
    frames = pn532.parse_frames(pn532.ACK + pn532.get_firmware_version()).items
    assert frames[0].kind == "ack"
    assert (frames[1].tfi, frames[1].command) == (0xD4, 0x02)


def test_pn532_polling_command_and_answer_give_the_uid() -> None:
    poll = pn532.in_list_passive_target()
    assert poll[5:-2] == bytes.fromhex("D44A0100")
    answer = pn532.target_response("12345678")
    assert pn532.parse(pn532.ACK + answer) == ParseResult(["12345678"], b"", 0)
    assert pn532.parse(pn532.target_response(None)).items == []


def test_rc5xx_vector_and_stuffing() -> None:
    frame = bytes.fromhex("AABB060000000101 0303".replace(" ", ""))
    assert rc5xx.build_frame(0, 0x0101, b"\x03") == frame
    parsed = rc5xx.parse_frames(frame).items
    assert parsed == [rc5xx.Frame(0, 0x0101, b"\x03")]
    stuffed = rc5xx.build_uid_frame("AA00AABB")
    assert stuffed[2:].count(b"\xaa\x00") == 2  # both 0xAA UID bytes are stuffed
    assert rc5xx.parse(stuffed).items == ["AA00AABB"]


def test_one_uid_several_printed_forms() -> None:
    forms = uid_forms("12345678")
    assert {"12345678", "0305419896", "2018915346", "052,22136"} <= forms
    assert normalize_uid_text("305419896") == "0305419896"
    assert normalize_uid_text("52,22136") == "052,22136"
    assert normalize_uid_text("0x12:34:56:78") == "12345678"
    assert normalize_uid_text("12 34 56 7a") == "1234567A"
    assert normalize_uid_text("hello") is None
    assert normalize_uid_text("") is None
    # An EM4100 fob's label shows the decimal of its low 4 bytes.
    assert "0010597059" in uid_forms("3C00A1B2C3")


def test_wiegand_26_and_34_with_parity() -> None:
    bits = wiegand.encode_w26(52, 22136)
    assert len(bits) == 26
    assert wiegand.decode_line(bits) == "345678"
    assert wiegand.decode_line("052,22136") == "345678"
    flipped = bits[:5] + ("0" if bits[5] == "1" else "1") + bits[6:]
    assert wiegand.decode_line(flipped) is None  # parity catches a flipped bit
    w34 = wiegand.encode_bits(bytes.fromhex("12345678"))
    assert len(w34) == 34 and wiegand.decode_line(w34) == "12345678"


def test_wedge_line_is_the_ten_digit_decimal() -> None:
    assert wedge.build_line("12345678") == b"0305419896\r\n"
    assert wedge.parse(b"0305419896\r\n").items == ["12345678"]


# -- round trips and split frames for every protocol -------------------------------------------

uids4 = st.binary(min_size=4, max_size=4).map(lambda b: b.hex().upper())
BUILDERS = {
    "rdm6300": (lambda u: rdm6300.build_frame("00" + u), lambda u: "00" + u),
    "pn532": (pn532.target_response, lambda u: u),
    "rc5xx": (rc5xx.build_uid_frame, lambda u: u),
    "wiegand": (lambda u: wiegand.build_line(u), lambda u: u),
    "wedge": (wedge.build_line, lambda u: u),
}


@pytest.mark.parametrize("protocol", sorted(BUILDERS))
@settings(max_examples=60, deadline=None)
@given(uids=st.lists(uids4, min_size=1, max_size=4), cut=st.integers(min_value=0, max_value=200))
def test_valid_frames_round_trip_even_when_split(protocol: str, uids: list[str], cut: int) -> None:
    build, expect = BUILDERS[protocol]
    parse = PROTOCOLS[protocol].parse
    stream = b"".join(build(u) for u in uids)
    assert parse(stream) == ParseResult([expect(u) for u in uids], b"", 0)
    cut = min(cut, len(stream))
    first = parse(stream[:cut])
    second = parse(first.rest + stream[cut:])
    assert first.items + second.items == [expect(u) for u in uids]
    assert first.dropped == second.dropped == 0


@pytest.mark.parametrize("protocol", sorted(BUILDERS))
@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=120))
def test_parsers_never_raise_on_arbitrary_bytes(protocol: str, data: bytes) -> None:
    result = PROTOCOLS[protocol].parse(data)
    assert data.endswith(result.rest)
    assert len(result.rest) <= len(data)
    assert result.dropped >= 0


@pytest.mark.parametrize("protocol", sorted(BUILDERS))
@settings(max_examples=60, deadline=None)
@given(noise=st.binary(min_size=1, max_size=20), uid=uids4)
def test_a_good_frame_after_garbage_terminated_by_silence_still_parses(
    protocol: str, noise: bytes, uid: str
) -> None:
    build, expect = BUILDERS[protocol]
    parse = PROTOCOLS[protocol].parse
    # The reader drops a stale partial after a silent gap; emulate that, then a real frame.
    leftover = parse(noise).rest
    del leftover  # dropped by the reader's frame timeout
    assert parse(build(uid)).items == [expect(uid)]


@pytest.mark.parametrize("protocol", ["rdm6300", "rc5xx", "pn532"])
def test_corrupted_frame_is_dropped_and_counted(protocol: str) -> None:
    build, expect = BUILDERS[protocol]
    bad = bytearray(build("12345678"))
    bad[-2 if protocol != "pn532" else -3] ^= 0x5A
    result = PROTOCOLS[protocol].parse(bytes(bad) + build("0A0B0C0D"))
    assert result.items == [expect("0A0B0C0D")]
    assert result.dropped >= 1


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=30))
def test_normalize_uid_text_never_raises_and_lands_in_the_forms(text: str) -> None:
    out = normalize_uid_text(text)
    assert out is None or isinstance(out, str)


@settings(max_examples=100, deadline=None)
@given(uid=st.binary(min_size=3, max_size=7).map(lambda b: b.hex().upper()))
def test_every_printed_form_normalizes_back_into_the_forms(uid: str) -> None:
    forms = uid_forms(uid)
    for form in forms:
        if form == uid and form.isdigit():
            continue  # documented: all-digit text is read as decimal, never as hex
        assert normalize_uid_text(form) in forms


# -- keyboard wedge accumulator ----------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_keyboard_wedge_turns_fast_digits_and_enter_into_a_tap() -> None:
    clock = FakeClock()
    events = []
    wedge_reader = KeyboardWedge(events.append, clock=clock)
    for key in "0305419896":
        assert wedge_reader.feed(key) is None
        clock.now += 0.01
    tap = wedge_reader.feed("enter")
    assert tap is not None and tap.uid == "12345678" and tap.text == "0305419896"
    assert events == [tap]
    # The same card again within the debounce window is the same tap.
    for key in ["0", "3", "0", "5", "4", "1", "9", "8", "9", "6", "enter"]:
        clock.now += 0.01
        wedge_reader.feed(key)
    assert wedge_reader.stats.taps == 1 and wedge_reader.stats.debounced == 1


def test_keyboard_wedge_ignores_a_person_typing_slowly() -> None:
    clock = FakeClock()
    wedge_reader = KeyboardWedge(clock=clock)
    for key in "0305419896":
        wedge_reader.feed(key)
        clock.now += 0.5
    assert wedge_reader.feed("enter") is None
    assert wedge_reader.stats.taps == 0
