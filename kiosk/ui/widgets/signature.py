"""A signature pad: strokes drawn with a finger or the mouse (touch arrives as mouse events)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.widget import Widget

Point = tuple[int, int]


class SignaturePad(Widget):
    """Records strokes (lists of cell points); ``is_meaningful`` refuses empty or one-dot marks."""

    DEFAULT_CSS = """
    SignaturePad { border: round $accent; height: 10; width: 1fr; background: $surface; }
    """
    can_focus = True

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.strokes: list[list[Point]] = []
        self._drawing = False

    def clear(self) -> None:
        self.strokes = []
        self.refresh()

    def is_meaningful(self, min_points: int = 6, min_span: int = 3) -> bool:
        """More than a tap: enough points, spread over some width or height."""
        points = [p for stroke in self.strokes for p in stroke]
        if len(set(points)) < min_points:
            return False
        xs = [x for x, _ in points]
        ys = [y for _, y in points]
        return (max(xs) - min(xs)) + (max(ys) - min(ys)) >= min_span

    def to_json(self) -> list[list[list[int]]]:
        return [[[x, y] for x, y in stroke] for stroke in self.strokes]

    def to_png(self, scale: int = 8) -> bytes:
        """The strokes as a PNG (stored with the record it signs)."""
        import io

        from PIL import Image, ImageDraw

        width = max((self.size.width or 40), 1) * scale
        height = max((self.size.height or 10), 1) * scale * 2
        img = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(img)
        for stroke in self.strokes:
            pts = [(x * scale + scale // 2, y * scale * 2 + scale) for x, y in stroke]
            if len(pts) == 1:
                draw.point(pts[0], fill=0)
            else:
                draw.line(pts, fill=0, width=max(2, scale // 3))
        out = io.BytesIO()
        img.save(out, "PNG")
        return out.getvalue()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self._drawing = True
        self.capture_mouse()
        self.strokes.append([(event.x, event.y)])
        self.refresh()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._drawing and self.strokes:
            point = (event.x, event.y)
            if self.strokes[-1][-1] != point:
                self.strokes[-1].append(point)
                self.refresh()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        self._drawing = False
        self.release_mouse()

    def render(self) -> Any:
        w, h = max(self.content_size.width, 1), max(self.content_size.height, 1)
        grid = [[" "] * w for _ in range(h)]
        for stroke in self.strokes:
            for x, y in stroke:
                if 0 <= x < w and 0 <= y < h:
                    grid[y][x] = "•"
        return Text("\n".join("".join(row) for row in grid))


async def draw_strokes(pilot: Any, pad: Widget, strokes: Any) -> None:
    """Sign on ``pad`` as a finger would (tests and ``kiosk simulate``): MouseDown, MouseMoves,
    MouseUp per stroke of ``(x, y)`` points. Pilot has no drag, so the events are posted to the
    pad directly."""
    for stroke in strokes:
        (x, y), rest = stroke[0], stroke[1:]
        # widget, x, y, delta_x, delta_y, button, shift, meta, ctrl
        pad.post_message(events.MouseDown(pad, x, y, 0, 0, 1, False, False, False))
        for x, y in rest:
            pad.post_message(events.MouseMove(pad, x, y, 0, 0, 1, False, False, False))
        pad.post_message(events.MouseUp(pad, x, y, 0, 0, 1, False, False, False))
        await pilot.pause()
