"""Visitors fixtures: the desk, demo residents as their card identifies them."""

from __future__ import annotations

from tests.plugins.demo_people import BUTLER, CASHIER, DEMO_UNITS, GUARD, resident

__all__ = ["BUTLER", "CASHIER", "DEMO_UNITS", "GUARD", "SECURITY", "host", "resident"]


SECURITY = GUARD
host = resident  # a visitor's host, as their card tap identifies them
