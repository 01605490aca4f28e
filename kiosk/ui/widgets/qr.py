"""A QR code drawn with half-blocks, black on white, with the 4-module quiet zone.

Colours are explicit hex (named colours pass through the theme and come out grey, which some
phone scanners refuse); a version-3 code is 37 columns x 19 rows.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.containers import ScrollableContainer
from textual.css.query import NoMatches
from textual.widget import Widget

from devices.qr import HALFBLOCK_BG, HALFBLOCK_FG, QUIET_ZONE, QRCode
from kiosk.ui.widgets.text import Static

QR_STYLE = Style(color=HALFBLOCK_FG, bgcolor=HALFBLOCK_BG)
LIGHT_STYLE = Style(color=HALFBLOCK_BG, bgcolor=HALFBLOCK_BG)


def fit_qr_text(payload: str, max_rows: int, ec: str = "M") -> Text:
    """The QR for ``payload`` in at most ``max_rows`` terminal rows where it can be: at level
    ``ec`` with the standard quiet zone if it fits, else at level L (a smaller version), else
    with a 2-module quiet zone (what phone scanners need), else the smallest of these.

    At 80x24 a screen has 18 rows between the bar and the foot: a payment link of some 50
    characters is version 4 at level M (21 rows), version 3 at L with a 2-module margin
    (17 rows)."""
    tries = [(ec, QUIET_ZONE), ("L", QUIET_ZONE), (ec, 2), ("L", 2)]
    text = Text()
    for level, quiet in tries:
        text = qr_text(payload, level, quiet)
        if len(text.plain.split("\n")) <= max_rows:
            return text
    return text


def qr_text(payload: str, ec: str = "M", quiet: int = QUIET_ZONE) -> Text:
    """:meth:`devices.qr.QRCode.halfblock_rows` with no blank cells: a light pair (a space
    there) is a full block drawn white, so every cell is a glyph of the cell's width.
    Renderers that collapse or narrow spaces (librsvg turning a snapshot SVG into a PNG
    collapses leading non-breaking spaces) then still draw every module in its place, and the
    quiet zone stays."""
    text = Text(no_wrap=True, overflow="crop")
    for i, row in enumerate(QRCode(payload, ec=ec).halfblock_rows(quiet)):
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


class FittedQR(Static):
    """A scannable QR that fits the room its screen gives it: drawn at the standard size, then,
    once laid out, redrawn smaller (:func:`fit_qr_text`) if its scrolling container is shorter,
    so a phone sees the whole code at 80x24 without scrolling."""

    DEFAULT_CSS = "FittedQR { width: auto; height: auto; }"

    def __init__(self, payload: str, ec: str = "M", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.payload = payload
        self.ec = ec

    def on_mount(self) -> None:
        text = qr_text(self.payload, self.ec)
        self.rows = len(text.plain.split("\n"))
        self.update(text)
        self.call_after_refresh(self.fit)

    def room(self) -> int:
        """Rows the code may take: from where it starts to the bottom of its scrolling
        container (else the screen), so a title above it counts."""
        try:
            box: Widget = self.query_ancestor(ScrollableContainer)
        except NoMatches:
            box = self.screen
        region = box.content_region
        start = max(self.region.y, region.y) if self.region.height else region.y
        return region.bottom - start

    def on_resize(self) -> None:
        # Laid out (again): the first look may have come before the layout was final (on a
        # loaded kiosk), or the terminal changed size.
        self.call_after_refresh(self.fit)

    def fit(self) -> None:
        if not self.region.height:  # not laid out yet: on_resize looks again
            return
        rows = self.room()
        if rows and self.rows > rows:
            text = fit_qr_text(self.payload, rows, self.ec)
            self.rows = len(text.plain.split("\n"))
            self.update(text)
