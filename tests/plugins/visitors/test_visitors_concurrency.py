"""An invite works once even when two kiosks take it at the same moment (10 threads, two
engines); exactly one pass is issued and one slip queued."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import func, select
from visitors_helpers import host

from kiosk.context import KioskContext
from kiosk.db import Database
from kiosk.db.models import PrintJob
from kiosk.errors import Refused
from plugins.visitors import service
from plugins.visitors.models import Visit


def test_an_invite_redeemed_at_two_kiosks_at_once_gives_one_pass(ctx: KioskContext) -> None:
    now = ctx.clock.now()
    inv = service.create_invite(
        ctx, host(ctx, "张伟"), visitor_name="Bob Lee", valid_from=now,
        valid_until=now + dt.timedelta(hours=2),
    )  # fmt: skip
    kiosks = [
        KioskContext(
            settings=ctx.settings,
            clock=ctx.clock,
            db=Database(ctx.database().url),
            plugins=ctx.plugins,
        )  # fmt: skip
        for _ in range(2)
    ]
    start = threading.Barrier(10)
    outcomes: list[str] = []
    lock = threading.Lock()

    def kiosk(k: KioskContext) -> None:
        start.wait()
        try:
            service.redeem_invite(k, inv.qr)
            result = "pass"
        except Refused as exc:
            result = exc.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=kiosk, args=(kiosks[i % 2],)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for k in kiosks:
        k.database().dispose()
    assert outcomes.count("pass") == 1 and set(outcomes) == {"pass", "visitors.invite_used"}, (
        outcomes
    )
    with ctx.database().read() as s:
        assert s.scalar(select(func.count()).select_from(Visit)) == 1
        assert (
            s.scalar(
                select(func.count()).select_from(PrintJob).where(PrintJob.kind == "visitor-pass")
            )
            == 1
        )
