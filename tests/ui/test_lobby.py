"""The lobby kiosk as a resident and staff use it, driven through Pilot."""

from __future__ import annotations

import time

import pytest
import zxingcpp
from PIL import Image
from textual import events

from kiosk.context import KioskContext
from kiosk.db import Database
from kiosk.hookspecs import Tile, hookimpl
from kiosk.i18n import _, language
from kiosk.plugins import load_plugins
from kiosk.ui.scenarios import click
from kiosk.ui.screens import HomeScreen, IdentifyScreen, MessageScreen, OutOfServiceScreen
from kiosk.ui.widgets import KioskBar, QRView, SignaturePad
from tests.screens import wait_until
from tests.ui.conftest import lobby

SIZE = (80, 24)


def texts(app) -> str:  # type: ignore[no-untyped-def]
    out = []
    for w in app.screen.query("*"):
        try:
            r = w.render()
        except Exception:  # noqa: BLE001
            continue
        out.append(str(getattr(r, "plain", r)))
    return "\n".join(out)


def plugin_whose_screen_raises(name: str, error: Exception):  # type: ignore[no-untyped-def]
    """The plugins plus one named ``name`` whose tile opens a screen that raises ``error``.
    The isolation finds a plugin by the file its code lives in (here: this test module)."""
    from textual.screen import Screen

    class Raises(Screen):
        def on_mount(self) -> None:
            raise error

    class Plugin:
        @hookimpl
        def kiosk_tiles(self, ctx):
            return [Tile(name, name.title(), lambda c: Raises())]

    return load_plugins(extra={name: Plugin()})


async def test_home_shows_plugin_tiles_estate_and_bar(ui_ctx: KioskContext) -> None:
    app = lobby(ui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        shown = texts(app)
        assert "阳光花园" in shown and "呼叫前台" in shown and "10:00" in shown
        tiles = app.screen.query(".tile")
        assert len(tiles) == len(app.tiles) and len(tiles) > 0


async def test_home_paints_first_and_loads_the_database_in_a_worker(ui_ctx: KioskContext) -> None:
    from kiosk.ui.lobby_app import LobbyApp

    app = LobbyApp(ui_ctx.settings, ctx=None, start_devices=False)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, HomeScreen)  # painted before any database work
        await wait_until(
            pilot, lambda: app.ctx is not None and app.screen.query(".tile"), "the home's tiles"
        )
        app.ctx.database().dispose()


async def test_a_card_tap_personalises_home(ui_ctx: KioskContext) -> None:
    app = lobby(ui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await app.present_card("3C00A1B2C3")
        await pilot.pause()
        assert app.actor is not None and app.actor.name == "王小明"
        shown = texts(app)
        assert "王*明" in shown and "3-1205" in shown and "王小明" not in shown


async def test_an_english_speaking_resident_gets_english(ui_ctx: KioskContext) -> None:
    app = lobby(ui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await app.present_card("3C00A1B2C4")  # Emily Wang, preferred language en
        await pilot.pause()
        assert language() == "en" and "Call the desk" in texts(app)


async def test_a_language_chosen_before_the_tap_is_kept(ui_ctx: KioskContext) -> None:
    """王小明's stored language is Chinese; whoever switched the kiosk to English before tapping
    his card reads on in English (until the session ends)."""
    app = lobby(ui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await app.action_toggle_language()
        assert language() == "en"
        await app.present_card("3C00A1B2C3")
        await pilot.pause()
        assert app.actor is not None and app.actor.name == "王小明"
        assert language() == "en" and "Call the desk" in texts(app)
        await app.reset_to_home()
        await app.present_card("3C00A1B2C3")  # a new session: his stored language again
        await pilot.pause()
        assert language() == "zh_CN"


async def test_an_unknown_card_is_refused_with_a_reason(ui_ctx: KioskContext) -> None:
    app = lobby(ui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await app.present_card("DEADBEEF99")
        await pilot.pause()
        assert isinstance(app.screen, MessageScreen)
        assert _("Card not recognised. Please see the desk.") in texts(app)
        assert app.actor is None


async def test_unit_and_pin_with_the_on_screen_keypad_alone(ui_ctx: KioskContext) -> None:
    app = lobby(ui_ctx)
    async with app.run_test(size=(80, 30)) as pilot:
        await click(app, pilot, "#identify")
        await pilot.pause()
        assert isinstance(app.screen, IdentifyScreen)
        await click(app, pilot, "#unit")
        for key in ("3", "dash", "1", "2", "0", "5"):
            await click(app, pilot, f"#key-{key}")
        await click(app, pilot, "#pin")
        for key in "0000":
            await click(app, pilot, f"#key-{key}")
        await click(app, pilot, "#ok")
        await pilot.pause()
        assert "4" in str(app.screen.query_one("#message").render())
        assert app.screen.query_one("#pin").value == ""  # a refused PIN is cleared
        await click(app, pilot, "#pin")
        for key in "1205":
            await click(app, pilot, f"#key-{key}")
        await click(app, pilot, "#key-back")
        await click(app, pilot, "#key-5")
        await click(app, pilot, "#ok")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen) and app.actor is not None


async def test_a_tile_needing_a_resident_asks_first_then_opens(ui_ctx: KioskContext) -> None:
    opened = []

    class Needs:
        @hookimpl
        def kiosk_tiles(self, ctx):
            return [
                Tile(
                    "mine",
                    "Mine",
                    lambda c: opened.append(c) or MessageScreen("mine"),
                    needs_resident=True,
                )
            ]

    ui_ctx.plugins = load_plugins(extra={"needs": Needs()})
    app = lobby(ui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await click(app, pilot, "#tile-mine")
        await pilot.pause()
        assert isinstance(app.screen, IdentifyScreen) and not opened
        await app.present_card("3C00A1B2C3")
        await pilot.pause()
        assert opened and app.actor is not None


async def test_idle_timeout_clears_the_resident_inputs_and_language(ui_ctx: KioskContext) -> None:
    app = lobby(ui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await app.present_card("3C00A1B2C4")
        await pilot.pause()
        await click(app, pilot, "#staff")
        await pilot.press("S", "0")
        assert language() == "en" and len(app.screen_stack) == 2
        app._last_input = time.monotonic() - app.settings.idle_timeout - 1
        await app._idle_check()
        await pilot.pause()
        assert app.actor is None and len(app.screen_stack) == 1 and language() == "zh_CN"


async def test_any_key_or_touch_keeps_the_kiosk_awake(ui_ctx: KioskContext) -> None:
    app = lobby(ui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        app._last_input = 0.0
        await pilot.press("x")
        assert time.monotonic() - app._last_input < 5


async def test_language_switches_live_on_every_screen(ui_ctx: KioskContext) -> None:
    app = lobby(ui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await click(app, pilot, "#identify")
        await pilot.pause()
        await click(app, pilot, "#lang-toggle")
        await pilot.pause()
        assert "Call the desk" in texts(app) and "Unit + PIN" not in texts(app)
        assert _("Tap your card, or enter your unit and PIN.") in texts(app)
        app.pop_screen()
        await pilot.pause()
        assert "Unit + PIN" in texts(app)


async def test_ctrl_c_ctrl_q_and_f_keys_do_not_leave_the_kiosk(ui_ctx: KioskContext) -> None:
    app = lobby(ui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        for key in ("ctrl+c", "ctrl+q", "ctrl+p", "f1", "f10", "f12"):
            await pilot.press(key)
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, HomeScreen)
        await click(app, pilot, "#staff")
        await pilot.press(*"S001", "enter", *"9999", "enter")
        await pilot.pause()
        assert "4" in str(app.screen.query_one("#message").render()) and app.is_running
        await pilot.press(*"2580", "enter")
        await pilot.pause()
        await click(app, pilot, "#exit")
        await pilot.pause()
    assert app.exit_allowed


async def test_call_the_desk_from_a_plugin_screen(ui_ctx: KioskContext) -> None:
    from textual.screen import Screen
    from textual.widgets import Label

    class Bare(Screen):
        def compose(self):
            yield Label("plugin screen without a bar")

    app = lobby(ui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(Bare())
        await pilot.pause()
        await pilot.pause()
        assert app.screen.query(KioskBar), "the app adds the bar to plugin screens"
        await click(app, pilot, "#call-desk")
        await pilot.pause()
        assert isinstance(app.screen, MessageScreen)
    from kiosk.notify import open_alerts

    with ui_ctx.database().read() as s:
        assert any(a.kind == "desk_call" and a.severity == "urgent" for a in open_alerts(s, "A"))


async def test_a_lost_database_shows_out_of_service_and_comes_back(ui_ctx: KioskContext) -> None:
    good = ui_ctx.db
    app = lobby(ui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        ui_ctx.db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
        await app.present_card("3C00A1B2C3")
        await pilot.pause()
        assert isinstance(app.screen, OutOfServiceScreen)
        assert "呼叫前台" in texts(app)  # the desk call is still offered
        ui_ctx.db = good
        await wait_until(pilot, lambda: isinstance(app.screen, HomeScreen), "home again")


async def test_a_plugin_screen_that_crashes_is_contained(ui_ctx: KioskContext) -> None:
    ui_ctx.plugins = plugin_whose_screen_raises("buggy", ZeroDivisionError("a bug"))
    app = lobby(ui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await click(app, pilot, "#tile-buggy")
        for _ in range(20):
            await pilot.pause(0.05)
        assert app.is_running
        assert isinstance(app.screen, HomeScreen)
        assert any(f.plugin == "buggy" for f in ui_ctx.plugins.failures)
        assert not app.screen.query("#tile-buggy")


async def test_a_tile_whose_screen_cannot_be_built_disables_its_plugin(
    ui_ctx: KioskContext,
) -> None:
    def broken_factory(ctx: KioskContext) -> None:
        raise RuntimeError("no screen today")

    class Plugin:
        @hookimpl
        def kiosk_tiles(self, ctx):  # type: ignore[no-untyped-def]
            return [Tile("broken", "Broken", broken_factory)]

    ui_ctx.plugins = load_plugins(extra={"broken": Plugin()})
    app = lobby(ui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await click(app, pilot, "#tile-broken")
        await wait_until(pilot, lambda: isinstance(app.screen, MessageScreen), "the desk message")
        assert app.is_running
        (failure,) = [f for f in ui_ctx.plugins.failures if f.plugin == "broken"]
        assert failure.stage == "screen" and "no screen today" in failure.error
        assert ui_ctx.plugins.pm.get_plugin("broken") is None
        assert "broken" not in [t.id for t in app.tiles]


async def test_the_qr_on_screen_decodes(ui_ctx: KioskContext) -> None:
    from textual.app import App

    payload = "00020101021126330017COM.EXAMPLE.KIOSK0108PM0000015204651353031565802CN5918SUNSHINE GARDEN PM6008SHANGHAI630409BB"

    class Show(App):
        def compose(self):
            yield QRView(payload)

    app = Show()
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        view = app.query_one(QRView)
        strips = [view.render_line(y) for y in range(view.size.height)]
    # Rasterise what the terminal shows: each cell is two pixels high (upper/lower half).
    scale = 6
    width = max(sum(len(seg.text) for seg in strip) for strip in strips)
    img = Image.new("L", (width * scale, len(strips) * 2 * scale), 255)
    for y, strip in enumerate(strips):
        x = 0
        for seg in strip:
            style = seg.style
            fg = style.color.triplet if style and style.color else None
            bg = style.bgcolor.triplet if style and style.bgcolor else None
            for ch in seg.text:
                top = fg if ch in "▀█" else bg
                bottom = fg if ch in "▄█" else bg
                for half, colour in ((0, top), (1, bottom)):
                    shade = 0 if colour is not None and sum(colour) < 384 else 255
                    for dy in range(scale):
                        for dx in range(scale):
                            img.putpixel((x * scale + dx, (y * 2 + half) * scale + dy), shade)
                x += 1
    results = zxingcpp.read_barcodes(img)
    assert [r.text for r in results] == [payload]


def _pad_app():  # type: ignore[no-untyped-def]
    """An app showing one signature pad and nothing else."""
    from textual.app import App

    class Sign(App):
        def compose(self):
            yield SignaturePad(id="pad")

    return Sign()


@pytest.mark.parametrize(
    ("points", "meaningful"),
    [
        ([(5, 2)], False),
        ([(5, 2), (5, 2), (6, 2)], False),
        ([(2, 2), (4, 3), (6, 4), (8, 3), (10, 2), (12, 3), (14, 4)], True),
    ],
)
async def test_signature_pad_refuses_empty_and_dot_marks(
    points: list[tuple[int, int]], meaningful: bool
) -> None:
    app = _pad_app()
    async with app.run_test(size=(40, 14)) as pilot:
        pad = app.query_one(SignaturePad)
        assert not pad.is_meaningful()
        first, *rest = points
        pad.post_message(events.MouseDown(pad, *first, 0, 0, 1, False, False, False))
        for x, y in rest:
            pad.post_message(events.MouseMove(pad, x, y, 0, 0, 1, False, False, False))
        pad.post_message(events.MouseUp(pad, *points[-1], 0, 0, 1, False, False, False))
        await pilot.pause()
        assert pad.is_meaningful() is meaningful
        assert pad.to_png().startswith(b"\x89PNG")


async def test_the_ink_lands_under_the_finger() -> None:
    """A touch on the pad's paper inks the cell under the finger: the event counts from the
    frame's corner, the ink from the paper's (it used to land a row below, a column right)."""
    app = _pad_app()
    async with app.run_test(size=(40, 14)) as pilot:
        pad = app.query_one(SignaturePad)
        region = pad.content_region
        finger = (region.x + 6, region.y + 3)  # the seventh cell of the paper's fourth row
        await pilot.click(SignaturePad, offset=(finger[0] - pad.region.x, finger[1] - pad.region.y))
        await pilot.pause()
        assert pad.strokes == [[(6, 3)]]
        rows = str(pad.render()).splitlines()
        assert rows[3][6] == "█" and rows[3].count("█") == 1 and "█" not in rows[4]


async def test_a_stroke_is_recorded_once_on_the_pad_it_was_drawn_on() -> None:
    """A pad's mouse events stop there: bubbled up to the app they were forwarded again by
    screen position, recording every stroke twice, or on the pad at the top left."""
    from textual.app import App
    from textual.containers import Vertical

    from kiosk.ui.widgets.signature import draw_strokes

    class TwoPads(App):
        def compose(self):
            with Vertical():
                yield SignaturePad(id="top")
                yield SignaturePad(id="bottom")

    strokes = [[(2, 1), (4, 2), (6, 3)], [(8, 1), (9, 1)]]
    app = TwoPads()
    async with app.run_test(size=(40, 24)) as pilot:
        top, bottom = app.query_one("#top", SignaturePad), app.query_one("#bottom", SignaturePad)
        await draw_strokes(pilot, bottom, strokes)
        await wait_until(pilot, lambda: len(bottom.strokes) >= 2, "two strokes")
        await pilot.pause()
        assert bottom.strokes == strokes
        assert top.strokes == []
        await draw_strokes(pilot, top, strokes[:1])
        await pilot.pause()
        assert top.strokes == strokes[:1] and bottom.strokes == strokes
        assert bottom.to_json() == [[[2, 1], [4, 2], [6, 3]], [[8, 1], [9, 1]]]
        # drawn as lines through the points, black on white
        assert str(bottom.render()).count("█") >= 6
        assert bottom.styles.background.hex == "#FFFFFF" and bottom.styles.color.hex == "#000000"


async def test_the_kiosk_freezes_its_start_up_objects_once_started(ui_ctx: KioskContext) -> None:
    import gc

    from kiosk.ui.lobby_app import LobbyApp

    assert gc.get_freeze_count() == 0
    app = LobbyApp(ui_ctx.settings, ctx=ui_ctx, start_devices=False, own_process=True)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, gc.get_freeze_count, "the collector's freeze")
            # Full collections no longer walk what the kiosk holds since start-up.
            assert gc.get_freeze_count() > 10_000
            assert app.ctx is not None and not gc.is_finalized(app)
    finally:
        gc.unfreeze()  # the test process is not a kiosk


async def test_tests_and_simulations_leave_the_collector_alone(ui_ctx: KioskContext) -> None:
    import gc

    app = lobby(ui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        assert gc.get_freeze_count() == 0


async def test_a_plugin_screen_losing_the_database_is_an_outage_not_a_bug(
    ui_ctx: KioskContext,
) -> None:
    from sqlalchemy.exc import OperationalError

    lost = OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    ui_ctx.plugins = plugin_whose_screen_raises("flaky", lost)
    app = lobby(ui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await click(app, pilot, "#tile-flaky")
        out_of_service = False
        for _ in range(20):
            await pilot.pause(0.05)
            out_of_service |= isinstance(app.screen, OutOfServiceScreen)
        assert app.is_running and out_of_service
        # Not the plugin's fault: it stays, and is not listed as failed.
        assert not ui_ctx.plugins.failures
        assert ui_ctx.plugins.pm.get_plugin("flaky") is not None
        await app.reset_to_home()
        await pilot.pause()
        assert app.screen.query("#tile-flaky")


def tile_label(app, tile_id: str) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one(f"#tile-{tile_id}").label)


async def test_a_card_tap_marks_the_tiles_with_what_waits_and_leaving_takes_the_marks_off(
    ui_ctx: KioskContext,
) -> None:
    app = lobby(ui_ctx, "en")
    async with app.run_test(size=SIZE) as pilot:
        assert tile_label(app, "parcels") == "Collect parcels"
        await app.present_card("3C00A1B2C3")  # 王小明 of 3-1205: two parcels wait at lobby A
        await wait_until(pilot, lambda: "·" in tile_label(app, "parcels"), "the parcel mark")
        # The resident reads Chinese: the kiosk switched to it for them.
        assert tile_label(app, "parcels") == "件 领取包裹 · 2"
        assert "·" not in tile_label(app, "umbrellas")  # none borrowed
        # What the bills tile says is what paying all of it costs today (late fee included).
        await wait_until(pilot, lambda: "·" in tile_label(app, "billing"), "the bills mark")
        owed = tile_label(app, "billing").split(" · ")[1]
        await click(app, pilot, "#tile-billing")
        await wait_until(pilot, lambda: bool(app.screen.query("#pay-all")), "the bills")
        assert owed in str(app.screen.query_one("#pay-all").label)
        await click(app, pilot, "#nav-home")  # Home: the resident leaves
        await wait_until(pilot, lambda: app.actor is None, "back to nobody")
        await wait_until(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
        assert tile_label(app, "parcels") == "Collect parcels" and app.badges == {}


async def test_a_failing_mark_leaves_the_greeting_and_the_other_marks(ui_ctx: KioskContext) -> None:
    class Broken:
        @hookimpl
        def kiosk_tile_badges(self, ctx, actor):
            raise RuntimeError("badge query failed")

    ui_ctx.plugins = load_plugins(extra={"broken-badges": Broken()})
    app = lobby(ui_ctx, "en")
    async with app.run_test(size=SIZE) as pilot:
        await app.present_card("3C00A1B2C3")
        await wait_until(pilot, lambda: "·" in tile_label(app, "parcels"), "the parcel mark")
        assert "王*明" in texts(app) and isinstance(app.screen, HomeScreen)
        assert "broken-badges" in {f.plugin for f in ui_ctx.plugins.failures}


async def test_the_foot_says_log_out_when_someone_is_identified(ui_ctx: KioskContext) -> None:
    """ "Home" was read as the menu and ended the session by surprise: for an identified resident
    the button says what it does (Back is the way to the menu, still identified)."""
    from kiosk.ui.screens import ServiceScreen

    app = lobby(ui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(ServiceScreen(ui_ctx))
        await pilot.pause()
        assert str(app.screen.query_one("#nav-home").label) == "主页"
        await app.present_card("3C00A1B2C3")
        await wait_until(pilot, lambda: app.actor is not None and len(app.screen_stack) == 1)
        assert str(app.screen.query_one("#identify").label) == "退出登录"
        await app.push_screen(ServiceScreen(ui_ctx))
        await pilot.pause()
        assert str(app.screen.query_one("#nav-home").label) == "退出登录"
        await click(app, pilot, "#nav-home")
        await wait_until(pilot, lambda: app.actor is None, "the session ended")


@pytest.mark.parametrize(
    "lang, expected",
    [
        ("zh_CN", ["读卡器 card_reader：已连接", "读卡器 door_reader：未连接"]),
        ("en", ["Card reader card_reader: connected", "Card reader door_reader: not connected"]),
    ],
)
def test_staff_screen_says_the_readers_state_in_the_staffs_language(
    lang: str, expected: list[str]
) -> None:
    """The staff menu's device lines are sentences in the kiosk's language, not the device
    layer's status words."""
    from types import SimpleNamespace

    from kiosk.config import parse_settings
    from kiosk.i18n import set_language
    from kiosk.ui.lobby_app import LobbyApp

    settings = parse_settings({"kiosk": {"id": "k1", "lobby": "A"}}, "test")
    app = SimpleNamespace(
        settings=settings,
        ctx=None,
        devices=None,
        reader_status={"door_reader": "disconnected", "card_reader": "connected"},
    )
    before = language()
    set_language(lang)
    try:
        lines = LobbyApp.health_lines(app)  # type: ignore[arg-type]
    finally:
        set_language(before)
    assert lines[1:] == expected
