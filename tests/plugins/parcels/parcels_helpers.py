"""Parcels fixtures: the desk butler, residents by name, a drawn signature."""

from __future__ import annotations

from tests.plugins.demo_people import BUTLER, CASHIER, DEMO_UNITS, DOT, SIGNED, resident

__all__ = ["BUTLER", "CASHIER", "DEMO_UNITS", "DOT", "SIGNED", "resident"]
