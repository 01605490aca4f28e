"""What a resident meets with a finger alone, at 80x24, in Chinese and English (and in Japanese
and Korean, the guests' languages): every service screen keeps the bar ("Call the desk", the
language) and a Back that leads home, nothing lies outside the screen, a wrong PIN's message is
in view; the idle warning; the reader's toasts."""

from __future__ import annotations

import time

import pytest
from textual.widget import Widget
from textual.widgets import Button

from kiosk.context import KioskContext
from kiosk.i18n import _, language, set_language
from kiosk.ui.scenarios import click
from kiosk.ui.screens import HomeScreen, IdentifyScreen, IdleWarningScreen, ServiceScreen
from kiosk.ui.widgets.chrome import KioskBar, NavBar
from tests.ui.conftest import lobby
from tests.ui.test_lobby import texts
from tests.ui.test_ui_security import settle

SMALL = (80, 24)
RESIDENT_CARD = "3C00A1B2C3"  # 王小明, 3-1205


def outside(screen: Widget) -> list[str]:
    """Visible widgets whose region is not inside the screen's (cut at an edge)."""
    bad = []
    for widget in screen.query("*"):
        if not widget.display or not widget.visible:
            continue
        region = widget.region
        if region.area and not screen.region.contains_region(region):
            bad.append(f"{widget!r} at {region}")
    return bad


async def to_language(app, pilot, lang: str) -> None:  # type: ignore[no-untyped-def]
    for _turn in app.settings.languages:
        if language() == lang:
            return
        await app.run_action("toggle_language")
        await pilot.pause()


@pytest.mark.parametrize("lang", ["zh_CN", "en", "ja", "ko"])
async def test_every_tile_has_the_bar_a_back_home_and_fits_80x24(
    ui_ctx: KioskContext, lang: str
) -> None:
    app = lobby(ui_ctx, lang)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, lambda: bool(app.tiles) and bool(app.screen.query(".tile")))
        tiles = [t.id for t in app.tiles]
        assert len(tiles) >= 8
        assert not outside(app.screen), outside(app.screen)
        for tile in tiles:
            await app.present_card(RESIDENT_CARD)
            await to_language(app, pilot, lang)
            await settle(pilot, lambda t=tile: bool(app.screen.query(f"#tile-{t}")))
            await click(app, pilot, f"#tile-{tile}")
            await settle(pilot, lambda: not isinstance(app.screen, HomeScreen))
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ServiceScreen), (tile, screen)
            desk = screen.query_one(KioskBar).query_one("#call-desk")
            assert str(desk.label) == _("Call the desk")
            assert screen.region.contains_region(desk.region), tile
            back = screen.query_one(NavBar).query_one("#nav-back")
            assert str(back.label) == _("Back") and back.region.height >= 3
            assert screen.region.contains_region(back.region), tile
            assert not outside(screen), (tile, outside(screen))
            await click(app, pilot, "#nav-back")
            await settle(pilot, lambda: isinstance(app.screen, HomeScreen))
            assert isinstance(app.screen, HomeScreen), tile


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
async def test_a_wrong_pin_message_is_in_view_at_80x24(ui_ctx: KioskContext, lang: str) -> None:
    app = lobby(ui_ctx, lang)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, lambda: bool(app.tiles))
        await click(app, pilot, "#identify")
        await settle(pilot, lambda: isinstance(app.screen, IdentifyScreen))
        await pilot.pause()
        screen = app.screen
        for key in "3-1205":  # the on-screen keypad only
            await click(app, pilot, "#key-dash" if key == "-" else f"#key-{key}")
        screen.query_one("#pin").focus()
        for key in "0000":
            await click(app, pilot, f"#key-{key}")
        await click(app, pilot, "#ok")
        message = screen.query_one("#message")
        await settle(pilot, lambda: bool(str(message.visual)))
        await pilot.pause()
        assert str(message.visual) == _("Wrong PIN. {remaining} tries left.").format(remaining=4)
        assert message.has_class("error")
        assert message.region.area and screen.region.contains_region(message.region)
        ok = screen.query_one("#ok")
        assert screen.region.contains_region(ok.region)
        assert not outside(screen), outside(screen)


async def test_home_tiles_grow_on_a_bigger_screen_and_keep_it_after_a_language_toggle(
    ui_ctx: KioskContext,
) -> None:
    app = lobby(ui_ctx, "zh_CN")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: bool(app.screen.query(".tile")))
        await pilot.pause()
        assert app.screen.query(".tile").first().region.height > 3
        await app.run_action("toggle_language")
        await settle(pilot, lambda: bool(app.screen.query(".tile")))
        await pilot.pause()
        tile = app.screen.query(".tile").first()
        assert tile.region.height > 3
        # English labels carry no Chinese glyph as an icon, and are not cut.
        for button in app.screen.query(".tile"):
            label = str(button.label)
            assert label == label.encode("ascii", "ignore").decode(), label
            assert len(label) <= button.content_region.width, label


async def test_a_tiles_mark_is_kept_whole_at_80_columns_in_english(ui_ctx: KioskContext) -> None:
    """王小明's parking has lapsed: in English "Monthly parking · expired" is wider than the
    tile's label (the button pads each line), so the title gives way (Monthly pa… · expired),
    never the mark, which wrapped out of sight before."""
    from rich.cells import cell_len

    app = lobby(ui_ctx, "en")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, lambda: bool(app.tiles))
        app.language_chosen = True  # chosen on the toggle: his stored Chinese does not win
        await app.present_card(RESIDENT_CARD)
        await settle(pilot, lambda: "parking" in app.badges)
        await pilot.pause()
        assert app.badges["parking"] == "expired"
        for button in app.screen.query(".tile"):
            label = str(button.label)
            room = button.content_region.width - 2 * button.styles.line_pad
            assert cell_len(label) <= room, label
        parking = str(app.screen.query_one("#tile-parking", Button).label)
        assert parking.endswith("… · expired") and parking.startswith("Monthly"), parking
        assert "·\u00a0expired" in app.export_screenshot().replace("&#160;", "\u00a0")


async def test_still_there_warns_before_the_idle_reset_and_a_touch_stays(
    ui_ctx: KioskContext,
) -> None:
    app = lobby(ui_ctx, "zh_CN")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, lambda: bool(app.tiles))
        await app.present_card(RESIDENT_CARD)
        assert app.actor is not None
        timeout = app.settings.idle_timeout
        # The kiosk's idle clock is held still: on a loaded machine a pause of five seconds
        # let the one-second idle check reset the session under the test.
        now = [time.monotonic()]
        app.monotonic = lambda: now[0]
        app._last_input = now[0] - timeout + 5  # five seconds left
        await app._idle_check()
        await pilot.pause()
        assert isinstance(app.screen, IdleWarningScreen)
        assert "还在吗" in str(app.screen.query_one("#idle-title").visual)
        await click(app, pilot, "#stay")
        await pilot.pause()
        assert not isinstance(app.screen, IdleWarningScreen) and app.actor is not None
        now[0] += timeout + 1  # the whole timeout passes untouched after "I'm still here"
        await app._idle_check()
        await pilot.pause()
        assert app.actor is None and isinstance(app.screen, HomeScreen)


async def test_the_reader_is_back_only_after_it_was_lost(ui_ctx: KioskContext) -> None:
    app = lobby(ui_ctx, "en")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, lambda: bool(app.tiles))

        def toasts() -> list[str]:
            return [str(n.message) for n in app._notifications]

        app._reader_changed("reader0", "connected", "")
        await pilot.pause()
        assert not any("back" in t for t in toasts())
        app._reader_changed("reader0", "disconnected", "")
        app._reader_changed("reader0", "connected", "")
        await pilot.pause()
        assert any("not connected" in t for t in toasts())
        assert any(t == "The card reader is back." for t in toasts())


def teardown_module() -> None:
    set_language("zh_CN")


@pytest.mark.parametrize("sim", [True, False])
async def test_f3_pays_the_qr_on_screen_only_in_a_simulation(
    ui_ctx: KioskContext, sim: bool
) -> None:
    from plugins.billing import service
    from plugins.billing.screens import PaidScreen, PayQRScreen

    app = lobby(ui_ctx, "en")
    app.sim = sim
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: bool(app.screen.query("#tile-billing")))
        assert bool(app.screen.query("#sim-hint")) is sim
        await app.present_card(RESIDENT_CARD)
        await to_language(app, pilot, "en")
        await click(app, pilot, "#tile-billing")
        await settle(pilot, lambda: bool(app.screen.query(".pay")))
        await click(app, pilot, f"#{app.screen.query('.pay').first().id}")
        await settle(pilot, lambda: isinstance(app.screen, PayQRScreen))
        order = app.screen.order
        await pilot.press("f3")
        # Outside a simulation F3 does nothing: it is given 3 s to (not) happen.
        await settle(pilot, lambda: isinstance(app.screen, PaidScreen), tries=400 if sim else 60)
        status = service.order_status(ui_ctx, order.out_trade_no).status
        if sim:
            assert isinstance(app.screen, PaidScreen) and status == "paid"
        else:
            assert isinstance(app.screen, PayQRScreen) and status == "pending"


async def test_the_bar_and_back_survive_a_screen_rebuilding_itself(ui_ctx: KioskContext) -> None:
    """Umbrellas after a loan, repairs after a category tap: the screen recomposes, and the
    bar and the foot are part of it."""
    app = lobby(ui_ctx, "en")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, lambda: bool(app.screen.query("#tile-umbrellas")))
        await app.present_card(RESIDENT_CARD)
        await to_language(app, pilot, "en")
        await click(app, pilot, "#tile-umbrellas")
        await settle(pilot, lambda: bool(app.screen.query("#lend-U001")))
        await click(app, pilot, "#lend-U001")
        await settle(pilot, lambda: bool(app.screen.query("#confirm-lend")))
        await click(app, pilot, "#confirm-lend")
        # The list is recomposed before the loan is said: wait for both.
        await settle(
            pilot,
            lambda: (
                bool(app.screen.query("#return-U001"))
                and "U001 is yours" in str(app.screen.query_one("#message").visual)
            ),
        )
        assert app.screen.query(KioskBar) and app.screen.query("#nav-back")
        assert "U001 is yours" in str(app.screen.query_one("#message").visual)
        await click(app, pilot, "#nav-home")
        await settle(pilot, lambda: isinstance(app.screen, HomeScreen))
        await app.present_card(RESIDENT_CARD)
        await to_language(app, pilot, "en")
        await click(app, pilot, "#tile-repairs")
        await settle(pilot, lambda: bool(app.screen.query(".cat")))
        await click(app, pilot, f"#{app.screen.query('.cat').first().id}")
        await pilot.pause()
        assert app.screen.query(KioskBar) and app.screen.query("#nav-back")
        assert not outside(app.screen), outside(app.screen)


async def test_the_toggle_cycles_the_kiosks_languages_and_a_guest_registers_in_theirs(
    ui_ctx: KioskContext,
) -> None:
    """The butler standard serves Japanese and Korean guests: with four languages configured
    the toggle goes 中文 -> English -> 日本語 -> 한국어 -> 中文, naming the next one, and the
    visitor walk-up speaks the guest's language at 80x24."""
    import dataclasses

    ui_ctx.settings = dataclasses.replace(ui_ctx.settings, languages=("zh_CN", "en", "ja", "ko"))
    app = lobby(ui_ctx, "zh_CN")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, lambda: bool(app.screen.query("#tile-visitors")))
        seen = []
        for _turn in range(4):
            seen.append((language(), str(app.screen.query_one("#lang-toggle").label)))
            await click(app, pilot, "#lang-toggle")
            await pilot.pause()
        assert seen == [("zh_CN", "English"), ("en", "日本語"), ("ja", "한국어"), ("ko", "中文")]
        assert language() == "zh_CN"
        for lang in ("ja", "ko"):
            await to_language(app, pilot, lang)
            await click(app, pilot, "#tile-visitors")
            await settle(pilot, lambda: not isinstance(app.screen, HomeScreen))
            await pilot.pause()
            screen = app.screen
            assert str(screen.query_one("#call-desk").label) == _("Call the desk")
            assert _("Call the desk") != "Call the desk", lang  # translated, not the fallback
            title = _("Visitor registration")
            assert title != "Visitor registration" and title in texts(app), lang
            assert not outside(screen), (lang, outside(screen))
            await click(app, pilot, "#nav-back")
            await settle(pilot, lambda: isinstance(app.screen, HomeScreen))


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
async def test_the_payment_qr_is_whole_above_the_foot_at_80x24_and_scans(
    ui_ctx: KioskContext, lang: str
) -> None:
    """18 rows lie between the bar and the foot at 80x24: the code is drawn smaller (level L,
    a 2-module margin) rather than cut, and a scanner reads it against the dark screen."""
    from plugins.billing.screens import PayQRScreen, QRBlock
    from tests.qrscan import decode_halfblocks, seen_rows

    app = lobby(ui_ctx, lang)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, lambda: bool(app.screen.query("#tile-billing")))
        await app.present_card(RESIDENT_CARD)
        await to_language(app, pilot, lang)
        await click(app, pilot, "#tile-billing")
        await settle(pilot, lambda: bool(app.screen.query(".pay")))
        await click(app, pilot, f"#{app.screen.query('.pay').first().id}")
        await settle(pilot, lambda: isinstance(app.screen, PayQRScreen))
        qr = app.screen.query_one(QRBlock)
        await settle(pilot, lambda: qr.rows <= 18)
        await pilot.pause()
        foot = app.screen.query_one(NavBar).region
        assert qr.region.height == qr.rows <= 18
        assert app.screen.region.contains_region(qr.region) and qr.region.bottom <= foot.y
        rows = seen_rows(qr.render())
        dark = " " * (len(rows[0]) + 8)  # the dark screen around the code, as a phone sees it
        framed = (
            [dark.replace(" ", "█")] * 2
            + [f"████{r}████" for r in rows]
            + [dark.replace(" ", "█")] * 2
        )
        assert decode_halfblocks(framed) == [app.screen.order.qr_content]


async def test_the_same_button_clicked_twice_is_pressed_twice() -> None:
    """Textual drops a click on a button still showing its press (0.2 s): the click helper,
    which every scenario and screen test presses with, waits for the button to come up, as a
    finger does. Without that, a desk test clicking Renew twice saw one press (CI on 2026-12-07)."""
    from textual.app import App, ComposeResult
    from textual.widgets import Button

    class Counter(App[None]):
        presses = 0

        def compose(self) -> ComposeResult:
            yield Button("Again", id="again")

        def on_button_pressed(self) -> None:
            self.presses += 1

    app = Counter()
    async with app.run_test(size=SMALL) as pilot:
        await click(app, pilot, "#again")
        await click(app, pilot, "#again")
        await settle(pilot, lambda: app.presses == 2)
        assert app.presses == 2


async def test_back_home_the_marks_are_read_again(ui_ctx: KioskContext) -> None:
    """王小明 paid everything while a service was open: back on the home screen, still
    identified, the Pay bills tile no longer shows what he owed."""
    from kiosk.identity import Actor
    from plugins.billing import service

    def mark() -> str:
        return str(app.screen.query_one("#tile-billing", Button).label)

    app = lobby(ui_ctx, "en")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, lambda: bool(app.screen.query("#tile-billing")))
        await app.present_card(RESIDENT_CARD)
        assert await settle(pilot, lambda: "·" in mark()), mark()
        await click(app, pilot, "#tile-billing")
        await settle(pilot, lambda: isinstance(app.screen, ServiceScreen))
        cashier = Actor("staff", 2, "陈收银", frozenset({"cashier"}))
        owed = sum(b.due_now_fen for b in service.open_bills(ui_ctx, "3-1205"))
        service.record_desk_arrears_payment(ui_ctx, cashier, "3-1205", owed)
        await click(app, pilot, "#nav-back")
        await settle(pilot, lambda: isinstance(app.screen, HomeScreen))
        assert app.actor is not None  # Back keeps the resident
        assert await settle(pilot, lambda: "·" not in mark()), mark()


async def test_a_payment_qr_waits_longer_and_the_warning_says_it_cancels(
    ui_ctx: KioskContext,
) -> None:
    """Paying on a phone takes more than the idle time without a touch: the QR stays; when
    the kiosk does warn, it says starting over cancels the payment."""
    from plugins.billing.screens import PayQRScreen

    app = lobby(ui_ctx, "zh_CN")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, lambda: bool(app.screen.query("#tile-billing")))
        await app.present_card(RESIDENT_CARD)
        await click(app, pilot, "#tile-billing")
        await settle(pilot, lambda: bool(app.screen.query(".pay")))
        await click(app, pilot, f"#{app.screen.query('.pay').first().id}")
        assert await settle(pilot, lambda: isinstance(app.screen, PayQRScreen))
        now = time.monotonic()
        app.monotonic = lambda: now  # held still, so a slow pause cannot add seconds
        app._last_input = now - app.settings.idle_timeout - 1
        await app._idle_check()
        await pilot.pause()
        assert isinstance(app.screen, PayQRScreen)  # the idle time alone does not end it
        app._last_input = now - PayQRScreen.IDLE_AT_LEAST + 5
        await app._idle_check()
        await pilot.pause()
        assert isinstance(app.screen, IdleWarningScreen)
        assert "取消本次支付" in str(app.screen.query_one("#idle-note").visual)
        app._last_input = now - PayQRScreen.IDLE_AT_LEAST - 1
        await app._idle_check()
        await pilot.pause()
        assert app.actor is None and isinstance(app.screen, HomeScreen)
