"""Surveys fixtures: the desk's people and residents as their card tap identifies them."""

from __future__ import annotations

from sqlalchemy import select

from kiosk.context import KioskContext
from kiosk.db.models import Resident, Unit
from kiosk.identity import Actor

BUTLER = Actor("staff", 1, "李管家", frozenset({"butler"}))
MANAGER = Actor("staff", 5, "周经理", frozenset({"manager", "butler", "cashier"}))
CASHIER = Actor("staff", 2, "陈收银", frozenset({"cashier"}))
DEMO_UNITS = {"张伟": "1-101", "刘芳": "2-803", "王小明": "3-1205", "Emily Wang": "3-1205"}


def resident(ctx: KioskContext, name: str) -> Actor:
    with ctx.database().read() as session:
        r = session.scalars(
            select(Resident)
            .join(Unit, Unit.id == Resident.unit_id)
            .where(Resident.name == name, Unit.code == DEMO_UNITS[name])
        ).one()
        return Actor.of_resident(r)
