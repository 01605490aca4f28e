"""The kiosk pickup, headless under Pilot: a drawn signature, the slip or its text on screen,
and the scenarios ``kiosk simulate`` runs (against a stand-in for the runner)."""

from __future__ import annotations

import pytest
from textual.widgets import Label, Static

from kiosk.printing import JobOutcome
from kiosk.ui.scenarios import click
from plugins.parcels import DEMO_CODE, service
from plugins.parcels.scenarios import scenarios
from plugins.parcels.screens import (
    PickupCodeScreen,
    PickupDoneScreen,
    PickupScreen,
    SignaturePad,
    draw_signature,
)
from tests.screens import (
    DeskHarness,
    Harness,
    Run,
    button_ready,
    screen_ctx,
    screen_text,
    wait_until,
)


async def test_a_drawn_signature_collects_the_items_and_paper_out_shows_the_slip(kctx) -> None:
    await _draw_and_collect(kctx)


async def _draw_and_collect(kctx) -> None:
    class PaperOut:
        def print_now(self, job_id: int) -> JobOutcome:
            return JobOutcome(job_id, "queued", "paper out")

    kctx.printing = PaperOut()
    app = Harness(kctx, PickupCodeScreen(kctx))
    async with app.run_test(size=(100, 40)) as pilot:
        await click(app, pilot, "#unit")
        await pilot.press(*"3-1205")
        await click(app, pilot, "#code")
        await pilot.press(*"000000", "enter")
        wrong = "Wrong pickup code for 3-1205."
        await wait_until(pilot, lambda: wrong in screen_text(app), "the wrong code refused")
        assert wrong in screen_text(app)
        await pilot.press(*DEMO_CODE, "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PickupScreen), "the pickup")
        assert isinstance(app.screen, PickupScreen)
        app.screen.query_one("#picker").value = "王小明"  # the addressee of both
        await click(app, pilot, "#confirm")  # not signed yet
        sign = "Please sign with your finger on the pad."
        await wait_until(pilot, lambda: sign in screen_text(app), "asked to sign")
        assert sign in screen_text(app)
        pad = app.screen.query_one(SignaturePad)
        await draw_signature(pilot, pad)
        assert pad.is_meaningful() and "█" in str(pad.render())
        await button_ready(pilot, app, "#confirm")  # the first press may still be flashing
        await click(app, pilot, "#confirm")
        # The release (its transaction and the slip's print job) runs off the UI thread.
        await wait_until(pilot, lambda: isinstance(app.screen, PickupDoneScreen), "collected")
        assert isinstance(app.screen, PickupDoneScreen)
        assert "Collected 2 items" in screen_text(app)
        slip = str(app.screen.query_one("#slip", Static).render())
        assert "3-1205" in slip and "王*明" in slip


async def test_with_a_code_a_touch_only_resident_taps_their_name(kctx) -> None:
    """The on-screen keys type a surname and 先生/女士, not 小明: with a pickup code the screen
    offers the household's people and proxies to tap, masked; the tapped name collects."""
    app = Harness(kctx, PickupCodeScreen(kctx))
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one("#unit").value = "3-1205"
        app.screen.query_one("#code").value = DEMO_CODE
        await click(app, pilot, "#code")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PickupScreen), "the pickup")
        names = [str(b.label) for b in app.screen.query(".picker-name")]  # type: ignore[attr-defined]
        assert "王*明" in names and "王小明" not in screen_text(app), names
        await click(app, pilot, f"#picker-name-{names.index('王*明')}")
        first = app.screen.pickup.parcels[0].id
        app.screen.query_one(f"#item-{first}").value = False  # one of the two, not now
        await draw_signature(pilot, app.screen.query_one(SignaturePad))
        await button_ready(pilot, app, "#confirm")
        await click(app, pilot, "#confirm")
        await wait_until(pilot, lambda: isinstance(app.screen, PickupDoneScreen), "collected")
        assert "Collected 1 item. Thank you!" in screen_text(app)


@pytest.mark.parametrize("scenario", ["parcels-pickup", "parcels-proxy"])
async def test_scenarios_run_and_their_transcripts_show_the_decoded_slip(kctx, scenario) -> None:
    run = await _scenario(kctx, scenario)
    text = "\n".join(run.transcript)
    assert "printed slip" in text and "包裹取件凭条" in text and "3-1205" in text


async def _scenario(kctx, scenario):
    found = {s.name: s for s in scenarios()}[scenario]
    app = Harness(kctx)
    async with app.run_test(size=(100, 40)) as pilot:
        run = Run(app, pilot, kctx)
        await found.run(run)
    return run


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize(
    ("screen", "size"), [("code", (80, 24)), ("pickup", (80, 24)), ("pickup", (120, 40))]
)
def test_snapshot(snap_compare, sqlite_demo_url, screen, size, lang) -> None:
    from plugins.parcels.service import start_pickup_by_code

    with screen_ctx(sqlite_demo_url, lang) as ctx:
        if screen == "code":
            shown = PickupCodeScreen(ctx)
        else:
            shown = PickupScreen(ctx, start_pickup_by_code(ctx, "3-1205", DEMO_CODE))
        assert snap_compare(Harness(ctx, shown), terminal_size=size)


async def test_the_desk_scans_a_parcel_in_and_sees_it_waiting(kctx) -> None:
    from parcels_helpers import BUTLER
    from textual.widgets import Input

    from plugins.parcels.screens import ParcelsDeskPanel

    async def flow() -> tuple[str, str, str]:
        app = DeskHarness(lambda: ParcelsDeskPanel(kctx, BUTLER))
        async with app.run_test(size=(120, 40)) as pilot:
            await click(app, pilot, "#tracking")
            await pilot.press(*"JT0001234567890", "enter")  # the scanner's Enter
            await pilot.pause()
            carrier = str(app.query_one("#carrier", Label).render())
            assert app.focused is app.query_one("#unit", Input)
            await pilot.press(*"1-101")
            app.query_one("#shelf", Input).value = "c4"
            await click(app, pilot, "#oversize")
            await click(app, pilot, "#checkin")
            await pilot.pause()
            message = str(app.query_one("#message", Label).render())
            report = str(app.query_one("#report", Static).render())
        return carrier, message, report

    carrier, message, report = await flow()
    assert carrier == "J&T Express" and "Logged JT0001234567890 (J&T Express) for 1-101" in message
    assert "Parcels waiting: 3" in report  # the demo household's two and this one


async def test_the_same_item_scanned_again_says_what_became_of_it_at_once(kctx) -> None:
    """A second scan of a logged tracking number is not a new check-in: the desk reads, before
    typing a unit, for whom and on which shelf it was logged and that it is still waiting."""
    from parcels_helpers import BUTLER
    from textual.widgets import Input

    from plugins.parcels.screens import ParcelsDeskPanel

    service.check_in(kctx, BUTLER, tracking="JT0001234567890", unit_code="1-101", shelf="C4")
    app = DeskHarness(lambda: ParcelsDeskPanel(kctx, BUTLER))
    async with app.run_test(size=(120, 40)) as pilot:
        await click(app, pilot, "#tracking")
        await pilot.press(*"JT0001234567890", "enter")
        await wait_until(pilot, lambda: "already logged" in str(
            app.query_one("#message", Label).render()), "the desk told")  # fmt: skip
        message = str(app.query_one("#message", Label).render())
        assert "for 1-101 (shelf C4)" in message and message.endswith(": waiting to be collected.")
        assert app.focused is app.query_one("#tracking", Input)  # not on to a new check-in


async def test_a_resident_already_identified_by_card_goes_straight_to_their_items(kctx) -> None:
    from parcels_helpers import resident

    async def flow() -> type:
        app = Harness(kctx)
        app.actor = resident(kctx, "王小明")  # the lobby shell keeps the tapped resident here
        async with app.run_test(size=(100, 40)) as pilot:
            await app.push_screen(PickupCodeScreen(kctx))
            await pilot.pause()
            return type(app.screen)

    assert await flow() is PickupScreen


async def test_the_desk_stores_an_item_and_gives_it_back_against_a_signature(kctx) -> None:
    from parcels_helpers import BUTLER
    from textual.widgets import Input

    from plugins.parcels.screens import StorageDeskPanel

    def message(app) -> str:
        return str(app.query_one("#st-message", Label).render())

    app = DeskHarness(lambda: StorageDeskPanel(kctx, BUTLER))
    async with app.run_test(size=(120, 50)) as pilot:
        for wid, text in (("st-unit", "1-101"), ("st-name", "张伟"), ("st-item", "一箱海鲜")):
            app.query_one(f"#{wid}", Input).value = text
        await click(app, pilot, "#st-store")
        await pilot.pause()
        assert "cannot be stored" in message(app)
        app.query_one("#st-item", Input).value = "行李箱 suitcase"
        await button_ready(pilot, app, "#st-store")
        await click(app, pilot, "#st-store")
        await pilot.pause()
        ticket = message(app).split("ticket ")[1].rstrip(".")
        app.query_one("#st-ticket", Input).value = ticket
        app.query_one("#st-claimant", Input).value = "张伟"
        app.query_one("#st-id", Input).value = "123X"
        app.query_one("#st-condition", Input).value = "完好 intact"
        await draw_signature(pilot, app.query_one("#st-pad", SignaturePad))
        await click(app, pilot, "#st-release")
        await pilot.pause()
        assert message(app) == "Given back."
        app.query_one("#st-handover", Input).value = "孙保安"
        await click(app, pilot, "#st-check")
        await pilot.pause()
        assert message(app) == "Handover recorded: 0 items."


async def test_the_desk_flags_an_id_check_item_and_releases_it_only_with_the_id_last4(kctx) -> None:
    from parcels_helpers import BUTLER
    from sqlalchemy import select
    from textual.widgets import Input

    from plugins.parcels.models import Parcel, Release
    from plugins.parcels.screens import ParcelsDeskPanel

    def said(app, wid: str) -> str:
        return str(app.query_one(f"#{wid}", Label).render())

    app = DeskHarness(lambda: ParcelsDeskPanel(kctx, BUTLER))
    async with app.run_test(size=(140, 70)) as pilot:
        app.query_one("#tracking", Input).value = "JT0001234567891"
        app.query_one("#unit", Input).value = "1-101"
        app.query_one("#recipient", Input).value = "张伟"
        await click(app, pilot, "#id_check")
        await click(app, pilot, "#checkin")
        await pilot.pause()
        assert "Logged JT0001234567891" in said(app, "message")
        app.query_one("#rel-unit", Input).value = "1-101"
        app.query_one("#rel-picker", Input).value = "张伟"
        await draw_signature(pilot, app.query_one("#rel-pad", SignaturePad))
        await click(app, pilot, "#rel-release")
        await pilot.pause()
        assert "last 4 characters" in said(app, "rel-message")
        app.query_one("#rel-id", Input).value = "0420"
        await button_ready(pilot, app, "#rel-release")
        await click(app, pilot, "#rel-release")
        await pilot.pause()
        assert said(app, "rel-message") == "Released 1 items."
    with kctx.database().read() as s:
        parcel = s.scalars(select(Parcel).where(Parcel.tracking_number == "JT0001234567891")).one()
        assert parcel.id_check and parcel.status == "released"
        rel = s.get(Release, parcel.release_id)
        assert (rel.via, rel.id_last4, rel.staff) == ("desk", "0420", BUTLER.label)


async def test_the_desk_lists_the_units_items_and_releases_only_the_ticked(kctx) -> None:
    """The unit typed, its items waiting here are listed, each ticked: the butler sees what
    goes, unticks what is not collected now, and only the ticked ones are released."""
    from parcels_helpers import BUTLER
    from sqlalchemy import select
    from textual.widgets import Checkbox, Input

    from plugins.parcels.models import Parcel
    from plugins.parcels.screens import ParcelsDeskPanel

    _unit, here = service.waiting_here(kctx, "3-1205")  # the demo household's two
    assert len(here) == 2
    kept, taken = here
    app = DeskHarness(lambda: ParcelsDeskPanel(kctx, BUTLER))
    async with app.run_test(size=(140, 70)) as pilot:
        await click(app, pilot, "#rel-unit")
        await pilot.press(*"3-1205", "enter")
        await wait_until(pilot, lambda: len(app.query("#rel-items Checkbox")) == 2, "the list")
        boxes = list(app.query("#rel-items Checkbox").results(Checkbox))
        assert all(b.value for b in boxes) and kept.tracking_tail in str(boxes[0].label)
        await click(app, pilot, f"#rel-item-{kept.id}")
        await wait_until(pilot, lambda: not boxes[0].value, "unticked")
        app.query_one("#rel-picker", Input).value = "王小明"
        await draw_signature(pilot, app.query_one("#rel-pad", SignaturePad))
        await click(app, pilot, "#rel-release")
        await wait_until(pilot, lambda: "Released" in str(
            app.query_one("#rel-message", Label).render()), "the release")  # fmt: skip
        assert str(app.query_one("#rel-message", Label).render()) == "Released 1 items."
        assert not app.query("#rel-items Checkbox")
    with kctx.database().read() as s:
        status = dict(s.execute(select(Parcel.id, Parcel.status).where(
            Parcel.id.in_([kept.id, taken.id]))).all())  # fmt: skip
    assert status == {kept.id: "waiting", taken.id: "released"}


async def test_another_residents_items_are_left_unticked_and_sent_to_the_desk(kctx) -> None:
    from parcels_helpers import resident
    from textual.widgets import Checkbox

    from plugins.parcels import service

    pickup = service.start_pickup_by_card(kctx, resident(kctx, "Emily Wang"))

    async def flow() -> list[tuple[bool, str]]:
        app = Harness(kctx, PickupScreen(kctx, pickup))
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.pause()
            return [(c.value, str(c.label)) for c in app.screen.query(Checkbox)]

    boxes = await flow()
    # The demo household's two items are addressed to 王小明.
    assert len(boxes) == 2 and all(not ticked for ticked, _ in boxes)
    assert all("collect at the desk" in label for _, label in boxes)


async def test_clear_signature_is_in_reach_at_80x24_and_nothing_waiting_asks_for_nothing(
    kctx,
) -> None:
    """At 80x24 the Clear signature button sits in the foot beside Confirm (under the pad it
    lay below the fold) and wipes the pad; a unit with nothing waiting is not asked for a
    name or a signature."""
    from parcels_helpers import resident

    from plugins.parcels import service

    pickup = service.start_pickup_by_card(kctx, resident(kctx, "王小明"))
    app = Harness(kctx, PickupScreen(kctx, pickup))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        clear = app.screen.query_one("#clear")
        assert app.screen.region.contains_region(clear.region) and clear.region.area
        pad = app.screen.query_one(SignaturePad)
        await draw_signature(pilot, pad)
        assert pad.is_meaningful()
        await click(app, pilot, "#clear")
        await wait_until(pilot, lambda: not pad.is_meaningful(), "the pad wiped")
    nothing = service.start_pickup_by_card(kctx, resident(kctx, "张伟"))
    assert not nothing.parcels
    app = Harness(kctx, PickupScreen(kctx, nothing))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "Nothing is waiting for your unit." in screen_text(app)
        assert not app.screen.query(SignaturePad) and not app.screen.query("#confirm")
