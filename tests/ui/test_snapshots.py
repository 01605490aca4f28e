"""What the screens look like, in both languages, at 80x24 and 120x40.

Regenerate after an intended change with ``make snapshots`` and look at the report.
"""

from __future__ import annotations

import pytest

from kiosk.context import KioskContext
from kiosk.ui.scenarios import click
from tests.screens import cut_off_hints, message_shown, steady_cursor, until_at_rest, wait_until
from tests.ui.conftest import desk, lobby

LANGS = ["zh_CN", "en"]
SIZES = [(80, 24), (120, 40)]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
@pytest.mark.parametrize("lang", LANGS)
def test_lobby_home(
    snap_compare, shell_ctx: KioskContext, lang: str, size: tuple[int, int]
) -> None:
    assert snap_compare(lobby(shell_ctx, lang), terminal_size=size)


@pytest.mark.parametrize("lang", LANGS)
def test_lobby_home_identified(snap_compare, shell_ctx: KioskContext, lang: str) -> None:
    async def tap(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.app.present_card("3C00A1B2C3")
        from kiosk.i18n import language

        # Identified in his own language (Chinese), with the tiles' marks: the greeting is done
        # (the marks can come first, read by the home screen as it shows again).
        await wait_until(pilot, lambda: pilot.app.badges and language() == "zh_CN", "greeted")
        await until_at_rest(pilot)
        if lang == "en":  # 王小明 switches to English
            await click(pilot.app, pilot, "#lang-toggle")
            await wait_until(pilot, lambda: language() == "en", "English")
            await until_at_rest(pilot)

    assert snap_compare(lobby(shell_ctx, lang), terminal_size=(80, 24), run_before=tap)


@pytest.mark.parametrize("lang", LANGS)
def test_lobby_unit_pin(snap_compare, shell_ctx: KioskContext, lang: str) -> None:
    async def identify(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.pause()
        await pilot.click("#identify")
        await pilot.pause()
        await pilot.press(*"3-1205", "enter", *"0000", "enter")
        await wait_until(pilot, lambda: message_shown(pilot.app), "the wrong-PIN refusal")
        steady_cursor(pilot.app)
        await pilot.pause()

    assert snap_compare(lobby(shell_ctx, lang), terminal_size=(80, 24), run_before=identify)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
@pytest.mark.parametrize("lang", LANGS)
def test_desk_login(
    snap_compare, shell_ctx: KioskContext, lang: str, size: tuple[int, int]
) -> None:
    assert snap_compare(desk(shell_ctx, lang), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
@pytest.mark.parametrize("lang", LANGS)
def test_desk_household(
    snap_compare, shell_ctx: KioskContext, lang: str, size: tuple[int, int]
) -> None:
    async def login(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.pause()
        await pilot.press(*"S001", "enter", *"2580", "enter")
        await wait_until(pilot, lambda: type(pilot.app.screen).__name__ == "DeskScreen", "the desk")
        pilot.app.screen.show_tab("tab-household")
        await pilot.pause()
        await pilot.click("#hf-unit")
        await pilot.press(*"3-1205", "enter")
        await wait_until(
            pilot,
            lambda: "3-1205" in str(pilot.app.screen.query_one("#hf").render()),
            "the household file of 3-1205",
        )
        await pilot.pause()

    assert snap_compare(desk(shell_ctx, lang), terminal_size=size, run_before=login)


TILES = [
    "visitors",
    "visitors-invite",
    "visitors-signout",
    "visitors-create-invite",
    "parcels",
    "repairs",
    "umbrellas",
    "billing",
    "parking",
    "releases",
]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("tile", TILES)
def test_lobby_service_screen(
    snap_compare, ui_ctx: KioskContext, tile: str, lang: str, size: tuple[int, int]
) -> None:
    """Every service screen inside the real lobby (real plugin tiles, the bar, the foot),
    opened with a finger after a card tap."""

    async def open_tile(pilot) -> None:  # type: ignore[no-untyped-def]
        from kiosk.i18n import language

        app = pilot.app
        await wait_until(pilot, lambda: app.screen.query(f"#tile-{tile}"), "the tile")
        await app.present_card("3C00A1B2C3")
        if language() != lang:
            await app.run_action("toggle_language")
        await click(app, pilot, f"#tile-{tile}")
        await wait_until(
            pilot,
            lambda: type(app.screen).__name__ != "HomeScreen" and not app.screen.query(".loading"),
            "the service screen",
        )
        await until_at_rest(pilot, "the service screen")  # some load after mounting
        cut = cut_off_hints(app.screen)
        assert not cut, "a field's hint is cut off: " + "; ".join(cut)

    assert snap_compare(lobby(ui_ctx, lang), terminal_size=size, run_before=open_tile)


@pytest.mark.parametrize("lang", LANGS)
def test_lobby_staff_login_and_still_there(
    snap_compare, shell_ctx: KioskContext, lang: str
) -> None:
    async def staff(pilot) -> None:  # type: ignore[no-untyped-def]
        import time

        await pilot.pause()
        await pilot.click("#staff")
        await pilot.pause()
        app = pilot.app
        # Held still: on a loaded machine a second passing before the snapshot made it 4 s.
        now = time.monotonic()
        app.monotonic = lambda: now
        app._last_input = now - app.settings.idle_timeout + 5
        await app._idle_check()
        await pilot.pause()

    assert snap_compare(lobby(shell_ctx, lang), terminal_size=(80, 24), run_before=staff)
