"""Attacks on the public kiosk and the desk through what people type and what the database
holds: markup, action links, malformed pass codes, terminal escapes, and crashes."""

from __future__ import annotations

import logging

import pytest
from textual.screen import Screen
from textual.widgets import Input

from kiosk.context import KioskContext
from kiosk.i18n import _
from kiosk.ui.scenarios import click
from kiosk.ui.screens import HomeScreen, MessageScreen, OutOfServiceScreen
from kiosk.ui.widgets.text import Label, printable
from tests.screens import settle
from tests.ui.conftest import desk, lobby
from tests.ui.test_lobby import plugin_whose_screen_raises, texts

SIZE = (100, 40)
SUSPEND = "[@click=app.suspend_process]X[/]"
PUSH = "[@click=app.push_screen('x')]X[/]"
CLOSING = "[/x]"


def plugin_names(ctx: KioskContext) -> set[str]:
    assert ctx.plugins is not None
    return {name for name, _p in ctx.plugins.pm.list_name_plugin()}


def message_text(app) -> str:  # type: ignore[no-untyped-def]
    """The screen's message line; empty while the screen is between two compositions (a
    refusal redraws it: waiting on this must not fail on the moment it has no message yet)."""
    found = app.screen.query("#message")
    return str(found.first().visual) if found else ""


async def walk_up_with_unit(app, pilot, unit: str) -> None:  # type: ignore[no-untyped-def]
    await app.open_tile("visitors")
    await settle(pilot, lambda: bool(app.screen.query("#unit")))
    screen = app.screen
    screen.query_one("#name", Input).value = "Alice Wong"
    screen.query_one("#phone", Input).value = "13912345678"
    screen.query_one("#unit", Input).value = unit
    screen.query_one("#purpose", Input).value = "visit"
    screen.query_one("#submit").press()
    await settle(pilot, lambda: unit in message_text(app))


@pytest.mark.parametrize("payload", [SUSPEND, PUSH])
async def test_an_action_link_typed_as_a_unit_is_shown_as_text_and_touching_it_does_nothing(
    ui_ctx: KioskContext, monkeypatch: pytest.MonkeyPatch, payload: str
) -> None:
    app = lobby(ui_ctx, "en")
    ran: list[str] = []
    monkeypatch.setattr(app, "action_suspend_process", lambda: ran.append("suspend"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: bool(app.tiles))
        await walk_up_with_unit(app, pilot, payload)
        shown = message_text(app)
        assert f"There is no unit {payload}." == shown  # the literal text, brackets and all
        screen = app.screen
        for x in range(len(shown)):  # touch every character of the refusal, the X included
            await pilot.click("#message", offset=(x, 0))
        await pilot.pause()
        assert app.is_running and app.return_code is None
        assert ran == [] and app.screen is screen and not app.faults
        assert "visitors" in plugin_names(ui_ctx) and not ui_ctx.plugins.failures


async def test_an_action_link_that_leaks_into_text_still_does_nothing(
    ui_ctx: KioskContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: even a label showing markup (a third-party plugin's, say) runs no
    action, and the app refuses every action that is not its own."""
    from textual.widgets import Label as MarkupLabel

    class Bait(Screen[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            yield MarkupLabel(SUSPEND, id="suspend")
            yield MarkupLabel(PUSH, id="push")

    app = lobby(ui_ctx, "en")
    ran: list[str] = []
    monkeypatch.setattr(app, "action_suspend_process", lambda: ran.append("suspend"))
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(Bait())
        await settle(pilot, lambda: bool(app.screen.query("#push")))
        await pilot.click("#suspend", offset=(0, 0))
        await pilot.click("#push", offset=(0, 0))
        await pilot.pause()
        assert ran == [] and app.is_running and isinstance(app.screen, Bait)
        assert await app.run_action("app.suspend_process") is False
        assert await app.run_action("app.push_screen('x')") is False
        assert ran == [] and app.is_running and not app.faults
        assert app.check_action("suspend_process", ()) is False
        assert app.check_action("push_screen", ("x",)) is False
        assert app.check_action("quit", ()) and app.check_action("call_desk", ())
    desk_app = desk(ui_ctx, "en")
    async with desk_app.run_test(size=SIZE):
        assert desk_app.check_action("suspend_process", ()) is False
        assert desk_app.check_action("push_screen", ("x",)) is False
        assert desk_app.check_action("toggle_language", ())


async def test_a_closing_tag_typed_as_a_unit_is_a_refusal_not_a_plugin_failure(
    ui_ctx: KioskContext,
) -> None:
    app = lobby(ui_ctx, "en")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: bool(app.tiles))
        await walk_up_with_unit(app, pilot, CLOSING)
        assert message_text(app) == f"There is no unit {CLOSING}."
        assert app.is_running and "visitors" in plugin_names(ui_ctx)
        assert not ui_ctx.plugins.failures and not app.faults


async def test_a_closing_tag_typed_as_an_umbrella_tag_is_a_refusal(ui_ctx: KioskContext) -> None:
    app = lobby(ui_ctx, "en")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: bool(app.tiles))
        await app.present_card("3C00A1B2C3")  # a resident: the umbrellas tile needs one
        await app.open_tile("umbrellas")
        # The stand loads off the UI thread and redraws the screen: type once it has.
        await settle(pilot, lambda: bool(app.screen.query("#lend-U001")))
        app.screen.query_one("#tag", Input).value = CLOSING
        await app.screen.query_one("#tag", Input).action_submit()  # as a scanner's Enter
        await settle(pilot, lambda: bool(app.screen.query("#cond-intact")))
        app.screen.query_one("#cond-intact").press()
        await settle(pilot, lambda: CLOSING in message_text(app))
        assert CLOSING in message_text(app)
        assert app.is_running and "umbrellas" in plugin_names(ui_ctx)
        assert not ui_ctx.plugins.failures


@pytest.mark.parametrize(
    ("tile", "field", "code", "refusal"),
    [
        ("visitors-signout", "#pass", "KP1.x.é", "This is not a valid visitor pass."),
        ("visitors-invite", "#code", "KI1.1.é", "This QR code is not one of ours."),
        ("visitors-signout", "#pass", "KP1.x.\U0001f600" * 3, "This is not a valid visitor"),
    ],
)
async def test_a_pass_code_with_non_ascii_characters_is_refused(
    ui_ctx: KioskContext, tile: str, field: str, code: str, refusal: str
) -> None:
    app = lobby(ui_ctx, "en")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: bool(app.tiles))
        await app.open_tile(tile)
        await settle(pilot, lambda: bool(app.screen.query(field)))
        app.screen.query_one(field, Input).focus()
        await pilot.pause()
        await pilot.press(*code, "enter")  # as a scanner (a keyboard) types it
        await settle(pilot, lambda: refusal in message_text(app))
        assert refusal in message_text(app)
        assert app.is_running and "visitors" in plugin_names(ui_ctx)
        assert not ui_ctx.plugins.failures and not app.faults


async def test_bad_input_a_plugin_cannot_parse_is_a_refusal_not_a_broken_plugin(
    ui_ctx: KioskContext,
) -> None:
    ui_ctx.plugins = plugin_whose_screen_raises("picky", ValueError("invalid literal for int()"))
    app = lobby(ui_ctx, "en")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: bool(app.screen.query("#tile-picky")))
        await click(pilot.app, pilot, "#tile-picky")
        await settle(pilot, lambda: isinstance(app.screen, MessageScreen))
        assert isinstance(app.screen, MessageScreen)
        assert _("This input cannot be used. Please check it and try again, or see the desk.") in (
            texts(app)
        )
        assert "invalid literal" not in texts(app)  # the detail is for the log
        assert "picky" in plugin_names(ui_ctx) and not ui_ctx.plugins.failures
        await click(pilot.app, pilot, "#ok")
        await settle(pilot, lambda: isinstance(app.screen, HomeScreen))
        assert app.screen.query("#tile-picky"), "the tile is still there"


async def test_an_unexpected_error_shows_out_of_service_and_the_desk_can_still_be_called(
    ui_ctx: KioskContext, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(Screen[None]):  # a core screen (not a plugin's) with a bug
        def on_mount(self) -> None:
            secret = "PIN-4321"
            raise RuntimeError(f"bug near {secret}")

    app = lobby(ui_ctx, "en")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: bool(app.tiles))
        with caplog.at_level(logging.ERROR):
            app.push_screen(Broken())
            await settle(pilot, lambda: isinstance(app.screen, OutOfServiceScreen))
        assert isinstance(app.screen, OutOfServiceScreen) and app.screen.fault
        assert app.is_running and len(app.faults) == 1
        shown = texts(app)
        assert "Out of service" in shown and "PIN-4321" not in shown and "Traceback" not in shown
        assert any("PIN-4321" in (r.exc_text or "") for r in caplog.records), "logged"
        await pilot.pause()  # the broken screen is gone: a full wait is safe again
        await click(pilot.app, pilot, "#call-desk")
        await settle(pilot, lambda: isinstance(app.screen, MessageScreen))
        assert "The desk has been called" in texts(app)
        await app.reset_to_home()  # what the idle timeout does
        assert isinstance(app.screen, HomeScreen)


async def test_an_error_the_app_cannot_survive_leaves_without_a_traceback_or_locals(
    ui_ctx: KioskContext, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom() -> None:
        secret = "PIN-4321"
        raise RuntimeError(f"bug near {secret}")

    app = lobby(ui_ctx, "en")
    with pytest.raises(RuntimeError):  # run_test re-raises it for tests, as Textual does
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, lambda: bool(app.tiles))
            app.call_later(boom)  # runs in the app's own message loop, which then stops
            await settle(pilot, lambda: not app.is_running)
    assert app.return_code == 1
    out = capsys.readouterr()
    printed = out.out + out.err
    assert "PIN-4321" not in printed and "Traceback" not in printed and "secret" not in printed
    assert _("The kiosk stopped because of an error. The log has the details.") in printed


def test_the_kiosk_prints_no_locals_from_textuals_fatal_error_path(
    ui_ctx: KioskContext, capsys: pytest.CaptureFixture[str]
) -> None:
    app = lobby(ui_ctx, "en")
    try:
        secret = "PIN-4321"
        raise RuntimeError(secret)
    except RuntimeError:
        app._fatal_error()
    assert app.return_code == 1
    assert all("PIN-4321" not in str(r) for r in app._exit_renderables)
    app._print_error_renderables()
    out = capsys.readouterr()
    assert "PIN-4321" not in out.out + out.err and "Traceback" not in out.out + out.err


async def test_terminal_escapes_and_markup_in_stored_text_never_reach_the_screen(
    ui_ctx: KioskContext,
) -> None:
    """A name typed at a kiosk, stored, then shown on the desk inside an alert."""
    from textual.widgets import DataTable

    from kiosk.notify import raise_alert
    from tests.plugins.visitors.visitors_helpers import BUTLER

    name = "Eve\x1b[2J\x1b]0;owned\x07 [@click=app.quit]Q[/]"
    with ui_ctx.database().write() as s:
        raise_alert(s, "visitor", f"Blocked visitor {name}", at=ui_ctx.clock.now(), lobby="A")
    app = desk(ui_ctx, "en")
    async with app.run_test(size=SIZE) as pilot:
        await app.logged_in(BUTLER)
        await settle(pilot, lambda: bool(app.screen.query(DataTable)))
        table = app.screen.query_one(DataTable)
        await settle(pilot, lambda: table.row_count > 0)
        await pilot.pause()
        cell = table.get_row_at(0)[2]
        assert "[@click=app.quit]Q[/]" in cell.plain  # shown as typed, not as a link
        assert not any("@click" in str(span.style) for span in cell.spans)
        drawn = "\n".join(
            "".join(seg.text for seg in strip)
            for strip in table.render_lines(table.content_region.reset_offset)
        )
        assert "Blocked visitor Eve" in drawn
        assert "\x1b" not in drawn and "\x07" not in drawn
        assert "\ufffd[2J" in drawn  # visible, harmless
        assert app.is_running


def test_printable_replaces_control_characters_and_keeps_text() -> None:
    assert printable("王小明 3-1205\nline two") == "王小明 3-1205\nline two"
    assert printable("a\tb") == "a b"
    assert (
        printable("\x1b[2J\x1b]0;t\x07\x9b31m\u202e") == "\ufffd[2J\ufffd]0;t\ufffd\ufffd31m\ufffd"
    )
    assert str(Label("\x1b[2J[b]x[/b]").visual) == "\ufffd[2J[b]x[/b]"


def test_while_a_shell_runs_its_log_never_reaches_the_terminal(
    ui_ctx: KioskContext, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Textual draws on the terminal's stderr; a traceback logged there would be drawn over
    the kiosk's screen. While the shell runs, the log goes to its file."""
    import os

    class Broken(Screen[None]):
        def on_mount(self) -> None:
            secret = "PIN-4321"
            raise RuntimeError(f"bug near {secret}")

    master, slave = os.openpty()
    terminal = os.fdopen(slave, "w")
    on_terminal = logging.StreamHandler(terminal)  # what basicConfig(stream=sys.stderr) makes
    root = logging.getLogger()
    root.addHandler(on_terminal)
    monkeypatch.setenv("KIOSK_LOG_FILE", str(tmp_path / "kiosk.log"))
    app = lobby(ui_ctx, "en")

    async def person(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, lambda: bool(app.tiles))
        app.push_screen(Broken())
        await settle(pilot, lambda: isinstance(app.screen, OutOfServiceScreen))
        app.exit()

    try:
        app.run(headless=True, auto_pilot=person)
        assert on_terminal in root.handlers, "put back once the shell has left"
        terminal.flush()
        os.set_blocking(master, False)
        try:
            drawn = os.read(master, 1 << 16)
        except BlockingIOError:  # nothing was written to the terminal
            drawn = b""
    finally:
        root.removeHandler(on_terminal)
        terminal.close()
        os.close(master)
    assert app.faults and b"PIN-4321" not in drawn and b"Traceback" not in drawn
    logged = (tmp_path / "kiosk.log").read_text("utf-8")
    assert "unexpected error in the LobbyApp" in logged and "PIN-4321" in logged


def test_every_screen_shows_text_through_the_plain_widgets() -> None:
    """The kiosk's and the plugins' screens take Label, Static, Button and Checkbox from
    kiosk.ui.widgets.text (markup off), never straight from textual.widgets."""
    import ast
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    files = [
        *(repo / "kiosk" / "ui").rglob("*.py"),
        *(repo / "plugins").glob("*/screens.py"),
        *(repo / "plugins").glob("*/desk.py"),
    ]
    offenders = []
    for path in files:
        if path.name == "text.py" and path.parent.name == "widgets":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "textual.widgets"
            ):
                names = {a.name for a in node.names} & {"Label", "Static", "Button", "Checkbox"}
                if names:
                    offenders.append(f"{path.relative_to(repo)}: {sorted(names)}")
    assert len(files) > 10 and offenders == []


async def test_a_plugin_worker_that_raises_disables_its_plugin_not_the_kiosk(
    ui_ctx: KioskContext,
) -> None:
    from kiosk.hookspecs import Tile, hookimpl
    from kiosk.plugins import load_plugins

    def crash() -> None:
        raise KeyError("a bug in a worker")

    class Working(Screen[None]):
        def on_mount(self) -> None:
            self.run_worker(crash, thread=True)

    class Plugin:
        @hookimpl
        def kiosk_tiles(self, ctx):  # type: ignore[no-untyped-def]
            return [Tile("busy", "Busy", lambda c: Working())]

    ui_ctx.plugins = load_plugins(extra={"busy": Plugin()})
    app = lobby(ui_ctx, "en")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: bool(app.screen.query("#tile-busy")))
        await click(pilot.app, pilot, "#tile-busy")
        await settle(pilot, lambda: bool(ui_ctx.plugins.failures))
        await settle(pilot, lambda: isinstance(app.screen, HomeScreen))
        assert app.is_running and not app.faults
        assert [f.plugin for f in ui_ctx.plugins.failures] == ["busy"]
        assert "KeyError" not in texts(app)


def test_a_kiosk_that_stopped_after_an_error_starts_again_and_gives_up_on_a_loop(
    ui_ctx: KioskContext,
) -> None:
    """``kiosk run`` must not leave a public terminal at a shell prompt after a crash."""
    from kiosk.ui.guard import run_until_left

    def boom() -> None:
        raise RuntimeError("a bug in the app's own loop")

    built = []

    def build():  # type: ignore[no-untyped-def]
        app = lobby(ui_ctx, "en")
        built.append(app)
        return app

    async def crash_first(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        if len(built) == 1:
            app.call_later(boom)  # the app's own message loop stops
        else:
            app.exit_allowed = True
            app.exit()

    last = run_until_left(build, headless=True, auto_pilot=crash_first)
    assert len(built) == 2 and built[0].left_after_fault and built[0].return_code == 1
    assert last is built[1] and not last.left_after_fault and not last.return_code

    built.clear()

    async def always_crash(pilot) -> None:  # type: ignore[no-untyped-def]
        pilot.app.call_later(boom)

    last = run_until_left(build, restarts=2, headless=True, auto_pilot=always_crash)
    assert len(built) == 3 and last.return_code == 1
