"""Tracking numbers from a keyboard-wedge scanner, and the carrier guessed from the format."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.parcels.carriers import detect_carrier, is_valid_tracking, normalise_tracking
from plugins.parcels.signature import is_meaningful, to_png


@pytest.mark.parametrize(
    ("number", "carrier"),
    [
        ("SF1234567890123", "SF"),
        ("sf123456789012", "SF"),
        ("JDVA12345678901", "JD"),
        ("JT0001234567890", "JT"),
        ("YT1234567890123", "YTO"),
        ("EA123456789CN", "EMS"),
        ("731234567890", "ZTO"),
        ("268123456789", "STO"),
        ("4312345678901", "YUNDA"),
    ],
)
def test_known_formats_name_their_carrier(number: str, carrier: str) -> None:
    assert detect_carrier(number).carrier == carrier


def test_ambiguous_digits_are_left_to_the_desk() -> None:
    guess = detect_carrier("1012345678901")  # Yunda or EMS domestic
    assert guess.carrier == "" and set(guess.candidates) == {"YUNDA", "EMS"}
    assert detect_carrier("ABC12345").candidates == ()


@given(st.integers(min_value=12, max_value=15), st.data())
def test_sf_plus_12_to_15_digits_is_always_sf(n: int, data: st.DataObject) -> None:
    digits = data.draw(st.text("0123456789", min_size=n, max_size=n))
    assert detect_carrier("SF" + digits).carrier == "SF"


@given(st.text())
def test_normalising_is_idempotent_and_detection_never_raises(raw: str) -> None:
    clean = normalise_tracking(raw)
    assert normalise_tracking(clean) == clean
    assert not any(c.isspace() for c in clean)
    detect_carrier(raw)
    is_valid_tracking(clean)


@given(
    st.text("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", min_size=8, max_size=30),
    st.sampled_from(["\r", "\n", "\t", "\r\n", " ", ""]),
)
def test_the_enter_a_scanner_sends_does_not_change_the_number(body: str, tail: str) -> None:
    assert normalise_tracking(body + tail) == body
    assert is_valid_tracking(normalise_tracking(" " + body.lower() + tail))


POINTS = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 20)), max_size=30)


@given(st.lists(POINTS, max_size=5))
def test_a_meaningful_signature_always_renders_to_png(strokes: list) -> None:
    strokes = [[list(p) for p in s] for s in strokes]
    if is_meaningful(strokes):
        assert to_png(strokes).startswith(b"\x89PNG")


@given(st.tuples(st.integers(0, 60), st.integers(0, 20)), st.integers(1, 30))
def test_a_dot_is_never_a_signature_however_often_it_is_tapped(dot, taps: int) -> None:
    assert not is_meaningful([[list(dot)] for _ in range(taps)])
    assert not is_meaningful([])
