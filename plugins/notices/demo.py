"""Demo notice: one published for every lobby, the water cut of next week (numbered 001)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from plugins.notices.models import Notice
from plugins.notices.service import end_of_day, number_of, short_name


def seed(session: Any, ctx: Any) -> list[str]:
    now = ctx.clock.now()
    year = now.astimezone(ctx.zone).year
    session.add(
        Notice(
            title="停水通知：3号楼周五 9:00-12:00 检修水泵",
            body="因二次供水水泵检修，3号楼本周五 9:00-12:00 停水，请提前储水。不便之处，敬请谅解。",
            department="项目中心", lobbies="", households=True, status="published",
            year=year, seq=1, number=number_of(short_name(ctx), year, 1),
            drafted_by="李管家", drafted_at=now, approved_by="周经理", approved_at=now,
            published_at=now, expires_at=end_of_day(ctx, ctx.today() + dt.timedelta(days=7)),
        )
    )  # fmt: skip
    session.flush()
    return ["notices: a water-cut notice on every lobby's home screen"]
