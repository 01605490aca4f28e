"""The desk's Reports tab: only a manager sees it; it shows the month's figures of every plugin
as tables (the ones ``kiosk report month --html`` draws) and moves a month at a time."""

from __future__ import annotations

from kiosk.context import KioskContext
from kiosk.plugins import load_plugins
from kiosk.ui.scenarios import click
from tests.screens import wait_until
from tests.ui.conftest import desk
from tests.ui.test_desk import login, on_desk, table_text
from tests.ui.test_lobby import texts


def english_desk(ui_ctx: KioskContext):  # type: ignore[no-untyped-def]
    ui_ctx.plugins = load_plugins()
    app = desk(ui_ctx, "en")
    app.poll_seconds = 3600
    return app


async def signed_in(pilot, who: str, pin: str) -> None:  # type: ignore[no-untyped-def]
    await login(pilot, who, pin)
    await wait_until(pilot, lambda: on_desk(pilot.app), "the desk after signing in")


async def test_a_butler_has_no_reports_tab(ui_ctx: KioskContext) -> None:
    app = english_desk(ui_ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, "S001", "2580")
        await pilot.pause()
        assert "tab-reports" not in {pane.id for pane in app.screen.query("TabPane")}
        assert not app.screen.query("ReportsPanel")


async def test_the_manager_reads_the_months_figures_and_goes_back_a_month(
    ui_ctx: KioskContext,
) -> None:
    from kiosk.ui.desk_reports import ReportsPanel

    app = english_desk(ui_ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, "S005", "1470")
        app.screen.show_tab("tab-reports")
        panel = app.screen.query_one(ReportsPanel)
        await wait_until(pilot, lambda: panel.loads == 1)
        assert panel.month == "2026-11"  # the fixtures' clock: 23 November 2026
        shown = texts(app)
        assert "Repairs timeliness by week" in shown and "Umbrella stock" in shown
        assert "In the stand" in table_text(app)  # the demo's umbrellas, as a table
        assert len(panel.shown) >= 8
        await click(app, pilot, "#rp-prev")
        await wait_until(pilot, lambda: panel.loads == 2)
        assert panel.month == "2026-10" and "2026-10" in texts(app)
        await click(app, pilot, "#rp-now")
        await wait_until(pilot, lambda: panel.loads == 3)
        assert panel.month == "2026-11"
