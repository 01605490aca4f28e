"""``kiosk simulate`` scenario for notices, driving the real screens headless."""

from __future__ import annotations

from typing import Any

from kiosk.hookspecs import Scenario
from kiosk.ui.scenarios import laid_out, tap_resident, until

RESIDENT_CARD = "3C00A1B2C3"  # 王小明, owner of 3-1205 (demo estate)
BUTLER = ("staff", 1, "李管家", frozenset({"butler"}))
MANAGER = ("staff", 5, "周经理", frozenset({"manager", "butler", "cashier"}))


async def publish_and_read(run: Any) -> None:
    """The butler drafts a notice to households, the manager approves it (numbered), it is
    published; the home screen shows it; a resident taps a card, opens it and signs: the
    household is counted once."""
    from kiosk.identity import Actor
    from plugins.notices import service
    from plugins.notices.screens import NoticesScreen

    ctx = run.ctx
    butler, manager = Actor(*BUTLER), Actor(*MANAGER)
    notice_id = service.draft(ctx, butler, title="电梯年检通知", body="本周六电梯年检，请走楼梯。",
                              households=True)  # fmt: skip
    approved = service.approve(ctx, manager, notice_id)
    assert approved.number.endswith("号") and approved.approved_at is not None, approved
    service.publish(ctx, butler, notice_id)
    run.note(f"published {approved.number}")
    if hasattr(run.app, "refresh_notices"):  # the lobby shell: the notice is on the home strip
        await run.app.refresh_notices()
        assert any(approved.number in n.text for n in run.app.visible_notices()), "not on home"
        run.note("on the home screen's notice strip")
    await tap_resident(run, RESIDENT_CARD)
    if hasattr(run.app, "open_tile"):
        await run.app.open_tile("notices")
    if isinstance(run.app.screen, NoticesScreen):
        await run.app.screen.reload()  # a bare harness showed the list before it was published
    else:
        await run.app.push_screen(NoticesScreen(ctx))
    await until(run, lambda: laid_out(run, f"#open-{notice_id}"), "the notice")
    await run.click(f"#open-{notice_id}")
    await until(run, lambda: bool(run.app.screen.query("#sign")), "the sign button")
    await run.click("#sign")
    await until(run, lambda: bool(run.app.screen.query("#signed")), "the signature")
    count = service.read_count(ctx, notice_id)
    assert count.read == 1, count
    assert service.mark_read(ctx, run.app.actor, notice_id) is False, "signed twice"
    run.note(f"read by {count.read} of {count.households} households; a second tap adds none")


def scenarios() -> list[Scenario]:
    return [
        Scenario(
            "notices-publish-read",
            "draft, approve (numbered), publish; home strip; a household signs once",
            publish_and_read,
        ),
    ]
