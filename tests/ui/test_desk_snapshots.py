"""Every tab of the butler desk, in both languages, at 80x24 and 120x40 (the manager, who sees
every panel, over the demo estate with a phoned-in repair and a call for help); the household
file's are in tests/ui/test_snapshots.py.

Regenerate after an intended change with
``pytest tests/ui/test_desk_snapshots.py --snapshot-update`` and look at the report.
"""

from __future__ import annotations

import pytest

from kiosk import lobby as lobby_services
from kiosk.context import KioskContext
from kiosk.plugins import load_plugins
from tests.screens import cut_off_hints, message_shown, steady_cursor, until_at_rest, wait_until
from tests.ui.conftest import desk

LANGS = ["zh_CN", "en"]
SIZES = [(80, 24), (120, 40)]
TABS = [
    "alerts", "visitors", "parcels", "storage", "repairs", "umbrellas",
    "billing", "parking", "notices", "surveys", "releases", "gate", "keys", "reports", "health",
]  # fmt: skip


@pytest.fixture
def desk_ctx(ui_ctx: KioskContext) -> KioskContext:
    from sqlalchemy import select

    from kiosk.db.models import Staff
    from kiosk.identity import Actor
    from plugins.repairs import service as repairs

    ui_ctx.plugins = load_plugins()
    with ui_ctx.database().read() as s:
        butler = Actor.of_staff(s.scalars(select(Staff).where(Staff.number == "S001")).one())
    repairs.file_ticket(
        ui_ctx, butler, category="plumbing.leak", unit_code="3-1205", description="厨房水龙头"
    )
    lobby_services.call_desk(ui_ctx, note="B门轮椅")
    return ui_ctx


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("tab", TABS)
def test_desk_tab(
    snap_compare, desk_ctx: KioskContext, tab: str, lang: str, size: tuple[int, int]
) -> None:
    async def open_tab(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.pause()
        await pilot.press(*"S005", "enter", *"1470", "enter")
        await wait_until(pilot, lambda: _on_desk(pilot), "the desk after signing in")
        pilot.app.screen.show_tab(f"tab-{tab}")
        if tab == "household":
            await pilot.click("#hf-unit")
            await pilot.press(*"3-1205", "enter")
            await wait_until(
                pilot,
                lambda: "3-1205" in str(pilot.app.screen.query_one("#hf").render()),
                "the household file of 3-1205",
            )
        if tab == "reports":  # the month's figures load in a worker
            await wait_until(
                pilot, lambda: pilot.app.screen.query_one("ReportsPanel").loads, "the figures"
            )
        await until_at_rest(pilot, f"the {tab} tab")
        # A panel that failed to build shows a line instead: never a snapshot to keep.
        assert not pilot.app.screen.query(".failure"), f"the {tab} panel failed to build"
        cut = cut_off_hints(pilot.app.screen)
        assert not cut, "a field's hint is cut off: " + "; ".join(cut)
        pilot.app.screen.query_one("#desk-tabs").focus()  # no blinking cursor in a field
        await pilot.pause()

    app = desk(desk_ctx, lang)
    app.poll_seconds = 3600
    assert snap_compare(app, terminal_size=size, run_before=open_tab)


def _on_desk(pilot) -> bool:  # type: ignore[no-untyped-def]
    return type(pilot.app.screen).__name__ == "DeskScreen"


async def _logged_in(pilot, tab: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause()
    await pilot.press(*"S005", "enter", *"1470", "enter")
    await wait_until(pilot, lambda: _on_desk(pilot), "the desk after signing in")
    pilot.app.screen.show_tab(f"tab-{tab}")
    await until_at_rest(pilot, f"the {tab} tab")


async def _wait_for(pilot, selector: str) -> None:  # type: ignore[no-untyped-def]
    await wait_until(pilot, lambda: pilot.app.screen.query(selector), selector)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("screen", ["login", "wrong-pin", "form", "confirm"])
def test_desk_screen(
    snap_compare, desk_ctx: KioskContext, screen: str, lang: str, size: tuple[int, int]
) -> None:
    """The desk's other screens: the login (and a wrong PIN), a form dialog (adding an
    umbrella) and a confirmation (retiring one), over the tab they belong to."""

    async def show(pilot) -> None:  # type: ignore[no-untyped-def]
        if screen == "login":
            await until_at_rest(pilot, "the login")
            return
        if screen == "wrong-pin":
            await pilot.pause()
            await pilot.press(*"S005", "enter", *"0000", "enter")
            await wait_until(pilot, lambda: message_shown(pilot.app), "the wrong-PIN refusal")
            steady_cursor(pilot.app)
            await pilot.pause()
            return
        await _logged_in(pilot, "umbrellas")
        pilot.app.screen.query_one("#um-add" if screen == "form" else "#um-retire").press()
        await _wait_for(pilot, "#form-ok")
        if screen == "confirm":
            pilot.app.screen.query_one("#field-tag").value = "U001"
            pilot.app.screen.query_one("#form-ok").press()
            await _wait_for(pilot, "#confirm-yes")
        await until_at_rest(pilot, f"the {screen} dialog")

    app = desk(desk_ctx, lang)
    app.poll_seconds = 3600
    assert snap_compare(app, terminal_size=size, run_before=show)
