"""``kiosk simulate`` scenario for notices, driving the real screens headless."""

from __future__ import annotations

from typing import Any

from kiosk.hookspecs import Scenario

RESIDENT_CARD = "3C00A1B2C3"  # 王小明, owner of 3-1205 (demo estate)
BUTLER = ("staff", 1, "李管家", frozenset({"butler"}))
MANAGER = ("staff", 5, "周经理", frozenset({"manager", "butler", "cashier"}))


async def _until(run: Any, done: Any, what: str, seconds: float = 10.0) -> None:
    """Wait for ``done()``: the screens read and write off the UI thread, which a loaded
    machine can hold up for seconds."""
    for _ in range(int(seconds / 0.02)):
        if done():
            return
        await run.pilot.pause(0.02)
    raise AssertionError(f"{what}: not there within {seconds:.0f} s")


def _shown(run: Any, selector: str) -> bool:
    """``selector`` is on the screen and laid out (a click lands on it)."""
    found = run.app.screen.query(selector)
    return bool(found) and found.first().region.width > 0


async def publish_and_read(run: Any) -> None:
    """The butler drafts a notice to households, the manager approves it (numbered), it is
    published; the home screen shows it; a resident taps a card, opens it and signs: the
    household is counted once."""
    from kiosk.db.models import Resident
    from kiosk.identity import Actor, identify_card
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
    await run.tap(RESIDENT_CARD)
    if getattr(run.app, "actor", None) is None:  # a bare harness: identify as the shell would
        with ctx.database().read() as session:
            card = identify_card(session, RESIDENT_CARD)
            run.app.actor = Actor.of_resident(session.get(Resident, card.resident_id))
    if hasattr(run.app, "open_tile"):
        await run.app.open_tile("notices")
    if isinstance(run.app.screen, NoticesScreen):
        await run.app.screen.reload()  # a bare harness showed the list before it was published
    else:
        await run.app.push_screen(NoticesScreen(ctx))
    await _until(run, lambda: _shown(run, f"#open-{notice_id}"), "the notice")
    await run.click(f"#open-{notice_id}")
    await _until(run, lambda: bool(run.app.screen.query("#sign")), "the sign button")
    await run.click("#sign")
    await _until(run, lambda: bool(run.app.screen.query("#signed")), "the signature")
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
