"""A signature pad: strokes drawn with a finger or the mouse (touch arrives as mouse events).

One pad for every service that takes a signature (a parcel pickup, a repair's sign-off, an item
release pass, a key handover, the desk's signature fields). What counts as a signature is the
core's rule (:func:`kiosk.signatures.is_meaningful`), the same one the services check again.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.widget import Widget

from kiosk import signatures

Point = tuple[int, int]


class SignaturePad(Widget):
    """Records strokes (lists of cell points); each press-drag-release is one stroke, drawn as
    a line through its points. Paper-white with black ink on every theme."""

    DEFAULT_CSS = """
    SignaturePad {
        border: round $accent; height: 10; width: 1fr;
        background: #ffffff; color: #000000;
    }
    """
    can_focus = True

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.strokes: list[list[Point]] = []
        self._drawing = False

    def clear(self) -> None:
        self.strokes = []
        self.refresh()

    def is_meaningful(self) -> bool:
        """More than a tap or a dot (:func:`kiosk.signatures.is_meaningful`)."""
        return signatures.is_meaningful(self.strokes)

    def to_json(self) -> list[list[list[int]]]:
        return [[[x, y] for x, y in stroke] for stroke in self.strokes]

    def to_png(self, scale: int = 8) -> bytes:
        """The strokes as a PNG, black on white (:func:`kiosk.signatures.to_png`)."""
        return signatures.to_png(self.to_json(), scale=scale)

    # The pad's mouse events stop here: a bubbled mouse event reaching the app is forwarded
    # again by its screen position, to whatever widget is there (the same pad, drawing each
    # stroke twice, or another one).
    def on_mouse_down(self, event: events.MouseDown) -> None:
        event.stop()
        self._drawing = True
        self.capture_mouse()
        self.strokes.append([self._point(event)])
        self.refresh()

    def _point(self, event: events.MouseEvent) -> Point:
        """Where the finger is, in the cells the ink is drawn in: inside the frame (the
        event's own x and y count from the frame's corner, so the ink would land a row below
        and a column right of the finger), kept on the paper when a stroke runs off it."""
        at = event.get_content_offset_capture(self)
        width, height = max(self.content_size.width, 1), max(self.content_size.height, 1)
        return (min(max(at.x, 0), width - 1), min(max(at.y, 0), height - 1))

    def on_mouse_move(self, event: events.MouseMove) -> None:
        event.stop()
        if self._drawing and self.strokes:
            point = self._point(event)
            if self.strokes[-1][-1] != point:
                self.strokes[-1].append(point)
                self.refresh()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        event.stop()
        if self._drawing:
            self._drawing = False
            self.release_mouse()

    def render(self) -> Any:
        width, height = max(self.content_size.width, 1), max(self.content_size.height, 1)
        grid = [[" "] * width for _ in range(height)]
        for stroke in self.strokes:
            for (x0, y0), (x1, y1) in zip(stroke, stroke[1:] or stroke, strict=False):
                steps = max(abs(x1 - x0), abs(y1 - y0), 1)
                for i in range(steps + 1):
                    x = round(x0 + (x1 - x0) * i / steps)
                    y = round(y0 + (y1 - y0) * i / steps)
                    if 0 <= x < width and 0 <= y < height:
                        grid[y][x] = "█"
        return Text("\n".join("".join(row) for row in grid))


async def draw_strokes(pilot: Any, pad: Widget, strokes: Any) -> None:
    """Sign on ``pad`` as a finger would (tests and ``kiosk simulate``): MouseDown, MouseMoves,
    MouseUp per stroke of ``(x, y)`` points, cells of the paper inside the frame. Pilot has no
    drag, so the events are posted to the pad directly, where a finger on those cells is."""
    left, top = pad.gutter.left, pad.gutter.top
    for paper in strokes:
        stroke = [(x + left, y + top) for x, y in paper]
        (x, y), rest = stroke[0], stroke[1:]
        # widget, x, y, delta_x, delta_y, button, shift, meta, ctrl
        pad.post_message(events.MouseDown(pad, x, y, 0, 0, 1, False, False, False))
        for x, y in rest:
            pad.post_message(events.MouseMove(pad, x, y, 0, 0, 1, False, False, False))
        pad.post_message(events.MouseUp(pad, x, y, 0, 0, 1, False, False, False))
        await pilot.pause()
