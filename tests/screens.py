"""What the screen tests share (the plugins' and tests/ui's): a bare app standing in for the lobby
shell, the stand-in for ``kiosk simulate``'s runner that scenarios get, the text on screen, and
waiting on a condition (never on a fixed pause: service calls run on worker threads and finish
when they do, later on a loaded machine).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from textual.app import App
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Label

from kiosk.clock import FixedClock


class Harness(App[None]):
    """A bare app standing in for the lobby shell: the context, the identified person (if any)
    and the first screen it shows."""

    def __init__(self, ctx: Any, first: Screen[Any] | None = None, actor: Any = None) -> None:
        super().__init__()
        self.ctx, self.first, self.actor = ctx, first, actor

    def on_mount(self) -> None:
        if self.first is not None:
            self.push_screen(self.first)


class DeskHarness(App[None]):
    """A bare app standing in for the desk shell around one panel: ``panel()`` makes the panel
    when the app composes; ``staff`` is who is signed in (the desk app's ``staff``)."""

    TITLE = "Desk"  # the snapshots' window title

    def __init__(self, panel: Callable[[], Widget], staff: Any = None) -> None:
        super().__init__()
        self.panel, self.staff = panel, staff

    def compose(self) -> Iterator[Widget]:
        yield self.panel()


class Run:
    """What a scenario gets from ``kiosk simulate`` (the parts the plugins' scenarios use)."""

    def __init__(self, app: App[Any], pilot: Any, ctx: Any) -> None:
        self.app, self.pilot, self.ctx = app, pilot, ctx
        self.transcript: list[str] = []

    async def tap(self, uid: str) -> None:
        self.note(f"tap {uid}")

    async def click(self, selector: str) -> None:
        from kiosk.ui.scenarios import click

        await click(self.app, self.pilot, selector)

    async def press(self, *keys: str) -> None:
        await self.pilot.press(*keys)

    async def expect_text(self, text: str) -> None:
        shown = screen_text(self.app)
        assert text in shown, f"{text!r} not on screen:\n{shown}"

    def note(self, text: str) -> None:
        self.transcript.append(text)


def screen_text(app: App[Any]) -> str:
    """The labels of the screen on top, one a line."""
    return "\n".join(str(w.render()) for w in app.screen.query(Label))


async def _poll(condition: Callable[[], object], seconds: float, nap: Callable[[], Any]) -> bool:
    """Look at ``condition()`` every ``nap()`` until it holds or ``seconds`` of the clock have
    passed (not a count of naps: a loaded machine stretches them); whether it held."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() >= deadline:
            return False
        await nap()
    return True


async def settle(pilot: Any, until: Callable[[], object], tries: int = 400) -> bool:
    """Let the app run until ``until()`` holds, for at most ``tries`` x 0.05 s (some 20 s: a
    loaded machine may take seconds over a worker's queries); says whether it held, for a
    caller that asserts the outcome itself, or that something did *not* happen in that time.
    Plain sleeps, not ``pilot.pause()``: that waits for every widget of the screen, and a
    screen whose message loop an error stopped never answers."""
    return await _poll(until, tries * 0.05, lambda: asyncio.sleep(0.02))


async def wait_until(
    pilot: Any, condition: Callable[[], object], what: str = "", seconds: float = 30.0
) -> None:
    """Let the app run until ``condition()`` holds; fail saying ``what`` did not happen after
    ``seconds`` (a loaded machine may take seconds over a PIN's scrypt or a worker's query).
    Between two looks the pilot pauses: the screen takes its messages and lays itself out, so
    what the condition saw is laid out too."""
    if not await _poll(condition, seconds, lambda: pilot.pause(0.02)):
        raise AssertionError(f"gave up waiting for {what or condition} ({seconds:.0f} s)")


async def open_form(app: App[Any], pilot: Any, button: str, **values: object) -> Screen[Any]:
    """Click a desk panel's ``button``, wait for its form and type ``values`` into its fields
    (``#field-NAME``: text, a choice, a tick); the form comes back, OK not pressed yet."""
    from kiosk.ui.scenarios import click

    await click(app, pilot, button)
    await wait_until(pilot, lambda: bool(app.screen.query("#form-ok")), "the form")
    form = app.screen
    for name, value in values.items():
        form.query_one(f"#field-{name}").value = value  # type: ignore[attr-defined]
    return form


def at_rest(app: App[Any]) -> bool:
    """Nothing under way on the screen: no worker pending or running (a panel's load off the
    UI thread), and every tab bar shown has its underline under its active tab (it slides
    there for 0.3 s after a switch)."""
    from textual.widgets import Tabs

    if any(not worker.is_finished for worker in app.workers):
        return False
    for tabs in app.screen.query(Tabs):
        active = tabs.active_tab
        if active is None or not tabs.region.width:
            continue
        start, end = active.virtual_region.shrink(active.styles.gutter).column_span
        underline: Any = tabs.query_one("Underline")
        if (underline.highlight_start, underline.highlight_end) != (start, end):
            return False
    return True


async def until_at_rest(pilot: Any, what: str = "the screen") -> None:
    """Wait until the app is :func:`at_rest` and the screen has taken what it brought (a
    snapshot, or a test reading what is shown, sees the screen as it stays)."""
    await wait_until(pilot, lambda: at_rest(pilot.app), f"{what} to come to rest")
    await pilot.pause()


def message_shown(app: App[Any]) -> bool:
    """The screen on top shows something in its message line (a refusal, a result)."""
    found = app.screen.query("#message")
    return bool(found) and bool(str(found.first().render()).strip())


def steady_cursor(app: App[Any]) -> None:
    """A focused field's cursor drawn steadily: a snapshot taken while it blinks would show it
    or not by the time the machine took to get there."""
    from textual.widgets import Input

    for field in app.screen.query(Input):
        field.cursor_blink = False


async def button_ready(pilot: Any, app: App[Any], selector: str) -> None:
    """Wait until the button ``selector`` takes a press again: a Textual button ignores a
    second press while it still flashes from the first (0.2 s)."""
    button = app.screen.query_one(selector)
    await wait_until(pilot, lambda: not button.has_class("-active"), f"{selector} to settle")


@contextmanager
def screen_ctx(url: str, lang: str = "en") -> Iterator[Any]:
    """A context on a copy of the demo estate (``url``), on a fixed clock, with the screens in
    ``lang`` until the block ends (the screen tests' and snapshots' context)."""
    from kiosk.i18n import language, set_language
    from tests.conftest import make_ctx

    ctx = make_ctx(url, clock=FixedClock())
    before = language()
    set_language(lang)
    try:
        yield ctx
    finally:
        set_language(before)
        ctx.database().dispose()


def english_ctx(url: str) -> Iterator[Any]:
    """:func:`screen_ctx` in English (the body of the ``kctx`` fixture of the plugins' screen
    tests)."""
    with screen_ctx(url) as ctx:
        yield ctx


def cut_off_hints(screen: Screen[Any]) -> list[str]:
    """The hints of the fields shown, and the labels of the buttons shown, that do not fit
    their widget (what a field says to type must be read whole: "Renter's name (blank" says
    nothing of the owner)."""
    from rich.cells import cell_len
    from textual.widgets import Button, Input

    cut = [
        f"{field.id}: {field.placeholder!r} in {field.content_region.width} cells"
        for field in screen.query(Input)
        if field.region.area and not field.value
        and cell_len(field.placeholder) > field.content_region.width
    ]  # fmt: skip
    cut += [
        f"button {b.id}: {str(b.label)!r} in {b.content_region.width} cells"
        for b in screen.query(Button)
        if b.region.area and cell_len(str(b.label)) > b.content_region.width
    ]
    return cut
