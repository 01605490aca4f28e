"""Parcels in ``kiosk bench concurrency``: kiosks race to release the same parcels; afterwards
no parcel may have been released twice, and every release has its audit event and slip."""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from kiosk.db.models import AuditEvent, PrintJob, Resident, Unit
from kiosk.errors import Refused
from kiosk.hookspecs import WorkloadOp
from kiosk.identity import SYSTEM
from plugins.parcels import service
from plugins.parcels.models import Parcel, Release

if TYPE_CHECKING:
    from kiosk.context import KioskContext

UNITS = ("1-101", "1-102", "2-803", "3-1205")
PARCELS = 120
SIGNED = [[[2, 5], [4, 3], [6, 6], [9, 2], [12, 5]]]


class ParcelRace:
    """A small pool of parcels on a few units, so kiosks often pick the same one."""

    def __init__(self) -> None:
        self.pool: list[tuple[int, int, str]] = []  # parcel id, unit id, unit code
        self.pickers: dict[int, service.Picker] = {}
        self._lock = threading.Lock()

    def ops(self) -> list[WorkloadOp]:
        return [WorkloadOp("parcel-pickup", self.pickup, weight=2, setup=self.setup,
                           check=self.check)]  # fmt: skip

    def setup(self, ctx: KioskContext) -> None:
        for i in range(PARCELS):
            r = service.check_in(ctx, SYSTEM, tracking=f"SF9{i:013d}", unit_code=UNITS[i % 4])
            with ctx.database().read() as s:
                unit_id = s.scalar(select(Unit.id).where(Unit.code == r.unit_code))
            assert unit_id is not None
            self.pool.append((r.parcel_id, unit_id, r.unit_code))
        with ctx.database().read() as s:
            for _pid, unit_id, _code in self.pool:
                if unit_id not in self.pickers:
                    res = s.scalars(select(Resident).where(Resident.unit_id == unit_id)).first()
                    assert res is not None
                    self.pickers[unit_id] = service.Picker("resident", res.name, res.id)

    def pickup(self, ctx: KioskContext, rng: random.Random) -> bool:
        parcel_id, unit_id, code = rng.choice(self.pool)
        pickup = service.Pickup(unit_id, code, "card", (), picker=self.pickers[unit_id])
        try:
            service.release(ctx, pickup, [parcel_id], SIGNED)
        except Refused as exc:
            assert exc.code == "parcels.already_released", exc.code
            return False
        return True

    def check(self, ctx: KioskContext) -> list[str]:
        problems = []
        ids = [p for p, _u, _c in self.pool]
        with ctx.database().read() as s:
            released = s.scalar(
                select(func.count()).select_from(Parcel)
                .where(Parcel.id.in_(ids), Parcel.status == "released")
            )  # fmt: skip
            releases = s.scalar(select(func.count()).select_from(Release))
            events = s.scalar(
                select(func.count()).select_from(AuditEvent)
                .where(AuditEvent.action == "parcel.released")
            )  # fmt: skip
            slips = s.scalar(
                select(func.count()).select_from(PrintJob).where(PrintJob.kind == "parcel-pickup")
            )
        if releases != released:
            problems.append(f"{releases} releases for {released} released parcels (double release)")
        if events != releases:
            problems.append(f"{events} parcel.released audit events for {releases} releases")
        if slips != releases:
            problems.append(f"{slips} pickup slips for {releases} releases")
        return problems
