"""The umbrella screen headless under Pilot: borrow by tapping an umbrella on the stand, return
it damaged; the ``kiosk simulate`` scenarios against a stand-in runner; snapshots in Chinese
and English."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Label
from umbrellas_helpers import resident

from kiosk.ui.scenarios import click
from plugins.umbrellas import service
from plugins.umbrellas.scenarios import scenarios
from plugins.umbrellas.screens import UmbrellaScreen
from tests.screens import DeskHarness, Harness, Run, screen_ctx, screen_text, wait_until


async def test_a_resident_confirms_the_condition_borrows_and_returns_it_damaged_by_touch(
    kctx,
) -> None:
    app = Harness(kctx, UmbrellaScreen(kctx), resident(kctx, "张伟"))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: bool(app.screen.query("#lend-U002")))
        await click(app, pilot, "#lend-U002")
        await wait_until(pilot, lambda: bool(app.screen.query("#confirm-lend")))
        # The recorded condition is shown before anything is lent.
        assert "Recorded condition: intact" in screen_text(app)
        # And what borrowing commits to: the due time, the late fee and the price.
        terms = str(app.screen.query_one("#terms", Label).render())
        assert "More than 24 h late: ￥2.00 a day, at most ￥20.00." in terms
        assert "Lost or damaged: ￥68.00." in terms
        assert service.loans_of(kctx, app.actor) == []
        await click(app, pilot, "#confirm-lend")
        await wait_until(pilot, lambda: "U002 is yours" in screen_text(app))
        (loan,) = service.loans_of(kctx, app.actor)
        assert f"Return by {kctx.local_time(loan.due_at)}." in terms
        message = app.screen.query_one("#message")
        assert message.has_class("ok") and not message.has_class("error")
        # Listed under the household's umbrellas, with its own Return button: no typing.
        await wait_until(pilot, lambda: bool(app.screen.query("#return-U002")))
        await click(app, pilot, "#return-U002")
        await wait_until(pilot, lambda: bool(app.screen.query("#cond-damaged")))
        assert "Returning umbrella U002" in screen_text(app)
        await click(app, pilot, "#cond-damaged")
        # A charge follows: one tap only warns, and the loan is still open.
        await wait_until(pilot, lambda: bool(app.screen.query("#charge-warning")), "warned")
        assert "Tap Damaged again" in screen_text(app) and service.loans_of(kctx, app.actor)
        await click(app, pilot, "#cond-damaged")
        await wait_until(pilot, lambda: "￥68.00 is owed" in screen_text(app))
        assert "￥68.00 is owed" in screen_text(app)
        assert service.loans_of(kctx, app.actor) == []


async def test_a_scanned_tag_not_on_loan_is_refused(kctx) -> None:
    app = Harness(kctx, UmbrellaScreen(kctx), resident(kctx, "张伟"))
    async with app.run_test(size=(120, 40)) as pilot:
        # The stand loads off the UI thread and redraws the screen: type once it has.
        await wait_until(pilot, lambda: bool(app.screen.query("#lend-U001")))
        app.screen.query_one("#tag", Input).focus()
        await pilot.press(*"U003", "enter")
        await wait_until(pilot, lambda: bool(app.screen.query("#cond-intact")))
        await click(app, pilot, "#cond-intact")
        await wait_until(pilot, lambda: "not on loan" in screen_text(app))
        assert "not on loan" in screen_text(app)


@pytest.mark.parametrize("name", ["umbrellas-lend-return", "umbrellas-damage"])
async def test_the_simulate_scenarios_pass(kctx, name) -> None:
    scenario = next(s for s in scenarios() if s.name == name)

    app = Harness(kctx, UmbrellaScreen(kctx))
    async with app.run_test(size=(120, 40)) as pilot:
        run = Run(app, pilot, kctx)
        await scenario.run(run)
        assert run.transcript


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_snapshot(snap_compare, sqlite_demo_url, size, lang) -> None:
    with screen_ctx(sqlite_demo_url, lang) as ctx:
        app = Harness(ctx, UmbrellaScreen(ctx), resident(ctx, "张伟"))
        assert snap_compare(app, terminal_size=size)


async def test_the_desk_confirms_a_damaged_umbrella_and_sends_reminders(kctx) -> None:
    from umbrellas_helpers import BUTLER

    from plugins.umbrellas import service
    from plugins.umbrellas.screens import UmbrellasDeskPanel

    zhang = resident(kctx, "张伟")
    loan = service.lend(kctx, zhang, "U001")
    service.return_umbrella(kctx, zhang, "U001", "damaged")
    service.lend(kctx, resident(kctx, "刘芳"), "U002")
    kctx.clock.advance(days=4)

    app = DeskHarness(lambda: UmbrellasDeskPanel(kctx, BUTLER))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        text = "\n".join(str(w.render()) for w in app.query(Label))
        assert "Overdue: 1" in text and "U002" in text and "damaged 1" in text
        await click(app, pilot, f"#confirm-{loan.loan_id}")
        await pilot.pause()
        # The desk's poll then sees one charge fewer and reads the panel again: what was just
        # done stays said (it said nothing before, and billed looked like waived).
        panel = app.query_one(UmbrellasDeskPanel)
        await panel.desk_changed((0, 0, 1), (0, 0, 0))
        await pilot.pause()
        said = str(app.query_one("#message", Label).render())
        assert f"Loan {loan.loan_id}" in said and "billed" in said.lower(), said
        await click(app, pilot, "#remind")
        await pilot.pause()
        text = "\n".join(str(w.render()) for w in app.query(Label))
        assert "1 reminders sent." in text and f"#confirm-{loan.loan_id}" not in text


def test_the_desk_panel_watches_loans_returns_and_charges(kctx) -> None:
    """The desk's poll sees a loan, a return at a kiosk and a charge waiting, so the panel's
    stock and its charges to confirm follow (before, only logging in again showed them)."""
    from sqlalchemy import select
    from umbrellas_helpers import BUTLER

    from plugins.umbrellas import service
    from plugins.umbrellas.screens import UmbrellasDeskPanel

    panel = UmbrellasDeskPanel(kctx, BUTLER)

    def seen() -> tuple:
        with kctx.database().read() as session:
            return tuple(
                session.execute(select(*(q.scalar_subquery() for q in panel.desk_watch()))).one()
            )

    zhang = resident(kctx, "张伟")
    before = seen()
    service.lend(kctx, zhang, "U001")
    lent = seen()
    service.return_umbrella(kctx, zhang, "U001", "damaged")
    back = seen()
    assert before != lent != back
    assert back[2] == before[2] + 1  # a charge waits for the butler
