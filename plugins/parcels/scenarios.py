"""``kiosk simulate`` scenarios for parcels, driving the real screens headless.

Each receives the runner's ScenarioRun (``run.app``, ``run.pilot``, ``run.ctx``, ``run.tap``,
``run.click``, ``run.press``, ``run.note``). The printed slip is rendered to ESC/POS and decoded
with :func:`devices.receipt_decode.decode_escpos`; its lines go to the transcript.
"""

from __future__ import annotations

from typing import Any

from kiosk.hookspecs import Scenario

RESIDENT_CARD = "3C00A1B2C3"  # 王小明, owner of 3-1205 (demo estate)


def note_slip(run: Any, job_id: int) -> list[str]:
    """Decode the print job as the printer would receive it and put it in the transcript."""
    from devices.printer import render_escpos
    from devices.receipt_decode import decode_escpos
    from kiosk.db.models import PrintJob
    from kiosk.printing import receipt_of

    with run.ctx.database().read() as session:
        job = session.get(PrintJob, job_id)
        assert job is not None, f"print job {job_id} is missing"
        receipt = receipt_of(job)
    decoded = decode_escpos(render_escpos(receipt, 58))
    run.note(f"printed slip (job {job_id}, {job.kind}):")
    for line in decoded.lines:
        if line.strip():
            run.note("  | " + line)
    return decoded.lines


async def open_tile(run: Any, tile_id: str, fallback: Any) -> None:
    """Through the home-screen tile when the lobby shell offers it, else push the screen."""
    if hasattr(run.app, "open_tile"):
        await run.app.open_tile(tile_id)
    else:
        await run.app.push_screen(fallback())
    for _ in range(3):
        await run.pilot.pause()


def _resident(run: Any) -> Any:
    from kiosk.db.models import Resident
    from kiosk.identity import Actor, identify_card

    with run.ctx.database().read() as session:
        card = identify_card(session, RESIDENT_CARD)
        resident = session.get(Resident, card.resident_id)
        assert resident is not None, "demo resident 王小明 is missing"
        return Actor.of_resident(resident)


async def _sign_and_confirm(run: Any) -> Any:
    from plugins.parcels.screens import PickupDoneScreen, SignaturePad, draw_signature

    pad = run.app.screen.query_one(SignaturePad)
    await draw_signature(run.pilot, pad)
    run.note(f"signed: {len(pad.strokes)} strokes, {sum(len(s) for s in pad.strokes)} points")
    await run.click("#confirm")
    await run.pilot.pause()
    screen = run.app.screen
    assert isinstance(screen, PickupDoneScreen), f"expected the done screen, got {screen}"
    return screen


async def pickup(run: Any) -> None:
    """Card tap -> the unit's waiting items -> signature -> one release -> slip."""
    from plugins.parcels.screens import PickupScreen, entry_screen

    await run.tap(RESIDENT_CARD)
    if getattr(run.app, "actor", None) is None:  # a bare harness: identify as the shell would
        run.app.actor = _resident(run)
    await open_tile(run, "parcels", lambda: entry_screen(run.ctx, _resident(run)))
    screen = run.app.screen
    assert isinstance(screen, PickupScreen), f"expected the items, got {screen}"
    assert screen.pickup.parcels, "nothing waiting for 3-1205 (demo estate)"
    run.note(f"{len(screen.pickup.parcels)} items waiting for 3-1205")
    done = await _sign_and_confirm(run)
    run.note(f"released {len(done.done.parcel_ids)} items in release {done.done.release_id}")
    lines = note_slip(run, done.done.print_job_id)
    assert any("王*明" in line for line in lines), "the slip names the picker, masked"


async def proxy(run: Any) -> None:
    """Unit + code -> the named proxy 李阿姨 says who she is -> signs -> slip says 代取."""
    from plugins.parcels import DEMO_CODE, DEMO_PROXY
    from plugins.parcels.screens import PickupCodeScreen, PickupScreen

    await open_tile(run, "parcels", lambda: PickupCodeScreen(run.ctx))
    assert isinstance(run.app.screen, PickupCodeScreen), f"got {run.app.screen}"
    await run.click("#unit")
    await run.press(*"3-1205")
    await run.click("#code")
    await run.press(*DEMO_CODE, "enter")
    await run.pilot.pause()
    assert isinstance(run.app.screen, PickupScreen), "the code was not accepted"
    from textual.widgets import Input

    run.app.screen.query_one("#picker", Input).value = DEMO_PROXY
    run.note(f"picker says: {DEMO_PROXY} (a proxy named by 3-1205)")
    done = await _sign_and_confirm(run)
    lines = note_slip(run, done.done.print_job_id)
    assert any("代取" in line for line in lines), "the slip marks a proxy pickup"


def scenarios() -> list[Scenario]:
    return [
        Scenario("parcels-pickup", "card tap, sign, collect every waiting item, slip", pickup),
        Scenario("parcels-proxy", "unit + code, a named proxy signs and collects, slip", proxy),
    ]
