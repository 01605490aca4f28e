"""Demo parcels: two waiting for 3-1205 (code 246810) at the seeding kiosk's lobby (A by
default), and a named proxy, 李阿姨."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from kiosk.db.models import Unit
from plugins.parcels import DEMO_CODE, DEMO_PROXY
from plugins.parcels.models import Parcel, PickupCode, Proxy
from plugins.parcels.service import _digest


def seed(session: Any, ctx: Any) -> list[str] | None:
    unit = session.scalar(select(Unit).where(Unit.code == "3-1205"))
    if unit is None:
        return None
    now = ctx.clock.now()
    for number, carrier, shelf in (
        ("SF1234567890123", "SF", "A3"),
        ("JDVA12345678901", "JD", "B1"),
    ):
        session.add(
            Parcel(
                tracking_number=number,
                lobby=ctx.settings.lobby or "A",
                carrier=carrier,
                unit_id=unit.id,
                recipient_name="王小明",
                shelf=shelf,
                status="waiting",
                checked_in_at=now,
                checked_in_by="staff:demo",
            )
        )
    session.add(
        PickupCode(
            unit_id=unit.id,
            digest=_digest(ctx, unit.id, DEMO_CODE),
            status="active",
            created_at=now,
        )
    )
    session.add(Proxy(unit_id=unit.id, name=DEMO_PROXY, created_by="demo", created_at=now))
    session.flush()
    return [f"parcels: 2 waiting for 3-1205, pickup code {DEMO_CODE}, proxy {DEMO_PROXY}"]
