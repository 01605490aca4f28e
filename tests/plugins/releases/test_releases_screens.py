"""The release-pass screens headless under Pilot: a resident asks for a move-out pass by touch
and signs on the pad; the butler approves at the desk; the guard types the code, signs and
records the exit; the ``kiosk simulate`` scenarios; snapshots at 80x24 in Chinese and English."""

from __future__ import annotations

import pytest
from releases_helpers import BUTLER, GUARD, SIGNED, resident
from textual.app import App
from textual.widgets import Input, Label

from kiosk.ui.scenarios import click
from kiosk.ui.widgets.signature import SignaturePad
from plugins.releases import service
from plugins.releases.scenarios import scenarios
from plugins.releases.screens import GateExitPanel, ReleaseRequestScreen, ReleasesDeskPanel
from tests.screens import (
    DeskHarness,
    Harness,
    Run,
    open_form,
    screen_ctx,
    screen_text,
    wait_until,
)


def panel_text(app: App) -> str:
    return "\n".join(str(w.render()) for w in app.query(Label))


async def test_a_resident_asks_for_a_move_out_pass_and_signs_on_the_pad(kctx) -> None:
    app = Harness(kctx, ReleaseRequestScreen(kctx), resident(kctx, "刘芳"))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: bool(app.screen.query("#carrier")))
        app.screen.query_one("#carrier", Input).value = "老李搬家"
        app.screen.query_one("#items", Input).value = "沙发, 纸箱6个"
        await click(app, pilot, "#reason-move_out")
        await click(app, pilot, "#submit")  # not signed yet: refused, nothing filed
        await wait_until(pilot, lambda: "Please sign" in screen_text(app))
        assert service.passes_of(kctx, app.actor) == []
        pad = app.screen.query_one(SignaturePad)
        await pilot.mouse_down(pad, offset=(3, 2))
        for x in range(4, 20, 2):
            await pilot.hover(pad, offset=(x, 2 + x % 3))
        await pilot.mouse_up(pad, offset=(20, 3))
        if not pad.is_meaningful():  # a headless pilot may drop moves: draw as a finger would
            pad.strokes = [[(2, 1), (6, 3), (10, 2), (14, 4), (18, 1), (20, 3)]]
        await click(app, pilot, "#submit")
        await wait_until(pilot, lambda: app.screen.last is not None, "the request")
        assert "is asked for" in screen_text(app)
        (mine,) = service.passes_of(kctx, app.actor)
        assert mine.reason == "move_out" and mine.status == "requested"
        # Asked for: the form is empty again, so a second tap cannot ask for it twice.
        assert app.screen.query_one("#items", Input).value == ""
        pad.strokes = [[(2, 1), (6, 3), (10, 2), (14, 4), (18, 1), (20, 3)]]
        await click(app, pilot, "#submit")
        await pilot.pause()
        assert len(service.passes_of(kctx, app.actor)) == 1


async def test_the_butler_approves_and_the_guard_records_the_exit_at_the_desk(kctx) -> None:
    view = service.request_pass(
        kctx, resident(kctx, "Emily Wang"), carrier="Emily Wang", items="书桌", reason="temporary",
        leave_on=None, signature=SIGNED,
    )  # fmt: skip

    app = DeskHarness(lambda: ReleasesDeskPanel(kctx, BUTLER))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "Waiting for approval: 1" in panel_text(app)
        app.query_one(SignaturePad).strokes = [[tuple(p) for p in s] for s in SIGNED]
        await click(app, pilot, f"#approve-{view.id}")  # a tenant's: the owner first
        await wait_until(pilot, lambda: "phone the owner" in panel_text(app))
        app.query_one("#note", Input).value = "10:32 业主电话同意"
        await click(app, pilot, f"#owner-{view.id}")
        await wait_until(pilot, lambda: "owner's word is recorded" in panel_text(app))
        app.query_one(SignaturePad).strokes = [[tuple(p) for p in s] for s in SIGNED]
        await click(app, pilot, f"#approve-{view.id}")
        await wait_until(pilot, lambda: "approved and printed" in panel_text(app))
    (approved,) = service.approved(kctx)

    class Gate(App[None]):
        def compose(self):
            yield GateExitPanel(kctx, GUARD)

    app = Gate()
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one("#code", Input).value = approved.qr
        await click(app, pilot, "#check")
        await wait_until(pilot, lambda: "is valid" in panel_text(app))
        assert "书桌" in panel_text(app)
        await click(app, pilot, "#exit")  # the guard has not signed
        await wait_until(pilot, lambda: "Please sign" in panel_text(app))
        app.query_one(SignaturePad).strokes = [[tuple(p) for p in s] for s in SIGNED]
        await click(app, pilot, "#exit")
        await wait_until(pilot, lambda: "exit recorded" in panel_text(app))
        app.query_one("#code", Input).value = approved.qr
        await click(app, pilot, "#check")
        await wait_until(pilot, lambda: "already used" in panel_text(app))


async def test_the_desk_files_a_pass_for_a_resident_at_the_counter(kctx) -> None:
    """The resident came to the counter: the butler types the pass in, the resident signs on
    the desk's pad, and it waits for approval in the same list."""
    from kiosk.ui.widgets.signature import SignaturePad as Pad

    app = DeskHarness(lambda: ReleasesDeskPanel(kctx, BUTLER))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "Waiting for approval: 0" in panel_text(app)
        form = await open_form(app, pilot, "#counter", unit="2-803", applicant="刘芳",
                               carrier="老李搬家", items="沙发, 纸箱6个", leave_on="not a day")  # fmt: skip
        form.query_one("#form-ok").press()
        await wait_until(pilot, lambda: "YYYY-MM-DD" in screen_text(app), "the day refused")
        form.query_one("#field-leave_on", Input).value = kctx.today().isoformat()
        form.query_one("#form-ok").press()  # not signed: the form stays and says so
        await wait_until(pilot, lambda: "Please sign" in screen_text(app), "no signature")
        assert app.screen is form and service.waiting(kctx) == []
        form.query_one(Pad).strokes = [[tuple(p) for p in s] for s in SIGNED]
        form.query_one("#form-ok").press()
        await wait_until(pilot, lambda: "waits for approval" in panel_text(app), "filed")
        assert "Waiting for approval: 1" in panel_text(app)
    (filed,) = service.waiting(kctx)
    assert filed.unit_code == "2-803" and filed.items == "沙发, 纸箱6个"
    assert filed.status == "requested"


@pytest.mark.parametrize("name", ["releases.move_out_pass", "releases.forged_code"])
async def test_the_simulate_scenarios_pass(kctx, name) -> None:
    scenario = next(s for s in scenarios() if s.name == name)
    app = Harness(kctx, None)
    async with app.run_test(size=(80, 24)) as pilot:
        run = Run(app, pilot, kctx)
        await scenario.run(run)
        assert run.transcript


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_snapshot_request(snap_compare, sqlite_demo_url, lang) -> None:
    with screen_ctx(sqlite_demo_url, lang) as ctx:
        app = Harness(ctx, ReleaseRequestScreen(ctx), resident(ctx, "刘芳"))
        assert snap_compare(app, terminal_size=(80, 24))


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("panel", ["approvals", "gate"])
def test_snapshot_desk(snap_compare, sqlite_demo_url, lang, panel) -> None:
    with screen_ctx(sqlite_demo_url, lang) as ctx:
        service.request_pass(
            ctx, resident(ctx, "Emily Wang"), carrier="Emily Wang", items="书桌, 椅子2把",
            reason="move_out", leave_on=None, signature=SIGNED,
        )  # fmt: skip

        if panel == "approvals":
            app = DeskHarness(lambda: ReleasesDeskPanel(ctx, BUTLER))
        else:
            app = DeskHarness(lambda: GateExitPanel(ctx, GUARD))
        assert snap_compare(app, terminal_size=(80, 24))


async def test_a_request_at_the_kiosk_shows_on_the_open_desk_at_the_next_poll(kctx) -> None:
    app = DeskHarness(lambda: ReleasesDeskPanel(kctx, BUTLER))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        panel = app.query_one(ReleasesDeskPanel)

        def poll() -> tuple:
            with kctx.database().read() as s:
                return tuple(s.scalar(q) for q in panel.desk_watch())

        before = poll()
        assert "Waiting for approval: 0" in panel_text(app)
        app.query_one("#note", Input).value = "half typed"
        service.request_pass(
            kctx, resident(kctx, "刘芳"), carrier="老李", items="沙发", reason="temporary",
            leave_on=None, signature=SIGNED,
        )  # fmt: skip
        after = poll()
        assert after != before
        await panel.desk_changed(before, after)
        await wait_until(pilot, lambda: "Waiting for approval: 1" in panel_text(app))
        assert app.query_one("#note", Input).value == "half typed"  # what the butler typed stays
