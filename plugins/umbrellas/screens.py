"""Kiosk screens for umbrellas: the household's loans, the umbrellas on the stand (tap one to
borrow it), and returning one by its tag with the condition declared. Thin: one service call
per action; refusals shown translated."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Input

from kiosk.errors import Refused
from kiosk.i18n import _
from kiosk.money import format_fen
from kiosk.ui.screens import ServiceScreen
from kiosk.ui.widgets.text import Button, Label
from plugins.umbrellas import service
from plugins.umbrellas.models import Umbrella

if TYPE_CHECKING:
    from kiosk.context import KioskContext


class UmbrellaScreen(ServiceScreen):
    """Borrow or return an umbrella (the resident was identified by card or unit + PIN)."""

    DEFAULT_CSS = """
    UmbrellaScreen .title { text-style: bold; padding: 1 2 0 2; }
    UmbrellaScreen .message { color: $warning; padding: 0 2; }
    UmbrellaScreen Button { margin: 0 1; }
    UmbrellaScreen Input { width: 24; }
    UmbrellaScreen Horizontal { height: auto; }
    UmbrellaScreen #stand Button { width: auto; min-width: 8; }
    """

    def __init__(self, ctx: KioskContext) -> None:
        super().__init__(ctx)
        self.last: Any = None

    @property
    def actor(self) -> Any:
        return getattr(self.app, "actor", None)

    def available(self) -> list[tuple[str, str, int]]:
        with self.ctx.database().read() as session:
            return [
                (u.tag, u.kind, u.price_fen)
                for u in session.scalars(
                    select(Umbrella)
                    .where(Umbrella.state == "available", Umbrella.lobby == self.ctx.lobby)
                    .order_by(Umbrella.tag)
                    .limit(8)
                )
            ]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Label(_("Umbrellas"), classes="title")
            yield Label("", id="message", classes="message")
            loans = service.loans_of(self.ctx, self.actor) if self.actor else []
            if loans:
                yield Label(_("Your household has:"))
                for ln in loans:
                    yield Label(f"  {ln.tag}  {_('due')} {service.local_time(self.ctx, ln.due_at)}")
            yield Label(_("Tap an umbrella to borrow it:"))
            with Horizontal(id="stand"):
                for tag, kind, _price in self.available():
                    yield Button(f"{tag} {_(kind)}", id=f"lend-{tag}")
            yield Label(_("Returning? Enter the tag and say how it is:"))
            yield Input(placeholder=_("Tag, e.g. U001"), id="tag")
            yield Horizontal(
                Button(_("Intact"), id="return-intact", variant="primary"),
                Button(_("Damaged"), id="return-damaged"),
                Button(_("Lost"), id="return-lost"),
            )

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        try:
            if bid.startswith("lend-"):
                self.last = service.lend(self.ctx, self.actor, bid.removeprefix("lend-"))
                message = _("Umbrella {tag} is yours until {due}. Return it at any kiosk.").format(
                    tag=self.last.tag, due=service.local_time(self.ctx, self.last.due_at)
                )
            elif bid.startswith("return-"):
                from kiosk.identity import Actor

                who = self.actor or Actor("kiosk")
                tag = self.query_one("#tag", Input).value
                self.last = service.return_umbrella(self.ctx, who, tag, bid.removeprefix("return-"))
                message = _("Thank you, umbrella {tag} is back.").format(tag=self.last.tag)
                if self.last.owed_fen:
                    message += " " + _("{amount} is owed; the desk will confirm it.").format(
                        amount=format_fen(self.last.owed_fen)
                    )
            else:
                return
        except Refused as exc:
            self.say(exc.render(_))
            return
        await self.recompose()
        self.say(message)


def umbrella_screen(ctx: KioskContext) -> UmbrellaScreen:
    return UmbrellaScreen(ctx)


class UmbrellasDeskPanel(Widget):
    """Desk: stock per state, overdue loans (remind), and charges waiting for confirmation."""

    DEFAULT_CSS = """
    UmbrellasDeskPanel { height: auto; }
    UmbrellasDeskPanel Horizontal { height: auto; }
    UmbrellasDeskPanel .message { color: $warning; }
    """

    def __init__(self, ctx: KioskContext, actor: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ctx = ctx
        self._actor = actor

    @property
    def actor(self) -> Any:
        return self._actor or getattr(self.app, "actor", None) or getattr(self.app, "staff", None)

    def compose(self) -> ComposeResult:
        for lobby, states in sorted(service.stock(self.ctx).items()):
            yield Label(
                f"{lobby}: " + "  ".join(f"{_(k)} {v}" for k, v in states.items()), id="stock"
            )
        late = service.overdue_loans(self.ctx)
        yield Label(_("Overdue: {count}").format(count=len(late)), classes="title")
        for r in late[:10]:
            yield Label(f"  {r.tag} {r.unit_code} {r.borrower} +{r.days_late}d")
        yield Button(_("Send reminders"), id="remind")
        for c in service.pending_charges(self.ctx)[:10]:
            amount = format_fen(c["late_fee_fen"] + c["compensation_fen"])
            yield Horizontal(
                Label(f"{c['tag']} {c['unit']} {_(c['condition'])} {amount} "),
                Button(_("Confirm"), id=f"confirm-{c['loan']}", variant="primary"),
                Button(_("Waive"), id=f"waive-{c['loan']}"),
            )
        yield Label("", id="message", classes="message")

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        try:
            if bid == "remind":
                sent = service.send_reminders(self.ctx, self.actor)
                text = _("{count} reminders sent.").format(count=len(sent))
            elif bid.startswith(("confirm-", "waive-")):
                what, loan = bid.split("-", 1)
                status = service.confirm_charge(
                    self.ctx, self.actor, int(loan), waive=what == "waive"
                )
                text = _("Loan {loan}: {status}").format(loan=loan, status=_(status))
            else:
                return
        except Refused as exc:
            text = exc.render(_)
        await self.recompose()
        self.query_one("#message", Label).update(text)
