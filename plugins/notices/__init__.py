"""Notices (通知): drafted, approved by the manager, numbered, published to lobbies, read.

What it puts on the kiosk and the desk is declared in ``plugin.toml``; hook
implementations only here, and the service and screens are imported inside the hooks.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from kiosk.hookspecs import hookimpl
from kiosk.plugins import lazy, plugin_hooks

NOTICES_SCREEN = lazy("plugins.notices.screens:NoticesScreen")
globals().update(plugin_hooks(__name__))


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
