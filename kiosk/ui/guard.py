"""What the shells (kiosk and desk) allow themselves to do, and how they fail.

- Actions: an app runs only its own known actions (:attr:`GuardedApp.ACTIONS`); anything else
  (``suspend_process``, ``push_screen``, ``quit`` by another name…) is refused, so even an
  action link that leaked into text on screen can do nothing. Action links in text
  (``@click`` in a style) are never followed: no screen of ours has one.
- Notifications are plain text (markup off, control characters replaced).
- Errors: a plugin's bug or a person's bad input is contained by :mod:`kiosk.ui.isolation`;
  anything else is logged with its traceback and the person sees an out-of-service message
  (the desk call still works). Nothing technical is ever printed on the public screen: when the
  app cannot go on, it leaves with one plain line, never Textual's traceback with locals.
- The log: Textual draws on the terminal's stderr, where ``kiosk``'s logging writes too; while a
  shell runs, log records go to a file (:func:`logs_off_the_terminal`), so a traceback logged
  for the office never lands on the kiosk's screen.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from textual import events
from textual.app import App

from kiosk.i18n import set_language
from kiosk.ui.widgets.text import printable

if TYPE_CHECKING:
    from kiosk.config import Settings
    from kiosk.context import KioskContext

log = logging.getLogger(__name__)

# Textual's own app actions a shell needs: focus moves between fields with Tab.
TEXTUAL_ACTIONS = frozenset({"focus_next", "focus_previous"})


def log_file() -> Path:
    """Where a shell's log goes: ``KIOSK_LOG_FILE``, else the user's state folder."""
    explicit = os.environ.get("KIOSK_LOG_FILE")
    if explicit:
        return Path(explicit)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "lobby-kiosk" / "kiosk.log"


def _on_terminal(handler: logging.Handler) -> bool:
    if isinstance(handler, logging.FileHandler) or not isinstance(handler, logging.StreamHandler):
        return False
    try:
        return bool(handler.stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


@contextmanager
def logs_off_the_terminal(path: Path | None = None) -> Iterator[Path | None]:
    """While the block runs, root log handlers that write to a terminal are replaced by one
    writing to ``path`` (:func:`log_file`); afterwards they are put back. Yields the file, or
    None when it could not be opened (the records are then dropped rather than drawn on the
    screen)."""
    root = logging.getLogger()
    moved = [h for h in root.handlers if _on_terminal(h)]
    if not moved:
        yield None
        return
    target: Path | None = path or log_file()
    replacement: logging.Handler
    try:
        assert target is not None
        target.parent.mkdir(parents=True, exist_ok=True)
        replacement = logging.FileHandler(target, encoding="utf-8")
        replacement.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
    except OSError:
        target, replacement = None, logging.NullHandler()
    for handler in moved:
        root.removeHandler(handler)
    root.addHandler(replacement)
    try:
        yield target
    finally:
        root.removeHandler(replacement)
        replacement.close()
        for handler in moved:
            root.addHandler(handler)


class GuardedApp(App[None]):
    """Base of the lobby kiosk and the desk: the action allow-list and the failure path."""

    ACTIONS: ClassVar[frozenset[str]] = TEXTUAL_ACTIONS
    """The app's own actions; every other app action is refused."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.faults: list[BaseException] = []  # unexpected errors survived (the log has them)
        self.left_after_fault = False

    def run(self, *args: Any, **kwargs: Any) -> None:
        """Run on the terminal, the log kept off it (see :func:`logs_off_the_terminal`)."""
        with logs_off_the_terminal():
            return super().run(*args, **kwargs)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in self.ACTIONS:
            log.warning("refused app action %r %r", action, parameters)
            return False
        return super().check_action(action, parameters)

    async def _broker_event(
        self, event_name: str, event: events.Event, default_namespace: Any
    ) -> bool:
        # A `@click` (or other `@event`) in a style can only come from markup in data.
        style = getattr(event, "style", None)
        meta = getattr(style, "meta", None) or {}
        links = {k: v for k, v in meta.items() if isinstance(k, str) and k.startswith("@")}
        if links:
            event.stop()
            log.warning("ignored an action link in text on screen: %r", links)
            return True
        return await super()._broker_event(event_name, event, default_namespace)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A notification: plain text unless a caller asks for markup with a constant."""
        if not markup:
            message, title = printable(message), printable(title)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    # -- failures -----------------------------------------------------------------------------

    def _handle_exception(self, error: Exception) -> None:
        from kiosk.ui.isolation import broken_pump, handle_plugin_exception

        # The loop that caught the error has stopped. When it is the app's own, nothing more
        # can be shown or handled: leave (``run_until_left`` starts the kiosk again).
        pump = broken_pump(error)
        if pump is not self and handle_plugin_exception(self, error):
            return
        log.error("unexpected error in the %s", type(self).__name__, exc_info=error)
        if self.is_running and pump is not self and self.screen_stack:
            self.faults.append(error)
            # Later, from the app's own loop: the broken one is still unwinding.
            self.call_later(self.show_fault, pump)
            return
        self.leave_after(error)

    def drop_broken_screen(self, broken: Any) -> None:
        """A screen whose message loop an error stopped can take no input and blocks waits on
        the app: pop it (and what is above it). The base screen stays (recomposed later)."""
        from textual.screen import Screen

        if isinstance(broken, Screen) and broken in self.screen_stack[1:]:
            while self.screen_stack[-1] is not broken:
                self.pop_screen()
            self.pop_screen()

    def show_fault(self, broken: Any = None) -> None:
        """Tell the person the app had a fault; the app keeps running (see subclasses)."""
        self.drop_broken_screen(broken)
        from kiosk.i18n import _

        self.notify(_("Something went wrong. Please try again or call the desk."), severity="error")

    def leave_after(self, error: BaseException) -> None:
        """The app cannot go on: leave with one plain line (the log has the traceback)."""
        from kiosk.i18n import _

        self._return_code = 1
        self.left_after_fault = True
        if self._exception is None:  # run_test() raises it in tests, as Textual does
            self._exception = error  # type: ignore[assignment]
            self._exception_event.set()
        self._exit_renderables.append(
            _("The kiosk stopped because of an error. The log has the details.")
        )
        self._close_messages_no_wait()

    def _fatal_error(self) -> None:
        # Textual's version prints a traceback with the locals of every frame.
        import sys

        error = sys.exc_info()[1]
        log.error("fatal error", exc_info=error)
        self.leave_after(error or RuntimeError("fatal error"))


def run_until_left(
    build: Callable[[], GuardedApp], *, restarts: int = 3, window: float = 60.0, **run: Any
) -> GuardedApp:
    """Run the shell ``build()`` makes; when it left because of an error, start a new one, so
    a public kiosk does not drop to the terminal's prompt. More than ``restarts`` faults
    within ``window`` seconds is a kiosk that cannot work: then it stays down (exit code 1).
    Returns the last shell."""
    faults: list[float] = []
    while True:
        shell = build()
        shell.run(**run)
        if not shell.left_after_fault:
            return shell
        now = time.monotonic()
        faults = [t for t in faults if now - t < window] + [now]
        if len(faults) > restarts:
            log.error("the shell failed %d times within %ss: giving up", len(faults), window)
            return shell
        log.error("the shell stopped after an error: starting it again")


class ShellApp(GuardedApp):
    """What the lobby kiosk and the desk hold alike: the settings, the context (None until the
    shell opened its own), the simulated-devices flag, whether the shell starts its devices,
    and whether the process is the shell's own (``kiosk run``, ``kiosk desk``): once started it
    freezes what it holds (:mod:`kiosk.memory`), and it exits when its terminal goes
    (:mod:`kiosk.ui.terminal`); tests and simulations sharing a process leave it off. The
    estate's language is set from the settings."""

    # Whether the shell starts its devices when not told (the lobby does, the desk does not).
    START_DEVICES = False
    # Both shells: a field that starts filled in says what it is on its top border
    # (kiosk.ui.widgets.text.titled), readable rather than in the border's dark colour.
    DEFAULT_CSS = """
    Input.-titled { border-title-color: $text-muted; }
    """

    def __init__(
        self,
        settings: Settings,
        ctx: KioskContext | None = None,
        sim: bool = False,
        *,
        start_devices: bool | None = None,
        own_process: bool = False,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.ctx = ctx
        self.sim = sim
        self.start_devices = self.START_DEVICES if start_devices is None else start_devices
        self.own_process = own_process
        self.devices: Any = None
        self._zone = ZoneInfo(settings.estate.timezone)
        set_language(settings.language)
