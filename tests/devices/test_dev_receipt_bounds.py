"""``kiosk receipt decode`` on hostile bytes: what decoding and the PNG preview may cost is bounded
by the input and by the paper, never by the sizes written in the stream.

Memory is measured with ``tracemalloc`` (peak of the Python allocations during the call), not
with the wall clock: each bound below is a fixed paper-size allowance plus a small multiple of
the input's length.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.printer import Receipt, render_escpos
from devices.receipt_decode import (
    BARCODE_DOTS,
    CUT_DOTS,
    DOUBLE_LINE_DOTS,
    GAP_DOTS,
    LINE_DOTS,
    MAX_DOTS,
    MAX_PAPER_DOTS,
    MAX_PNG_DOTS,
    DecodedReceipt,
    decode_escpos,
    to_png,
)

MB = 1 << 20
# What one roll of decoded paper may hold in Python objects (21,333 empty lines cost ~4 MB).
PAPER_ALLOWANCE = 8 * MB
# Objects made per input byte at most (a line, a barcode, an image header...).
PER_BYTE = 256
# The PNG preview: (576 + 2 * 16) x (16,000 + 32) grey bytes, plus drawing.
PNG_ALLOWANCE = 16 * MB


def peak(fn: Callable[[], Any]) -> tuple[Any, int]:
    """``fn()`` and the peak of the memory Python allocated while it ran."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def paper_used(decoded: DecodedReceipt) -> int:
    """Dots of paper the decoded items take (as the decoder counts them, QR codes at least)."""
    total = 0
    for kind, item in decoded.items:
        if kind == "text":
            total += DOUBLE_LINE_DOTS if item.double else LINE_DOTS
        elif kind == "image":
            total += item.height + GAP_DOTS
        elif kind == "barcode":
            total += BARCODE_DOTS
        elif kind == "cut":
            total += CUT_DOTS
    return total


def assert_bounded(data: bytes, decoded: DecodedReceipt) -> None:
    assert decoded.size == len(data)
    assert paper_used(decoded) <= MAX_PAPER_DOTS
    assert len(decoded.lines) <= MAX_PAPER_DOTS // LINE_DOTS
    # Text comes from the input: a tab is at most 8 spaces, any other byte at most 1 character.
    assert sum(len(line) for line in decoded.lines) <= 8 * len(data)
    for image in decoded.images:
        assert 0 < image.width <= MAX_DOTS
        assert len(image.data) == image.width // 8 * image.height
    assert sum(len(image.data) for image in decoded.images) <= len(data)
    assert len(decoded.warnings) <= 50


# -- the three reported attacks --------------------------------------------------------------


def test_a_110_byte_raster_header_cannot_claim_gigabytes() -> None:
    # GS v 0: 65535 bytes x 65535 rows declared (4 GB of bits; 23.7 GB once previewed).
    huge = b"\x1b@" + b"\x1dv0\x00\xff\xff\xff\xff" + b"\xaa" * 100
    decoded, used = peak(lambda: decode_escpos(huge))
    assert len(huge) == 110
    assert decoded.images == [] and "576" in decoded.warnings[0]  # wider than any paper
    assert used < 64 * 1024

    # As wide as 80 mm paper (72 bytes = 576 dots) but 65535 rows: only the rows sent exist.
    tall = b"\x1b@" + b"\x1dv0\x00\x48\x00\xff\xff" + b"\xaa" * 100
    decoded, used = peak(lambda: decode_escpos(tall))
    assert [(i.width, i.height) for i in decoded.images] == [(576, 1)]
    assert any("truncated (1 of 65535 rows)" in w for w in decoded.warnings)
    assert used < 64 * 1024
    image, used = peak(lambda: to_png(decoded))
    assert image.size == (576 + 32, 1 + GAP_DOTS + 32)
    assert used < 2 * MB
    assert image.getpixel((16, 16)) == 0 and image.getpixel((17, 16)) == 255  # 0xAA = 1010...


def test_300_kb_of_feeds_stop_at_the_end_of_a_roll() -> None:
    feeds = b"\x1bd\xff" * 100_000  # 25.5 million blank lines asked for (15 GB before)
    decoded, used = peak(lambda: decode_escpos(feeds))
    assert len(decoded.lines) == MAX_PAPER_DOTS // LINE_DOTS
    assert any("longer than a roll" in w for w in decoded.warnings)
    assert used < PAPER_ALLOWANCE
    assert_bounded(feeds, decoded)
    image, used = peak(lambda: to_png(decoded))
    assert image.size[1] <= MAX_PNG_DOTS + 32
    assert used < PNG_ALLOWANCE


def test_a_10_mb_text_line_is_decoded_in_linear_time_and_space() -> None:
    line = b"A" * 10_000_000  # one string built piece by piece was quadratic
    decoded, used = peak(lambda: decode_escpos(line))
    assert [len(x) for x in decoded.lines] == [10_000_000]
    assert used < 3 * len(line)
    image, used = peak(lambda: to_png(decoded))
    assert image.size == (576 + 32, LINE_DOTS + 32)  # the paper's width, not the line's
    assert used < 2 * MB


def test_long_chinese_tabbed_and_code_page_lines_stay_linear() -> None:
    cases = {
        "gb18030": b"\x1c&" + "取件".encode("gb18030") * 250_000,
        "tabs": b"\tA" * 500_000,
        "tabs after chinese": b"\x1c&" + ("取".encode("gb18030") + b"\t") * 20_000,
        "cp437": b"\xb0" * 200_000,
        "chinese mode single bytes": b"\x1c&" + b"\xff\x80" * 30_000,
    }
    for name, data in cases.items():
        decoded, used = peak(lambda data=data: decode_escpos(data))  # type: ignore[misc]
        assert len(decoded.lines) == 1, name
        assert used < 2 * MB + 12 * len(data), (name, used)
        assert_bounded(data, decoded)
    tabbed = decode_escpos(b"\x1c&" + ("取".encode("gb18030") + b"\t") * 3)
    assert tabbed.lines == ["取      取      取"]  # tab stops every 8 columns, 取 takes 2


def test_the_preview_stops_at_two_metres_of_paper() -> None:
    slip = render_escpos(Receipt().title("取件凭条").qr("https://k.example/1").cut(), 58)
    decoded = decode_escpos(slip * 200)
    assert decoded.cuts == 200
    image, used = peak(lambda: to_png(decoded))
    assert image.size[1] <= MAX_PNG_DOTS + 32
    assert used < PNG_ALLOWANCE


def test_a_qr_payload_no_symbol_can_hold_is_previewed_as_a_placeholder() -> None:
    payload = b"x" * 4000
    body = b"1P0" + payload
    stream = b"\x1d(k" + bytes([len(body) & 0xFF, len(body) >> 8]) + body + b"\x1d(k\x03\x001Q0"
    decoded = decode_escpos(stream)
    assert decoded.qr_codes == ["x" * 4000]
    image = to_png(decoded)
    assert image.size[1] == BARCODE_DOTS + 32


# -- arbitrary bytes --------------------------------------------------------------------------

# Commands with sizes in them, so the fuzzer reaches the length fields quickly.
_COMMANDS = st.sampled_from(
    [b"\x1bd", b"\x1dv0\x00", b"\x1d(k", b"\x1dk", b"\x1b*", b"\x1d8L", b"\x1d*", b"\x1c&",
     b"\x1c.", b"\x1b!\x30", b"\x1dV\x41", b"\t", b"\n", b"\x1bD", b"\x10\x04"]
)  # fmt: skip
_STREAMS = st.one_of(
    st.binary(max_size=4096),
    st.lists(st.one_of(_COMMANDS, st.binary(max_size=8)), max_size=400).map(b"".join),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_STREAMS)
def test_decoding_any_bytes_is_bounded_by_the_input_and_the_paper(data: bytes) -> None:
    decoded, used = peak(lambda: decode_escpos(data))
    assert used < PAPER_ALLOWANCE + PER_BYTE * len(data)
    assert_bounded(data, decoded)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_STREAMS)
def test_previewing_any_bytes_is_bounded_by_the_paper(data: bytes) -> None:
    decoded = decode_escpos(data)
    image, used = peak(lambda: to_png(decoded))
    width, height = image.size
    assert width in (384 + 32, 576 + 32) and height <= MAX_PNG_DOTS + 32
    assert used < PNG_ALLOWANCE + PER_BYTE * len(data)
