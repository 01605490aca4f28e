"""The bar on top of every kiosk screen: estate, clock, language toggle, call the desk."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from kiosk.i18n import LANGUAGES, _, language, next_language
from kiosk.ui.widgets.text import Button, Label


class KioskBar(Horizontal):
    """Estate name and clock on the left; the language toggle and "Call the desk" on the right."""

    DEFAULT_CSS = """
    KioskBar { height: 3; background: $primary-background; dock: top; padding: 0 1; }
    KioskBar #estate { width: 1fr; content-align: left middle; height: 3; text-style: bold; }
    KioskBar #clock { width: auto; content-align: center middle; height: 3; margin: 0 1; }
    KioskBar Button { min-width: 10; height: 3; margin: 0 0 0 1; }
    """

    def compose(self) -> ComposeResult:
        app = self.app
        settings = getattr(app, "settings", None)
        name = ""
        if settings is not None:
            name = settings.estate.name if language() == "zh_CN" else settings.estate.name_en
        yield Label(name, id="estate")
        yield Label(self._time(), id="clock")
        languages = settings.languages if settings is not None else ("zh_CN", "en")
        # The toggle names the language it switches to, in that language (中文 / English /
        # 日本語 / 한국어), cycling through the kiosk's configured languages.
        yield Button(LANGUAGES[next_language(languages)], id="lang-toggle")
        yield Button(_("Call the desk"), id="call-desk", variant="warning")

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)

    def _time(self) -> str:
        now = getattr(self.app, "local_now", None)
        return now().strftime("%H:%M") if now else ""

    def _tick(self) -> None:
        self.query_one("#clock", Label).update(self._time())

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        # Handled here and stopped: the screen underneath must never see these presses.
        event.stop()
        if event.button.id == "lang-toggle":
            await self.app.run_action("toggle_language")
        elif event.button.id == "call-desk":
            await self.app.run_action("call_desk")


class MessageLine(Label):
    """The foot's message line: shown while it has something to say (whoever updates it),
    in the error colour unless :meth:`KioskScreen.say` marks a success."""

    def update(self, content: Any = "", *, layout: bool = True) -> None:
        super().update(content, layout=layout)
        self.set_class(bool(str(content)), "shown")


class NavBar(Vertical):
    """The foot of every service screen, docked so it never scrolls away: the message line
    (a refusal, a confirmation), the screen's own primary buttons, and a touch-sized Back and
    Home. A screen adds its buttons with ``actions()``."""

    DEFAULT_CSS = """
    NavBar { dock: bottom; height: auto; padding: 0 1; background: $boost; }
    NavBar #message { width: 100%; height: auto; padding: 0 1; display: none; }
    NavBar #message.shown { display: block; }
    NavBar #message.error { color: $error; text-style: bold; }
    NavBar #message.ok { color: $success; text-style: bold; }
    NavBar #nav-row { height: 3; width: 100%; }
    NavBar #nav-row Button { min-width: 12; height: 3; margin: 0 1 0 0; }
    NavBar #nav-spacer { width: 1fr; }
    """

    def __init__(self, actions: list[Button] | None = None, *, back_home: bool = True) -> None:
        super().__init__(id="nav")
        self._actions = actions or []
        self._back_home = back_home

    def compose(self) -> ComposeResult:
        yield MessageLine("", id="message", classes="message error")
        with Horizontal(id="nav-row"):
            yield from self._actions
            yield Label("", id="nav-spacer")
            if self._back_home:
                yield Button(_("Back"), id="nav-back")
                # Home ends an identified resident's session: said so, lest "Home" be taken for
                # the menu (Back is the way there, still identified).
                identified = getattr(self.app, "actor", None) is not None
                yield Button(_("Log out") if identified else _("Home"), id="nav-home")
