"""Umbrella fixtures: the desk butler, residents as their card tap identifies them."""

from __future__ import annotations

from tests.plugins.demo_people import BUTLER, DEMO_UNITS, ENGINEER, resident

__all__ = ["BUTLER", "DEMO_UNITS", "ENGINEER", "resident"]
