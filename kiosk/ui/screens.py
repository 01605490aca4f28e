"""The lobby shell's own screens. Every screen shows the KioskBar (the app adds it to plugin
screens that do not compose one), so "call the desk" and the language toggle are always there.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Center, Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Input

from kiosk.errors import Refused
from kiosk.i18n import _
from kiosk.pii import mask_name
from kiosk.ui.widgets.chrome import KioskBar
from kiosk.ui.widgets.keypad import Keypad
from kiosk.ui.widgets.text import Button, Label, Static, plain

if TYPE_CHECKING:
    from devices.printer import Receipt
    from kiosk.context import KioskContext
    from kiosk.identity import Actor


def no_focus(button: Button) -> Button:
    """Keypad-style buttons must not take focus away from the field being typed into."""
    button.can_focus = False
    return button


class KioskScreen(Screen[Any]):
    """A screen with the kiosk bar on top."""

    def compose(self) -> ComposeResult:
        yield KioskBar()
        yield from self.body()

    def body(self) -> ComposeResult:
        yield from ()


class ServiceScreen(Screen[None]):
    """Base of a service plugin's screens: its context, Escape goes back, and :meth:`say`
    shows a message (a refusal, a hint) in the screen's ``#message`` label."""

    BINDINGS = [("escape", "back", "Back")]

    def __init__(self, ctx: KioskContext) -> None:
        super().__init__()
        self.ctx = ctx

    def action_back(self) -> None:
        self.app.pop_screen()

    def say(self, text: str) -> None:
        """Show ``text`` as plain text: a refusal can carry what the person typed."""
        self.query_one("#message", Label).update(plain(text))


class HomeScreen(KioskScreen):
    """Large tiles from the plugins; a greeting once a resident is identified."""

    def body(self) -> ComposeResult:
        app: Any = self.app
        yield Label(self._greeting(), id="greeting")
        tiles = app.tiles
        if app.ctx is None:
            yield Label(_("Services are starting…"), id="empty")
        elif not tiles:
            yield Label(_("No services are available here. Please see the desk."), id="empty")
        else:
            with Grid(id="tiles"):
                for tile in tiles:
                    label = f"{tile.icon} {_(tile.title)}".strip()
                    yield Button(label, id=f"tile-{tile.id}", classes="tile")
        with Horizontal(id="home-actions"):
            # One button that changes its label, not two that swap: no layout pass on a tap.
            yield Button(self._identity_label(), id="identify", variant=self._identity_variant())
            yield Button(_("Staff"), id="staff")

    def on_resize(self, event: Any) -> None:
        """Tiles as big as the screen allows: 3 rows at 80x24, taller on a big panel."""
        grid = self.query("#tiles")
        if not grid:
            return
        rows = max(1, -(-len(self.query(".tile")) // 3))
        free = self.size.height - 3 - 3 - 3  # bar, greeting, actions
        height = max(3, min(7, (free - (rows - 1)) // rows))
        grid.first().styles.grid_rows = str(height)
        for tile in self.query(".tile"):
            tile.styles.height = height

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
        return _("Unit + PIN") if getattr(self.app, "actor", None) is None else _("Done")

    def _identity_variant(self) -> Any:
        return "default" if getattr(self.app, "actor", None) is None else "primary"

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        app: Any = self.app
        bid = event.button.id or ""
        if bid.startswith("tile-"):
            await app.open_tile(bid.removeprefix("tile-"))
        elif bid == "identify" and app.actor is None:
            app.push_screen(IdentifyScreen())
        elif bid == "identify":
            await app.reset_to_home()  # "Done": the resident leaves
        elif bid == "staff":
            app.push_screen(StaffLoginScreen())


class IdentifyScreen(KioskScreen):
    """Unit + PIN for residents without their card; the keypad works by touch alone."""

    def __init__(self, then: Any = None) -> None:
        super().__init__()
        self.then = then

    def body(self) -> ComposeResult:
        with Center(), Vertical(id="form"):
            yield Label(_("Tap your card, or enter your unit and PIN."), classes="title")
            yield Input(placeholder=_("Unit, e.g. 3-1205"), id="unit")
            yield Input(placeholder=_("PIN"), password=True, id="pin")
            yield Keypad()
            with Horizontal(classes="actions"):
                yield no_focus(Button(_("OK"), id="ok", variant="primary"))
                yield no_focus(Button(_("Back"), id="back"))
            yield Label("", id="message", classes="message")

    def on_mount(self) -> None:
        self.query_one("#unit", Input).focus()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "unit":
            self.query_one("#pin", Input).focus()
        else:
            await self._submit()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "back":
            self.app.pop_screen()
        elif event.button.id == "ok":
            await self._submit()

    async def _submit(self) -> None:
        from kiosk.lobby import unit_login

        app: Any = self.app
        unit = self.query_one("#unit", Input).value
        pin_input = self.query_one("#pin", Input)
        pin = pin_input.value
        pin_input.value = ""
        try:
            actor = await app.service(unit_login, app.ctx, unit, pin)
        except Refused as exc:
            self.query_one("#message", Label).update(exc.render(_))
            return
        if actor is None:
            return
        await app.identified(actor, unit_code=unit.strip().upper(), then=self.then)


class StaffLoginScreen(KioskScreen):
    """Staff card or number + PIN: the only way to the staff menu and out of the kiosk."""

    def __init__(self, who: str = "") -> None:
        super().__init__()
        self.who = who

    def body(self) -> ComposeResult:
        with Center():
            with Vertical(id="form"):
                yield Label(
                    _("Staff: tap your card or enter your number, then your PIN."), classes="title"
                )
                yield Input(value=self.who, placeholder=_("Staff number"), id="who")
                yield Input(placeholder=_("PIN"), password=True, id="pin")
                yield Keypad()
                with Horizontal(classes="actions"):
                    yield no_focus(Button(_("OK"), id="ok", variant="primary"))
                    yield no_focus(Button(_("Back"), id="back"))
                yield Label("", id="message", classes="message")

    def on_mount(self) -> None:
        self.query_one("#pin" if self.who else "#who", Input).focus()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "who":
            self.query_one("#pin", Input).focus()
        else:
            await self._submit()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "back":
            self.app.pop_screen()
        elif event.button.id == "ok":
            await self._submit()

    async def _submit(self) -> None:
        from kiosk.lobby import staff_login

        app: Any = self.app
        pin_input = self.query_one("#pin", Input)
        pin = pin_input.value
        pin_input.value = ""
        try:
            actor = await app.service(
                staff_login, app.ctx, self.query_one("#who", Input).value, pin
            )
        except Refused as exc:
            self.query_one("#message", Label).update(exc.render(_))
            return
        if actor is not None:
            self.app.switch_screen(StaffMenuScreen(actor))


class StaffMenuScreen(KioskScreen):
    """What staff can do at a lobby kiosk: see its health, leave the kiosk."""

    def __init__(self, actor: Actor) -> None:
        super().__init__()
        self.actor = actor

    def body(self) -> ComposeResult:
        app: Any = self.app
        with VerticalScroll(id="form"):
            yield Label(_("Staff: {name}").format(name=self.actor.name), classes="title")
            for line in app.health_lines():
                yield Label(line, classes="health")
            with Horizontal(classes="actions"):
                yield Button(_("Exit kiosk"), id="exit", variant="error")
                yield Button(_("Back"), id="back", variant="primary")

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        app: Any = self.app
        if event.button.id == "exit":
            app.exit_allowed = True
            app.exit()
        elif event.button.id == "back":
            await app.reset_to_home()


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


class SlipScreen(KioskScreen):
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
            yield Button(_("Done"), id="done", variant="primary")

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "done":
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
