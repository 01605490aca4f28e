"""On-screen QR codes: every cell is a glyph (no spaces a renderer could collapse), and what a
person sees — white blocks as light — scans back to the payload."""

from __future__ import annotations

from kiosk.ui.widgets.qr import QRView, qr_text
from tests.qrscan import decode_halfblocks, seen_rows


def test_no_blank_cells_and_it_scans() -> None:
    payload = "https://estate.invalid/r/SK20261123A1B2C3D4"
    text = qr_text(payload)
    assert " " not in text.plain and "\u00a0" not in text.plain
    rows = seen_rows(text)
    assert rows[0].strip() == ""  # the quiet zone is there, drawn as white blocks
    assert decode_halfblocks(rows) == [payload]


def test_the_widget_renders_the_same() -> None:
    view = QRView("KP1.0123456789abcdef")
    assert view.render().plain == qr_text("KP1.0123456789abcdef").plain
