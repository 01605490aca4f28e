"""Parking fixtures: the cashier and the demo renters."""

from __future__ import annotations

from sqlalchemy import select

from kiosk.context import KioskContext
from kiosk.db.models import Resident, Unit
from kiosk.identity import Actor

CASHIER = Actor("staff", 2, "陈收银", frozenset({"cashier"}))
BUTLER = Actor("staff", 1, "李管家", frozenset({"butler"}))
MANAGER = Actor("staff", 5, "周经理", frozenset({"manager", "butler", "cashier"}))


def resident_of(ctx: KioskContext, unit: str, role: str = "owner") -> Resident:
    with ctx.database().read() as session:
        r = session.scalars(
            select(Resident)
            .join(Unit, Unit.id == Resident.unit_id)
            .where(Unit.code == unit, Resident.role == role)
            .order_by(Resident.id)
        ).first()
        assert r is not None, f"no {role} in {unit}"
        session.expunge(r)
        return r


def open_cash(ctx: KioskContext, unit: str = "3-1205", plate: str = "粤B88888", months: int = 1):  # type: ignore[no-untyped-def]
    from plugins.parking import service

    owner = resident_of(ctx, unit)
    return service.open_rental(
        ctx,
        CASHIER,
        unit=unit,
        resident_id=owner.id,
        plate=plate,
        car_model="丰田 卡罗拉",
        licence_no="440301199001011234",
        identity_checked=True,
        months=months,
        method="cash",
    )
