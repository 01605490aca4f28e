"""Release-pass fixtures: the desk butler and the gate guard, residents as their card tap
identifies them, and a signature drawn on the pad."""

from __future__ import annotations

from sqlalchemy import select

from kiosk.context import KioskContext
from kiosk.db.models import Resident, Unit
from kiosk.identity import Actor

BUTLER = Actor("staff", 1, "李管家", frozenset({"butler"}))
GUARD = Actor("staff", 4, "孙保安", frozenset({"security"}))
SIGNED = [[[2, 1], [6, 3], [10, 2], [14, 4], [18, 1]]]
DEMO_UNITS = {"张伟": "1-101", "刘芳": "2-803", "王小明": "3-1205", "Emily Wang": "3-1205"}


def resident(ctx: KioskContext, name: str) -> Actor:
    with ctx.database().read() as session:
        r = session.scalars(
            select(Resident)
            .join(Unit, Unit.id == Resident.unit_id)
            .where(Resident.name == name, Unit.code == DEMO_UNITS[name])
        ).one()
        return Actor.of_resident(r)
