"""Umbrella lending (便民雨伞, 物品借取登记表).

Hook implementations only; the service and screens are imported inside the hooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.hookspecs import hookimpl
from kiosk.i18n import N_
from kiosk.plugins import PluginPanel, PluginTile, plugin_hooks

HERE = Path(__file__).parent
globals().update(
    plugin_hooks(
        __name__,
        ("commands", "scenarios", "household", "badges", "figures"),
        tiles=[PluginTile(N_("Umbrellas"), "screens:umbrella_screen", order=40, icon="伞")],
        desk_panels=[
            PluginPanel(N_("Umbrellas"), "screens:UmbrellasDeskPanel", order=40,
                        roles=("butler", "security")),
        ],
        alert_kinds={
            "umbrella_charge": N_("Umbrella charge"),
            "umbrella_collect": N_("Umbrella to collect"),
            "umbrella_not_lent": N_("Umbrella not on loan"),
        },
        workload="workload:UmbrellaRace",
    )
)  # fmt: skip


@hookimpl
def kiosk_seed_demo(session: Any, ctx: Any) -> list[str] | None:
    """Six umbrellas in lobby A: U001-U004 long (￥68), U005-U006 short (￥45)."""
    from plugins.umbrellas.models import Umbrella

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
