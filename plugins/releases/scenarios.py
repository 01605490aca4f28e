"""``kiosk simulate`` scenarios for item release passes, driving the real screens headless."""

from __future__ import annotations

from typing import Any

from kiosk.hookspecs import Scenario
from kiosk.ui.scenarios import open_as_resident, until

RESIDENT_CARD = "04D5E6F7"  # 刘芳, owner of 2-803 (demo estate: nothing owed)
BUTLER = ("S001", "butler")
GUARD = ("S004", "security")
STROKES = [[[2, 1], [6, 3], [10, 2], [14, 4], [18, 1]]]


def _staff(run: Any, number: str) -> Any:
    from sqlalchemy import select

    from kiosk.db.models import Staff
    from kiosk.identity import Actor

    with run.ctx.database().read() as session:
        return Actor.of_staff(session.scalars(select(Staff).where(Staff.number == number)).one())


async def _open(run: Any) -> Any:
    from plugins.releases.screens import ReleaseRequestScreen

    await open_as_resident(run, RESIDENT_CARD, "releases", ReleaseRequestScreen)
    await until(run, lambda: bool(run.app.screen.query("#carrier")), "the request form")
    return run.app.screen


async def move_out_pass(run: Any) -> None:
    """Card tap -> ask for a move-out pass and sign -> the butler approves (fees checked) ->
    the guard scans the code, signs, the exit is recorded; the same code again is refused."""
    from kiosk.errors import Refused
    from kiosk.ui.widgets.signature import SignaturePad
    from plugins.releases import service

    screen = await _open(run)
    screen.query_one("#carrier").value = "Movers Co"
    screen.query_one("#items").value = "sofa, bed, 6 boxes"
    await run.click("#reason-move_out")
    pad = screen.query_one(SignaturePad)
    pad.strokes = [[tuple(p) for p in s] for s in STROKES]
    await run.click("#submit")
    await until(run, lambda: screen.last is not None, "the request")
    view = screen.last
    assert view.reason == "move_out" and view.status == "requested", view
    run.note(f"asked for {view.number} ({view.unit_code}, move-out)")

    butler = _staff(run, BUTLER[0])
    by_hand = not service.billing.available(run.ctx)
    done = service.approve(run.ctx, butler, view.id, STROKES, fees_cleared_by_hand=by_hand)
    assert done.status == "approved" and done.qr.startswith("KR1."), done
    run.note(f"butler approved {done.number}: fees {done.fees_check}, printed with its QR")

    guard = _staff(run, GUARD[0])
    out = service.record_exit(run.ctx, guard, done.qr, STROKES)
    assert out.status == "used" and out.exited_at is not None, out
    run.note(f"guard recorded the exit of {out.number}")
    try:
        service.record_exit(run.ctx, guard, done.qr, STROKES)
    except Refused as exc:
        assert exc.code == "releases.used", exc.code
        run.note("the same code again: refused (a pass is used once)")
    else:
        raise AssertionError("a used pass let items out twice")


async def forged_code(run: Any) -> None:
    """A tenant's pass waits for the owner's word; a forged code at the gate is refused."""
    from kiosk.errors import Refused
    from plugins.releases import service

    guard = _staff(run, GUARD[0])
    butler = _staff(run, BUTLER[0])
    view = service.request_pass(
        run.ctx, butler, carrier="Emily Wang", items="desk, 2 chairs", reason="temporary",
        leave_on=None, signature=STROKES, unit_code="3-1205", applicant="Emily Wang",
    )  # fmt: skip
    try:
        service.approve(run.ctx, butler, view.id, STROKES)
    except Refused as exc:
        assert exc.code == "releases.owner", exc.code
        run.note(f"{view.number}: a tenant's pass waits for the owner's word")
    else:
        raise AssertionError("a tenant's pass was approved without the owner")
    service.confirm_owner(run.ctx, butler, view.id, "owner agreed by phone")
    done = service.approve(run.ctx, butler, view.id, STROKES)
    forged = done.qr[:-4] + ("0000" if not done.qr.endswith("0000") else "1111")
    try:
        service.record_exit(run.ctx, guard, forged, STROKES)
    except Refused as exc:
        assert exc.code == "releases.forged", exc.code
        run.note("a forged code at the gate: refused")
    else:
        raise AssertionError("a forged code let items out")
    assert service.check_pass(run.ctx, guard, done.qr).status == "approved"


def scenarios() -> list[Scenario]:
    return [
        Scenario("releases.move_out_pass",
                 "card tap, move-out pass, butler approves, guard records the exit", move_out_pass),
        Scenario("releases.forged_code",
                 "a tenant's pass needs the owner; a forged code is refused", forged_code),
    ]  # fmt: skip
