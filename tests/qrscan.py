"""Reading an on-screen QR back as a person (or a phone) would: white blocks are light, the
half-block rows become a picture, zxing-cpp scans it."""

from __future__ import annotations

from typing import Any


def seen_rows(rendered: Any) -> list[str]:
    """The half-block rows a person sees from a rendered QR (a rich ``Text`` from
    :func:`kiosk.ui.widgets.qr.qr_text`, or a Static's Textual ``Content`` of it): a block drawn
    white (a light pair) reads as blank."""
    from kiosk.ui.widgets.qr import LIGHT_STYLE

    rows = []
    for line in rendered.split("\n"):
        chars = list(line.plain)
        for span in line.spans:
            style = span.style
            fg = getattr(style, "color", None) or getattr(style, "foreground", None)
            if style == LIGHT_STYLE or str(getattr(fg, "hex", fg)).lower() in ("#ffffff", "white"):
                for i in range(span.start, span.end):
                    chars[i] = " "
        rows.append("".join(chars))
    return rows


def decode_halfblocks(rows: list[str]) -> list[str]:
    """Draw the rows as a picture and scan it; the payloads found."""
    import zxingcpp
    from PIL import Image

    dark = {" ": (0, 0), "▀": (1, 0), "▄": (0, 1), "█": (1, 1)}
    scale = 6
    img = Image.new("L", (len(rows[0]) * scale, len(rows) * 2 * scale), 255)
    for y, row in enumerate(rows):
        for x, ch in enumerate(row):
            for half, on in enumerate(dark[ch]):
                if on:
                    top = (2 * y + half) * scale
                    img.paste(0, (x * scale, top, (x + 1) * scale, top + scale))
    return [r.text for r in zxingcpp.read_barcodes(img)]
