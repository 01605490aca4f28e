"""Release-pass fixtures: the desk butler and the gate guard, residents as their card tap
identifies them, and a signature drawn on the pad."""

from __future__ import annotations

from tests.plugins.demo_people import BUTLER, DEMO_UNITS, GUARD, resident

__all__ = ["BUTLER", "DEMO_UNITS", "GUARD", "SIGNED", "resident"]


SIGNED = [[[2, 1], [6, 3], [10, 2], [14, 4], [18, 1]]]
