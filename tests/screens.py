"""What the plugins' screen tests share: a bare app standing in for the lobby shell, the stand-in
for ``kiosk simulate``'s runner that scenarios get, the text on screen, and waiting on a
condition (never on a fixed pause: service calls run on worker threads and finish when they do).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from textual.app import App
from textual.screen import Screen
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

    def note(self, text: str) -> None:
        self.transcript.append(text)


def screen_text(app: App[Any]) -> str:
    """The labels of the screen on top, one a line."""
    return "\n".join(str(w.render()) for w in app.screen.query(Label))


async def wait_until(
    pilot: Any, condition: Callable[[], object], what: str = "", tries: int = 2000
) -> None:
    """Let the app run until ``condition()`` holds; fail saying ``what`` did not happen (after
    some 20 s: a loaded machine may take seconds over a PIN's scrypt or a worker's query)."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"gave up waiting for {what or condition}")


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


def english_ctx(url: str) -> Iterator[Any]:
    """A context on a copy of the demo estate, on a fixed clock, in English (the body of the
    ``kctx`` fixture of the plugins' screen tests)."""
    from kiosk.i18n import language, set_language
    from tests.conftest import make_ctx

    ctx = make_ctx(url, clock=FixedClock())
    before = language()
    set_language("en")
    yield ctx
    set_language(before)
    ctx.database().dispose()
