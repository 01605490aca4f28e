"""Demo umbrellas: six in the seeding kiosk's lobby (A by default), U001-U004 long (￥68),
U005-U006 short (￥45)."""

from __future__ import annotations

from typing import Any

from plugins.umbrellas.models import Umbrella


def seed(session: Any, ctx: Any) -> list[str]:
    now = ctx.clock.now()
    for n in range(1, 7):
        long = n <= 4
        session.add(
            Umbrella(tag=f"U{n:03d}", lobby=ctx.settings.lobby or "A",
                     kind="long" if long else "short", price_fen=6800 if long else 4500,
                     condition="intact", state="available", added_at=now)
        )  # fmt: skip
    session.flush()
    return ["umbrellas: U001-U006 available in the lobby"]
