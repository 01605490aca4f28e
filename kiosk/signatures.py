"""Signatures drawn on the pad (kiosk.ui.widgets.signature): strokes of (x, y) points, checked
and rendered to PNG, headless, for any service that records one (a parcel pickup, an item
release pass, a key handover).

A signature is refused when it is empty or a dot: fewer than ``MIN_POINTS`` points in all, or
everything within a ``MIN_EXTENT`` box (a tap, a smudge). The strokes are stored as JSON and a
PNG is kept beside them for printouts. Refusal codes carry the calling plugin's name
(``parcels.signature_missing``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from kiosk.errors import Refused

MIN_POINTS = 3
MIN_EXTENT = 3  # cells (the pad is a terminal widget: coordinates are character cells)
Strokes = list[list[list[int]]]


def clean_strokes(raw: Any, plugin: str = "kiosk") -> Strokes:
    """Strokes as a list of lists of ``[x, y]`` integer pairs; anything else is refused."""
    try:
        strokes = [[[int(p[0]), int(p[1])] for p in stroke] for stroke in raw or []]
    except (TypeError, ValueError, IndexError, KeyError):
        raise Refused(
            f"{plugin}.signature_invalid", "The signature could not be read. Please sign again."
        ) from None
    return [s for s in strokes if s]


def is_meaningful(strokes: Sequence[Sequence[Sequence[int]]]) -> bool:
    """More than a dot: enough points, spread over more than a tiny box."""
    points = [p for s in strokes for p in s]
    if len(points) < MIN_POINTS:
        return False
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return max(max(xs) - min(xs), max(ys) - min(ys)) >= MIN_EXTENT


def require_signature(raw: Any, plugin: str = "kiosk") -> Strokes:
    """Clean strokes, or :class:`Refused` when empty or one dot."""
    strokes = clean_strokes(raw, plugin)
    if not is_meaningful(strokes):
        raise Refused(f"{plugin}.signature_missing", "Please sign with your finger on the pad.")
    return strokes


def to_png(strokes: Strokes, scale: int = 8, margin: int = 2) -> bytes:
    """Black lines on white, ``scale`` pixels per pad cell."""
    from PIL import Image, ImageDraw

    points = [p for s in strokes for p in s] or [[0, 0]]  # an empty pad: a blank image
    min_x = min(p[0] for p in points) - margin
    min_y = min(p[1] for p in points) - margin
    width = (max(p[0] for p in points) - min_x + margin + 1) * scale
    height = (max(p[1] for p in points) - min_y + margin + 1) * scale
    image = Image.new("1", (width, height), 1)
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        xy = [
            ((x - min_x) * scale + scale // 2, (y - min_y) * scale + scale // 2) for x, y in stroke
        ]
        if len(xy) == 1:
            draw.ellipse([xy[0][0] - 2, xy[0][1] - 2, xy[0][0] + 2, xy[0][1] + 2], fill=0)
        else:
            draw.line(xy, fill=0, width=max(2, scale // 3))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
