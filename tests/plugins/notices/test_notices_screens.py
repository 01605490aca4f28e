"""The notices screens headless under Pilot: a resident opens a notice from the list and signs
for the household; without a card the screen asks for one; the desk drafts, approves and
publishes; the ``kiosk simulate`` scenario against a stand-in runner; snapshots in Chinese and
English at 80x24 and 120x40."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from kiosk.ui.scenarios import click
from plugins.notices import service
from plugins.notices.scenarios import scenarios
from plugins.notices.screens import NoticesDeskPanel, NoticesScreen
from tests.plugins.demo_people import BUTLER, MANAGER, resident
from tests.screens import DeskHarness, Harness, Run, screen_ctx, screen_text, wait_until


def _published(ctx, households: bool = True) -> int:  # type: ignore[no-untyped-def]
    notice_id = service.draft(ctx, BUTLER, title="电梯年检通知", body="本周六电梯年检，请走楼梯。",
                              households=households)  # fmt: skip
    service.approve(ctx, MANAGER, notice_id)
    service.publish(ctx, BUTLER, notice_id)
    return notice_id


async def test_a_resident_opens_a_notice_and_signs_for_the_household_once(kctx) -> None:
    notice_id = _published(kctx)
    wang = resident(kctx, "王小明")
    app = Harness(kctx, NoticesScreen(kctx), wang)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: bool(app.screen.query(f"#open-{notice_id}")), "the list")
        await click(app, pilot, f"#open-{notice_id}")
        await wait_until(pilot, lambda: bool(app.screen.query("#sign")), "the sign button")
        assert "please sign that you read it" in screen_text(app)
        await click(app, pilot, "#sign")
        await wait_until(pilot, lambda: "has signed for this notice" in screen_text(app))
        assert app.screen.query_one("#signed").disabled
        assert service.read_count(kctx, notice_id).read == 1
        assert service.mark_read(kctx, resident(kctx, "Emily Wang"), notice_id) is False


async def test_without_a_card_the_notice_asks_for_one_first(kctx) -> None:
    notice_id = _published(kctx)
    app = Harness(kctx, NoticesScreen(kctx, notice_id))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: bool(app.screen.query("#identify-sign")), "ask for a card")
        assert not app.screen.query("#sign")
        await click(app, pilot, "#identify-sign")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "IdentifyScreen")
        assert service.read_count(kctx, notice_id).read == 0


async def test_the_desk_drafts_the_manager_approves_and_the_butler_publishes(kctx) -> None:
    app = DeskHarness(lambda: NoticesDeskPanel(kctx, MANAGER))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.query_one("#n-title", Input).value = "消防演练通知"
        app.query_one("#n-body", Input).value = "周三下午消防演练"
        app.query_one("#n-days", Input).value = "3"
        await click(app, pilot, "#n-draft")
        await wait_until(pilot, lambda: "drafted" in screen_text(app), "the draft")
        draft = next(n for n in service.notices(kctx) if n.title == "消防演练通知")
        await click(app, pilot, f"#approve-{draft.id}")
        await wait_until(pilot, lambda: "approved and numbered" in screen_text(app))
        await click(app, pilot, f"#publish-{draft.id}")
        await wait_until(pilot, lambda: "is on the kiosks" in screen_text(app))
        assert draft.id in {n.id for n in service.current(kctx)}
        await click(app, pilot, "#n-draft")  # no title: refused, said plainly
        await wait_until(pilot, lambda: "needs a title" in screen_text(app))


async def test_the_desk_lists_the_households_still_to_sign(kctx) -> None:
    """A notice households sign: the desk names the units that have not, to take it to them."""
    notice_id = _published(kctx)
    service.mark_read(kctx, resident(kctx, "王小明"), notice_id)
    count = service.read_count(kctx, notice_id)
    assert count.read == 1 and "3-1205" not in count.unread_units
    app = DeskHarness(lambda: NoticesDeskPanel(kctx, BUTLER))
    async with app.run_test(size=(120, 40)) as pilot:
        await click(app, pilot, f"#unread-{notice_id}")
        await wait_until(pilot, lambda: "have not signed" in screen_text(app), "the units")
        said = screen_text(app)
        assert f"{len(count.unread_units)} of {count.households} households" in said
        assert all(unit in said for unit in count.unread_units[:40])
        assert " 3-1205" not in said


async def test_the_simulate_scenario_passes(kctx) -> None:
    (scenario,) = [s for s in scenarios() if s.name == "notices-publish-read"]
    app = Harness(kctx, NoticesScreen(kctx))
    async with app.run_test(size=(120, 40)) as pilot:
        run = Run(app, pilot, kctx)
        await scenario.run(run)
        assert any("read by 1" in line for line in run.transcript)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("page", ["list", "notice"])
def test_snapshot(snap_compare, sqlite_demo_url, page, size, lang) -> None:
    with screen_ctx(sqlite_demo_url, lang) as ctx:
        notice_id = _published(ctx)
        screen = NoticesScreen(ctx, notice_id if page == "notice" else None)
        assert snap_compare(Harness(ctx, screen, resident(ctx, "张伟")), terminal_size=size)
