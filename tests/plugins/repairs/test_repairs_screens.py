"""Filing a repair in a few taps and closing it with a signature drawn on the pad (MouseDown /
MouseMove / MouseUp posted to the pad), headless under Pilot; the simulate scenarios against a
stand-in runner; snapshots in Chinese and English."""

from __future__ import annotations

import pytest
from repairs_helpers import BUTLER, ENGINEER, resident

from kiosk.ui.scenarios import click
from plugins.repairs import service
from plugins.repairs.scenarios import scenarios
from plugins.repairs.screens import (
    RepairFiledScreen,
    RepairScreen,
    RepairSignScreen,
    SignaturePad,
    draw_signature,
)
from tests.screens import Harness, Run, screen_ctx, screen_text


async def test_a_resident_files_a_paid_repair_in_a_few_taps(kctx) -> None:
    app = Harness(kctx, RepairScreen(kctx), resident(kctx, "张伟"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await click(app, pilot, "#cat-doors")
        await pilot.pause()
        await click(app, pilot, "#cat-doors--lock")
        await pilot.pause()
        assert "Paid repair: ￥120.00" in screen_text(app)
        await click(app, pilot, "#slot-1")
        await click(app, pilot, "#send")
        await pilot.pause()
        assert isinstance(app.screen, RepairFiledScreen)
        assert app.screen.ticket.paid and app.screen.ticket.appointment


async def test_the_kiosk_offers_urgent_and_an_urgent_repair_calls_engineering(kctx) -> None:
    app = Harness(kctx, RepairScreen(kctx), resident(kctx, "张伟"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await click(app, pilot, "#cat-doors")
        await pilot.pause()
        await click(app, pilot, "#cat-doors--window")
        await pilot.pause()
        assert "Urgent: it cannot wait" in str(app.screen.query_one("#urgent").label)
        app.screen.query_one("#urgent").value = True
        await click(app, pilot, "#send")
        await pilot.pause()
        assert isinstance(app.screen, RepairFiledScreen)
        assert app.screen.ticket.emergency


async def test_completion_needs_a_drawn_signature(kctx) -> None:
    t = service.file_ticket(kctx, resident(kctx, "张伟"), category="plumbing.leak")
    service.confirm(kctx, BUTLER, t.number)
    service.dispatch(kctx, BUTLER, t.number)
    service.start(kctx, ENGINEER, t.number)

    screen = RepairSignScreen(kctx, t.number, ENGINEER)
    app = Harness(kctx, screen)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        pad = screen.query_one(SignaturePad)
        await draw_signature(pilot, pad, [[(5, 5)]])  # one dot
        await click(app, pilot, "#confirm")
        await pilot.pause()
        assert screen.done is None and "dot is not a signature" in screen_text(app)
        await click(app, pilot, "#clear")
        await draw_signature(pilot, pad)
        await click(app, pilot, "#confirm")
        await pilot.pause()
        assert screen.done is not None and screen.done.status == "completed"


async def test_the_desk_panel_shows_a_late_emergency(kctx) -> None:
    # The desk's repairs tab (plugins.repairs.desk): an emergency past its deadline is marked
    # and counted late.
    from textual.app import App
    from textual.widgets import DataTable, Label

    from plugins.repairs.desk import RepairsDeskPanel

    t = service.file_ticket(kctx, resident(kctx, "张伟"), category="plumbing.burst_pipe")
    kctx.clock.advance(minutes=7)

    class Desk(App[None]):
        def compose(self):
            yield RepairsDeskPanel(kctx, BUTLER)

        def local(self, at):  # the desk app's: a time in the estate's zone
            from kiosk.clock import as_utc

            return as_utc(at)

    app = Desk()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        summary = str(app.query_one("#rp-summary", Label).render())
        assert "Open tickets: 1" in summary and "late: 1" in summary
        table = app.query_one("#rp-table", DataTable)
        row = [str(c) for c in table.get_row(t.number)]
        assert row[0] == f"⚠ {t.number}"


@pytest.mark.parametrize("name", ["repairs-emergency", "repairs-lifecycle"])
async def test_the_simulate_scenarios_pass(kctx, name) -> None:
    scenario = next(s for s in scenarios() if s.name == name)

    app = Harness(kctx)
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario.run(Run(app, pilot, kctx))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("screen", ["tiles", "sign"])
def test_snapshot(snap_compare, sqlite_demo_url, screen, size, lang) -> None:
    with screen_ctx(sqlite_demo_url, lang) as ctx:
        if screen == "tiles":
            shown = RepairScreen(ctx)
        else:
            t = service.file_ticket(ctx, BUTLER, category="plumbing.leak", unit_code="1-101")
            shown = RepairSignScreen(ctx, t.number, ENGINEER)
        assert snap_compare(Harness(ctx, shown, resident(ctx, "张伟")), terminal_size=size)


async def test_a_complaint_and_a_suggestion_are_answered_as_such(kctx) -> None:
    """A complaint is told it will be looked into and answered, not "after the work"; a
    suggestion sent empty is refused on the screen (its words are the whole of it)."""
    from textual.widgets import Input

    app = Harness(kctx, RepairScreen(kctx), resident(kctx, "张伟"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await click(app, pilot, "#cat-suggestion")
        await pilot.pause()
        await click(app, pilot, "#send")
        await pilot.pause()
        assert "Please write your suggestion." in screen_text(app)
        assert isinstance(app.screen, RepairScreen)
        app.screen.query_one("#description", Input).value = "大堂多放几把椅子"
        await click(app, pilot, "#send")
        await pilot.pause()
        assert isinstance(app.screen, RepairFiledScreen)
        assert "Thank you for your suggestion" in screen_text(app)
        assert "after the work" not in screen_text(app)
    app = Harness(kctx, RepairScreen(kctx), resident(kctx, "张伟"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await click(app, pilot, "#cat-complaint")
        await pilot.pause()
        await click(app, pilot, "#cat-complaint--noise")
        await pilot.pause()
        await click(app, pilot, "#send")
        await pilot.pause()
        assert isinstance(app.screen, RepairFiledScreen)
        assert "reply to you" in screen_text(app) and "after the work" not in screen_text(app)
        assert "Complaint " in screen_text(app) and "Ticket " not in screen_text(app)


async def test_the_on_screen_keys_fit_the_repair_screen(kctx) -> None:
    """The repair screen's own button style must not reach the on-screen keys: at 80x24 every
    key of the description's keyboard is on screen, ⌫ and Done among them."""
    from kiosk.ui.widgets.softkeys import SoftKeyboard, key_id
    from tests.screens import wait_until

    app = Harness(kctx, RepairScreen(kctx), resident(kctx, "张伟"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await click(app, pilot, "#cat-doors")
        await click(app, pilot, "#cat-doors--lock")
        await click(app, pilot, "#description")
        await wait_until(pilot, lambda: bool(app.screen.query(SoftKeyboard)), "the keys")
        await pilot.pause()
        keys = list(app.screen.query_one(SoftKeyboard).query("Button"))
        assert len(keys) > 20
        for key in keys:
            region = key.region
            assert region.width >= 3 and region.right <= 80, (str(key.label), region)
        for label in ("⌫", "✓"):
            assert app.screen.query_one("#" + key_id(label)).region.right <= 80
