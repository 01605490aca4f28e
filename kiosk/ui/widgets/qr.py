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


class QRView(Widget):
    """Shows ``payload`` as a scannable QR code."""

    DEFAULT_CSS = """
    QRView { width: auto; height: auto; }
    """

    def __init__(self, payload: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.payload = payload
        self._rows = QRCode(payload).halfblock_rows()

    def get_content_width(self, container, viewport) -> int:  # type: ignore[no-untyped-def]
        return len(self._rows[0]) if self._rows else 0

    def get_content_height(self, container, viewport, width) -> int:  # type: ignore[no-untyped-def]
        return len(self._rows)

    def render(self) -> Text:
        return Text("\n".join(self._rows), style=QR_STYLE, no_wrap=True, overflow="crop")
