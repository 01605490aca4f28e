"""What the screens look like, in both languages, at 80x24 and 120x40.

Regenerate after an intended change with ``make snapshots`` and look at the report.
"""

from __future__ import annotations

import pytest

from kiosk.context import KioskContext
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
        await pilot.pause()
        if lang == "en":
            await pilot.click("#lang-toggle")
            await pilot.pause()

    assert snap_compare(lobby(shell_ctx, lang), terminal_size=(80, 24), run_before=tap)


@pytest.mark.parametrize("lang", LANGS)
def test_lobby_unit_pin(snap_compare, shell_ctx: KioskContext, lang: str) -> None:
    async def identify(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.pause()
        await pilot.click("#identify")
        await pilot.pause()
        await pilot.press(*"3-1205", "enter", *"0000", "enter")
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
        for _ in range(60):
            if type(pilot.app.screen).__name__ == "DeskScreen":
                break
            await pilot.pause(0.05)
        pilot.app.screen.query_one("#desk-tabs").active = "tab-household"
        await pilot.pause()
        await pilot.click("#hf-unit")
        await pilot.press(*"3-1205", "enter")
        for _ in range(60):
            if "3-1205" in str(pilot.app.screen.query_one("#hf").render()):
                break
            await pilot.pause(0.05)
        await pilot.pause()

    assert snap_compare(desk(shell_ctx, lang), terminal_size=size, run_before=login)
