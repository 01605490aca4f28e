"""Repair fixtures: the desk butler, residents as their card tap identifies them."""

from __future__ import annotations

from sqlalchemy import select

from kiosk.context import KioskContext
from kiosk.db.models import Resident, Unit
from kiosk.identity import Actor

BUTLER = Actor("staff", 1, "李管家", frozenset({"butler"}))
ENGINEER = Actor("staff", 3, "赵工程", frozenset({"engineer"}))
# A short zig-zag, as a finger draws it on the pad (cell coordinates).
SIGNED = [[[2, 5], [4, 3], [6, 6], [9, 2], [12, 5]], [[13, 4], [16, 4]]]
DOT = [[[5, 5]]]
DEMO_UNITS = {"张伟": "1-101", "刘芳": "2-803", "王小明": "3-1205", "Emily Wang": "3-1205"}


def resident(ctx: KioskContext, name: str) -> Actor:
    with ctx.database().read() as session:
        r = session.scalars(
            select(Resident)
            .join(Unit, Unit.id == Resident.unit_id)
            .where(Resident.name == name, Unit.code == DEMO_UNITS[name])
        ).one()
        return Actor.of_resident(r)
