"""The key custody panel headless under Pilot: keys taken into custody with the desk's form (an
occupied unit refused, the form keeping what was typed); a viewing refused without staff, then
handed out with S005 and back, signed on the pad; the ``kiosk simulate`` scenario; snapshots
at 80x24 in Chinese and English."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets import Input, Label

from kiosk.identity import Actor
from kiosk.ui.scenarios import click
from kiosk.ui.widgets.signature import SignaturePad
from plugins.keys import service
from plugins.keys.scenarios import scenarios
from plugins.keys.screens import KeysDeskPanel
from tests.screens import (
    DeskHarness,
    Harness,
    Run,
    open_form,
    screen_ctx,
    wait_until,
)

BUTLER = Actor("staff", 1, "李管家", frozenset({"butler"}))
SIGNED = [[(2, 1), (6, 3), (10, 2), (14, 4), (18, 1)]]


def text(app: App) -> str:
    return "\n".join(str(w.render()) for w in app.query(Label))


def take(ctx) -> str:
    return service.take_into_custody(
        ctx, BUTLER, unit_code="1-101", labels=["入户门"], box="B1", slot="07", owner="张伟",
        authorisation="钥匙委托书", vacant=True,
    )[0]  # fmt: skip


def desk(ctx) -> DeskHarness:
    return DeskHarness(lambda: KeysDeskPanel(ctx, BUTLER))


async def test_the_desk_hands_a_key_out_for_a_viewing_and_takes_it_back(kctx) -> None:
    number = take(kctx)
    app = desk(kctx)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "Keys in custody: 1, overdue: 0" in text(app)
        app.query_one("#key", Input).value = number
        app.query_one("#person", Input).value = "陈看房"
        app.query_one("#idno", Input).value = "310101199001011234"
        app.query_one(SignaturePad).strokes = [list(s) for s in SIGNED]
        await click(app, pilot, "#out-viewing")
        await wait_until(pilot, lambda: "accompanied by a staff member" in text(app))
        app.query_one("#key", Input).value = number
        app.query_one("#person", Input).value = "陈看房"
        app.query_one("#idno", Input).value = "310101199001011234"
        app.query_one("#with", Input).value = "S005"
        app.query_one(SignaturePad).strokes = [list(s) for s in SIGNED]
        await click(app, pilot, "#out-viewing")
        await wait_until(pilot, lambda: "handed over" in text(app))
        assert "Viewing" in text(app) and "陈看房" not in text(app)
        app.query_one("#key", Input).value = number
        app.query_one(SignaturePad).strokes = [list(s) for s in SIGNED]
        await click(app, pilot, "#back-key")
        await wait_until(pilot, lambda: "is back in box B1" in text(app))
        # The owner collects the key themselves (no staff goes along).
        app.query_one("#key", Input).value = number
        app.query_one("#person", Input).value = "张伟"
        app.query_one("#idno", Input).value = "440301198001011234"
        app.query_one(SignaturePad).strokes = [list(s) for s in SIGNED]
        await click(app, pilot, "#out-owner")
        await wait_until(pilot, lambda: "handed over" in text(app), "out to the owner")
        assert "Owner" in text(app)


async def test_the_desk_takes_a_vacant_units_keys_into_custody(kctx) -> None:
    """The owner of 1-101 hands in two keys with a signed authorisation: the butler fills in the
    form; 3-1205 (rented) is refused and the form keeps every field; on 1-101 both keys are
    numbered, in box A slot 3 of the register, and the panel says so."""
    from textual.widgets import Checkbox

    from tests.screens import screen_text

    app = desk(kctx)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "Keys in custody: 0, overdue: 0" in text(app)
        typed = dict(unit="3-1205", labels="入户门， 信箱", box="a", slot="3", owner="张伟",
                     authorisation="钥匙委托书 2026-12-03")  # fmt: skip
        form = await open_form(app, pilot, "#take", **typed, vacant=True)
        form.query_one("#form-ok").press()
        await wait_until(pilot, lambda: "registered occupants" in screen_text(app), "refused")
        assert app.screen is form and service.keys(kctx) == []
        assert {f: form.query_one(f"#field-{f}", Input).value for f in typed} == typed
        assert form.query_one("#field-vacant", Checkbox).value
        form.query_one("#field-unit", Input).value = "1-101"
        form.query_one("#form-ok").press()
        await wait_until(pilot, lambda: "taken into box" in text(app), "taken")
        assert "Keys K0001, K0002 of 1-101 taken into box A slot 3." in text(app)
        assert "Keys in custody: 2, overdue: 0" in text(app)
    held = service.keys(kctx, "1-101")
    assert [(k.number, k.label, k.box, k.slot, k.status) for k in held] == [
        ("K0001", "入户门", "A", "3", "in_box"),
        ("K0002", "信箱", "A", "3", "in_box"),
    ]


async def test_the_simulate_scenario_passes(kctx) -> None:
    (scenario,) = [s for s in scenarios() if s.name == "keys.viewing"]
    app = Harness(kctx, None)
    async with app.run_test(size=(80, 24)) as pilot:
        run = Run(app, pilot, kctx)
        await scenario.run(run)
        assert any("back in box" in line for line in run.transcript)


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_snapshot(snap_compare, sqlite_demo_url, lang) -> None:
    with screen_ctx(sqlite_demo_url, lang) as ctx:
        number = take(ctx)
        service.hand_out(ctx, BUTLER, number, person="陈看房", id_number="310101199001011234",
                         purpose="viewing", signature=SIGNED, accompanied_by="S005")  # fmt: skip
        assert snap_compare(desk(ctx), terminal_size=(80, 24))


async def test_a_key_going_over_its_time_alerts_the_open_desk_at_the_next_poll(kctx) -> None:
    from sqlalchemy import select

    from kiosk.db.models import DeskAlert

    number = take(kctx)
    service.hand_out(kctx, BUTLER, number, person="陈看房", id_number="310101199001011234",
                     purpose="viewing", signature=SIGNED, accompanied_by="S005")  # fmt: skip
    app = desk(kctx)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        panel = app.query_one(KeysDeskPanel)

        def poll() -> tuple:
            with kctx.database().read() as s:
                return tuple(s.scalar(q) for q in panel.desk_watch())

        before = poll()
        kctx.clock.advance(hours=5)
        after = poll()
        assert after[1] == before[1] + 1
        await panel.desk_changed(before, after)
        await wait_until(pilot, lambda: "overdue: 1" in text(app))
    with kctx.database().read() as s:
        assert s.scalars(select(DeskAlert).where(DeskAlert.kind == "key_overdue")).all()
