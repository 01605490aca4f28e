"""The desk after a language switch: still answers the butler's clicks and keys.

The language button sits on the desk screen that the switch replaces; once, awaiting the
switch from the button's own handler hung the desk for good (no tab, key or click answered).
"""

from __future__ import annotations

from textual.widgets import Button

from kiosk.context import KioskContext
from kiosk.i18n import language
from kiosk.ui.scenarios import click
from tests.screens import wait_until
from tests.ui.conftest import desk
from tests.ui.test_desk import login, on_desk


async def test_the_desk_answers_after_switching_language_both_ways(ui_ctx: KioskContext) -> None:
    app = desk(ui_ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        await wait_until(pilot, lambda: on_desk(app), "the desk")
        assert language() == "zh_CN"
        first = app.screen
        await click(app, pilot, "#desk-lang")
        await wait_until(pilot, lambda: app.screen is not first and on_desk(app), "English")
        assert language() == "en"
        assert str(app.screen.query_one("#desk-lang", Button).label) == "中文"

        await click(app, pilot, "#desk-tabs Tab#--content-tab-tab-household")
        await wait_until(pilot, lambda: app.screen.active_tab() == "tab-household", "household")

        # And back, keeping the tab the butler was on.
        second = app.screen
        await click(app, pilot, "#desk-lang")
        await wait_until(pilot, lambda: app.screen is not second and on_desk(app), "Chinese")
        assert language() == "zh_CN"
        assert str(app.screen.query_one("#desk-lang", Button).label) == "English"
        await wait_until(pilot, lambda: app.screen.active_tab() == "tab-household", "same tab")

        # Keys still reach the desk: F5 refreshes, ctrl+l logs out.
        polls = app.screen.polls
        await pilot.press("f5")
        await wait_until(pilot, lambda: app.screen.polls > polls, "F5")
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: app.staff is None and not on_desk(app), "ctrl+l")
