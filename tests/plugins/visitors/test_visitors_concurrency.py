"""An invite works once even when two kiosks take it at the same moment (10 threads, two
engines); exactly one pass is issued and one slip queued."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from visitors_helpers import host

from kiosk.context import KioskContext
from kiosk.db.models import PrintJob
from plugins.visitors import service
from plugins.visitors.models import Visit
from tests.racing import race


def test_an_invite_redeemed_at_two_kiosks_at_once_gives_one_pass(ctx: KioskContext) -> None:
    now = ctx.clock.now()
    inv = service.create_invite(
        ctx, host(ctx, "张伟"), visitor_name="Bob Lee", valid_from=now,
        valid_until=now + dt.timedelta(hours=2),
    )  # fmt: skip
    outcomes = race(ctx, lambda k, _i: service.redeem_invite(k, inv.qr), 10)
    assert outcomes.count("ok") == 1 and set(outcomes) == {"ok", "visitors.invite_used"}, outcomes
    with ctx.database().read() as s:
        assert s.scalar(select(func.count()).select_from(Visit)) == 1
        assert (
            s.scalar(
                select(func.count()).select_from(PrintJob).where(PrintJob.kind == "visitor-pass")
            )
            == 1
        )
