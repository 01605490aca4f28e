"""The lobby kiosk (``kiosk run``).

It paints the home screen first and opens the database and loads plugins in a thread worker
(the ORM and pluggy are the slow imports). Device threads never touch widgets: a tap arrives
as a :class:`CardPresented` message through ``call_from_thread``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import ModalScreen, Screen

from kiosk.config import Settings
from kiosk.errors import Refused
from kiosk.i18n import N_, _, language, next_language, set_language
from kiosk.ui.guard import TEXTUAL_ACTIONS, ShellApp
from kiosk.ui.isolation import is_database_busy, is_database_outage, plugin_of
from kiosk.ui.screens import (
    HomeScreen,
    IdentifyScreen,
    IdleWarningScreen,
    MessageScreen,
    NoticeListScreen,
    OutOfServiceScreen,
    StaffLoginScreen,
)
from kiosk.ui.widgets.chrome import KioskBar

if TYPE_CHECKING:
    from kiosk.context import KioskContext
    from kiosk.hookspecs import HomeNotice, Tile
    from kiosk.identity import Actor

log = logging.getLogger(__name__)
T = TypeVar("T")
IDLE_WARNING_SECONDS = 10  # "Still there?" this long before the idle reset
NOTICES_SECONDS = 60  # the home screen's notice strip is read again this often while idle
SWALLOWED_KEYS = ["ctrl+c", "ctrl+q", "ctrl+p", "ctrl+z", "ctrl+backslash"] + [
    f"f{i}" for i in range(1, 13) if i not in (2, 3)
]


# A card reader's state on the staff screen, in the staff's language (not the device's word).
READER_STATES = {
    "connected": N_("Card reader {name}: connected"),
    "disconnected": N_("Card reader {name}: not connected"),
}


class CardPresented(Message):
    """A card was tapped on a reader (or typed on a wedge, or simulated)."""

    def __init__(self, uid: str) -> None:
        super().__init__()
        self.uid = uid


class LobbyApp(ShellApp):
    """The resident-facing kiosk."""

    ACTIONS = TEXTUAL_ACTIONS | {
        "swallow",
        "sim_tap",
        "sim_pay",
        "toggle_language",
        "call_desk",
        "go_home",
        "quit",
    }

    # Absolute, so subclasses defined elsewhere (tests, benchmarks) find it too.
    CSS_PATH = Path(__file__).parent / "lobby.tcss"
    TITLE = "Lobby kiosk"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            Binding(key, "swallow", show=False, priority=True, id=f"swallow-{key}")
            for key in SWALLOWED_KEYS
        ),
        Binding(
            "f2",
            "sim_tap",
            "Simulated card tap (--sim only)",
            show=False,
            priority=True,
            id="sim-tap",
        ),
        Binding(
            "f3",
            "sim_pay",
            "Simulated payment of the QR on screen (--sim only)",
            show=False,
            priority=True,
            id="sim-pay",
        ),
    ]

    START_DEVICES = True

    def __init__(self, settings: Settings, *args: Any, **kwargs: Any) -> None:
        """:class:`ShellApp`'s parameters; the kiosk starts its devices unless told not to."""
        super().__init__(settings, *args, **kwargs)
        self.tiles: list[Tile] = []
        self.home_notices: list[HomeNotice] = []
        # The idle timeout's and the notice strip's clock (replaceable: a test holds it still).
        self.monotonic: Callable[[], float] = time.monotonic
        self._notices_read = self.monotonic()
        self.actor: Actor | None = None
        self.actor_unit = ""
        # What waits for the identified resident, as marks on the tiles (kiosk_tile_badges).
        self.badges: dict[str, str] = {}
        # The language was chosen on the kiosk this session (the toggle): a card tap or a PIN
        # then keeps it, rather than the one stored for the resident.
        self.language_chosen = False
        self.exit_allowed = False
        self.reader_status: dict[str, str] = {}
        self._last_input = self.monotonic()
        self.taps_handled = 0  # scenarios wait on this to know a tap went all the way through
        self._counter: Any = None
        self._pending_tile: str | None = None
        self._tiles_painted = threading.Event()  # the first tiles are on screen
        if self.ctx is None and self.own_process:
            # A kiosk starting again shows last start's tiles with its first frame.
            from kiosk.ui.tile_memory import remembered

            self.tiles = remembered(settings)

    # -- start-up -------------------------------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        return HomeScreen()

    def on_mount(self) -> None:
        self._ui_thread = threading.get_ident()
        self.set_interval(1.0, self._idle_check)
        if self.own_process:
            from kiosk.ui.terminal import exit_when_terminal_lost

            exit_when_terminal_lost(self)
        if self.ctx is None:
            if self.tiles:  # remembered: they are in the first frame
                self.call_after_refresh(self._tiles_shown)
            # After the first frame: importing the ORM and plugins in a thread competes for the
            # GIL with the first paint.
            self.call_after_refresh(
                self.run_worker, self._load, thread=True, exclusive=True, group="load"
            )
        else:
            self.call_later(self._loaded)

    def _load(self) -> None:
        from kiosk.context import attach_database, plugin_context

        try:
            # The plugins first (light modules, no ORM): their tiles go on the home screen
            # while the database is opened; a tile pressed meanwhile says "still starting".
            ctx = plugin_context(self.settings)
            tiles = self._collect_tiles(ctx)
            self.call_from_thread(self._show_tiles, tiles)  # type: ignore[arg-type]
            # Importing the ORM holds the GIL for a while: let the tiles paint first.
            self._tiles_painted.wait(timeout=1.0)
            attach_database(ctx)
            from kiosk.db.migrate import not_set_up

            if not self._ping(ctx):
                raise ConnectionError("database unreachable")
            problem = not_set_up(ctx.database().engine, ctx.plugins)
        except Exception as exc:  # noqa: BLE001 - any failure here means out of service
            log.exception("kiosk start-up failed")
            self.call_from_thread(self._start_failed, exc)
            return
        if problem is not None:
            # Reachable but never set up: no tap could work. Say what to do, and leave.
            log.error("%s", problem)
            self.call_from_thread(self.exit, None, 1, problem)
            return
        self.ctx = ctx
        self.call_from_thread(self.call_later, self._loaded)

    async def _show_tiles(self, tiles: list[Tile]) -> None:
        """The plugins' tiles, before the database is open (nothing else of the home needs
        it); the home is composed again only when they differ from the remembered ones."""
        home = self.screen_stack[0] if self.screen_stack else None
        if self.ctx is not None or not (isinstance(home, HomeScreen) and home.is_attached):
            self._tiles_painted.set()
            return
        from kiosk.ui.tile_memory import signature

        same = signature(tiles) == signature(self.tiles)
        self.tiles = tiles
        if same and self.tiles and self._tiles_painted.is_set():
            return
        await home.recompose()
        self.call_after_refresh(self._tiles_shown)

    def _tiles_shown(self) -> None:
        """The home has its tiles on screen: what ``kiosk bench startup`` waits for (the
        environment variable ``KIOSK_STARTUP_PROBE`` names a file descriptor to tell)."""
        import contextlib
        import os

        self._tiles_painted.set()
        fd = os.environ.get("KIOSK_STARTUP_PROBE", "")
        if fd.isdigit() and self.tiles:
            with contextlib.suppress(OSError):
                os.write(int(fd), b"tiles\n")

    def _start_failed(self, exc: BaseException) -> None:
        self.out_of_service()

    async def _loaded(self) -> None:
        from kiosk.lobby import UnknownCardCounter

        ctx = self.ctx
        assert ctx is not None
        self._counter = UnknownCardCounter()
        from kiosk.ui.tile_memory import signature

        tiles = self._collect_tiles()
        tiles_changed = signature(tiles) != signature(self.tiles)
        self.tiles = tiles
        self.home_notices = await asyncio.to_thread(self._collect_notices)
        if self.start_devices and ctx.settings.devices:
            from kiosk.hardware import start_devices

            self.devices = await asyncio.to_thread(start_devices, ctx, self._reader_event)
        if ctx.plugins is not None:
            # Off the UI thread: start-up hooks may touch the database (parking's sweep).
            await asyncio.to_thread(ctx.plugins.call, "kiosk_startup", ctx=ctx)
        if self.own_process:
            from kiosk.notify import start_dispatcher
            from kiosk.ui.tile_memory import remember

            # For the next start's first frame (titles in every language).
            await asyncio.to_thread(remember, self.settings, tiles)
            # Deliver the outbox (every kiosk and desk may: claims are leased).

            self.dispatcher = start_dispatcher(ctx, interval=10.0)
        if tiles_changed or self.home_notices or not self._home_is_current():
            await self._recompose_all()
        if self.own_process:
            # Start-up is over: keep full garbage collections off the taps from now on.
            from kiosk.memory import freeze_start_up_objects

            self.call_after_refresh(freeze_start_up_objects)

    def _home_is_current(self) -> bool:
        """Only the home is open and it already shows the loaded kiosk's tiles: composing it
        again once the database is open would change nothing."""
        if len(self.screen_stack) != 1:
            return False
        home = self.screen_stack[0]
        return (
            isinstance(home, HomeScreen) and bool(home.query(".tile")) and not home.query("#empty")
        )

    def _collect_tiles(self, ctx: KioskContext | None = None) -> list[Tile]:
        ctx = ctx or self.ctx
        if ctx is None or ctx.plugins is None:
            return []
        tiles = [
            t
            for t in ctx.plugins.call_flat("kiosk_tiles", ctx=ctx)
            if t.audience in ("resident", "all")
        ]
        return sorted(tiles, key=lambda t: (t.order, t.id))

    def _collect_notices(self) -> list[HomeNotice]:
        """The plugins' lines for the notice strip (off the UI thread: they read the database)."""
        ctx = self.ctx
        self._notices_read = self.monotonic()
        if ctx is None or ctx.plugins is None:
            return []
        found = ctx.plugins.call_flat("kiosk_home_notices", ctx=ctx, lobby=ctx.lobby)
        return sorted(found, key=lambda n: (n.order, n.id))

    def visible_notices(self) -> list[HomeNotice]:
        """The strip's lines still current: one past its ``until`` is down at once, whether or
        not the strip was read again since."""
        if self.ctx is None:
            return []
        from kiosk.clock import as_utc

        now = self.ctx.clock.now()
        return [n for n in self.home_notices if n.until is None or now < as_utc(n.until)]

    async def refresh_notices(self) -> None:
        """Read the strip again; rebuild the home screen when what it shows changed and
        nobody is using the kiosk."""
        self.home_notices = await asyncio.to_thread(self._collect_notices)
        if not self._session_open():
            await self._show_notices()

    async def _show_notices(self) -> None:
        home = self.screen_stack[0]
        if (
            isinstance(home, HomeScreen)
            and home.is_mounted
            and home.notices_shown != self.visible_notices()
        ):
            await home.recompose()

    async def open_notice(self, which: str) -> None:
        """A line of the strip was tapped: its screen, or every line when it was "+N"."""
        if self.ctx is None:
            return
        if which == "more":
            self.push_screen(NoticeListScreen())
            return
        notices = self.visible_notices()
        if not which.isdigit() or int(which) >= len(notices):
            return
        notice = notices[int(which)]
        if notice.screen is None:
            return
        try:
            screen = notice.screen(self.ctx)
        except Exception:  # a plugin's screen factory must not take the kiosk down
            log.exception("notice %s failed", notice.id)
            self.push_screen(
                MessageScreen(_("This service is not available now. Please see the desk."))
            )
            return
        if screen is not None:
            self.push_screen(screen)

    # -- helpers for screens --------------------------------------------------------------

    def local_now(self) -> dt.datetime:
        clock = self.ctx.clock if self.ctx is not None else None
        now = clock.now() if clock is not None else dt.datetime.now(dt.UTC)
        return now.astimezone(self._zone)

    async def service(self, fn: Callable[..., T], *args: Any) -> T | None:
        """Run a service function off the UI thread; a lost database means out of service.

        :class:`Refused` passes through for the screen to show.
        """
        if self.ctx is None:
            self.push_screen(MessageScreen(_("The kiosk is still starting. Please try again.")))
            return None
        try:
            return await asyncio.to_thread(fn, *args)
        except Refused:
            raise
        except Exception as exc:
            if is_database_busy(exc):
                # Reachable but held up past the timeout (another writer, a locked row).
                log.warning("database busy: %s", exc)
                self.push_screen(MessageScreen(_("The kiosk is busy. Please try again.")))
                return None
            if is_database_outage(exc):
                log.warning("database lost: %s", exc)
                self.out_of_service()
                return None
            raise

    def _ping(self, ctx: KioskContext | None = None) -> bool:
        ctx = ctx or self.ctx
        if ctx is None or ctx.db is None:
            return False
        from sqlalchemy import text

        try:
            with ctx.db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001
            return False

    def database_reachable(self) -> bool:
        if self.ctx is None:
            from kiosk.context import open_context

            try:
                ctx = open_context(self.settings)
            except Exception:  # noqa: BLE001
                return False
            if not self._ping(ctx):
                return False
            self.ctx = ctx
            self.call_from_thread(self.call_later, self._loaded)
            return True
        return self._ping()

    def out_of_service(self) -> None:
        if not isinstance(self.screen, OutOfServiceScreen):
            self.push_screen(OutOfServiceScreen())

    async def back_in_service(self) -> None:
        await self.reset_to_home()

    def health_lines(self) -> list[str]:
        lines = [
            _("Kiosk {kiosk} in lobby {lobby}").format(
                kiosk=self.settings.kiosk_id, lobby=self.settings.lobby
            )
        ]
        if self.ctx is not None and self.ctx.plugins is not None:
            for f in self.ctx.plugins.failures:
                lines.append(
                    _("Plugin {name} disabled: {error}").format(name=f.plugin, error=f.error)
                )
        if self.devices is not None:
            lines += [
                _("Device problem: {problem}").format(problem=p) for p in self.devices.problems
            ]
        for name, status in sorted(self.reader_status.items()):
            said = READER_STATES.get(status, N_("Card reader {name}: {status}"))
            lines.append(_(said).format(name=name, status=status))
        return lines

    # -- screens and the bar ---------------------------------------------------------------

    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any:
        result = super().push_screen(screen, *args, **kwargs)
        self.call_after_refresh(self._ensure_bar)
        return result

    def switch_screen(self, screen: Any) -> Any:
        result = super().switch_screen(screen)
        self.call_after_refresh(self._ensure_bar)
        return result

    def _ensure_bar(self) -> None:
        """Plugin screens get the bar too: call the desk and language on every screen."""
        screen = self.screen
        if isinstance(screen, ModalScreen) or screen.query(KioskBar):
            return
        screen.mount(KioskBar())

    async def _recompose_all(self) -> None:
        for screen in list(self.screen_stack):
            if screen.is_attached:
                await screen.recompose()
        self.call_after_refresh(self._ensure_bar)

    async def open_tile(self, tile_id: str) -> None:
        tile = next((t for t in self.tiles if t.id == tile_id), None)
        if tile is None:
            return
        if self.ctx is None:  # the tiles show before the database is open
            self.push_screen(MessageScreen(_("The kiosk is still starting. Please try again.")))
            return
        if tile.needs_resident and self.actor is None:
            self._pending_tile = tile_id  # a card tap on the identify screen continues here too
            self.push_screen(IdentifyScreen(then=tile_id))
            return
        try:
            screen = tile.screen(self.ctx)
        except Exception as exc:  # a plugin's screen factory must not take the kiosk down
            log.exception("tile %s failed", tile_id)
            self.push_screen(
                MessageScreen(_("This service is not available now. Please see the desk."))
            )
            name = plugin_of(exc, self.ctx)
            if name is not None and self.ctx.plugins is not None:
                self.ctx.plugins.disable(name, "screen", exc)
                self.tiles = self._collect_tiles()
            return
        if screen is not None:
            self.push_screen(screen)

    # -- identification ----------------------------------------------------------------------

    async def identified(
        self,
        actor: Actor,
        unit_code: str = "",
        then: str | None = None,
        resident_language: str | None = None,
    ) -> None:
        then, self._pending_tile = then or self._pending_tile, None
        self.actor = actor
        self.actor_unit = unit_code or await asyncio.to_thread(self._unit_of, actor)
        if resident_language is None:
            resident_language = await asyncio.to_thread(self._language_of, actor)
        while len(self.screen_stack) > 1:
            self.pop_screen()
        if self.language_chosen:
            resident_language = ""  # what the person just chose beats what was stored
        if resident_language and resident_language != language():
            set_language(resident_language)
            await self._recompose_all()
        else:
            self.show_identity()
        # After the greeting: the tap must feel instant; the marks follow a moment later.
        self.load_badges()
        if then:
            await self.open_tile(then)

    def load_badges(self) -> None:
        """Read the identified resident's tile marks again, off the UI thread."""
        if self.actor is not None:
            self.run_worker(self._load_badges(self.actor), group="badges", exclusive=True)

    async def _load_badges(self, actor: Actor) -> None:
        try:
            badges = await asyncio.to_thread(self._collect_badges, actor)
        except Exception as exc:  # the database went away after the tap: no marks, no fuss
            if not (is_database_outage(exc) or is_database_busy(exc)):
                raise
            log.warning("tile marks not read: %s", exc)
            return
        if self.actor is not actor:  # the resident left (or another tapped) meanwhile
            return
        self.badges = badges
        home = self.screen_stack[0]
        if isinstance(home, HomeScreen) and home.is_mounted:
            home.show_badges()

    def _collect_badges(self, actor: Actor) -> dict[str, str]:
        """``{tile id: mark}`` from every plugin (a failing one is disabled, the rest shown)."""
        if self.ctx is None or self.ctx.plugins is None:
            return {}
        badges: dict[str, str] = {}
        for answer in self.ctx.plugins.call("kiosk_tile_badges", ctx=self.ctx, actor=actor):
            badges.update({str(k): str(v) for k, v in dict(answer).items()})
        return badges

    def show_identity(self) -> None:
        home = self.screen_stack[0]
        if isinstance(home, HomeScreen) and home.is_mounted:
            home.show_identity()

    def _unit_of(self, actor: Actor) -> str:
        from kiosk.db.models import Unit

        if self.ctx is None or actor.unit_id is None:
            return ""
        with self.ctx.database().read() as s:
            unit = s.get(Unit, actor.unit_id)
            return unit.code if unit else ""

    def _language_of(self, actor: Actor) -> str:
        from kiosk.db.models import Resident

        if self.ctx is None or actor.kind != "resident" or actor.id is None:
            return ""
        with self.ctx.database().read() as s:
            r = s.get(Resident, actor.id)
            return r.language if r else ""

    async def present_card(self, uid: str) -> None:
        """A card tap: from the reader thread (as a message), a wedge, or a simulation."""
        self._last_input = self.monotonic()
        if self.ctx is None:
            return
        try:
            await self._handle_tap(uid)
        finally:
            self.taps_handled += 1

    async def _handle_tap(self, uid: str) -> None:
        from kiosk.lobby import tap_card

        assert self.ctx is not None
        try:
            outcome = await self.service(tap_card, self.ctx, uid, self._counter)
        except Refused as exc:
            self.push_screen(MessageScreen(exc.render(_)))
            return
        if outcome is None:
            return
        if outcome.kind == "resident" and outcome.actor is not None:
            # The tap's lookup already read the unit and language: no second query.
            await self.identified(
                outcome.actor,
                outcome.tap.unit_code if outcome.tap else "",
                self._pending_tile,
                resident_language=outcome.tap.resident_language if outcome.tap else None,
            )
        elif outcome.kind == "staff":
            self.push_screen(StaffLoginScreen(who=uid))
        elif outcome.kind == "plugin" and outcome.plugin is not None:
            if outcome.plugin.screen is not None:
                self.push_screen(outcome.plugin.screen(self.ctx))
            else:
                self.push_screen(
                    MessageScreen(_(outcome.plugin.message).format(**outcome.plugin.data))
                )
        else:
            status = _(outcome.tap.status) if outcome.tap else ""
            self.push_screen(MessageScreen(_(outcome.message).format(status=status)))

    async def on_card_presented(self, message: CardPresented) -> None:
        await self.present_card(message.uid)

    def _reader_event(self, event: Any) -> None:
        """Called on a reader's thread (or, for a keyboard wedge, on the UI thread): hand over
        to the UI thread; never touch widgets from a device thread."""
        if event.kind == "tap" and event.uid:
            action: Callable[..., Any] = self.post_message
            args: tuple[Any, ...] = (CardPresented(event.uid),)
        elif event.kind == "status":
            action, args = self._reader_changed, (event.device, event.status or "", event.detail)
        else:
            return
        if threading.get_ident() == self._ui_thread:
            action(*args)
        else:
            self.call_from_thread(action, *args)

    def _reader_changed(self, device: str, status: str, detail: str) -> None:
        was = self.reader_status.get(device)
        self.reader_status[device] = status
        if status == "disconnected" and was != "disconnected":
            self.notify(
                _("The card reader is not connected. Use Unit + PIN, or see the desk."),
                severity="warning",
            )
        elif status == "connected" and was == "disconnected":
            # Only after it was lost: the first "connected" at start-up is no news.
            self.notify(_("The card reader is back."))

    # -- idle, keys, language ----------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(
            event,
            events.Key
            | events.MouseDown
            | events.MouseUp
            | events.MouseScrollDown
            | events.MouseScrollUp,
        ):
            self._last_input = self.monotonic()
        if isinstance(event, events.Key) and self.devices is not None:
            for wedge in self.devices.wedges():
                wedge.feed(event.key)  # a complete number arrives through _reader_event
        await super().on_event(event)

    def _session_open(self) -> bool:
        """Something the idle reset would clear: a screen over home, a resident, a language."""
        return (
            len(self.screen_stack) > 1
            or self.actor is not None
            or language() != self.settings.language
        )

    def idle_warning_seconds(self) -> int:
        return max(1, min(IDLE_WARNING_SECONDS, self.settings.idle_timeout // 3))

    async def _idle_check(self) -> None:
        if (
            self.ctx is not None
            and not self._session_open()
            and self.monotonic() - self._notices_read >= NOTICES_SECONDS
        ):
            self._notices_read = self.monotonic()
            self.run_worker(self.refresh_notices(), exclusive=True, group="notices")
        elif self.ctx is not None and not self._session_open():
            await self._show_notices()  # a notice whose time is up comes down at once
        stack = self.screen_stack
        if not stack:  # the app is closing
            return
        warning = stack[-1] if isinstance(stack[-1], IdleWarningScreen) else None
        below = stack[-2] if warning is not None and len(stack) > 1 else stack[-1]
        # A screen a resident waits on (a QR being paid on a phone) may ask for longer.
        timeout = max(self.settings.idle_timeout, getattr(below, "IDLE_AT_LEAST", 0))
        left = timeout - (self.monotonic() - self._last_input)
        if left > self.idle_warning_seconds():
            if warning is not None:
                warning.dismiss(None)  # a touch arrived
            return
        if not self._session_open():
            return
        if left > 0:
            if isinstance(self.screen, OutOfServiceScreen):
                return
            if warning is None:
                note = below.idle_note() if hasattr(below, "idle_note") else ""
                self.push_screen(IdleWarningScreen(int(left + 0.5), note))
            else:
                warning.count(int(left + 0.5))
            return
        await self.reset_to_home()

    async def reset_to_home(self) -> None:
        """Back to home: forget the resident and every input; tell the plugins."""
        self.actor = None
        self.actor_unit = ""
        self.badges = {}
        self._pending_tile = None
        self.language_chosen = False
        self._last_input = self.monotonic()
        while len(self.screen_stack) > 1:
            self.pop_screen()
        if self.ctx is not None and self.ctx.plugins is not None:
            self.ctx.plugins.call("kiosk_idle_reset", ctx=self.ctx)
            self.home_notices = await asyncio.to_thread(self._collect_notices)
        if language() != self.settings.language:
            set_language(self.settings.language)
        # Rebuilt, not just updated: nothing half-typed survives on any screen.
        await self._recompose_all()

    async def action_go_home(self) -> None:
        await self.reset_to_home()

    def show_fault(self, broken: Any = None) -> None:
        """An unexpected error (logged by the guard): out of service until the idle reset."""
        self.drop_broken_screen(broken)
        if not isinstance(self.screen, OutOfServiceScreen):
            self.push_screen(OutOfServiceScreen(fault=True))

    async def refuse_input(self, message: str, broken: Any = None) -> None:
        """Input a handler could not use (see kiosk.ui.isolation): say why. A screen whose
        message loop the error stopped cannot take input any more: back to the one below it."""
        self.drop_broken_screen(broken)
        self.push_screen(MessageScreen(message))

    def database_lost(self) -> None:
        """A screen's work hit a lost database (see kiosk.ui.isolation)."""
        self.out_of_service()

    async def recover_from_plugin_error(self) -> None:
        self.tiles = self._collect_tiles()
        await self.reset_to_home()

    async def action_toggle_language(self) -> None:
        set_language(next_language(self.settings.languages))
        self.language_chosen = True
        await self._recompose_all()

    async def action_call_desk(self) -> None:
        from kiosk.lobby import call_desk

        if self.ctx is None:
            self.push_screen(MessageScreen(self._hotline_message()))
            return
        try:
            await asyncio.to_thread(call_desk, self.ctx, self.actor)
        except Exception as exc:  # noqa: BLE001 - the person still needs help
            log.error("desk call failed: %s", exc)
            self.push_screen(MessageScreen(self._hotline_message()))
            return
        self.push_screen(
            MessageScreen(_("The desk has been called. Someone will come to help you."))
        )

    def _hotline_message(self) -> str:
        return _("The desk system cannot be reached. Please use the intercom by the door.")

    def action_sim_tap(self) -> None:
        """With simulated devices (``--sim``), F2 taps a card on the simulated reader, so the
        tap travels the real serial path; without them F2 does nothing, like other F-keys."""
        if not self.sim or self.devices is None or not self.devices.readers:
            return
        from kiosk.ui.screens import SimTapScreen

        self.push_screen(SimTapScreen(next(iter(self.devices.readers))))

    async def action_sim_pay(self) -> None:
        """With ``--sim``, F3 pays the QR on screen with the simulated wallet (a screen showing
        a payment code offers ``sim_pay``); without it F3 does nothing, like other F-keys."""
        pay = getattr(self.screen, "sim_pay", None)
        if self.sim and pay is not None:
            await pay()

    def action_swallow(self) -> None:
        """ctrl+c, ctrl+q and the F-keys do nothing on a kiosk."""

    async def action_quit(self) -> None:
        if self.exit_allowed:
            self.exit()

    async def on_unmount(self) -> None:
        if self.devices is not None:
            self.devices.stop()
        if getattr(self, "dispatcher", None) is not None:
            self.dispatcher.stop()
