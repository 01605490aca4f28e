"""The core's own ``kiosk simulate`` scenarios: identification, refusals, idle, language, exit,
the desk. Plugins add theirs through ``kiosk_scenarios``."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from kiosk.hookspecs import Scenario
from kiosk.i18n import _

RESIDENT = "3C00A1B2C3"  # 王小明, owner of 3-1205
STAFF = "12345678"  # S001 李管家, butler, PIN 2580


async def resident_tap(run: Any) -> None:
    await run.tap(RESIDENT)
    assert run.app.actor is not None and run.app.actor.name == "王小明", run.app.actor
    await run.expect_text("王*明")
    await run.expect_text("3-1205")
    run.note("identified 王*明 of 3-1205 (name masked on screen)")


async def unknown_card(run: Any) -> None:
    from kiosk.db.models import DeskAlert

    for attempt in range(3):
        # Different cards: the reader debounces one card held on it for a second (one tap).
        await run.tap(f"FFFF00000{attempt + 1}")
        await run.expect_screen("MessageScreen")
        await run.expect_text(_("Card not recognised. Please see the desk."))
        run.note(f"attempt {attempt + 1}: refused")
        await run.click("#ok")
    with run.ctx.database().read() as s:
        alerts = s.scalars(select(DeskAlert).where(DeskAlert.kind == "unknown_card")).all()
    assert len(alerts) == 1, alerts
    run.note(f"desk alert: {alerts[0].message}")


async def unit_pin(run: Any) -> None:
    await run.click("#identify")
    await run.expect_screen("IdentifyScreen")
    await run.click("#unit")
    await run.type("3-1205")
    await run.click("#pin")
    for key in "0000":
        await run.click(f"#key-{key}")
    await run.click("#ok")
    await run.expect_text("4")
    run.note("wrong PIN refused, remaining tries shown")
    await run.click("#pin")
    await run.type("1205")
    await run.press("enter")
    await run.expect_screen("HomeScreen")
    assert run.app.actor is not None and run.app.actor.unit_id is not None
    run.note(f"identified by unit + PIN: {run.app.actor.label}")


async def idle_reset(run: Any) -> None:
    await run.tap(RESIDENT)
    assert run.app.actor is not None
    await run.click("#staff")
    await run.expect_screen("StaffLoginScreen")
    await run.type("S0")
    run.app._last_input = time.monotonic() - run.ctx.settings.idle_timeout - 1
    await run.app._idle_check()
    await run.settle()
    assert run.app.actor is None and len(run.app.screen_stack) == 1
    await run.expect_screen("HomeScreen")
    run.note("idle timeout: back home, resident forgotten, half-typed staff number gone")


async def language_switch(run: Any) -> None:
    await run.expect_text("呼叫前台")
    await run.click("#lang-toggle")
    await run.expect_text("Call the desk")
    run.note("switched to English")
    # The toggle cycles through the kiosk's languages (中文 → English → 日本語 → 한국어 in
    # the demo) and comes back to Chinese after the last one.
    for _step in range(len(run.app.settings.languages) - 1):
        await run.click("#lang-toggle")
    await run.expect_text("呼叫前台")
    run.note(f"back to Chinese after {len(run.app.settings.languages)} languages")


async def staff_exit(run: Any) -> None:
    await run.press("ctrl+c")
    await run.press("ctrl+q")
    await run.press("f4")
    assert run.app.is_running
    run.note("ctrl+c, ctrl+q, F4: the kiosk keeps running")
    await run.tap(STAFF)
    await run.expect_screen("StaffLoginScreen")
    await run.type("2580")
    await run.press("enter")
    await run.expect_screen("StaffMenuScreen")
    await run.click("#exit")
    assert run.app.exit_allowed
    run.note("staff card + PIN: exit allowed")


async def desk_login(run: Any) -> None:
    async with run.desk() as desk:
        await desk.click("#who")
        await desk.type("S001")
        await desk.click("#pin")
        await desk.type("2580")
        await desk.press("enter")
        await desk.expect_screen("DeskScreen")
        desk.app.screen.show_tab("tab-household")
        await desk.settle()
        await desk.click("#hf-unit")
        await desk.type("3-1205")
        await desk.press("enter")
        await desk.expect_text("王小明")
        text = desk.screen_text()
        from kiosk.pii import find_unmasked

        assert "****" in text and not find_unmasked(text), text
        desk.note("household file of 3-1205 shown, phones and ID numbers masked")


async def call_desk(run: Any) -> None:
    from kiosk.db.models import DeskAlert

    await run.click("#call-desk")
    await run.expect_screen("MessageScreen")
    with run.ctx.database().read() as s:
        alert = s.scalars(select(DeskAlert).where(DeskAlert.kind == "desk_call")).one()
    assert alert.severity == "urgent"
    run.note(f"desk alerted: {alert.message}")


# -- for the plugins' scenarios -------------------------------------------------------------


def demo_resident(run: Any, card_uid: str = RESIDENT) -> Any:
    """The demo resident of ``card_uid`` (王小明's card ``RESIDENT`` by default) as an actor, as
    the shell identifies them."""
    from kiosk.db.models import Resident
    from kiosk.identity import Actor, identify_card

    with run.ctx.database().read() as session:
        card = identify_card(session, card_uid)
        resident = session.get(Resident, card.resident_id)
        assert resident is not None, f"the demo resident of card {card_uid} is missing"
        return Actor.of_resident(resident)


async def open_tile(run: Any, tile_id: str, fallback: Any) -> None:
    """Through the home-screen tile when the lobby shell offers it, else push ``fallback()``."""
    if hasattr(run.app, "open_tile"):
        await run.app.open_tile(tile_id)
    else:
        await run.app.push_screen(fallback())
    for _pause in range(3):
        await run.pilot.pause()


def note_slip(run: Any, job_id: int, qr: bool = False) -> list[str]:
    """Decode the print job as the printer would receive it and put its lines (and with ``qr``
    its QR codes) in the transcript."""
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
    for code in decoded.qr_codes if qr else ():
        run.note(f"  | [QR] {code}")
    return decoded.lines


def core_scenarios() -> list[Scenario]:
    return [
        Scenario(
            "resident-tap", "a resident taps a card and gets a personalised home", resident_tap
        ),
        Scenario(
            "unknown-card", "three unknown taps: refused each time, desk alerted once", unknown_card
        ),
        Scenario(
            "unit-pin",
            "unit + PIN by keypad: a wrong PIN shows tries left, the right one identifies",
            unit_pin,
        ),
        Scenario("idle-reset", "idle timeout returns home and forgets everything", idle_reset),
        Scenario("language-switch", "中文 / English switch live", language_switch),
        Scenario("staff-exit", "ctrl+c does nothing; staff card + PIN exits", staff_exit),
        Scenario("call-desk", "'call the desk' raises an urgent desk alert", call_desk),
        Scenario("desk-login", "butler logs in and opens a masked household file", desk_login),
    ]


async def tap_resident(run: Any, card_uid: str = RESIDENT) -> None:
    """Tap ``card_uid`` on the reader; in a bare harness (no lobby shell to identify the
    resident), identify them as the shell would."""
    await run.tap(card_uid)
    if getattr(run.app, "actor", None) is None:
        run.app.actor = demo_resident(run, card_uid)


async def open_as_resident(run: Any, card_uid: str, tile_id: str, screen_class: Any) -> None:
    """Tap ``card_uid`` (:func:`tap_resident`) and open the service: through its home-screen
    tile when the lobby shell offers it; ``screen_class(run.ctx)`` pushed when that did not
    show one (a bare harness)."""
    await tap_resident(run, card_uid)
    if hasattr(run.app, "open_tile"):
        await run.app.open_tile(tile_id)
    if not isinstance(run.app.screen, screen_class):
        await run.app.push_screen(screen_class(run.ctx))


async def until(run: Any, done: Any, what: str, seconds: float = 30.0) -> None:
    """Wait for ``done()``: the screens read and write off the UI thread, which a loaded
    machine can hold up for many seconds (a worker's database write behind a test suite or
    two). Returns as soon as it holds; fails after ``seconds`` of the clock (not of pauses,
    which a loaded machine stretches) saying ``what`` was not there."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not there within {seconds:.0f} s")
        await run.pilot.pause(0.02)


async def click(app: Any, pilot: Any, selector: str, seconds: float = 30.0) -> None:
    """Click ``selector`` as a finger would, once it is laid out where it is drawn.

    The pilot clicks at the screen position the widget's region gives; a widget just mounted
    (a screen recomposed after a worker's answer) can still have the region of before its
    layout, and on a loaded machine the click then lands on whatever is there -- nothing, or
    another button. So: wait for the screen to take its messages, for the widget to have a
    place, and for that place to be the widget's; fail after ``seconds`` of the clock.

    A button pressed less than its press effect ago (0.2 s) still shows it, and Textual takes
    a click then as a bounce and drops it: a finger pressing the same button again waits for
    the button to come back up, and so does this."""
    from textual.errors import NoWidget

    deadline = time.monotonic() + seconds
    seen = "not on the screen"
    while True:
        await pilot.pause()
        found = app.screen.query(selector)
        if found:
            widget = found.first()
            region = widget.region
            try:
                hit = app.get_widget_at(*region.offset)[0] if region.area else None
            except NoWidget:
                hit = None
            pressed = widget.has_class("-active")  # Button's press effect: a click now is lost
            if hit is not None and (hit is widget or widget in hit.ancestors) and not pressed:
                await pilot.click(widget)  # once: it lands where the widget is drawn
                return
            seen = f"at {region}, under {hit!r}{', pressed' if pressed else ''}"
            widget.scroll_visible(animate=False)  # below the fold: as a finger scrolls
        if time.monotonic() > deadline:
            stack = [type(s).__name__ for s in app.screen_stack]
            raise AssertionError(
                f"{selector}: not there to click within {seconds:.0f} s ({seen}; screens {stack})"
            )
        await pilot.pause(0.02)


async def screen_shown(run: Any, screen_class: Any, what: str) -> Any:
    """The ``screen_class`` screen once it is up (opened off the UI thread), :func:`until`
    saying ``what`` was not there."""
    await until(run, lambda: isinstance(run.app.screen, screen_class), what)
    return run.app.screen


def laid_out(run: Any, selector: str, enabled: bool = False) -> bool:
    """``selector`` is on the screen and laid out (a click lands on it), and with ``enabled``
    not disabled."""
    found = run.app.screen.query(selector)
    if not found or found.first().region.width <= 0:
        return False
    return not (enabled and found.first().disabled)
