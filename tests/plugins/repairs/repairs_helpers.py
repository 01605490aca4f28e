"""Repair fixtures: the desk butler, residents as their card tap identifies them."""

from __future__ import annotations

import datetime as dt

from kiosk.clock import FixedClock
from kiosk.context import KioskContext
from plugins.repairs import service
from tests.plugins.demo_people import BUTLER, DEMO_UNITS, DOT, ENGINEER, SIGNED, resident

__all__ = ["BUTLER", "DEMO_UNITS", "DOT", "ENGINEER", "OCT", "SIGNED", "resident", "seed_october"]

OCT = dt.datetime(2026, 10, 5, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai


def seed_october(ctx: KioskContext) -> None:
    """Five tickets filed in October 2026 (local time), one on 1 November:

    - R1 plumbing.leak: on time, rated 5, closed          (SLA met)
    - R2 plumbing.leak: responded after 10 min, rated 3   (SLA missed)
    - R3 doors.lock: paid ￥120, consented, rated 4        (SLA met, charge 12000)
    - R4 electrical.no_power: emergency, still in progress
    - C1 complaint.noise minor: answered, done, rated 2 -> reopened (SLA met)
    - November: one more leak (not counted)
    """
    ctx.clock = FixedClock(OCT)
    zhang, liu, wang = (resident(ctx, n) for n in ("张伟", "刘芳", "王小明"))

    def through(number: str, visit: int | None, wait_min: int = 1) -> None:
        ctx.clock.advance(minutes=wait_min)
        service.confirm(ctx, BUTLER, number)
        service.dispatch(ctx, BUTLER, number)
        service.start(ctx, ENGINEER, number)
        ctx.clock.advance(minutes=20)
        service.complete(ctx, ENGINEER, number, SIGNED)
        if visit is not None:
            service.record_visit(ctx, BUTLER, number, visit)
        ctx.clock.advance(hours=2)

    through(service.file_ticket(ctx, zhang, category="plumbing.leak").number, 5)
    through(service.file_ticket(ctx, liu, category="plumbing.leak").number, 3, wait_min=10)
    lock = service.file_ticket(ctx, wang, category="doors.lock").number
    service.consent(ctx, wang, lock, accepted=True)
    through(lock, 4)
    power = service.file_ticket(ctx, liu, category="electrical.no_power").number
    service.confirm(ctx, BUTLER, power)
    service.dispatch(ctx, BUTLER, power)
    service.start(ctx, ENGINEER, power)
    noise = service.file_ticket(ctx, liu, category="complaint.noise").number
    ctx.clock.advance(minutes=30)
    service.confirm(ctx, BUTLER, noise, severity="minor")
    service.dispatch(ctx, BUTLER, noise)
    service.start(ctx, BUTLER, noise)
    service.complete(ctx, BUTLER, noise, SIGNED)
    service.record_visit(ctx, BUTLER, noise, 2)
    # 1 November 00:30 in Shanghai is still 31 October in UTC: it belongs to November.
    ctx.clock = FixedClock(dt.datetime(2026, 10, 31, 16, 30, tzinfo=dt.UTC))
    service.file_ticket(ctx, zhang, category="plumbing.leak")
