"""On-screen QR codes: every cell is a glyph (no spaces a renderer could collapse), and what a
person sees — white blocks as light — scans back to the payload."""

from __future__ import annotations

from kiosk.ui.widgets.qr import LIGHT_STYLE, QRView, qr_text


def seen(text) -> list[str]:  # type: ignore[no-untyped-def]
    rows = []
    for line in text.split("\n"):
        chars = list(line.plain)
        for span in line.spans:
            if span.style == LIGHT_STYLE:
                chars[span.start : span.end] = " " * (span.end - span.start)
        rows.append("".join(chars))
    return rows


def scan(rows: list[str]) -> list[str]:
    import zxingcpp
    from PIL import Image

    dark = {" ": (0, 0), "▀": (1, 0), "▄": (0, 1), "█": (1, 1)}
    img = Image.new("L", (len(rows[0]) * 4, len(rows) * 8), 255)
    for y, row in enumerate(rows):
        for x, ch in enumerate(row):
            for half, on in enumerate(dark[ch]):
                if on:
                    img.paste(0, (x * 4, (2 * y + half) * 4, x * 4 + 4, (2 * y + half) * 4 + 4))
    return [r.text for r in zxingcpp.read_barcodes(img)]


def test_no_blank_cells_and_it_scans() -> None:
    payload = "https://estate.invalid/r/SK20261123A1B2C3D4"
    text = qr_text(payload)
    assert " " not in text.plain and "\u00a0" not in text.plain
    rows = seen(text)
    assert rows[0].strip() == ""  # the quiet zone is there, drawn as white blocks
    assert scan(rows) == [payload]


def test_the_widget_renders_the_same() -> None:
    view = QRView("KP1.0123456789abcdef")
    assert view.render().plain == qr_text("KP1.0123456789abcdef").plain
