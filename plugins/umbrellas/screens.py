"""Kiosk screens for umbrellas: the household's loans, each with a Return button (then how it
is: intact, damaged, lost), and the umbrellas on the stand (tap one, see its recorded condition,
confirm and borrow). All by touch: no tag to type (a scanner may still type one). Thin: one
service call per action, off the UI thread; refusals shown translated."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Input

from kiosk.errors import Refused
from kiosk.i18n import N_, _
from kiosk.money import format_fen, typed_fen
from kiosk.ui.desk_forms import DeskActions, Field
from kiosk.ui.screens import ServiceScreen
from kiosk.ui.widgets.text import Button, Label
from plugins.umbrellas import service
from plugins.umbrellas.models import RETURN_CONDITIONS, UMBRELLA_KINDS, Umbrella

if TYPE_CHECKING:
    from kiosk.context import KioskContext


@dataclass
class StandView:
    """What the screen shows, read in one go off the UI thread."""

    loans: list[Any] = field(default_factory=list)
    stand: list[tuple[str, str, int]] = field(default_factory=list)


class UmbrellaScreen(ServiceScreen):
    """Borrow or return an umbrella (the resident was identified by card or unit + PIN)."""

    DEFAULT_CSS = """
    UmbrellaScreen .title { text-style: bold; padding: 1 2 0 2; }
    UmbrellaScreen .hint { padding: 0 2; }
    UmbrellaScreen Button { margin: 0 1; }
    UmbrellaScreen Input { width: 30; margin: 0 2; }
    UmbrellaScreen Horizontal { height: auto; }
    UmbrellaScreen .loan { padding: 0 2; height: auto; }
    UmbrellaScreen .loan Label { width: 1fr; height: 3; content-align: left middle; }
    UmbrellaScreen #stand { grid-size: 4; grid-rows: 3; grid-gutter: 0 1; height: auto;
                            padding: 0 2; }
    UmbrellaScreen #stand Button { width: 100%; margin: 0; }
    """

    def __init__(self, ctx: KioskContext) -> None:
        super().__init__(ctx)
        self.last: Any = None
        self.view = StandView()
        self.returning = ""  # the tag being returned: the condition step
        self.charged = ""  # damaged or lost tapped once: tapped again, the charge is agreed
        self.lending = ""  # the tag chosen on the stand: the confirm step
        self.lending_condition = ""

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

    def read(self, actor: Any) -> StandView:
        loans = service.loans_of(self.ctx, actor) if actor is not None else []
        return StandView(loans, self.available())

    async def reload(self) -> None:
        view = await self.call(self.read, self.actor)
        if view is not None:
            self.view = view
        await self.recompose()

    async def on_mount(self) -> None:
        await self.reload()

    def body(self) -> ComposeResult:
        with VerticalScroll():
            yield Label(_("Umbrellas"), classes="title")
            if self.returning:
                yield from self._condition_step()
            elif self.lending:
                yield from self._confirm_step()
            else:
                yield from self._overview()

    def _overview(self) -> ComposeResult:
        if self.view.loans:
            yield Label(_("Your household has:"), classes="hint")
            for ln in self.view.loans:
                due = self.ctx.local_time(ln.due_at)
                with Horizontal(classes="loan"):
                    yield Label(f"{ln.tag}  {_('due')} {due}")
                    yield Button(
                        _("Return {tag}").format(tag=ln.tag),
                        id=f"return-{ln.tag}",
                        classes="return",
                        variant="primary",
                    )
        yield Label(_("Tap an umbrella to borrow it:"), classes="hint")
        if not self.view.stand:
            yield Label(_("No umbrellas on the stand right now."), classes="hint", id="empty")
        with Grid(id="stand"):
            for tag, kind, _price in self.view.stand:
                yield Button(f"{tag} {_(kind)}", id=f"lend-{tag}", classes="lend")
        yield Label(_("Returning someone else's? Scan its tag:"), classes="hint")
        yield Input(placeholder=_("Tag, e.g. U001"), id="tag")

    def _condition_step(self) -> ComposeResult:
        yield Label(_("Returning umbrella {tag}. How is it?").format(tag=self.returning),
                    classes="hint", id="returning")  # fmt: skip
        with Horizontal(classes="loan"):
            for condition in RETURN_CONDITIONS:
                chosen = condition == (self.charged or "intact")
                yield Button(
                    _(condition.capitalize()),
                    id=f"cond-{condition}",
                    classes="condition",
                    variant=("error" if self.charged else "primary") if chosen else "default",
                )
        if self.charged:
            yield Label(
                _("A damaged or lost umbrella is paid for at its price; the desk confirms the "
                  "charge. Tap {condition} again to return it so, or Back.").format(
                    condition=_(self.charged.capitalize())),
                classes="hint", id="charge-warning",
            )  # fmt: skip

    def _confirm_step(self) -> ComposeResult:
        yield Label(_("Umbrella {tag}").format(tag=self.lending), classes="hint")
        yield Label(
            _("Recorded condition: {condition}").format(
                condition=service.condition_text(self.lending_condition)
            ),
            classes="hint",
            id="condition",
        )
        yield Label(_("Check the umbrella. If it does not match, see the desk."), classes="hint")
        yield Label(self._terms(), classes="hint", id="terms")
        yield Button(_("Confirm and borrow"), id="confirm-lend", variant="primary")

    def _terms(self) -> str:
        """What borrowing commits to, before the resident confirms: when it is due back, the
        late fee, and the price of a lost or damaged umbrella."""
        rules = service.CirculationRules.of(self.ctx)
        due = self.ctx.clock.now() + dt.timedelta(hours=rules.loan_hours)
        price = next((p for tag, _kind, p in self.view.stand if tag == self.lending), 0)
        terms = [_("Return by {due}.").format(due=self.ctx.local_time(due))]
        if rules.late_fee_per_day_fen:
            terms.append(_("More than {hours} h late: {fee} a day, at most {cap}.").format(
                fee=format_fen(rules.late_fee_per_day_fen), hours=rules.grace_hours,
                cap=format_fen(rules.late_fee_cap_fen),
            ))  # fmt: skip
        if price:
            terms.append(_("Lost or damaged: {price}.").format(price=format_fen(price)))
        return "\n".join(terms)  # a line each: no joining of sentences across languages

    async def action_back(self) -> None:
        """Back from a step to the overview; from the overview, back home."""
        if self.returning or self.lending:
            self.returning = self.lending = self.charged = ""
            await self.recompose()
            return
        self.app.pop_screen()

    @on(Button.Pressed, ".lend")
    async def _choose(self, event: Button.Pressed) -> None:
        tag = (event.button.id or "").removeprefix("lend-")
        condition = await self.attempt(service.condition_of, self.ctx, tag)
        if condition is None:
            return
        self.lending, self.lending_condition = tag, condition
        await self.recompose()

    @on(Button.Pressed, "#confirm-lend")
    async def _lend(self) -> None:
        loan = await self.attempt(service.lend, self.ctx, self.actor, self.lending)
        if loan is None:
            return
        self.last, self.lending = loan, ""
        await self.reload()
        self.say(
            _("Umbrella {tag} is yours until {due}. Return it at any kiosk.").format(
                tag=loan.tag, due=self.ctx.local_time(loan.due_at)
            ),
            ok=True,
        )

    @on(Button.Pressed, ".return")
    async def _return(self, event: Button.Pressed) -> None:
        self.returning = (event.button.id or "").removeprefix("return-")
        await self.recompose()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "tag" and event.value.strip():
            self.returning = event.value.strip()
            await self.recompose()

    @on(Button.Pressed, ".condition")
    async def _condition(self, event: Button.Pressed) -> None:
        from kiosk.identity import Actor

        condition = (event.button.id or "").removeprefix("cond-")
        if condition != "intact" and condition != self.charged:
            self.charged = condition  # a charge follows: asked once more, not taken on a slip
            await self.recompose()
            return
        who = self.actor or Actor("kiosk")
        tag, self.returning, self.charged = self.returning, "", ""
        try:
            back = await self.call(service.return_umbrella, self.ctx, who, tag, condition)
        except Refused as exc:
            await self.recompose()
            self.say(exc.render(_))
            return
        if back is None:
            return
        self.last = back
        await self.reload()
        message = _("Thank you, umbrella {tag} is back.").format(tag=back.tag)
        if back.owed_fen:
            message += " " + _("{amount} is owed; the desk will confirm it.").format(
                amount=format_fen(back.owed_fen)
            )
        self.say(message, ok=True)


def umbrella_screen(ctx: KioskContext) -> UmbrellaScreen:
    return UmbrellaScreen(ctx)


STOCK_ACTIONS: dict[str, str] = {
    "um-add": N_("Add an umbrella"),
    "um-condition": N_("Note condition"),
    "um-retire": N_("Retire"),
    "um-replace": N_("Replace"),
}


def _price(text: str) -> int | None:
    """A price typed in yuan as fen; None otherwise."""
    return typed_fen(text, most=service.MOST_PRICE_FEN)


class UmbrellasDeskPanel(DeskActions, Widget):
    """Desk: stock per state, overdue loans (remind), charges waiting for confirmation, the
    damaged and lost umbrellas to replace, and the stock itself: add an umbrella, note how one
    looks, retire one, put a new one in a damaged or lost one's place."""

    DEFAULT_CSS = """
    UmbrellasDeskPanel { height: auto; }
    UmbrellasDeskPanel Horizontal { height: auto; }
    UmbrellasDeskPanel #um-stock-actions Button { margin-right: 1; }
    UmbrellasDeskPanel .message { color: $warning; }
    """

    def compose(self) -> ComposeResult:
        for lobby, states in sorted(service.stock(self.ctx).items()):
            yield Label(
                f"{lobby}: " + "  ".join(f"{_(k)} {v}" for k, v in states.items()), id="stock"
            )
        with Horizontal(id="um-stock-actions"):
            for bid, title in STOCK_ACTIONS.items():
                button = Button(_(title), id=bid)
                button.compact = True
                yield button
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
        replace = service.replacement_report(self.ctx)
        if replace:
            yield Label(_("To replace: {count}").format(count=len(replace)), classes="title")
            for x in replace[:5]:
                yield Label(f"  {x.lobby} {x.tag} {_(x.kind)} {_(x.state)}")
        yield Label("", id="message", classes="message")

    def desk_watch(self) -> list[Any]:
        """For the desk's live poll: a loan made, an umbrella back (at any kiosk), a charge
        waiting or settled -- the stock and the charges to confirm read again."""
        from sqlalchemy import func, select

        from plugins.umbrellas.models import UmbrellaLoan as L

        return [
            select(func.max(L.id)),
            select(func.count(L.id)).where(L.returned_at.is_(None)),
            select(func.count(L.id)).where(L.fee_status == "pending"),
        ]

    async def desk_changed(self, old: tuple[Any, ...], new: tuple[Any, ...]) -> None:
        # Read again (a charge confirmed changes the watch too): the line saying what was just
        # done stays, or the butler cannot tell a charge confirmed from one waived.
        await self.show(self.last_said)

    def desk_commands(self) -> list[tuple[str, Any]]:
        """For the desk's command palette."""
        return [(_(title), getattr(self, f"ask_{bid.removeprefix('um-')}"))
                for bid, title in STOCK_ACTIONS.items()]  # fmt: skip

    def ask_add(self) -> None:
        kinds = tuple((_(k), k) for k in UMBRELLA_KINDS)

        def check(v: dict[str, Any]) -> str | None:
            return None if _price(v["price"]) else _("Enter the price in yuan, e.g. 35.")

        def add(v: dict[str, Any]) -> None:
            tag = v["tag"].strip().upper()
            self.desk_run(
                _("Umbrella {tag} is on the stand.").format(tag=tag),
                lambda: service.add_umbrella(self.ctx, self.actor, tag=tag,
                                             kind=v["kind"] or "long",
                                             price_fen=_price(v["price"]) or 0),
            )  # fmt: skip

        self.desk_form(
            _("Add an umbrella"),
            [Field("tag", _("Tag")), Field("kind", _("Kind"), "choice", kinds, "long"),
             Field("price", _("Original price (yuan)"))],
            add, check,
        )  # fmt: skip

    def ask_condition(self) -> None:
        self.desk_form(
            _("Note how an umbrella looks"),
            [Field("tag", _("Tag")), Field("condition", _("Condition, e.g. a bent rib"))],
            lambda v: self.desk_run(
                _("Noted."), lambda: service.note_condition(self.ctx, self.actor, v["tag"],
                                                            v["condition"]),
            ),
        )  # fmt: skip

    def ask_retire(self) -> None:
        def retire(v: dict[str, Any]) -> None:
            tag = v["tag"].strip().upper()
            self.desk_confirm(
                _("Take umbrella {tag} out of service for good?").format(tag=tag),
                _("Umbrella {tag} retired.").format(tag=tag),
                lambda: service.retire(self.ctx, self.actor, tag),
                danger=True,
            )

        self.desk_form(_("Retire an umbrella"), [Field("tag", _("Tag"))], retire)

    def ask_replace(self) -> None:
        waiting = tuple(
            (f"{x.tag} {_(x.state)}", x.tag) for x in service.replacement_report(self.ctx)
        )
        if not waiting:
            self.say(_("No damaged or lost umbrella is waiting to be replaced."))
            return
        self.desk_form(
            _("Replace a damaged or lost umbrella"),
            [Field("old", _("Umbrella to replace"), "choice", waiting, waiting[0][1]),
             Field("new", _("Tag of the new umbrella"))],
            lambda v: self.desk_run(
                _("Umbrella {old} replaced by {new}.").format(old=v["old"],
                                                             new=v["new"].strip().upper()),
                lambda: service.replace_umbrella(self.ctx, self.actor, v["old"], v["new"]),
            ),
        )  # fmt: skip

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        if bid in STOCK_ACTIONS:
            event.stop()
            if self.logged_in():
                getattr(self, f"ask_{bid.removeprefix('um-')}")()
            return
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
        await self.show(text)
