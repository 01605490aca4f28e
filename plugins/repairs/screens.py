"""Kiosk screens for repairs: file a request in a few taps (category tiles, optional text, an
appointment slot) -> a slip with the ticket number; and the completion screen where the resident
signs on the pad. The desk panel shows the SLA timers and breaches. Thin: one service call per
action; refusals shown translated."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, VerticalScroll
from textual.widgets import Input

from kiosk.i18n import N_, _
from kiosk.ui.screens import ServiceScreen, SignatureScreen
from kiosk.ui.widgets import SignaturePad
from kiosk.ui.widgets.signature import draw_strokes
from kiosk.ui.widgets.text import Button, Checkbox, Label
from plugins.repairs import service
from plugins.repairs.rules import RepairRules

if TYPE_CHECKING:
    from kiosk.context import KioskContext

CSS = """
{name} .title {{ text-style: bold; padding: 1 2 0 2; }}
{name} .hint {{ padding: 0 2; }}
{name} Button {{ margin: 0 1; min-width: 10; }}
{name} Horizontal {{ height: auto; }}
"""


class RepairScreen(ServiceScreen):
    """Category tiles (two levels), optional text, a slot, then submit."""

    DEFAULT_CSS = (
        CSS.format(name="RepairScreen")
        + """
    RepairScreen Input { width: 100%; margin: 0 2; }
    RepairScreen .choices { grid-size: 3; grid-rows: 3; grid-gutter: 0 1; height: auto;
                            padding: 0 2; }
    RepairScreen .choices Button { width: 100%; margin: 0; }
    """
    )

    def __init__(self, ctx: KioskContext) -> None:
        super().__init__(ctx)
        self.rules = RepairRules.of(ctx)
        self.parent_code = ""
        self.category = ""
        self.slot: dt.datetime | None = None
        self.slots = service.appointment_slots(ctx, days=2)[:5]
        self.filed: service.TicketView | None = None

    def body(self) -> ComposeResult:
        with VerticalScroll():
            yield Label(_("Report a repair or give feedback"), classes="title")
            picked = self.rules.categories.get(self.category)
            if picked is None:
                yield Label(_("What is it about?"), classes="hint")
                with Grid(id="tiles", classes="choices"):
                    for c in self.rules.children(self.parent_code):
                        label = ("⚠ " if c.emergency else "") + _(c.title)
                        yield Button(label, id=f"cat-{c.code.replace('.', '--')}", classes="cat")
                return
            yield Label(_("You chose: {what}").format(what=_(picked.title)), classes="hint")
            if picked.price_fen:
                from kiosk.money import format_fen

                yield Label(_("Paid repair: {price} (you agree before work starts)").format(
                    price=format_fen(picked.price_fen)), classes="hint")  # fmt: skip
            hint = (
                _("Your suggestion") if picked.kind == "suggestion" else _("Describe it (optional)")
            )
            yield Input(placeholder=hint, id="description")
            if picked.kind == "repair" and not picked.emergency:
                # The resident's own word makes it an emergency (000): engineering is called.
                yield Checkbox(_("Urgent: it cannot wait"), id="urgent")
                yield Label(_("When may we come?"), classes="hint")
                with Grid(id="slots", classes="choices"):
                    for i, at in enumerate(self.slots):
                        yield Button(self.ctx.local_time(at)[5:], id=f"slot-{i}", classes="slot")

    def actions(self) -> Iterable[Button]:
        if self.category:
            return [Button(_("Send"), id="send", variant="primary")]
        return ()

    async def action_back(self) -> None:
        """One step back: from the form to the categories, from a sub-category up a level,
        from the top back home."""
        if self.category:
            self.category, self.slot = "", None
        elif self.parent_code:
            self.parent_code = self.rules.categories[self.parent_code].parent
        else:
            self.app.pop_screen()
            return
        await self.recompose()

    @on(Button.Pressed, ".cat")
    async def _category(self, event: Button.Pressed) -> None:
        code = (event.button.id or "").removeprefix("cat-").replace("--", ".")
        if self.rules.children(code):
            self.parent_code = code
        else:
            self.category = code
        await self.recompose()

    @on(Button.Pressed, ".slot")
    def _slot(self, event: Button.Pressed) -> None:
        self.slot = self.slots[int((event.button.id or "").removeprefix("slot-"))]
        self.say(_("Appointment: {at}").format(at=self.ctx.local_time(self.slot)), ok=True)

    @on(Button.Pressed, "#send")
    async def send(self) -> None:
        description = self.query_one("#description", Input).value
        urgent = any(box.value for box in self.query("#urgent").results(Checkbox))
        filed = await self.attempt(
            lambda: service.file_ticket(
                self.ctx, self.app.actor, category=self.category,  # type: ignore[attr-defined]
                description=description, appointment_at=self.slot, urgent=urgent,
                location="common_area" if self.category.startswith("common") else "in_home",
            )
        )  # fmt: skip
        if filed is None:
            return
        self.filed = filed
        self.app.switch_screen(RepairFiledScreen(self.ctx, filed, filed.emergency))


# What the resident is told once a ticket is filed: a repair is followed by a call after the
# work (回访); a complaint is looked into and answered; a suggestion is thanked for.
FILED: dict[str, str] = {  # a complaint is not confirmed as a repair order
    "repair": N_("Ticket {number} is registered."),
    "complaint": N_("Complaint {number} is registered."),
    "suggestion": N_("Suggestion {number} is registered."),
}
AFTER_FILING: dict[str, str] = {
    "repair": N_("Take your slip. We will call you back after the work."),
    "complaint": N_("Take your slip. The desk will look into it and reply to you."),
    "suggestion": N_("Take your slip. Thank you for your suggestion."),
}


class RepairFiledScreen(ServiceScreen):
    """The ticket number (also on the slip)."""

    DEFAULT_CSS = (
        CSS.format(name="RepairFiledScreen")
        + """
    RepairFiledScreen .urgent { color: $error; text-style: bold; padding: 0 2; }
    """
    )

    def __init__(self, ctx: KioskContext, ticket: service.TicketView, emergency: bool) -> None:
        super().__init__(ctx)
        self.ticket, self.emergency = ticket, emergency

    def body(self) -> ComposeResult:
        filed = FILED.get(self.ticket.kind, FILED["repair"])
        yield Label(_(filed).format(number=self.ticket.number), classes="title", id="number")
        if self.ticket.emergency:
            yield Label(_("Emergency: engineering has been called."), classes="urgent")
        if self.ticket.appointment:
            yield Label(_("Appointment: {at}").format(at=self.ticket.appointment), classes="hint")
        yield Label(_(AFTER_FILING.get(self.ticket.kind, AFTER_FILING["repair"])), classes="hint")

    def actions(self) -> Iterable[Button]:
        return [Button(_("Done"), id="done", variant="primary")]

    @on(Button.Pressed, "#done")
    async def _done(self) -> None:
        await self.run_action("back")


class RepairSignScreen(SignatureScreen):
    """The engineer finished: the resident checks the work and signs to complete the ticket."""

    DEFAULT_CSS = CSS.format(name="RepairSignScreen")

    def __init__(self, ctx: KioskContext, number: str, staff: Any) -> None:
        super().__init__(ctx)
        self.number, self.staff = number, staff
        self.done: service.TicketView | None = None

    def body(self) -> ComposeResult:
        t = service.get_ticket(self.ctx, self.number)
        yield Label(_("Ticket {number}: sign to confirm the work is done").format(
            number=t.number), classes="title")  # fmt: skip
        yield from self.signature(SignaturePad(id="pad"))

    def actions(self) -> Iterable[Button]:
        return [Button(_("Confirm"), id="confirm", variant="primary")]

    @on(Button.Pressed, "#confirm")
    async def _confirm(self) -> None:
        pad = self.query_one(SignaturePad)
        done = await self.attempt(
            service.complete, self.ctx, self.staff, self.number, pad.to_json()
        )
        if done is not None:
            self.done = done
            self.say(_("Thank you. The work is complete."), ok=True)


SIGNATURE_STROKES = [[(2, 5), (4, 3), (6, 6), (9, 2), (12, 5), (14, 3)], [(15, 4), (20, 4)]]


async def draw_signature(pilot: Any, pad: SignaturePad, strokes: Any = SIGNATURE_STROKES) -> None:
    """Sign on the pad with these test strokes (see :func:`kiosk.ui.widgets.signature.draw_strokes`)."""
    await draw_strokes(pilot, pad, strokes)
