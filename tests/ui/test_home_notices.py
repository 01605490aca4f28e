"""The home screen's notice strip (``kiosk_home_notices``): what plugins return is shown under
the greeting, a line past its time comes down by itself, a tap opens what it is about, and
more lines than fit are behind "N more notices" -- with every tile still on the screen."""

from __future__ import annotations

import datetime as dt

from kiosk.context import KioskContext
from kiosk.hookspecs import HomeNotice, Tile, hookimpl
from kiosk.plugins import load_plugins
from kiosk.ui.scenarios import click
from kiosk.ui.screens import MessageScreen, NoticeListScreen
from tests.screens import wait_until
from tests.ui.conftest import lobby

SIZE = (80, 24)


class Lines:
    """A stand-in plugin with nine tiles and the given strip lines."""

    def __init__(self, *notices: HomeNotice, tiles: int = 9) -> None:
        self.notices = list(notices)
        self.tiles = tiles

    @hookimpl
    def kiosk_tiles(self, ctx):  # type: ignore[no-untyped-def]
        return [Tile(f"t{i}", f"Service {i}", lambda c: None, order=i) for i in range(self.tiles)]

    @hookimpl
    def kiosk_home_notices(self, ctx, lobby):  # type: ignore[no-untyped-def]
        return list(self.notices)


def _strip(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(b.label) for b in app.screen.query(".notice")]


def _laid_out(app, selector: str) -> bool:  # type: ignore[no-untyped-def]
    found = app.screen.query(selector)
    return bool(found) and found.first().region.width > 0


def _with(ctx: KioskContext, *notices: HomeNotice, tiles: int = 9) -> Lines:
    plugin = Lines(*notices, tiles=tiles)
    ctx.plugins = load_plugins(disabled=[p.name for p in load_plugins().info()],
                               extra={"lines": plugin})  # fmt: skip
    return plugin


async def test_a_line_is_shown_and_comes_down_at_its_time_without_reading_again(ui_ctx) -> None:
    until = ui_ctx.clock.now() + dt.timedelta(minutes=5)
    plugin = _with(ui_ctx, HomeNotice("water", "停水通知", until=until))
    app = lobby(ui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: bool(_strip(app)), "the strip")
        assert _strip(app) == ["▶ 停水通知"]
        tiles = list(app.screen.query(".tile"))
        assert len(tiles) == 9 and all(t.region.bottom <= SIZE[1] - 3 for t in tiles)
        plugin.notices = []  # the strip is not read again: the line goes by its own time
        ui_ctx.clock.advance(minutes=5)
        await app._idle_check()
        await wait_until(pilot, lambda: not _strip(app), "the line to come down")


async def test_a_tap_opens_the_line_and_more_lines_are_one_tap_away(ui_ctx) -> None:
    opened: list[str] = []

    def screen(name: str):  # type: ignore[no-untyped-def]
        def build(ctx):  # type: ignore[no-untyped-def]
            opened.append(name)
            return MessageScreen(name)

        return build

    _with(ui_ctx, *(HomeNotice(f"n{i}", f"Notice {i}", screen=screen(f"n{i}"), order=i)
                    for i in range(3)))  # fmt: skip
    app = lobby(ui_ctx, "en")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: bool(_strip(app)), "the strip")
        assert _strip(app) == ["▶ Notice 0", "▶ 2 more notices"]
        await click(app, pilot, "#notice-0")
        await wait_until(pilot, lambda: opened == ["n0"], "the first notice")
        await app.reset_to_home()
        await wait_until(pilot, lambda: _laid_out(app, "#notice-more"), "the strip again")
        await click(app, pilot, "#notice-more")
        await wait_until(pilot, lambda: isinstance(app.screen, NoticeListScreen), "the list")
        assert len(app.screen.query(".notice-line")) == 3


async def test_thirteen_services_and_two_notice_lines_still_fit_80x24_at_touch_size(ui_ctx) -> None:
    _with(ui_ctx, HomeNotice("a", "停水通知"), HomeNotice("b", "电梯维保"), tiles=13)
    app = lobby(ui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: len(_strip(app)) == 2, "the strip")
        await pilot.pause()
        tiles = list(app.screen.query(".tile"))
        actions = app.screen.query_one("#home-actions").region
        assert len(tiles) == 13
        assert all(t.region.height >= 3 and t.region.bottom <= actions.y for t in tiles)
