"""Notices (通知): drafted, approved by the manager, numbered, published to lobbies, read.

Hook implementations only; the service and screens are imported inside the hooks.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from kiosk.hookspecs import hookimpl
from kiosk.i18n import N_
from kiosk.plugins import PluginPanel, PluginRegister, PluginTile, lazy, plugin_hooks

NOTICES_SCREEN = lazy("plugins.notices.screens:NoticesScreen")
globals().update(
    plugin_hooks(
        __name__,
        ("commands", "scenarios", "household", "demo"),
        tiles=[PluginTile(N_("Notices"), NOTICES_SCREEN, order=90, audience="all", icon="告")],
        registers=[
            PluginRegister(N_("Notice issue register"), "service:register_csv", order=80,
                           roles=("butler", "manager")),
        ],
        desk_panels=[
            PluginPanel(N_("Notices"), "screens:NoticesDeskPanel", order=80, roles=("butler",)),
        ],
    )
)  # fmt: skip


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
