"""Kiosk screens for repairs: file a request in a few taps (category tiles, optional text, an
appointment slot) -> a slip with the ticket number; and the completion screen where the resident
signs on the pad. The desk panel shows the SLA timers and breaches. Thin: one service call per
action; refusals shown translated."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input

from kiosk.errors import Refused
from kiosk.i18n import _
from kiosk.ui.screens import ServiceScreen
from kiosk.ui.widgets import SignaturePad
from kiosk.ui.widgets.text import Button, Label
from plugins.repairs import service
from plugins.repairs.rules import RepairRules

if TYPE_CHECKING:
    from kiosk.context import KioskContext

CSS = """
{name} .title {{ text-style: bold; padding: 1 2 0 2; }}
{name} .message {{ color: $warning; padding: 0 2; }}
{name} Button {{ margin: 0 1; min-width: 10; }}
{name} Horizontal {{ height: auto; }}
"""


class RepairScreen(ServiceScreen):
    """Category tiles (two levels), optional text, a slot, then submit."""

    DEFAULT_CSS = CSS.format(name="RepairScreen") + "RepairScreen Input { width: 50; }"

    def __init__(self, ctx: KioskContext) -> None:
        super().__init__(ctx)
        self.rules = RepairRules.of(ctx)
        self.parent_code = ""
        self.category = ""
        self.slot: dt.datetime | None = None
        self.slots = service.appointment_slots(ctx, days=2)[:5]
        self.filed: service.TicketView | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Label(_("Report a repair or give feedback"), classes="title")
            yield Label("", id="message", classes="message")
            picked = self.rules.categories.get(self.category)
            if picked is None:
                yield Label(_("What is it about?"))
                with Horizontal(id="tiles"):
                    for c in self.rules.children(self.parent_code):
                        label = ("⚠ " if c.emergency else "") + _(c.title)
                        yield Button(label, id=f"cat-{c.code.replace('.', '--')}")
                    if self.parent_code:
                        yield Button(_("Back"), id="up")
                return
            yield Label(_("You chose: {what}").format(what=_(picked.title)))
            if picked.price_fen:
                from kiosk.money import format_fen

                yield Label(_("Paid repair: {price} (you agree before work starts)").format(
                    price=format_fen(picked.price_fen)))  # fmt: skip
            yield Input(placeholder=_("Describe it (optional)"), id="description")
            if picked.kind == "repair" and not picked.emergency:
                yield Label(_("When may we come?"))
                with Horizontal(id="slots"):
                    for i, at in enumerate(self.slots):
                        yield Button(service.local_time(self.ctx, at)[5:], id=f"slot-{i}")
            yield Horizontal(
                Button(_("Send"), id="send", variant="primary"),
                Button(_("Change"), id="change"),
            )

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        if bid.startswith("cat-"):
            code = bid.removeprefix("cat-").replace("--", ".")
            if self.rules.children(code):
                self.parent_code = code
            else:
                self.category = code
            await self.recompose()
        elif bid == "up":
            self.parent_code = self.rules.categories[self.parent_code].parent
            await self.recompose()
        elif bid == "change":
            self.category, self.slot = "", None
            await self.recompose()
        elif bid.startswith("slot-"):
            self.slot = self.slots[int(bid.removeprefix("slot-"))]
            self.say(_("Appointment: {at}").format(at=service.local_time(self.ctx, self.slot)))
        elif bid == "send":
            self.send()

    def send(self) -> None:
        description = self.query_one("#description", Input).value
        cat = self.rules.categories[self.category]
        try:
            self.filed = service.file_ticket(
                self.ctx, self.app.actor, category=self.category, description=description,  # type: ignore[attr-defined]
                appointment_at=self.slot,
                location="common_area" if self.category.startswith("common") else "in_home",
            )  # fmt: skip
        except Refused as exc:
            self.say(exc.render(_))
            return
        self.app.switch_screen(RepairFiledScreen(self.ctx, self.filed, cat.emergency))


class RepairFiledScreen(Screen[None]):
    """The ticket number (also on the slip)."""

    BINDINGS = [("escape", "back", "Back")]
    DEFAULT_CSS = CSS.format(name="RepairFiledScreen")

    def __init__(self, ctx: KioskContext, ticket: service.TicketView, emergency: bool) -> None:
        super().__init__()
        self.ctx, self.ticket, self.emergency = ctx, ticket, emergency

    def compose(self) -> ComposeResult:
        yield Label(_("Ticket {number} is registered.").format(number=self.ticket.number),
                    classes="title", id="number")  # fmt: skip
        if self.ticket.emergency:
            yield Label(_("Emergency: engineering has been called."), classes="message")
        if self.ticket.appointment:
            yield Label(_("Appointment: {at}").format(at=self.ticket.appointment))
        yield Label(_("Take your slip. We will call you back after the work."))
        yield Button(_("Done"), id="done", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_back()

    def action_back(self) -> None:
        self.app.pop_screen()


class RepairSignScreen(Screen[None]):
    """The engineer finished: the resident checks the work and signs to complete the ticket."""

    BINDINGS = [("escape", "back", "Back")]
    DEFAULT_CSS = CSS.format(name="RepairSignScreen")

    def __init__(self, ctx: KioskContext, number: str, staff: Any) -> None:
        super().__init__()
        self.ctx, self.number, self.staff = ctx, number, staff
        self.done: service.TicketView | None = None

    def compose(self) -> ComposeResult:
        t = service.get_ticket(self.ctx, self.number)
        yield Label(_("Ticket {number}: sign to confirm the work is done").format(
            number=t.number), classes="title")  # fmt: skip
        yield Label("", id="message", classes="message")
        yield SignaturePad(id="pad")
        yield Horizontal(
            Button(_("Confirm"), id="confirm", variant="primary"),
            Button(_("Clear signature"), id="clear"),
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        pad = self.query_one(SignaturePad)
        if event.button.id == "clear":
            pad.clear()
            return
        try:
            self.done = service.complete(self.ctx, self.staff, self.number, pad.to_json())
        except Refused as exc:
            self.query_one("#message", Label).update(exc.render(_))
            return
        self.query_one("#message", Label).update(_("Thank you. The work is complete."))

    def action_back(self) -> None:
        self.app.pop_screen()


class RepairsDeskPanel(Widget):
    """Desk: open tickets, breaches and the most urgent running clocks."""

    DEFAULT_CSS = "RepairsDeskPanel { height: auto; } RepairsDeskPanel .breach { color: $error; }"

    def __init__(self, ctx: KioskContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ctx = ctx

    def compose(self) -> ComposeResult:
        panel = service.sla_panel(self.ctx, limit=12)
        yield Label(
            _("Open {open}, response late {respond}, resolution late {resolve}, visits due {visits}")
            .format(open=panel.open_count, respond=panel.breached_respond,
                    resolve=panel.breached_resolve, visits=panel.visits_due)
        )  # fmt: skip
        for t in panel.timers:
            left = t.seconds_left // 60
            text = f"{t.number} {t.unit_code or '-'} {t.category} {_(t.clock)} " + (
                _("late {minutes} min").format(minutes=-left) if left < 0
                else _("{minutes} min left").format(minutes=left)
            )  # fmt: skip
            yield Label(("⚠ " if t.emergency else "") + text,
                        classes="breach" if left < 0 else "")  # fmt: skip


SIGNATURE_STROKES = [[(2, 5), (4, 3), (6, 6), (9, 2), (12, 5), (14, 3)], [(15, 4), (20, 4)]]


async def draw_signature(pilot: Any, pad: SignaturePad, strokes: Any = SIGNATURE_STROKES) -> None:
    """Sign as a finger would: MouseDown, MouseMoves, MouseUp per stroke (Pilot has no drag,
    so the events are posted to the pad directly)."""
    for stroke in strokes:
        (x, y), rest = stroke[0], stroke[1:]
        pad.post_message(events.MouseDown(pad, x, y, 0, 0, 1, False, False, False))
        for x, y in rest:
            pad.post_message(events.MouseMove(pad, x, y, 0, 0, 1, False, False, False))
        pad.post_message(events.MouseUp(pad, x, y, 0, 0, 1, False, False, False))
        await pilot.pause()
