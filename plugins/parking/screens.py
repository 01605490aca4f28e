"""Parking screens: the kiosk's card validity and renewal (QR through the billing plugin), and
the desk panel (records, new rental, card issuance from the desk reader, loss, return, and the
temporary fee calculator). Thin: each action calls one service function.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len, set_cell_size
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input

import plugins.billing.api as billing
from kiosk.errors import Refused
from kiosk.i18n import _
from kiosk.identity import Actor
from kiosk.money import format_fen
from kiosk.ui.desk_forms import DeskActions
from kiosk.ui.screens import ServiceScreen
from kiosk.ui.widgets.text import Button, Checkbox, Label, titled
from plugins.parking import service, taps

if TYPE_CHECKING:
    from kiosk.context import KioskContext

RENEW_MONTHS = (1, 3, 6)


def _state_line(state: str, end: dt.date, days_left: int) -> str:
    """A card's or rental's validity in words: ``valid`` (a card) or ``open`` (a rental) until
    ``end``, ``expired``, an ``ended`` rental, else payment pending."""
    if state in ("valid", "open"):
        return _("Valid until {end} ({days} days left)").format(end=end, days=days_left)
    if state == "expired":
        return _("Expired on {end}. Renew to use it again.").format(end=end)
    if state == "ended":
        return _(service.state_label(state))
    return _("Payment pending. Pay the rent to start the rental.")


class ParkingScreen(ServiceScreen):
    DEFAULT_CSS = """
    ParkingScreen { align: center top; }
    ParkingScreen .title { text-style: bold; padding: 1 2 0 2; }
    ParkingScreen .line { padding: 0 2; }
    ParkingScreen Horizontal { height: auto; padding: 0 1; }
    ParkingScreen Button { margin: 0 1; }
    ParkingScreen .renew { layout: grid; grid-size: 2; grid-rows: 3; grid-gutter: 0 1;
                           height: auto; padding: 0 1; }
    ParkingScreen .renew Button { width: 100%; margin: 0; }
    """

    def renew_buttons(self, rental_id: int, rent_fen: int) -> Horizontal:
        return Horizontal(
            *[
                Button(
                    _("Renew {months} mo. {amount}").format(
                        months=m, amount=format_fen(m * rent_fen)
                    ),
                    id=f"renew-{rental_id}-{m}",
                    classes="renew-button",
                    variant="primary" if m == 1 else "default",
                )
                for m in RENEW_MONTHS
            ],
            classes="renew",
        )

    def renter(self, unit_id: int) -> Actor | None:
        actor = getattr(self.app, "actor", None)
        if getattr(actor, "kind", "") == "resident" and getattr(actor, "unit_id", None) == unit_id:
            return actor
        return None

    def pay_buttons(self, rental_id: int, rent_fen: int, pending_fen: int) -> Widget:
        """Renewal for 1, 3 or 6 months; with rent already on the bill and not paid, only
        paying that (a renewal would bill another month beside it)."""
        if not pending_fen:
            return self.renew_buttons(rental_id, rent_fen)
        return Horizontal(
            Button(_("Pay {amount} now").format(amount=format_fen(pending_fen)),
                   id=f"pay-pending-{rental_id}", classes="pay-pending", variant="primary"),
            classes="renew",
        )  # fmt: skip

    async def renew(self, rental_id: int, months: int, actor: Actor) -> None:
        def renew_on_bill() -> Any:
            _view, reference = service.renew(self.ctx, actor, rental_id, months, "bill")
            if reference is None:
                return None  # nothing takes charges here: the desk collects the rent
            # The QR is for this renewal's charge alone, not everything the unit owes.
            return billing.pay_charges(self.ctx, actor, [reference]), [reference]

        await self._pay(rental_id, actor, renew_on_bill)

    async def pay_pending(self, rental_id: int, actor: Actor) -> None:
        """A QR for the rent already on the bill (billed at the desk, or a renewal not paid
        yet); cancelled, that rent stays on the bill."""

        def order() -> Any:
            references = service.pending_references(self.ctx, rental_id)
            return billing.pay_charges(self.ctx, actor, references), []

        await self._pay(rental_id, actor, order)

    async def _pay(self, rental_id: int, actor: Actor, make_order: Any) -> None:
        """The QR of ``make_order()``'s order (and the rent it put on the bill itself, taken
        back if the QR is cancelled); the refusal said."""
        try:
            made = await self.call(make_order)
        except Refused as exc:
            if exc.code == "billing.several_bills":  # months billed on different bills
                self.say(_("The rent is on more than one bill: pay them under Pay bills."))
            else:
                self.say(exc.render(_))
            return
        if made is None:
            self.say(_("Please pay the rent at the desk; the desk has been told."))
            return
        order, own = made
        await self.app.push_screen(renew_pay_screen(self.ctx, actor, order, rental_id, own))


def _pending_line(pending_fen: int) -> Label:
    """Rent already put on the bill and not paid yet (a renewal billed at the kiosk)."""
    return Label(
        _("{amount} on your bill, waiting for payment.").format(amount=format_fen(pending_fen)),
        classes="line pending",
    )


class ValidityScreen(ParkingScreen):
    """A parking card was tapped: plate, validity, and renewal by QR."""

    REREAD_ON_RETURN = True  # back from a renewal: the new end date, the rent paid

    def __init__(self, ctx: KioskContext, validity: taps.Validity, uid: str = "") -> None:
        super().__init__(ctx)
        self.validity = validity
        self.uid = uid

    async def reread(self) -> None:
        if self.uid:
            fresh = await self.call(taps.card_validity, self.ctx, self.uid)
            self.validity = fresh or self.validity

    def body(self) -> ComposeResult:
        v = self.validity
        yield Label(_("Monthly parking card"), classes="title")
        yield Label(f"{v.plate}   {v.unit_code}   {v.holder}", classes="line", id="plate")
        yield Label(_("Card no.") + f" {v.card_number}   {v.rental_number}", classes="line")
        yield Label(_state_line(v.state, v.end_date, v.days_left), classes="line", id="validity")
        if v.pending_fen:  # paying the bill renews the card: no second renewal needed
            yield _pending_line(v.pending_fen)
        yield Label(
            _("Rent {amount} a month, added to your bill and paid by QR.").format(
                amount=format_fen(v.monthly_rent_fen)
            ),
            classes="line",
        )
        yield self.pay_buttons(v.rental_id, v.monthly_rent_fen, v.pending_fen)

    def actions(self) -> Iterable[Button]:
        return [Button(_("Done"), id="done", variant="primary")]

    @on(Button.Pressed, "#done")
    def _done(self) -> None:
        self.app.pop_screen()

    def _renter(self) -> Actor:
        """The renter's own card identifies them (as a resident card would)."""
        v = self.validity
        return self.renter(v.unit_id) or Actor("resident", v.resident_id, unit_id=v.unit_id)

    @on(Button.Pressed, ".renew-button")
    async def _renew(self, event: Button.Pressed) -> None:
        _r, rental, months = (event.button.id or "").split("-")
        await self.renew(int(rental), int(months), self._renter())

    @on(Button.Pressed, ".pay-pending")
    async def _pay_pending(self) -> None:
        await self.pay_pending(self.validity.rental_id, self._renter())


class RentalsScreen(ParkingScreen):
    """The tile: the household's monthly rentals, or how to get one and the hourly rate."""

    REREAD_ON_RETURN = True  # back from a renewal: the new end date, the rent paid

    def __init__(self, ctx: KioskContext, actor: Actor | None = None) -> None:
        super().__init__(ctx)
        self._actor = actor

    @property
    def actor(self) -> Actor:
        actor = self._actor or getattr(self.app, "actor", None)
        if actor is None or actor.kind != "resident" or actor.unit_id is None:
            raise Refused("parking.who", "Tap your card or enter your unit and PIN first.")
        return actor

    def body(self) -> ComposeResult:
        yield Label(_("Monthly parking"), classes="title")
        try:
            unit_id = self.actor.unit_id
        except Refused as exc:
            yield Label(exc.render(_), classes="refusal")
            return
        assert unit_id is not None
        service.apply_paid_periods(self.ctx)
        rentals = service.rentals_of_unit(self.ctx, unit_id)
        with VerticalScroll():
            if not rentals:
                yield Label(
                    _(
                        "Your unit has no monthly parking. Owners and tenants can rent at the "
                        "cashier with an ID card and driving licence."
                    ),
                    classes="line",
                    id="none",
                )
            for r in rentals:
                if r.paid:
                    state = _("valid until {end}").format(end=r.end_date)
                elif r.shown_state == "unpaid":
                    state = _("payment pending")
                else:
                    state = _("expired on {end}").format(end=r.end_date)
                yield Label(f"{r.plate}  {r.number}  {state}", classes="line")
                if r.pending_fen:
                    yield _pending_line(r.pending_fen)
                yield self.pay_buttons(r.id, r.monthly_rent_fen, r.pending_fen)
            rule = service.ParkingRules.of(self.ctx).fee
            yield Label(
                _(
                    "Visitors: {first} for the first {hours} h, {step} per started hour after, "
                    "at most {cap} per 24 h."
                ).format(
                    first=format_fen(rule.first_fen),
                    hours=rule.first_minutes // 60,
                    step=format_fen(rule.step_fen),
                    cap=format_fen(rule.cap_fen),
                ),
                classes="line",
            )

    @on(Button.Pressed, ".renew-button")
    async def _renew(self, event: Button.Pressed) -> None:
        _r, rental, months = (event.button.id or "").split("-")
        await self.renew(int(rental), int(months), self.actor)

    @on(Button.Pressed, ".pay-pending")
    async def _pay_pending(self, event: Button.Pressed) -> None:
        await self.pay_pending(int((event.button.id or "").rsplit("-", 1)[1]), self.actor)


def renew_pay_screen(
    ctx: KioskContext, actor: Actor, order: Any, rental_id: int, own: list[str]
) -> Any:
    """The billing plugin's QR screen for a renewal (its class made on first use: the
    billing screens are imported only when someone renews); ``own``, the rent this renewal
    put on the bill, taken back if the QR is cancelled or expires."""
    return _renew_pay_screen_class()(ctx, actor, order, rental_id, own)


@functools.cache
def _renew_pay_screen_class() -> type[Any]:
    class RenewPayScreen(billing.pay_qr_screen_class()):  # type: ignore[misc]
        """The billing QR screen; once paid, the renewal is applied and its new end shown."""

        def __init__(
            self, ctx: KioskContext, actor: Actor, order: Any, rental_id: int, own: list[str]
        ) -> None:
            super().__init__(ctx, actor, order)
            self.rental_id = rental_id
            self.own = own

        def take_back(self, reason: str) -> None:
            """The rent this renewal billed, withdrawn (rent billed before stays owed)."""
            if self.own:
                service.cancel_unpaid(self.ctx, self.rental_id, reason, self.own)

        def paid(self, view: Any) -> None:
            service.apply_paid_periods(self.ctx, self.rental_id)
            self.app.switch_screen(RenewedScreen(self.ctx, self.rental_id, view.receipt_no))

        def closed(self, order: Any) -> None:
            self.take_back("QR expired")
            super().closed(order)

        def cancelled(self) -> None:
            """Cancelled (the order is closed): the rent put on the account for this renewal
            is taken off again (unless the payment arrived meanwhile: then it is applied)."""
            self.take_back("cancelled at the kiosk")
            self.app.pop_screen()

    return RenewPayScreen


class RenewedScreen(ParkingScreen):
    def __init__(self, ctx: KioskContext, rental_id: int, receipt_no: str) -> None:
        super().__init__(ctx)
        self.rental_id = rental_id
        self.receipt_no = receipt_no

    def body(self) -> ComposeResult:
        r = service.get_rental(self.ctx, self.rental_id)
        yield Label(_("Paid. Thank you!"), classes="title", id="renewed")
        yield Label(
            _("{plate}: valid until {end}").format(plate=r.plate, end=r.end_date),
            classes="line",
            id="validity",
        )
        yield Label(_("Receipt no.") + f" {self.receipt_no}", classes="line")

    def actions(self) -> Iterable[Button]:
        return [Button(_("Done"), id="done", variant="primary")]

    @on(Button.Pressed, "#done")
    def _done(self) -> None:
        self.app.pop_screen()


def entry_screen(ctx: KioskContext) -> Screen[None]:
    """The tile (``needs_resident``): the identified household's rentals."""
    return RentalsScreen(ctx)


# -- desk -------------------------------------------------------------------------------------


class ParkingDeskPanel(DeskActions, Widget):
    """Desk (cashier): 月租办理记录, a new rental, the card on the desk reader (issue, lost,
    replace, return), and the temporary fee calculator."""

    DEFAULT_CSS = """
    ParkingDeskPanel { height: 1fr; }
    ParkingDeskPanel > VerticalScroll { height: 1fr; }
    ParkingDeskPanel Horizontal { height: auto; }
    ParkingDeskPanel Input { width: 1fr; }
    ParkingDeskPanel .title { text-style: bold; margin-top: 1; }
    ParkingDeskPanel .message { color: $warning; text-style: bold; }
    ParkingDeskPanel #card-info { width: 100%; }  /* the rent on the bill is at its end */
    """

    def on_descendant_focus(self, event: Any) -> None:
        if getattr(event.widget, "id", None) == "licence":
            event.widget.password = False

    def on_descendant_blur(self, event: Any) -> None:
        if getattr(event.widget, "id", None) == "licence":
            event.widget.password = True

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Label("", id="message", classes="message")
            yield Label(_("Card on the desk reader"), classes="title")
            yield Horizontal(
                Input(placeholder=_("Tap a card, or type its number"), id="uid"),
                Input(placeholder=_("Rental no., e.g. PK2026110001"), id="rental"),
            )
            yield Horizontal(
                Button(_("Issue card"), id="issue", variant="primary"),
                Button(_("Report lost"), id="lost"),
                Button(_("Replace lost"), id="replace"),
                Button(_("Return card"), id="return"),
                Button(_("Look up"), id="lookup"),
            )
            yield Label("", id="card-info")
            # A renewal at the cashier: the rental typed, or the card's on the reader.
            yield Horizontal(
                titled(Input(value="1", placeholder=_("Months"), id="renew-months"), _("Months")),
                Button(_("Renew (cash)"), id="renew-cash", variant="primary"),
                Button(_("Renew (on bill)"), id="renew-bill"),
            )
            yield Label(_("New monthly rental"), classes="title")
            yield Horizontal(
                Input(placeholder=_("Unit, e.g. 3-1205"), id="unit"),
                Input(placeholder=_("Renter (blank=owner)"), id="renter"),
                Input(placeholder=_("Plate, e.g. 粤B12345"), id="plate"),
            )
            yield Horizontal(
                Input(placeholder=_("Car model"), id="model"),
                # Shown while typed, masked once the field is left (a screen others can see).
                Input(placeholder=_("Driving licence no."), id="licence", password=True),
                titled(Input(value="1", placeholder=_("Months"), id="months"), _("Months")),
            )
            yield Horizontal(
                Checkbox(_("ID card and driving licence checked"), id="checked"),
                Button(_("Rent (cash)"), id="open-cash", variant="primary"),
                Button(_("Rent (on bill)"), id="open-bill"),
            )
            yield Label(_("Temporary parking fee"), classes="title")
            yield Horizontal(
                Input(placeholder=_("Minutes parked"), id="minutes"),
                Button(_("Fee"), id="fee"),
                Label("", id="fee-result"),
            )
            yield Label(_("月租办理记录 (this week marked *)"), classes="title")
            yield Label(self._records(), id="records")

    def _records(self) -> str:
        try:
            rows = service.records(self.ctx, self.actor)
        except Refused as exc:
            return exc.render(_)
        rows = rows[-12:]
        # Names and plates padded by display cells, so the columns line up (汉字 take two).
        names = max((cell_len(r.owner) for r in rows), default=0)
        plates = max((cell_len(r.plate) for r in rows), default=0)
        lines = [
            f"{'*' if r.changed_this_week else ' '} {r.date} {r.unit_code:7} "
            f"{set_cell_size(r.owner, names)} {r.phone} {set_cell_size(r.plate, plates)} "
            f"{r.start}~{r.end} {r.card or '-'} {_(service.state_label(r.state))}"
            for r in rows
        ]
        return "\n".join(lines) or _("No monthly rentals yet.")

    def card_tapped(self, uid: str) -> None:
        """The desk reader read a card (DeskApp forwards taps to panels that take cards)."""
        self.query_one("#uid", Input).value = uid
        self.say(_("Card {uid} read.").format(uid=uid))

    def _value(self, wid: str) -> str:
        return self.query_one(f"#{wid}", Input).value.strip()

    def _rental(self, uid: str, rental: str) -> int | str:
        """The rental typed, else the one of the card on the reader (its id)."""
        if rental:
            return rental
        if not uid:
            raise Refused("parking.which", "Tap the card or type the rental number first.")
        validity = taps.card_info(self.ctx, uid).validity
        assert validity is not None
        return validity.rental_id

    def _lost_card(self, ref: str) -> str:
        """The lost card (the resident has nothing to lay on the reader): the latest card of the
        rental typed (PK...), or a card's number typed in the rental field."""
        if not ref:
            raise Refused("parking.which_lost", "Type the rental number of the lost card.")
        if not ref.upper().startswith("PK"):
            return ref
        chain = service.card_chain(self.ctx, ref.upper())
        if not chain:
            raise Refused("parking.no_card_yet", "Rental {number} has no card yet.", number=ref)
        return chain[-1].uid_hex

    def _ask_block(self, uid: str) -> None:
        """Blocking is at once and cannot be undone (the deposit is forfeited): asked first,
        No focused."""
        from kiosk.ui.desk_forms import ConfirmDialog

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                card = service.report_lost(self.ctx, self.actor, uid)
            except Refused as exc:
                self.say(exc.render(_))
                return
            self.query_one("#records", Label).update(self._records())
            text = _("Card {card} blocked as lost.").format(card=card.printed_number)
            if card.deposit_receipt:
                text += " " + _("Its deposit ({receipt}) is forfeited.").format(
                    receipt=card.deposit_receipt)  # fmt: skip
            self.say(text)

        question = _("Block card {card} as lost? It stops opening the barrier at once, and a "
                     "deposit paid for it is forfeited.").format(card=service.printed_number(self.ctx, uid))  # fmt: skip
        self.app.push_screen(
            ConfirmDialog(question, yes=_("Block the card"), danger=True), answered
        )

    def _ask_cash_renewal(self, ref: int | str) -> None:
        """Cash is taken before the renewal is recorded: the cashier sees the amount first, and
        rent already waiting on the unit's bill (paying that bill renews the card too, so taking
        cash as well would charge the household twice for the same months)."""
        from kiosk.ui.desk_forms import ConfirmDialog

        months = self._value("renew-months")
        view = service.get_rental(self.ctx, ref)
        self._show_rental(view)
        amount = format_fen(int(months) * view.monthly_rent_fen)  # digits: asked only then
        question = _("Rental {number} ({plate}): take {amount} in cash for {months} month(s)?")
        question = question.format(number=view.number, plate=view.plate, amount=amount,
                                   months=months)  # fmt: skip
        if view.pending_fen:
            question += " " + _(
                "{pending} of its rent is already on the unit's bill, not paid yet: paying "
                "that bill (on the Bills tab) renews the card too."
            ).format(pending=format_fen(view.pending_fen))

        async def answered(yes: bool | None) -> None:
            if yes:
                await self._act("renew-cash", confirmed=True)

        yes = _("Take {amount} in cash").format(amount=amount)
        self.app.push_screen(ConfirmDialog(question, yes=yes, danger=bool(view.pending_fen)),
                             answered)  # fmt: skip

    def _show_rental(self, r: service.RentalView) -> None:
        """The rental under the card buttons: plate, holder, paid through, rent on the bill."""
        state = _state_line(r.shown_state, r.end_date, (r.end_date - self.ctx.today()).days)
        line = f"{r.plate} {r.unit_code} {r.holder} {r.number} {r.card_number or '-'} · {state}"
        if r.pending_fen:
            line += " " + _("{amount} on the unit's bill, not paid yet.").format(
                amount=format_fen(r.pending_fen)
            )
        self.query_one("#card-info", Label).update(line)

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        await self._act(event.button.id or "")

    async def _act(self, bid: str, confirmed: bool = False) -> None:
        """The button ``bid``'s action; a cash renewal only once ``confirmed`` (asked first)."""
        uid, rental = self._value("uid"), self._value("rental")
        try:
            if bid == "issue":
                card = service.issue_card(self.ctx, self.actor, rental, uid)
                text = _("Card {card} issued for {rental}; deposit receipt {receipt}.").format(
                    card=card.printed_number, rental=card.rental_number,
                    receipt=card.deposit_receipt or "-",
                )  # fmt: skip
                if card.deposit_receipt:  # what to take, said with it (it was only on the slip)
                    deposit = format_fen(service.ParkingRules.of(self.ctx).deposit_fen)
                    text += " " + _("Take the card deposit: {amount}.").format(amount=deposit)
            elif bid == "lost":
                self._ask_block(uid or self._lost_card(rental))
                return
            elif bid == "replace":
                old = self._lost_card(rental)
                card = service.replace_lost_card(self.ctx, self.actor, old, uid)
                text = _(
                    "Replacement card {card} issued for {rental}; the lost one is blocked."
                ).format(card=card.printed_number, rental=card.rental_number)
                if card.deposit_receipt:  # a new card, a new deposit: what to take
                    text += " " + _("New card deposit: receipt {receipt}.").format(
                        receipt=card.deposit_receipt)  # fmt: skip
            elif bid == "return":
                card = service.return_card(self.ctx, self.actor, uid)
                text = _("Card {card} returned; deposit {state}.").format(
                    card=card.printed_number, state=_(card.deposit_state)
                )
            elif bid == "lookup":
                self._show_rental(service.get_rental(self.ctx, self._rental(uid, rental)))
                text = ""
            elif (
                bid == "renew-cash"
                and not confirmed
                and self._value("renew-months").isdigit()  # else the renewal says what is wrong
            ):
                self._ask_cash_renewal(self._rental(uid, rental))
                return
            elif bid in ("renew-cash", "renew-bill"):
                months = self._value("renew-months")
                view, reference = service.renew(
                    self.ctx, self.actor, self._rental(uid, rental),
                    int(months) if months.isdigit() else 0,
                    "cash" if bid == "renew-cash" else "bill",
                )  # fmt: skip
                self._show_rental(view)
                if bid == "renew-cash":  # what to take from the renter, said with it
                    text = _("Rental {number} renewed in cash, paid until {end}: take {amount}.")
                    text = text.format(number=view.number, end=view.end_date,
                                       amount=format_fen(int(months) * view.monthly_rent_fen))  # fmt: skip
                elif reference is not None:
                    text = _(
                        "The rent is on the unit's bill; rental {number} renews when it is paid."
                    ).format(number=view.number)
                else:
                    text = _("Nothing bills rent here: take it in cash (Renew (cash)).")
            elif bid in ("open-cash", "open-bill"):
                months = self._value("months") or "1"
                view = service.open_rental(
                    self.ctx,
                    self.actor,
                    unit=self._value("unit"),
                    renter=self._value("renter"),
                    plate=self._value("plate"),
                    car_model=self._value("model"),
                    licence_no=self._value("licence"),
                    identity_checked=self.query_one("#checked", Checkbox).value,
                    months=int(months) if months.isdigit() else 0,
                    method="cash" if bid == "open-cash" else "bill",
                )
                self.query_one("#rental", Input).value = view.number
                if view.paid:
                    text = _("Rental {number} opened, paid until {end}: take {amount} in cash.")
                    text = text.format(number=view.number, end=view.end_date,
                                       amount=format_fen(int(months) * view.monthly_rent_fen))  # fmt: skip
                else:  # on the bill: the months start once it is paid
                    text = _(
                        "The rent is on the unit's bill; rental {number} starts when it is paid."
                    ).format(number=view.number)
            elif bid == "fee":
                minutes = self._value("minutes")
                fen = service.temporary_fee(
                    self.ctx, int(minutes) if minutes.lstrip("-").isdigit() else -1
                )
                self.query_one("#fee-result", Label).update(format_fen(fen))
                text = ""
            else:
                return
        except Refused as exc:
            self.say(exc.render(_))
            return
        self.query_one("#records", Label).update(self._records())
        self.say(text)
