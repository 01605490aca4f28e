"""Notices (通知): drafted, approved by the manager, numbered, published to lobbies, read.

Hook implementations only; the service and screens are imported inside the hooks.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from kiosk.hookspecs import hookimpl
from kiosk.i18n import N_
from kiosk.plugins import PluginPanel, PluginTile, lazy, plugin_hooks

HERE = Path(__file__).parent
NOTICES_SCREEN = lazy("plugins.notices.screens:NoticesScreen")
globals().update(
    plugin_hooks(
        __name__,
        ("commands", "scenarios", "household"),
        tiles=[PluginTile(N_("Notices"), NOTICES_SCREEN, order=90, audience="all", icon="告")],
        desk_panels=[
            PluginPanel(N_("Notices"), "screens:NoticesDeskPanel", order=80, roles=("butler",)),
        ],
    )
)  # fmt: skip


@hookimpl
def kiosk_seed_demo(session: Any, ctx: Any) -> list[str] | None:
    """One published notice for every lobby: the water cut of next week (numbered 001)."""
    import datetime as dt

    from plugins.notices.models import Notice
    from plugins.notices.service import end_of_day, number_of, short_name

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


@hookimpl
def kiosk_home_notices(ctx: Any, lobby: str) -> list[Any]:
    """The notices on show in ``lobby``: number and title, down at their expiry."""
    from kiosk.clock import as_utc
    from kiosk.hookspecs import HomeNotice
    from plugins.notices.service import current

    return [
        HomeNotice(id=f"notice-{n.id}", text=f"{n.number} {n.title}", until=n.expires_at and as_utc(n.expires_at),
                   screen=partial(NOTICES_SCREEN, notice_id=n.id), order=10)
        for n in current(ctx, lobby or None)
    ]  # fmt: skip
