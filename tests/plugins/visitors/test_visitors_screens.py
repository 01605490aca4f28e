"""Visitor screens, headless under Pilot: walk-up -> waiting -> pass; invite -> pass; the desk
answers; and the scenarios ``kiosk simulate`` runs (against a stand-in for the runner)."""

from __future__ import annotations

import datetime as dt

import pytest
from textual.widgets import Button
from visitors_helpers import BUTLER, host

from kiosk.ui.scenarios import click
from plugins.visitors import service
from plugins.visitors.scenarios import scenarios
from plugins.visitors.screens import (
    InviteScreen,
    PassQR,
    PassScreen,
    VisitorsDeskPanel,
    WaitingScreen,
    WalkupScreen,
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


async def test_walk_up_waits_for_the_host_then_shows_the_pass(kctx) -> None:
    app = Harness(kctx, WalkupScreen(kctx))
    async with app.run_test(size=(100, 40)) as pilot:
        await click(app, pilot, "#name")
        await pilot.press(*"Alice Wong")
        await click(app, pilot, "#phone")
        await pilot.press(*"12345")
        await click(app, pilot, "#submit")
        await wait_until(pilot, lambda: "Enter an 11-digit mobile number." in screen_text(app))
        assert "Enter an 11-digit mobile number." in screen_text(app)
        app.screen.query_one("#phone").value = "13912345678"
        app.screen.query_one("#unit").value = "3-1205"
        app.screen.query_one("#purpose").value = "delivery of a sofa"
        await button_ready(pilot, app, "#submit")
        await click(app, pilot, "#submit")
        await wait_until(pilot, lambda: isinstance(app.screen, WaitingScreen))
        waiting = app.screen
        assert isinstance(waiting, WaitingScreen), screen_text(app)
        assert "We are asking 3-1205" in screen_text(app)
        service.decide(kctx, host(kctx, "王小明"), waiting.visit.id, approve=True)
        await waiting.check()
        await pilot.pause()
        assert isinstance(app.screen, PassScreen)
        assert "A**** W***" in screen_text(app) and "13912345678" not in screen_text(app)
        rows = str(app.screen.query_one(PassQR).render()).splitlines()
        assert rows and set("".join(rows)) <= set(" ▀▄█")
        assert "The printer cannot print now" in screen_text(app)  # no printer in this harness


async def test_the_kiosk_waits_as_long_as_the_host_may_answer_and_leaving_stops_it(kctx) -> None:
    """The idle reset waits the host's five minutes, not the kiosk's 90 s; a visitor who goes
    back stops the wait, so the host's late "yes" prints no pass nobody collects."""
    from kiosk.errors import Refused

    app = Harness(kctx, WalkupScreen(kctx))
    async with app.run_test(size=(100, 40)) as pilot:
        for field, value in (("#name", "Alice Wong"), ("#phone", "13912345678"),
                             ("#unit", "3-1205"), ("#purpose", "delivery")):  # fmt: skip
            app.screen.query_one(field).value = value
        await button_ready(pilot, app, "#submit")
        await click(app, pilot, "#submit")
        await wait_until(pilot, lambda: isinstance(app.screen, WaitingScreen), "the wait")
        waiting = app.screen
        rules = service.VisitorRules.of(kctx)
        assert waiting.IDLE_AT_LEAST > rules.host_timeout_minutes * 60 > kctx.settings.idle_timeout
        assert "host's answer" in waiting.idle_note()
        app.pop_screen()  # what Back, Home and the idle reset do to it
        await wait_until(pilot, lambda: not isinstance(app.screen, WaitingScreen), "left")
        await wait_until(
            pilot,
            lambda: service.visit_status(kctx, waiting.visit.id).status == "timed_out",
            "the wait stopped",
        )
    with pytest.raises(Refused, match="waited too long"):
        service.decide(kctx, host(kctx, "王小明"), waiting.visit.id, approve=True)


async def test_a_scanned_pass_signs_out_with_no_tap_first(kctx) -> None:
    """The lobby's scanner is a keyboard: on the sign-out screen the pass field has the focus
    from the start, so a scan (its text and Enter) signs the visitor out; the language stays."""
    from kiosk.i18n import language
    from plugins.visitors.screens import SignOutScreen
    from tests.ui.conftest import lobby

    visit = service.register_walkup(kctx, name="赵六一", phone="13912345678",
                                    unit_code="3-1205", purpose="探亲")  # fmt: skip
    approved = service.decide(kctx, BUTLER, visit.id, approve=True)
    app = lobby(kctx, "zh_CN")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: bool(app.tiles), "the home screen")
        app.push_screen(SignOutScreen(kctx))
        await wait_until(pilot, lambda: isinstance(app.screen, SignOutScreen), "sign-out")
        await pilot.pause()
        assert app.screen.focused is app.screen.query_one("#pass")
        await pilot.press(*approved.qr, "enter")
        await wait_until(pilot, lambda: "再见" in screen_text(app), "goodbye")
        assert language() == "zh_CN"
    assert service.visit_status(kctx, visit.id).signed_out


async def test_an_invite_code_gives_the_pass_and_a_wrong_one_says_why(kctx) -> None:
    now = kctx.clock.now()
    inv = service.create_invite(
        kctx, BUTLER, unit_code="1-101", visitor_name="Bob Lee",
        valid_from=now, valid_until=now + dt.timedelta(hours=2),
    )  # fmt: skip

    app = Harness(kctx, InviteScreen(kctx))
    async with app.run_test(size=(100, 40)) as pilot:
        await click(app, pilot, "#code")
        await pilot.press(*("000000" if inv.code != "000000" else "111111"), "enter")
        await pilot.pause()
        assert "No invite has this code." in screen_text(app)
        await pilot.press(*inv.code, "enter")
        await pilot.pause()
        assert isinstance(app.screen, PassScreen) and "B** L**" in screen_text(app)


async def test_the_desk_panel_approves_a_waiting_visit(kctx) -> None:
    v = service.register_walkup(
        kctx, name="赵六一", phone="13912345678", unit_code="3-1205", purpose="探亲"
    )

    app = DeskHarness(lambda: VisitorsDeskPanel(kctx, BUTLER))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await click(app, pilot, f"#approve-{v.id}")
        await pilot.pause()
        app.screen.query_one("#confirm-yes", Button).press()  # the desk asks first
        await pilot.pause()
        await pilot.pause()
        inside = str(app.query_one("#inside").render())
        assert "3-1205 赵*一" in inside
        await pilot.pause()
        app.query_one(f"#idcheck-{v.id}", Button).press()
        await pilot.pause()
        assert "✓ID checked" in str(app.query_one("#inside").render())
        app.query_one(f"#signout-{v.id}", Button).press()
        await pilot.pause()
        app.screen.query_one("#confirm-yes", Button).press()
        await pilot.pause()
        await pilot.pause()
        assert str(app.query_one("#inside").render()) == "Nobody is visiting now."
    after = service.visit_status(kctx, v.id)
    assert after.status == "approved" and after.signed_out


@pytest.mark.parametrize("name", ["visitors-walkup", "visitors-invite"])
async def test_scenarios_run_and_their_transcripts_show_the_decoded_pass(kctx, name) -> None:
    found = {s.name: s for s in scenarios()}[name]

    async def flow() -> Run:
        app = Harness(kctx)
        async with app.run_test(size=(100, 40)) as pilot:
            run = Run(app, pilot, kctx)
            await found.run(run)
        return run

    text = "\n".join((await flow()).transcript)
    assert "访客通行证" in text and "3-1205" in text and "[QR] KP1." in text


def _fixed_pass(ctx):
    """A pass with a fixed id, so the QR in the snapshot does not change between runs."""
    from plugins.visitors.passes import pass_key, sign

    until = dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC)
    return service.VisitView(
        1, "approved", "walkup", "赵*一", "3-1205", 2, "探亲", until,
        sign(pass_key(ctx), "pass", "0123456789abcdef"), False, False, None,
    )  # fmt: skip


SCREENS = {
    "walkup": lambda ctx: WalkupScreen(ctx),
    "invite": lambda ctx: InviteScreen(ctx),
    "pass": lambda ctx: PassScreen(ctx, _fixed_pass(ctx)),
    "walkup-keys": lambda ctx: WalkupScreen(ctx),
}


async def _tap_purpose(pilot) -> None:
    """The on-screen keys of the purpose field: its usual purposes above the letters."""
    from kiosk.ui.widgets.softkeys import SoftKeyboard

    await click(pilot.app, pilot, "#purpose")
    screen = pilot.app.screen

    def settled() -> bool:
        # Laid out, and the field scrolled into view above them (after a refresh): on a loaded
        # machine the picture was taken between the two.
        keys = screen.query(SoftKeyboard)
        field = screen.query_one("#purpose")
        return (
            bool(keys)
            and keys.first().is_mounted
            and all(key.region.width > 0 for key in keys.first().query("Button"))
            and screen.region.contains_region(field.region)
            and not field.region.overlaps(keys.first().region)
        )

    await wait_until(pilot, settled, "the keys, and the field above them")
    await pilot.pause()


@pytest.mark.parametrize("lang", ["zh_CN", "en", "ja", "ko"])  # guests: Japanese, Korean
@pytest.mark.parametrize(
    ("screen", "size"),
    [("walkup", (80, 24)), ("walkup", (120, 40)), ("invite", (80, 24)), ("pass", (80, 40)),
     ("walkup-keys", (80, 24))],
)  # fmt: skip
def test_snapshot(snap_compare, sqlite_demo_url, screen, size, lang) -> None:
    before = _tap_purpose if screen == "walkup-keys" else None
    with screen_ctx(sqlite_demo_url, lang) as ctx:
        app = Harness(ctx, SCREENS[screen](ctx))
        assert snap_compare(app, terminal_size=size, run_before=before)


async def test_a_resident_creates_an_invite_at_the_kiosk_and_the_code_works(kctx) -> None:
    """The invite opens on a screen of its own at 80x24: the whole QR on screen (a phone reads
    it), the code and until when it is valid; the code typed as shown lets the guest in."""
    from plugins.visitors.screens import CreateInviteScreen, InviteCreatedScreen
    from tests.qrscan import decode_halfblocks, seen_rows

    async def flow() -> str:
        app = Harness(kctx, CreateInviteScreen(kctx), actor=host(kctx, "张伟"))
        async with app.run_test(size=(80, 24)) as pilot:
            await click(app, pilot, "#guest")
            await pilot.press(*"Bob Lee")
            await click(app, pilot, "#create")
            await wait_until(pilot, lambda: isinstance(app.screen, InviteCreatedScreen), "it")
            qr = app.screen.query_one(PassQR)
            await wait_until(pilot, lambda: app.screen.region.contains_region(qr.region), "fit")
            await pilot.pause()
            payload = app.screen.invite.qr
            assert decode_halfblocks(seen_rows(qr.render())) == [payload]
            text = screen_text(app)
            assert "valid until" in text
        return text

    text = await flow()
    shown = text.split("Invite code ")[1].split("\n")[0]
    assert shown == service.group_code(shown.replace(" ", "")) and len(shown) == 12
    code = shown  # typed as shown, spaces and all
    assert service.redeem_invite(kctx, code).unit == "1-101"


async def test_the_desk_declines_a_visit_saying_why(kctx) -> None:
    """Decline asks why (the host said no, ...): the reason goes on the visit's audit record
    and the visitor is told at the kiosk."""
    import json

    from sqlalchemy import select

    from kiosk.db.models import AuditEvent
    from tests.screens import open_form

    v = service.register_walkup(
        kctx, name="赵六一", phone="13912345678", unit_code="3-1205", purpose="探亲"
    )
    app = DeskHarness(lambda: VisitorsDeskPanel(kctx, BUTLER))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        form = await open_form(app, pilot, f"#decline-{v.id}", note="业主不在家，未预约")
        form.query_one("#form-ok", Button).press()
        await wait_until(pilot, lambda: service.visit_status(kctx, v.id).status == "declined")
    with kctx.database().read() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.subject == f"visitor_visit:{v.id}")
        ).all()
    assert any(json.loads(e.data).get("note") == "业主不在家，未预约" for e in events)


async def _keys(app, pilot, *keys: str) -> None:
    from kiosk.ui.widgets.softkeys import key_id

    for key in keys:
        await click(app, pilot, "#" + key_id(key))


async def test_a_visitor_with_no_keyboard_registers_by_touch_alone(kctx) -> None:
    """A touch screen and no keyboard: a tap on a field brings up the on-screen keys; the name
    as a register writes it (王先生), digits for the mobile and the unit, the purpose in one
    tap, and "next" walks the fields to the last, where the keys go away."""
    from textual.widgets import Input

    from kiosk.i18n import set_language
    from kiosk.ui.widgets.softkeys import SoftKeyboard, key_id
    from plugins.visitors.models import Visit

    set_language("zh_CN")  # the plugins' fixture puts English back afterwards
    app = Harness(kctx, WalkupScreen(kctx))
    async with app.run_test(size=(80, 24)) as pilot:
        await click(app, pilot, "#name")
        await wait_until(pilot, lambda: bool(app.screen.query(SoftKeyboard)), "the keys")
        keyboard = app.screen.query_one(SoftKeyboard)
        assert keyboard.layout_name == "姓"  # a name starts on the surnames, in Chinese
        await _keys(app, pilot, "王", "先生", "✓")
        assert keyboard.layout_name == "123" and app.screen.focused.id == "phone"
        await _keys(app, pilot, *"13912345678", "✓", *"3-12055", "⌫", "✓")
        await click(app, pilot, "#softkeys-phrase-1")  # 送货, the second usual purpose
        await _keys(app, pilot, "✓")
        assert str(app.screen.query_one("#" + key_id("✓"), Button).label) == "完成"
        await _keys(app, pilot, "✓")  # the party size is the last field: the keys go
        await wait_until(pilot, lambda: not app.screen.query(SoftKeyboard), "the keys to go")
        typed = {field.id: field.value for field in app.screen.query(Input)}
        assert typed == {
            "name": "王先生", "phone": "13912345678", "unit": "3-1205", "purpose": "送货",
            "party": "1",
        }  # fmt: skip
        await click(app, pilot, "#submit")
        await wait_until(pilot, lambda: isinstance(app.screen, WaitingScreen), "the wait")
        with kctx.database().read() as s:
            visit = s.get(Visit, app.screen.visit.id)
            assert (visit.name, visit.purpose) == ("王先生", "送货")


async def test_letters_and_a_real_keyboard_on_the_same_screen(kctx) -> None:
    """In English the letter keys capitalise a word's first letter; keys typed on a real
    keyboard close the on-screen ones, and that screen does not open them again."""
    from textual.widgets import Input

    from kiosk.ui.widgets.softkeys import SoftKeyboard

    app = Harness(kctx, WalkupScreen(kctx))
    async with app.run_test(size=(80, 24)) as pilot:
        await click(app, pilot, "#name")
        await wait_until(pilot, lambda: bool(app.screen.query(SoftKeyboard)), "the keys")
        assert app.screen.query_one(SoftKeyboard).layout_name == "abc"  # no surnames in English
        await _keys(app, pilot, *"ANN", "␣", *"LI")
        assert app.screen.query_one("#name", Input).value == "Ann Li"
        await pilot.press("e")
        await wait_until(pilot, lambda: not app.screen.query(SoftKeyboard), "the keys to go")
        assert app.screen.query_one("#name", Input).value == "Ann Lie"
        await click(app, pilot, "#phone")
        await pilot.pause()
        assert not app.screen.query(SoftKeyboard)
