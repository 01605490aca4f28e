"""``kiosk simulate`` scenarios for visitors, driving the real screens headless; the printed
pass is rendered to ESC/POS, decoded and written to the transcript."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kiosk.hookspecs import Scenario
from kiosk.ui.scenarios import note_slip, open_tile, screen_shown


def _host(run: Any) -> Any:
    from sqlalchemy import select

    from kiosk.db.models import Resident, Unit
    from kiosk.identity import Actor

    with run.ctx.database().read() as session:
        r = session.scalars(
            select(Resident)
            .join(Unit, Unit.id == Resident.unit_id)
            .where(Unit.code == "3-1205", Resident.name == "王小明")
        ).one()
        return Actor.of_resident(r)


async def walkup(run: Any) -> None:
    """A visitor registers, the host approves, the pass prints; sign-out with the pass."""
    from plugins.visitors import service
    from plugins.visitors.screens import PassScreen, WaitingScreen, WalkupScreen

    await open_tile(run, "visitors", lambda: WalkupScreen(run.ctx))
    assert isinstance(run.app.screen, WalkupScreen), f"got {run.app.screen}"
    for field, text in (("#name", "赵六一"), ("#phone", "13912345678"), ("#unit", "3-1205"),
                        ("#purpose", "探亲")):  # fmt: skip
        await run.click(field)
        await run.press(*text)
    await run.click("#submit")
    waiting = await screen_shown(run, WaitingScreen, "the waiting screen")
    run.note(f"visit {waiting.visit.id}: asking the host of 3-1205")
    service.decide(run.ctx, _host(run), waiting.visit.id, approve=True)
    run.note("host 王小明 approves")
    await waiting.check()
    await run.pilot.pause()
    screen = run.app.screen
    assert isinstance(screen, PassScreen), f"expected the pass, got {screen}"
    assert screen.visit.print_job_id is not None
    lines = note_slip(run, screen.visit.print_job_id, qr=True)
    assert any("赵*一" in line for line in lines) and not any("赵六一" in x for x in lines)
    service.sign_out(run.ctx, screen.visit.qr)
    run.note("signed out with the pass QR")


async def invite(run: Any) -> None:
    """The host invites a guest; the guest types the code and gets the pass at once; the
    same code a second time is refused with the reason."""
    from kiosk.errors import Refused
    from plugins.visitors import service
    from plugins.visitors.screens import InviteScreen, PassScreen

    now = run.ctx.clock.now()
    inv = service.create_invite(
        run.ctx, _host(run), unit_code="3-1205", visitor_name="Bob Lee",
        valid_from=now, valid_until=now + dt.timedelta(hours=3),
    )  # fmt: skip
    run.note(f"王小明 invites Bob Lee for 3 hours: code {inv.code}")
    await open_tile(run, "visitors-invite", lambda: InviteScreen(run.ctx))
    assert isinstance(run.app.screen, InviteScreen), f"got {run.app.screen}"
    await run.click("#code")
    await run.press(*inv.code, "enter")
    await run.pilot.pause()
    screen = run.app.screen
    assert isinstance(screen, PassScreen), f"expected the pass, got {screen}"
    assert screen.visit.print_job_id is not None
    note_slip(run, screen.visit.print_job_id, qr=True)
    try:
        service.redeem_invite(run.ctx, inv.code)
    except Refused as exc:
        run.note(f"second use refused: {exc.code}")
        assert exc.code == "visitors.invite_used"
    else:
        raise AssertionError("an invite worked twice")


def scenarios() -> list[Scenario]:
    return [
        Scenario("visitors-walkup", "walk-up, host approves, pass printed, sign-out", walkup),
        Scenario("visitors-invite", "invite code gives the pass at once, works once", invite),
    ]
