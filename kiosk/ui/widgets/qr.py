"""A QR code drawn with half-blocks, black on white, with the 4-module quiet zone.

Colours are explicit hex (named colours pass through the theme and come out grey, which some
phone scanners refuse); a version-3 code is 37 columns x 19 rows.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from devices.qr import HALFBLOCK_BG, HALFBLOCK_FG, QRCode

QR_STYLE = Style(color=HALFBLOCK_FG, bgcolor=HALFBLOCK_BG)
LIGHT_STYLE = Style(color=HALFBLOCK_BG, bgcolor=HALFBLOCK_BG)


def qr_text(payload: str, ec: str = "M") -> Text:
    """:meth:`devices.qr.QRCode.halfblock_rows` with no blank cells: a light pair (a space
    there) is a full block drawn white, so every cell is a glyph of the cell's width.
    Renderers that collapse or narrow spaces (librsvg turning a snapshot SVG into a PNG
    collapses leading non-breaking spaces) then still draw every module in its place, and the
    quiet zone stays."""
    text = Text(no_wrap=True, overflow="crop")
    for i, row in enumerate(QRCode(payload, ec=ec).halfblock_rows()):
        if i:
            text.append("\n")
        for cell in row:
            if cell == " ":
                text.append("█", LIGHT_STYLE)
            else:
                text.append(cell, QR_STYLE)
    return text


class QRView(Widget):
    """Shows ``payload`` as a scannable QR code."""

    DEFAULT_CSS = """
    QRView { width: auto; height: auto; }
    """

    def __init__(self, payload: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.payload = payload
        self._text = qr_text(payload)  # encoded once, not on every render
        self._rows = self._text.plain.split("\n")

    def get_content_width(self, container, viewport) -> int:  # type: ignore[no-untyped-def]
        return len(self._rows[0]) if self._rows else 0

    def get_content_height(self, container, viewport, width) -> int:  # type: ignore[no-untyped-def]
        return len(self._rows)

    def render(self) -> Text:
        return self._text
