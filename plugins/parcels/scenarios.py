"""``kiosk simulate`` scenarios for parcels, driving the real screens headless.

Each receives the runner's ScenarioRun (``run.app``, ``run.pilot``, ``run.ctx``, ``run.tap``,
``run.click``, ``run.press``, ``run.note``). The printed slip is rendered to ESC/POS and decoded
with :func:`devices.receipt_decode.decode_escpos`; its lines go to the transcript.
"""

from __future__ import annotations

from typing import Any

from kiosk.hookspecs import Scenario
from kiosk.ui.scenarios import demo_resident, note_slip, open_tile, tap_resident

RESIDENT_CARD = "3C00A1B2C3"  # 王小明, owner of 3-1205 (demo estate)


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

    await tap_resident(run, RESIDENT_CARD)
    await open_tile(run, "parcels", lambda: entry_screen(run.ctx, demo_resident(run)))
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
