"""Filing a repair in a few taps and closing it with a signature drawn on the pad (MouseDown /
MouseMove / MouseUp posted to the pad), headless under Pilot; the simulate scenarios against a
stand-in runner; snapshots in Chinese and English."""

from __future__ import annotations

import asyncio

import pytest
from repairs_helpers import BUTLER, ENGINEER, resident
from textual.app import App
from textual.widgets import Label

from kiosk.clock import FixedClock
from plugins.repairs import service
from plugins.repairs.scenarios import scenarios
from plugins.repairs.screens import (
    RepairFiledScreen,
    RepairScreen,
    RepairsDeskPanel,
    RepairSignScreen,
    SignaturePad,
    draw_signature,
)


class Harness(App[None]):
    def __init__(self, ctx, actor=None, first=None) -> None:
        super().__init__()
        self.ctx, self.actor, self.first = ctx, actor, first

    def on_mount(self) -> None:
        if self.first is not None:
            self.push_screen(self.first)


class Run:
    def __init__(self, app, pilot, ctx) -> None:
        self.app, self.pilot, self.ctx = app, pilot, ctx
        self.transcript: list[str] = []

    async def tap(self, uid: str) -> None:
        self.note(f"tap {uid}")

    async def click(self, selector: str) -> None:
        await self.pilot.click(selector)

    async def press(self, *keys: str) -> None:
        await self.pilot.press(*keys)

    def note(self, text: str) -> None:
        self.transcript.append(text)


@pytest.fixture
def kctx(sqlite_demo_url):
    from kiosk.i18n import language, set_language
    from tests.conftest import make_ctx

    ctx = make_ctx(sqlite_demo_url, clock=FixedClock())
    before = language()
    set_language("en")
    yield ctx
    set_language(before)
    ctx.database().dispose()


def _text(app) -> str:
    return "\n".join(str(w.render()) for w in app.screen.query(Label))


def test_a_resident_files_a_paid_repair_in_a_few_taps(kctx) -> None:
    async def go() -> None:
        app = Harness(kctx, resident(kctx, "张伟"), RepairScreen(kctx))
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await pilot.click("#cat-doors")
            await pilot.pause()
            await pilot.click("#cat-doors--lock")
            await pilot.pause()
            assert "Paid repair: ￥120.00" in _text(app)
            await pilot.click("#slot-1")
            await pilot.click("#send")
            await pilot.pause()
            assert isinstance(app.screen, RepairFiledScreen)
            assert app.screen.ticket.paid and app.screen.ticket.appointment

    asyncio.run(go())


def test_the_kiosk_offers_urgent_and_an_urgent_repair_calls_engineering(kctx) -> None:
    async def go() -> None:
        app = Harness(kctx, resident(kctx, "张伟"), RepairScreen(kctx))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.click("#cat-doors")
            await pilot.pause()
            await pilot.click("#cat-doors--window")
            await pilot.pause()
            assert "Urgent: it cannot wait" in str(app.screen.query_one("#urgent").label)
            app.screen.query_one("#urgent").value = True
            await pilot.click("#send")
            await pilot.pause()
            assert isinstance(app.screen, RepairFiledScreen)
            assert app.screen.ticket.emergency

    asyncio.run(go())


def test_completion_needs_a_drawn_signature(kctx) -> None:
    t = service.file_ticket(kctx, resident(kctx, "张伟"), category="plumbing.leak")
    service.confirm(kctx, BUTLER, t.number)
    service.dispatch(kctx, BUTLER, t.number)
    service.start(kctx, ENGINEER, t.number)

    async def go() -> None:
        screen = RepairSignScreen(kctx, t.number, ENGINEER)
        app = Harness(kctx, None, screen)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            pad = screen.query_one(SignaturePad)
            await draw_signature(pilot, pad, [[(5, 5)]])  # one dot
            await pilot.click("#confirm")
            await pilot.pause()
            assert screen.done is None and "dot is not a signature" in _text(app)
            await pilot.click("#clear")
            await draw_signature(pilot, pad)
            await pilot.click("#confirm")
            await pilot.pause()
            assert screen.done is not None and screen.done.status == "completed"

    asyncio.run(go())


def test_the_desk_panel_shows_a_breached_clock(kctx) -> None:
    service.file_ticket(kctx, resident(kctx, "张伟"), category="plumbing.burst_pipe")
    kctx.clock.advance(minutes=7)

    class Desk(App[None]):
        def compose(self):
            yield RepairsDeskPanel(kctx)

    async def go() -> None:
        app = Desk()
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            text = "\n".join(str(w.render()) for w in app.query(Label))
            assert "response late 1" in text and "late 2 min" in text

    asyncio.run(go())


@pytest.mark.parametrize("name", ["repairs-emergency", "repairs-lifecycle"])
def test_the_simulate_scenarios_pass(kctx, name) -> None:
    scenario = next(s for s in scenarios() if s.name == name)

    async def go() -> None:
        app = Harness(kctx)
        async with app.run_test(size=(120, 40)) as pilot:
            await scenario.run(Run(app, pilot, kctx))

    asyncio.run(go())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("screen", ["tiles", "sign"])
def test_snapshot(snap_compare, sqlite_demo_url, screen, size, lang) -> None:
    from kiosk.i18n import language, register_catalog, set_language
    from plugins.repairs import HERE
    from tests.conftest import make_ctx

    register_catalog(HERE / "locale", "repairs")
    ctx = make_ctx(sqlite_demo_url, clock=FixedClock())
    before = language()
    set_language(lang)
    try:
        if screen == "tiles":
            shown = RepairScreen(ctx)
        else:
            t = service.file_ticket(ctx, BUTLER, category="plumbing.leak", unit_code="1-101")
            shown = RepairSignScreen(ctx, t.number, ENGINEER)
        assert snap_compare(Harness(ctx, resident(ctx, "张伟"), shown), terminal_size=size)
    finally:
        set_language(before)
        ctx.database().dispose()
