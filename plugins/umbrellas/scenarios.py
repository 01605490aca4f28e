"""``kiosk simulate`` scenarios for umbrellas, driving the real screen headless."""

from __future__ import annotations

from typing import Any

from kiosk.hookspecs import Scenario
from kiosk.ui.scenarios import open_as_resident, until

RESIDENT_CARD = "3C00A1B2C3"  # 王小明, owner of 3-1205 (demo estate)


async def _open(run: Any) -> Any:
    from plugins.umbrellas.screens import UmbrellaScreen

    await open_as_resident(run, RESIDENT_CARD, "umbrellas", UmbrellaScreen)
    await _settle(run, "#lend-U001")
    return run.app.screen


async def _lend(run: Any, tag: str) -> None:
    """Tap the umbrella on the stand, then confirm its recorded condition."""
    await run.click(f"#lend-{tag}")
    await _settle(run, "#confirm-lend")
    await run.click("#confirm-lend")
    await _settle(run, f"#return-{tag}")


async def _settle(run: Any, selector: str, seconds: float = 10.0) -> None:
    """Wait for ``selector`` on the screen: the screen reads and writes off the UI thread,
    which a loaded machine can hold up for seconds."""
    await until(run, lambda: bool(run.app.screen.query(selector)), selector, seconds)


async def _return(run: Any, condition: str) -> Any:
    """The household's loan listed with its Return button, then how it is."""
    await run.click("#return-U001")
    await _settle(run, f"#cond-{condition}")
    await run.click(f"#cond-{condition}")
    if condition != "intact":  # a charge follows: the screen asks for a second tap
        await _settle(run, "#charge-warning")
        run.note(f"{condition}: the price is owed, a second tap agrees")
        await run.click(f"#cond-{condition}")
    from plugins.umbrellas.service import ReturnResult

    screen = run.app.screen
    await until(run, lambda: isinstance(screen.last, ReturnResult), "the return")
    await until(run, lambda: not screen.query("#return-U001"), "the stand read again")
    return screen


async def lend_return(run: Any) -> None:
    """Card tap -> borrow U001 -> return it intact: the stand has it again."""
    screen = await _open(run)
    await _lend(run, "U001")
    assert run.app.screen.last is not None and run.app.screen.last.tag == "U001", "not lent"
    run.note(f"lent U001 to {screen.last.unit_code}, due {screen.last.due_at:%Y-%m-%d %H:%M} UTC")
    back = (await _return(run, "intact")).last
    assert back.tag == "U001" and back.owed_fen == 0, back
    run.note("returned U001 intact, nothing owed")


async def damage(run: Any) -> None:
    """Borrow U001, return it damaged: the original price is owed, the butler confirms."""
    from kiosk.identity import Actor
    from plugins.umbrellas import service

    await _open(run)
    await _lend(run, "U001")
    back = (await _return(run, "damaged")).last
    assert back.compensation_fen == 6800, back
    run.note(f"returned U001 damaged: {back.compensation_fen} fen owed, awaiting the butler")
    butler = Actor("staff", 1, "李管家", frozenset({"butler"}))
    status = service.confirm_charge(run.ctx, butler, back.loan_id)
    run.note(f"butler confirmed: {status}")
    assert status in ("billed", "desk")


def scenarios() -> list[Scenario]:
    return [
        Scenario("umbrellas-lend-return", "card tap, borrow U001, return it intact", lend_return),
        Scenario(
            "umbrellas-damage", "return damaged, original price owed, butler confirms", damage
        ),
    ]
