"""``kiosk simulate`` scenarios for key custody, driving the desk panel headless."""

from __future__ import annotations

from typing import Any

from kiosk.hookspecs import Scenario

STROKES = [[[2, 1], [6, 3], [10, 2], [14, 4], [18, 1]]]
VACANT = "1-101"  # 张伟 owns it and nobody else is registered there (demo estate)


def _butler(run: Any) -> Any:
    from sqlalchemy import select

    from kiosk.db.models import Staff
    from kiosk.identity import Actor

    with run.ctx.database().read() as session:
        return Actor.of_staff(session.scalars(select(Staff).where(Staff.number == "S001")).one())


async def viewing(run: Any) -> None:
    """Keys of a vacant unit into custody; a viewing without staff is refused; with S005
    going along the key goes out, signed, and comes back; the desk panel shows it back."""
    from kiosk.errors import Refused
    from plugins.keys import service
    from plugins.keys.screens import KeysDeskPanel

    butler = _butler(run)
    numbers = service.take_into_custody(
        run.ctx, butler, unit_code=VACANT, labels=["entrance door"], box="B1", slot="07",
        owner="张伟", authorisation="钥匙委托书 signed at the desk", vacant=True,
    )  # fmt: skip
    number = numbers[0]
    run.note(f"{number} of {VACANT} in custody, box B1 slot 07")
    try:
        service.hand_out(run.ctx, butler, number, person="Viewer Chen", id_number="310101199001011234",
                         purpose="viewing", signature=STROKES)  # fmt: skip
    except Refused as exc:
        assert exc.code == "keys.unaccompanied", exc.code
        run.note("a viewing without an accompanying staff member: refused")
    else:
        raise AssertionError("a key went out for a viewing without staff")
    out = service.hand_out(run.ctx, butler, number, person="Viewer Chen",
                           id_number="310101199001011234", purpose="viewing",
                           signature=STROKES, accompanied_by="S005")  # fmt: skip
    assert out.status == "out" and out.accompanied_by.startswith("S005"), out
    run.note(f"{number} out for a viewing with {out.accompanied_by}")
    back = service.hand_back(run.ctx, butler, number, STROKES)
    assert back.status == "in_box", back
    run.note(f"{number} back in box {back.box}")
    await run.app.push_screen(_panel_screen(run.ctx, butler, KeysDeskPanel))
    await run.pilot.pause()
    text = "\n".join(str(w.render()) for w in run.app.screen.query("Label"))
    assert number in text, text


def _panel_screen(ctx: Any, actor: Any, panel: Any) -> Any:
    from textual.screen import Screen

    class PanelScreen(Screen[None]):
        BINDINGS = [("escape", "app.pop_screen", "Back")]

        def compose(self) -> Any:
            yield panel(ctx, actor)

    return PanelScreen()


def scenarios() -> list[Scenario]:
    return [
        Scenario("keys.viewing",
                 "keys into custody, a viewing needs staff, out and back signed", viewing),
    ]  # fmt: skip
