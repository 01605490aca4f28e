"""UI fixtures: the real apps over a seeded demo estate (SQLite), a fixed clock, no devices."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kiosk.context import KioskContext
from kiosk.i18n import set_language
from tests.conftest import make_ctx


@pytest.fixture
def ui_ctx(sqlite_demo_url: str) -> Iterator[KioskContext]:
    ctx = make_ctx(sqlite_demo_url)
    yield ctx
    set_language("zh_CN")
    ctx.database().dispose()


def lobby(ctx: KioskContext, language: str = "zh_CN"):  # type: ignore[no-untyped-def]
    import dataclasses

    from kiosk.ui.lobby_app import LobbyApp

    languages = tuple(dict.fromkeys((*ctx.settings.languages, language)))
    ctx.settings = dataclasses.replace(ctx.settings, language=language, languages=languages)
    return LobbyApp(ctx.settings, ctx=ctx, start_devices=False)


def desk(ctx: KioskContext, language: str = "zh_CN"):  # type: ignore[no-untyped-def]
    import dataclasses

    from kiosk.ui.desk_app import DeskApp

    ctx.settings = dataclasses.replace(ctx.settings, language=language)
    return DeskApp(ctx.settings, ctx=ctx)


class FixedTiles:
    """Stand-in services for the shell's own snapshots, so they do not change whenever a
    plugin adds or renames a tile (each plugin snapshots its own screens)."""

    from kiosk.hookspecs import hookimpl as _hookimpl

    @_hookimpl
    def kiosk_tiles(self, ctx):  # type: ignore[no-untyped-def]
        from kiosk.hookspecs import Tile

        return [
            Tile(id=f"svc{i}", title=title, screen=lambda c: None, order=i, icon=icon)
            for i, (icon, title) in enumerate(
                [
                    ("访", "Visitor registration"),
                    ("件", "Collect parcels"),
                    ("修", "Repairs and feedback"),
                    ("￥", "Pay bills"),
                    ("伞", "Umbrellas"),
                ]
            )
        ]

    @_hookimpl
    def kiosk_tile_badges(self, ctx, actor):  # type: ignore[no-untyped-def]
        return {"svc1": "2", "svc3": "￥749.46"}

    @_hookimpl
    def kiosk_home_notices(self, ctx, lobby):  # type: ignore[no-untyped-def]
        from kiosk.hookspecs import HomeNotice

        return [
            HomeNotice(id="water", text="Water off on 5 December, 9:00-12:00 (building 3)"),
            HomeNotice(id="lift", text="Lift maintenance, building 1", until=ctx.clock.now()),
        ]


STAND_IN_ZH = {
    "Visitor registration": "访客登记",
    "Collect parcels": "领取快递",
    "Repairs and feedback": "报修与投诉",
    "Pay bills": "缴费",
    "Umbrellas": "借还雨伞",
    "Water off on 5 December, 9:00-12:00 (building 3)": "12月5日9:00-12:00停水（3号楼）",
    "Lift maintenance, building 1": "1号楼电梯维保",
}


@pytest.fixture
def shell_ctx(ui_ctx: KioskContext, monkeypatch: pytest.MonkeyPatch) -> KioskContext:
    """The demo estate with every built-in plugin left off and fixed stand-in tiles.

    The translations are the core catalog plus the stand-ins' own: the catalogs are
    process-global, and which plugin catalogs an earlier test registered must not change
    what these snapshots show."""
    from importlib.metadata import entry_points

    from kiosk import i18n
    from kiosk.plugins import load_plugins

    core = i18n.parse_po((i18n._HERE / "zh_CN" / "LC_MESSAGES" / "kiosk.po").read_text("utf-8"))
    monkeypatch.setattr(i18n, "_catalogs", {"zh_CN": {**core, **STAND_IN_ZH}, "en": {}})
    builtin = [ep.name for ep in entry_points(group="kiosk.plugins")]
    ui_ctx.plugins = load_plugins(disabled=builtin, extra={"fixed-tiles": FixedTiles()})
    return ui_ctx
