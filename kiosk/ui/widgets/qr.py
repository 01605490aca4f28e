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
    """The code as half-block rows with no blank cells: a light/light cell is a full block
    drawn white, so every cell is a glyph of the cell's width. Renderers that collapse or
    narrow spaces (librsvg turning a snapshot SVG into a PNG collapses leading non-breaking
    spaces) then still draw every module in its place, and the quiet zone stays."""
    matrix = QRCode(payload, ec=ec).matrix  # type: ignore[arg-type]
    if len(matrix) % 2:
        matrix = [*matrix, [False] * len(matrix[0])]
    text = Text(no_wrap=True, overflow="crop")
    for i in range(0, len(matrix), 2):
        if i:
            text.append("\n")
        for top, bottom in zip(matrix[i], matrix[i + 1], strict=True):
            if top and bottom:
                text.append("█", QR_STYLE)
            elif not top and not bottom:
                text.append("█", LIGHT_STYLE)
            else:
                text.append("▀" if top else "▄", QR_STYLE)
    return text


class QRView(Widget):
    """Shows ``payload`` as a scannable QR code."""

    DEFAULT_CSS = """
    QRView { width: auto; height: auto; }
    """

    def __init__(self, payload: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.payload = payload
        self.ec = "M"
        self._rows = QRCode(payload, ec=self.ec).halfblock_rows()

    def get_content_width(self, container, viewport) -> int:  # type: ignore[no-untyped-def]
        return len(self._rows[0]) if self._rows else 0

    def get_content_height(self, container, viewport, width) -> int:  # type: ignore[no-untyped-def]
        return len(self._rows)

    def render(self) -> Text:
        return qr_text(self.payload, self.ec)
