"""The lobby shell's own screens. Every screen shows the KioskBar (the app adds it to plugin
screens that do not compose one), so "call the desk" and the language toggle are always there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from rich.cells import cell_len, set_cell_size
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Input

from kiosk.errors import Refused
from kiosk.i18n import _, language
from kiosk.pii import mask_name
from kiosk.ui.widgets.chrome import KioskBar, NavBar
from kiosk.ui.widgets.keypad import Keypad
from kiosk.ui.widgets.softkeys import SoftKeyboard
from kiosk.ui.widgets.text import Button, Label, Static, plain

T = TypeVar("T")

if TYPE_CHECKING:
    from devices.printer import Receipt
    from kiosk.context import KioskContext
    from kiosk.identity import Actor


def no_focus(button: Button) -> Button:
    """Keypad-style buttons must not take focus away from the field being typed into."""
    button.can_focus = False
    return button


class KioskScreen(Screen[Any]):
    """A screen with the kiosk bar on top. With ``NAV`` (every screen but home) it also has
    the :class:`NavBar` at the foot: the message line, the screen's primary buttons
    (:meth:`actions`) and a touch-sized Back and Home, docked so they never scroll away."""

    NAV = False
    BACK_HOME = True  # the foot's Back and Home (off where there is nowhere to go back to)

    def top_bar(self) -> Widget:
        return KioskBar()

    def compose(self) -> ComposeResult:
        yield self.top_bar()
        if getattr(self.app, "sim", False):
            yield Label(
                _("Demo: F2 = tap a card, F3 = pay the QR on screen (simulated wallet)"),
                id="sim-hint",
            )
        if self.NAV:
            yield NavBar(list(self.actions()), back_home=self.BACK_HOME)
        yield from self.body()

    def body(self) -> ComposeResult:
        yield from ()

    def actions(self) -> Iterable[Button]:
        """The screen's primary buttons, shown in the foot next to Back and Home."""
        return ()

    def say(self, text: str, *, ok: bool = False) -> None:
        """Show ``text`` on the message line as plain text (a refusal can carry what the
        person typed); ``ok`` for a success, in the success colour."""
        found = self.query("#message").results(Label)
        label = next(found, None)
        if label is None:
            return
        label.update(plain(text))
        label.set_class(bool(text), "shown")  # for a plain Label in a screen's own body
        label.set_class(not ok, "error")
        label.set_class(ok, "ok")

    async def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    @on(Button.Pressed, "#nav-back")
    async def _nav_back(self, event: Button.Pressed) -> None:
        event.stop()
        await self.run_action("back")

    @on(Button.Pressed, "#nav-home")
    async def _nav_home(self, event: Button.Pressed) -> None:
        event.stop()
        await self.app.run_action("go_home")


class ServiceScreen(KioskScreen):
    """Base of every service screen (the shell's and the plugins'): the bar on top, the foot
    with the message line, Back and Home; Escape goes back; :meth:`say` shows a message and
    :meth:`call` runs a service function off the UI thread through the shell's
    ``app.service`` (a lost database shows out of service; :class:`Refused` passes through,
    or :meth:`attempt` says it).

    Subclasses compose their content in :meth:`body`, not ``compose``."""

    NAV = True
    BINDINGS = [("escape", "back", "Back")]
    # Composed again when a screen opened from it closes (a payment, a renewal, a pickup):
    # what it shows must be what the database holds now, not what it held before.
    REREAD_ON_RETURN = False
    _covered = False
    # A real keyboard (or a scanner) typed here: this screen shows no on-screen keys.
    _typed_on_keyboard = False
    # Text wraps at the screen's edge instead of running off it (80 columns, English).
    DEFAULT_CSS = """
    ServiceScreen .title, ServiceScreen .hint, ServiceScreen .line,
    ServiceScreen VerticalScroll > Label, ServiceScreen Vertical > Label {
        width: 100%; height: auto;
    }
    """

    def __init__(self, ctx: KioskContext | None = None) -> None:
        super().__init__()
        self._ctx = ctx

    @property
    def ctx(self) -> KioskContext:
        ctx = self._ctx if self._ctx is not None else getattr(self.app, "ctx", None)
        assert ctx is not None
        return ctx

    @ctx.setter
    def ctx(self, value: KioskContext) -> None:
        self._ctx = value

    def on_screen_suspend(self) -> None:
        self._covered = True

    async def on_screen_resume(self) -> None:
        if self.REREAD_ON_RETURN and self._covered:
            self._covered = False
            await self.reread()
            await self.recompose()

    def phrases_for(self, field: Input) -> Sequence[str]:
        """Whole phrases the on-screen keyboard offers for ``field`` (a visit's purpose)."""
        return ()

    async def on_click(self, event: events.Click) -> None:
        """A finger on a text field brings up the on-screen keyboard (a screen with its own
        keypad has none; nor has one where a real keyboard has typed)."""
        field = event.widget
        if not isinstance(field, Input) or field.disabled or self._typed_on_keyboard:
            return
        if self.query(Keypad):
            return
        await self.soft_keys(field)

    async def soft_keys(self, field: Input) -> None:
        """Show the on-screen keyboard typing into ``field``, in the foot above the buttons."""
        shown = self.query(SoftKeyboard)
        if shown:
            await shown.first().retarget(field)
            return
        keyboard = SoftKeyboard(field, self.phrases_for(field))
        feet = self.query(NavBar)
        if feet:
            await feet.first().mount(keyboard, before=0)
        else:
            await self.mount(keyboard)
        self.call_after_refresh(field.scroll_visible)

    def on_input_changed(self, event: Input.Changed) -> None:
        for keyboard in self.query(SoftKeyboard):
            if event.input is keyboard.field and keyboard.typed_elsewhere(event.value):
                self._typed_on_keyboard = True
                keyboard.remove()

    async def reread(self) -> None:
        """Before :attr:`REREAD_ON_RETURN`'s compose: read again what ``body`` does not read
        itself (a screen given its data when it was opened)."""

    async def call(self, fn: Callable[..., T], *args: Any) -> T | None:
        """``fn(*args)`` on a worker thread; None when the shell took over (outage, busy)."""
        service = getattr(self.app, "service", None)
        if service is not None:
            result: T | None = await service(fn, *args)
            return result
        return await asyncio.to_thread(fn, *args)

    async def attempt(self, fn: Callable[..., T], *args: Any) -> T | None:
        """:meth:`call`, a :class:`Refused` said on the message line: None then too, so the
        caller goes on only with a result."""
        try:
            return await self.call(fn, *args)
        except Refused as exc:
            self.say(exc.render(_))
            return None


class SignatureScreen(ServiceScreen):
    """A service screen that ends in a signature: :meth:`signature` composes the pad (given
    with ``id="pad"``) and under it the Clear signature button (``#clear``) that wipes it."""

    def signature(self, pad: Widget) -> ComposeResult:
        yield pad
        yield Horizontal(Button(_("Clear signature"), id="clear"))

    @on(Button.Pressed, "#clear")
    def _clear(self) -> None:
        self.query_one("#pad").clear()  # type: ignore[attr-defined]


def tile_plan(tiles: int, lines: int, screen_height: int) -> tuple[int, int, int]:
    """(greeting height, gap between rows, tile height) for ``tiles`` in rows of three under
    ``lines`` of notices (and the demo's hint line): as big as the screen allows -- 3 rows at
    80x24, taller on a big panel. When the rows do not fit (many services, the notice strip),
    the gap between rows goes first, then the greeting's blank lines, so that every tile stays
    on the screen at its touch size (3 lines)."""
    rows = max(1, -(-tiles // 3))
    free = screen_height - 3 - 3 - lines  # bar, actions, notices
    greeting, gutter = 3, 1
    if rows * 3 + (rows - 1) > free - greeting:
        gutter = 0
    if rows * 3 > free - greeting:
        greeting = 1
    free -= greeting
    return greeting, gutter, max(3, min(7, (free - (rows - 1) * gutter) // rows))


class HomeScreen(KioskScreen):
    """Large tiles from the plugins; a greeting once a resident is identified; the plugins'
    current notices in a strip under it (``kiosk_home_notices``)."""

    notices_shown: list[Any] = []  # replaced on each compose, never mutated

    def body(self) -> ComposeResult:
        app: Any = self.app
        notices = app.visible_notices() if hasattr(app, "visible_notices") else []
        self.notices_shown = notices
        lines = min(len(notices), 2) + (1 if getattr(app, "sim", False) else 0)
        greeting_height, gutter, height = tile_plan(len(app.tiles), lines, app.size.height)
        greeting = Label(self._greeting(), id="greeting")
        greeting.styles.height = greeting_height
        yield greeting
        if notices:
            # The notice strip: at most two lines (each opens what it is about), then "+N".
            with Vertical(id="notices"):
                shown = notices[: 2 if len(notices) <= 2 else 1]
                for n, notice in enumerate(shown):
                    yield Button(f"▶ {_(notice.text)}", id=f"notice-{n}", classes="notice",
                                 compact=True)  # fmt: skip
                if len(notices) > len(shown):
                    more = _("{count} more notices").format(count=len(notices) - len(shown))
                    yield Button(f"▶ {more}", id="notice-more", classes="notice", compact=True)
        tiles = app.tiles
        if app.ctx is None and not tiles:  # the tiles come before the database is open
            yield Label(_("Services are starting…"), id="empty")
        elif not tiles:
            yield Label(_("No services are available here. Please see the desk."), id="empty")
        else:
            english = language() != "zh_CN"
            # Sized as they are composed, not after the first frame: a tap on a tile just
            # drawn must land on that tile.
            with Grid(id="tiles") as grid:
                grid.styles.grid_gutter_horizontal = gutter
                grid.styles.grid_rows = str(height)
                for tile in tiles:
                    button = Button(self._tile_label(tile, english), id=f"tile-{tile.id}",
                                    classes="tile")  # fmt: skip
                    button.styles.height = height
                    yield button
            if getattr(app, "badges", None):  # composed again (a language): fit the marks
                self.call_after_refresh(self.show_badges)
        with Horizontal(id="home-actions"):
            # One button that changes its label, not two that swap: no layout pass on a tap.
            yield Button(self._identity_label(), id="identify", variant=self._identity_variant())
            yield Button(_("Staff"), id="staff")

    def on_resize(self, event: Any) -> None:
        self.size_tiles()

    def on_screen_resume(self) -> None:
        """Back home from a service, still identified: the marks read again (a bill paid, a
        parcel collected, a card renewed must not still show as waiting)."""
        app: Any = self.app
        if getattr(app, "actor", None) is not None and hasattr(app, "load_badges"):
            app.load_badges()

    def size_tiles(self) -> None:
        """Size the tiles again for the screen's new size (a resize)."""
        grid = self.query("#tiles")
        if not grid or not self.size.height:
            return
        lines = len(self.query(".notice")) + len(self.query("#sim-hint"))
        greeting, gutter, height = tile_plan(len(self.query(".tile")), lines, self.size.height)
        grid.first().styles.grid_gutter_horizontal = gutter
        grid.first().styles.grid_rows = str(height)
        for label in self.query("#greeting"):
            label.styles.height = greeting
        for tile in self.query(".tile"):
            tile.styles.height = height

    def _tile_label(self, tile: Any, english: bool, width: int = 0) -> str:
        """The tile's icon and title, then what waits there for the identified resident. In
        ``width`` cells (the tile's, once laid out) the mark is kept whole and the title is
        shortened ("Monthly parki… · expired"): the mark is the news."""
        # The icons are Chinese glyphs: in English they would read as noise.
        icon = "" if english else tile.icon
        label = f"{icon} {_(tile.title)}".strip()
        badge = getattr(self.app, "badges", {}).get(tile.id)
        if not badge:
            return label
        mark = f" · {badge}"
        room = width - cell_len(mark)
        if width and cell_len(label) > room > 1:
            label = set_cell_size(label, room - 1).rstrip() + "…"
        return label + mark

    def show_badges(self) -> None:
        """Put the resident's marks on the tiles (or take them off) without a rebuild."""
        app: Any = self.app
        english = language() != "zh_CN"
        for tile in app.tiles:
            for button in self.query(f"#tile-{tile.id}").results(Button):
                # The label's room: the content less the button's padding of each line.
                room = button.content_region.width - 2 * button.styles.line_pad
                button.label = self._tile_label(tile, english, room)

    def _greeting(self) -> str:
        app: Any = self.app
        if app.actor is None:
            return _("Welcome. Tap your card or choose a service.")
        return _("Hello, {name} ({unit})").format(
            name=mask_name(app.actor.name), unit=app.actor_unit
        )

    def show_identity(self, _retries: int = 50) -> None:
        """Greet the identified resident (or nobody) without rebuilding the screen: a tap
        must feel instant. A tap can land while the home screen is being recomposed (the
        plugins' tiles arriving); then it is shown once the new widgets are mounted."""
        greeting, buttons = self.query("#greeting").results(Label), self.query("#identify")
        label, button = next(greeting, None), next(buttons.results(Button), None)
        if label is None or button is None:
            if _retries:
                self.call_after_refresh(self.show_identity, _retries - 1)
            return
        label.update(self._greeting())
        button.label = self._identity_label()
        button.variant = self._identity_variant()

    def _identity_label(self) -> str:
        return _("Unit + PIN") if getattr(self.app, "actor", None) is None else _("Log out")

    def _identity_variant(self) -> Any:
        return "default" if getattr(self.app, "actor", None) is None else "primary"

    @on(Button.Pressed, ".tile")
    async def _tile(self, event: Button.Pressed) -> None:
        app: Any = self.app
        await app.open_tile((event.button.id or "").removeprefix("tile-"))

    @on(Button.Pressed, ".notice")
    async def _notice(self, event: Button.Pressed) -> None:
        app: Any = self.app
        await app.open_notice((event.button.id or "").removeprefix("notice-"))

    @on(Button.Pressed, "#identify")
    async def _identify(self) -> None:
        app: Any = self.app
        if app.actor is None:
            app.push_screen(IdentifyScreen())
        else:
            await app.reset_to_home()  # "Done": the resident leaves

    @on(Button.Pressed, "#staff")
    def _staff(self) -> None:
        self.app.push_screen(StaffLoginScreen())


def pin_form(title: str, first: Input, pin: Input) -> ComposeResult:
    """Title, the two fields and the keypad beside them: fits 80x24 with the bar and the foot
    (message line and OK always visible)."""
    with Horizontal(id="pin-form"):
        with Vertical(id="fields"):
            yield Label(title, classes="title")
            yield first
            yield pin
        yield Keypad()


class PinFormScreen(ServiceScreen):
    """Who (a unit, a staff number) and a PIN beside the keypad: Tab or Enter in the first field
    goes to the PIN, Enter in the PIN or OK signs in. The PIN field is emptied at every try and a
    refusal is shown in the message line."""

    FIRST = ""  # the first field's id

    # Tab, and Enter in the first field, move to the PIN as the key arrives. Keys are handed
    # to the field focused when each arrives, and a non-priority Tab (or Submitted) moves the
    # focus only once the field has worked through its queue: in a burst (a badge reader or a
    # password manager typing "S001<Tab>2580<Enter>") the PIN's digits landed in the first
    # field.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "to_pin", show=False, priority=True),
        Binding("enter", "to_pin", show=False, priority=True),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "to_pin":  # only from the first field; elsewhere the key does its usual
            focused = self.focused
            return focused is not None and focused.id == self.FIRST
        return super().check_action(action, parameters)

    def action_to_pin(self) -> None:
        # At once: Widget.focus() waits its turn behind the keys already queued.
        self.set_focus(self.query_one("#pin", Input))

    def actions(self) -> Iterable[Button]:
        return [no_focus(Button(_("OK"), id="ok", variant="primary"))]

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        # Only the PIN submits: Enter in the first field is the to_pin binding.
        await self._submit()

    @on(Button.Pressed, "#ok")
    async def _ok(self) -> None:
        await self._submit()

    async def _submit(self) -> None:
        app: Any = self.app
        who = self.query_one(f"#{self.FIRST}", Input).value
        pin_input = self.query_one("#pin", Input)
        pin = pin_input.value
        pin_input.value = ""
        actor = await self.attempt(self.login, app.ctx, who, pin)
        if actor is not None:
            await self.signed_in(actor, who)

    def login(self, ctx: Any, who: str, pin: str) -> Actor | None:
        """The actor signed in by ``who`` and ``pin`` (run off the UI thread), or None."""
        raise NotImplementedError

    async def signed_in(self, actor: Actor, who: str) -> None:
        """Where the screen goes once ``actor`` is signed in."""
        raise NotImplementedError


class IdentifyScreen(PinFormScreen):
    """Unit + PIN for residents without their card; the keypad works by touch alone."""

    FIRST = "unit"

    def __init__(self, then: Any = None) -> None:
        super().__init__()
        self.then = then

    def body(self) -> ComposeResult:
        yield from pin_form(
            _("Tap your card, or enter your unit and PIN."),
            Input(placeholder=_("Unit, e.g. 3-1205"), id="unit"),
            Input(placeholder=_("PIN"), password=True, id="pin"),
        )

    def on_mount(self) -> None:
        if self.then:  # a card tap instead of unit + PIN continues to the same service
            app: Any = self.app
            app._pending_tile = self.then
        self.query_one("#unit", Input).focus()

    def login(self, ctx: Any, who: str, pin: str) -> Actor | None:
        from kiosk.lobby import unit_login

        return unit_login(ctx, who, pin)

    async def signed_in(self, actor: Actor, who: str) -> None:
        app: Any = self.app
        await app.identified(actor, unit_code=who.strip().upper(), then=self.then)


class StaffLoginScreen(PinFormScreen):
    """Staff card or number + PIN: the only way to the staff menu and out of the kiosk."""

    FIRST = "who"

    def __init__(self, who: str = "") -> None:
        super().__init__()
        self.who = who

    def body(self) -> ComposeResult:
        yield from pin_form(
            _("Staff: tap your card or enter your number, then your PIN."),
            Input(value=self.who, placeholder=_("Staff number"), id="who"),
            Input(placeholder=_("PIN"), password=True, id="pin"),
        )

    def on_mount(self) -> None:
        self.query_one("#pin" if self.who else "#who", Input).focus()

    def login(self, ctx: Any, who: str, pin: str) -> Actor | None:
        from kiosk.lobby import staff_login

        return staff_login(ctx, who, pin)

    async def signed_in(self, actor: Actor, who: str) -> None:
        self.app.switch_screen(StaffMenuScreen(actor))


class StaffMenuScreen(ServiceScreen):
    """What staff can do at a lobby kiosk: see its health, leave the kiosk."""

    def __init__(self, actor: Actor) -> None:
        super().__init__()
        self.actor = actor

    def body(self) -> ComposeResult:
        app: Any = self.app
        with VerticalScroll(id="form"):
            yield Label(_("Staff: {name}").format(name=self.actor.name), classes="title")
            for line in app.health_lines():
                # Errors and device names are text, never markup (an error may hold [ ]).
                yield Label(line, classes="health", markup=False)

    def actions(self) -> Iterable[Button]:
        return [Button(_("Exit kiosk"), id="exit", variant="error")]

    @on(Button.Pressed, "#exit")
    def _exit(self) -> None:
        app: Any = self.app
        app.exit_allowed = True
        app.exit()

    async def action_back(self) -> None:
        await self.app.run_action("go_home")


class NoticeListScreen(ServiceScreen):
    """Every line of the home screen's notice strip, when more than fit on it: each opens
    what it is about."""

    def body(self) -> ComposeResult:
        app: Any = self.app
        with VerticalScroll():
            yield Label(_("Notices"), classes="title")
            for n, notice in enumerate(app.visible_notices()):
                yield Button(_(notice.text), id=f"notice-{n}", classes="notice-line")

    @on(Button.Pressed, ".notice-line")
    async def _open(self, event: Button.Pressed) -> None:
        app: Any = self.app
        await app.open_notice((event.button.id or "").removeprefix("notice-"))


class MessageScreen(ModalScreen[None]):
    """A message the person must acknowledge (a refusal, a confirmation)."""

    DEFAULT_CSS = """
    MessageScreen { align: center middle; }
    MessageScreen > Vertical { width: 60; max-width: 95%; height: auto; border: thick $warning;
                               background: $surface; padding: 1 2; }
    MessageScreen #message-text { width: 100%; margin-bottom: 1; }
    """

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.message, id="message-text")
            yield Button(_("OK"), id="ok", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)


class SlipScreen(ServiceScreen):
    """The slip on screen when the printer cannot print it: its text and its QR codes."""

    def __init__(self, receipt: Receipt, reason: str = "") -> None:
        super().__init__()
        self.receipt = receipt
        self.reason = reason

    def body(self) -> ComposeResult:
        from devices.printer import render_text
        from devices.printer.receipt import QR
        from kiosk.ui.widgets.qr import QRView

        with VerticalScroll(id="slip"):
            yield Label(
                _("The printer cannot print right now. Here is your slip; the desk has been told."),
                classes="title",
            )
            with Horizontal():
                yield Static(render_text(self.receipt, width=32, qr="payload"), id="slip-text")
                for block in self.receipt.blocks:
                    if isinstance(block, QR):
                        yield QRView(block.payload)

    def actions(self) -> Iterable[Button]:
        return [Button(_("Done"), id="done", variant="primary")]

    @on(Button.Pressed, "#done")
    async def _done(self) -> None:
        await self.app.run_action("go_home")


class OutOfServiceScreen(KioskScreen):
    """Shown while the database cannot be reached (retries and goes home by itself), or after
    an unexpected error (``fault``: home again at the idle timeout). Never any detail: the log
    has it; the bar's "Call the desk" works."""

    def __init__(self, fault: bool = False) -> None:
        super().__init__()
        self.fault = fault

    def body(self) -> ComposeResult:
        with Center(id="oos"):
            yield Label(_("Out of service"), classes="title")
            if self.fault:
                yield Label(_("Something went wrong. The kiosk will be back shortly."))
            else:
                yield Label(_("The kiosk cannot reach its database. It will be back by itself."))
            yield Label(_("Please call the desk if you need help now."))

    def on_mount(self) -> None:
        if not self.fault:
            self.set_interval(1.0, self._retry)

    async def _retry(self) -> None:
        app: Any = self.app
        if await asyncio.to_thread(app.database_reachable):
            # Leave through the app's queue: popping this screen from its own timer would
            # cancel the timer's task mid-callback.
            app.call_later(app.back_in_service)


class SimTapScreen(ModalScreen[None]):
    """Simulation only: type a card number; the simulated reader sends its real frame."""

    DEFAULT_CSS = """
    SimTapScreen { align: center middle; }
    SimTapScreen > Vertical { width: 50; height: auto; border: thick $accent; background: $surface; padding: 1 2; }
    SimTapScreen Horizontal { height: 3; }
    """

    def __init__(self, reader: str) -> None:
        super().__init__()
        self.reader = reader

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(_("Simulated card tap: card number (hex UID)"))
            yield Input(value="3C00A1B2C3", id="uid")
            with Horizontal(classes="actions"):
                yield Button(_("Tap"), id="tap", variant="primary")
                yield Button(_("Back"), id="back")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "tap":
            self._tap()
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the number field taps, as the button does."""
        event.stop()
        self._tap()
        self.dismiss(None)

    def _tap(self) -> None:
        from devices.sim import get_sim

        get_sim(self.reader).tap(self.query_one("#uid", Input).value.strip())  # type: ignore[attr-defined]


class IdleWarningScreen(ModalScreen[None]):
    """Before the idle reset: "Still there?" with the seconds left; a touch anywhere (or a
    key) keeps the session."""

    DEFAULT_CSS = """
    IdleWarningScreen { align: center middle; }
    IdleWarningScreen > Vertical { width: 44; max-width: 95%; height: auto;
                                   border: thick $warning; background: $surface; padding: 1 2; }
    IdleWarningScreen Label { width: 100%; content-align: center middle; }
    IdleWarningScreen #idle-title { text-style: bold; }
    IdleWarningScreen Button { width: 100%; margin-top: 1; }
    """

    def __init__(self, seconds: int, note: str = "") -> None:
        super().__init__()
        self.seconds = seconds
        self.note = note  # what starting over undoes (the screen's ``idle_note()``)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(_("Still there?"), id="idle-title")
            if self.note:
                yield Label(self.note, id="idle-note")
            yield Label(self._left(), id="idle-left")
            yield Button(_("I'm still here"), id="stay", variant="primary")

    def _left(self) -> str:
        return _("Starting over in {seconds} s. Touch the screen to stay.").format(
            seconds=max(0, self.seconds)
        )

    def count(self, seconds: int) -> None:
        self.seconds = seconds
        self.query_one("#idle-left", Label).update(self._left())

    def on_mouse_down(self) -> None:
        self.dismiss(None)

    def on_key(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#stay")
    def _stay(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)
