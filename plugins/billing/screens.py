"""Kiosk screens for paying bills: identify -> open bills -> QR with countdown -> paid ->
receipt. Thin: each screen collects input, calls one service function, shows the result.

The QR is drawn from :class:`devices.qr.QRCode` half-block rows in explicit ``#000000`` on
``#ffffff`` (named colours pass through the theme and come out grey, which scanners reject).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input

from kiosk.errors import Refused
from kiosk.i18n import _
from kiosk.money import format_fen
from kiosk.ui.screens import ServiceScreen
from kiosk.ui.widgets.qr import FittedQR
from kiosk.ui.widgets.text import Button, Label

if TYPE_CHECKING:
    from kiosk.context import KioskContext
    from kiosk.identity import Actor

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0
QUERY_EVERY = 5  # ticks between asking the provider itself (a lost notification)
COUNTDOWN_FROM_S = 600  # below this, the QR screen counts the minutes and seconds down


class QRBlock(FittedQR):
    """A QR code as half-block rows, black on white, quiet zone included; fitted to the screen."""


def _refusal(exc: Refused) -> str:
    return exc.render(_)


class BillingScreen(ServiceScreen):
    """Base: a title line; the message line, Back and Home are the shell's foot."""

    DEFAULT_CSS = """
    BillingScreen { align: center top; }
    BillingScreen .title { text-style: bold; padding: 1 2 0 2; }
    BillingScreen Button { margin: 0 1; }
    """

    def __init__(self, ctx: KioskContext, actor: Actor | None = None) -> None:
        super().__init__(ctx)
        self.actor = actor


class IdentifyScreen(BillingScreen):
    """Unit + PIN (a card tap is handled by the lobby shell before this screen)."""

    def body(self) -> ComposeResult:
        from kiosk.ui.screens import pin_form

        yield from pin_form(
            _("Pay bills: tap your card, or enter your unit and PIN."),
            Input(placeholder=_("Unit, e.g. 3-1205"), id="unit"),
            Input(placeholder=_("PIN"), password=True, id="pin"),
        )

    def actions(self) -> Iterable[Button]:
        button = Button(_("Continue"), id="go", variant="primary")
        button.can_focus = False  # the field being typed into keeps the focus
        return [button]

    def on_mount(self) -> None:
        # The lobby shell may have identified the resident already (card tap, unit + PIN).
        for attr in ("resident", "actor"):
            actor = getattr(self.app, attr, None)
            if getattr(actor, "kind", "") == "resident" and getattr(actor, "unit_id", None):
                self.app.switch_screen(BillsScreen(self.ctx, actor))
                return
        self.query_one("#unit", Input).focus()

    @on(Button.Pressed, "#go")
    async def _go(self) -> None:
        await self.login()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "unit":
            self.query_one("#pin", Input).focus()
        else:
            await self.login()

    async def login(self) -> None:
        """Unit + PIN on a worker thread: the PIN check is a deliberately slow hash."""
        from kiosk.lobby import unit_login

        unit = self.query_one("#unit", Input).value
        pin_input = self.query_one("#pin", Input)
        pin, pin_input.value = pin_input.value, ""
        try:
            actor = await self.call(unit_login, self.ctx, unit, pin)
        except Refused as exc:
            self.say(_refusal(exc))
            return
        if actor is not None:
            self.app.switch_screen(BillsScreen(self.ctx, actor))


class BillsScreen(BillingScreen):
    """A household's open bills with today's late fee; choose one to pay, or (more than one
    open) all of them with one code."""

    REREAD_ON_RETURN = True  # back from a payment: the bill paid is gone from the list
    DEFAULT_CSS = """
    BillsScreen .bill { padding: 0 2; }
    BillsScreen .pay, BillsScreen #pay-all { margin: 0 2 1 2; }
    """

    def body(self) -> ComposeResult:
        from plugins.billing import service

        assert self.actor is not None and self.actor.unit_id is not None
        yield Label(_("Open bills"), classes="title")
        try:
            bills = service.open_bills(self.ctx, self.actor.unit_id)
        except Refused as exc:
            bills = []
            yield Label(_refusal(exc), classes="refusal")
        with VerticalScroll():
            if not bills:
                yield Label(_("Nothing to pay. Thank you!"), id="nothing")
            if len(bills) > 1:
                yield Button(
                    _("Pay all open bills ({count} bills, {amount})").format(
                        count=len(bills), amount=format_fen(service.due_now_total(bills))
                    ),
                    id="pay-all",
                    variant="primary",
                )
            for b in bills:
                late = ""
                if b.late_fee_now_fen:
                    late = "  " + _("late fee {amount} ({days} days)").format(
                        amount=format_fen(b.late_fee_now_fen), days=b.days_overdue
                    )
                yield Label(
                    f"{b.period}  {b.number}  "
                    + _("due {date}").format(date=b.due_date)
                    + f"  {format_fen(b.balance_fen)}{late}",
                    classes="bill",
                )
                # What the bill is for, before paying it.
                yield Label(service.lines_summary(b), classes="bill lines")
                yield Button(
                    _("Pay {amount}").format(amount=format_fen(b.due_now_fen)),
                    id=f"pay-{b.id}",
                    classes="pay",
                    variant="primary",
                )

    @on(Button.Pressed, ".pay")
    async def _pay(self, event: Button.Pressed) -> None:
        from plugins.billing import service

        bill_id = int((event.button.id or "").removeprefix("pay-"))
        await self._show_qr(service.create_payment_order, bill_id)

    @on(Button.Pressed, "#pay-all")
    async def _pay_all(self) -> None:
        from plugins.billing import service

        assert self.actor is not None
        await self._show_qr(service.create_arrears_order, self.actor.unit_id)

    async def _show_qr(self, create_order: Any, what: Any) -> None:
        """Create the order (``what``: a bill, or the unit for all its arrears); show its QR."""
        from plugins.billing import service

        assert self.actor is not None
        name = service.kiosk_provider(self.ctx)
        try:
            order = await self.call(create_order, self.ctx, self.actor, what, name)
        except Refused as exc:
            self.say(_refusal(exc))
            return
        if order is not None:
            self.app.push_screen(PayQRScreen(self.ctx, self.actor, order))


class PayQRScreen(BillingScreen):
    """The QR to scan, the amount, a countdown; switches to the paid screen on payment.
    Cancel (or Back) closes the order, so the code on screen can no longer be paid."""

    DEFAULT_CSS = """
    PayQRScreen .title { padding: 0 2; }
    PayQRScreen #qr-scroll { height: 1fr; }
    PayQRScreen #qr-row { height: auto; }
    PayQRScreen #facts { padding: 0 2; width: 1fr; height: auto; }
    """

    # The payer is busy on a phone (open the wallet, scan, confirm): no touch for a while is
    # not leaving. The kiosk still starts over in the end, and says it cancels the payment.
    IDLE_AT_LEAST = 300

    def __init__(self, ctx: KioskContext, actor: Actor | None, order: Any) -> None:
        super().__init__(ctx, actor)
        self.order = order
        self._ticks = 0
        self._leaving = False

    def idle_note(self) -> str:
        return _("Starting over cancels this payment; nothing is taken unless you paid.")

    def body(self) -> ComposeResult:
        from plugins.billing import service

        with VerticalScroll(id="qr-scroll"):
            with Horizontal(id="qr-row"):
                yield QRBlock(self.order.qr_content, id="qr")
                with Vertical(id="facts"):
                    yield Label(_("Scan to pay"), classes="title")
                    yield Label(self._bills())
                    yield Label(_("Amount") + f": {format_fen(self.order.amount_fen)}", id="amount")
                    if self.order.late_fee_fen:
                        yield Label(_("Late fee") + f": {format_fen(self.order.late_fee_fen)}")
                    yield Label(_("Pay with") + f": {service.provider_label(self.order.provider)}")
                    yield Label("", id="countdown")
                    yield Label(_("Order") + f": {self.order.out_trade_no}")

    def _bills(self) -> str:
        numbers = getattr(self.order, "bill_numbers", ())
        if len(numbers) > 1:
            return _("Bills") + ": " + ", ".join(numbers)
        return _("Bill") + f": {self.order.bill_number}"

    def actions(self) -> Iterable[Button]:
        return [Button(_("Cancel"), id="cancel", variant="error")]

    def on_mount(self) -> None:
        self.refresh_countdown()
        self.set_interval(POLL_SECONDS, self.tick)

    def remaining(self) -> dt.timedelta:
        return max(dt.timedelta(0), self.order.expires_at - self.ctx.clock.now())

    def refresh_countdown(self) -> None:
        """A long validity as the clock time it ends (a two-hour order read "119:57"); the
        last ten minutes as a countdown."""
        left = int(self.remaining().total_seconds())
        if left >= COUNTDOWN_FROM_S:
            until = self.ctx.local_time(self.order.expires_at)  # "YYYY-MM-DD HH:MM"
            if until[:10] == self.ctx.today().isoformat():
                until = until[-5:]  # today: the clock time is enough
            text = _("Valid until {time}").format(time=until)
        else:
            text = _("Valid for {minutes}:{seconds:02d}").format(
                minutes=left // 60, seconds=left % 60
            )
        self.query_one("#countdown", Label).update(text)

    async def tick(self) -> None:
        """Look for the payment, off the UI thread: the database every tick, the provider
        every few (a network call)."""
        if self._leaving:
            return
        self._ticks += 1
        query = self._ticks % QUERY_EVERY == 0
        try:
            view = await asyncio.to_thread(self._fetch, query)
        except Exception:  # noqa: BLE001 - a provider hiccup must not end the screen
            view = None
        if not self._leaving and self.is_current:
            self._apply(view)

    def _fetch(self, query_provider: bool) -> Any:
        from plugins.billing import service

        if query_provider:
            return service.poll_order(self.ctx, self.order.out_trade_no)
        return service.order_status(self.ctx, self.order.out_trade_no)

    def check(self, query_provider: bool = False) -> None:
        """Look for the payment now (on the calling thread)."""
        try:
            view = self._fetch(query_provider)
        except Exception:  # noqa: BLE001 - a provider hiccup must not end the screen
            view = None
        self._apply(view)

    def _apply(self, view: Any) -> None:
        from plugins.billing import service

        if view is not None and view.status == "paid":
            self.paid(view)
            return
        if view is not None and view.status == "closed" or self.remaining().total_seconds() <= 0:
            if view is not None and view.status == "pending":
                service.expire_orders(self.ctx)
            self.closed(view if view is not None else self.order)
            return
        self.refresh_countdown()

    def paid(self, view: Any) -> None:
        """The payment arrived (a service paying through bills, e.g. parking rent, overrides
        this to show its own outcome)."""
        self.app.switch_screen(PaidScreen(self.ctx, self.actor, view))

    def closed(self, order: Any) -> None:
        """The order expired or was closed: nothing was taken."""
        self.app.switch_screen(ExpiredScreen(self.ctx, self.actor, order))

    async def sim_pay(self) -> bool:
        """Demo (``--sim``, F3): the simulated wallet pays the code on screen. The simulated
        gateway marks the order paid and sends its signed notice, which goes through the
        same verification as a real provider's (delivered by the gateway when it is wired to
        the notify server, else handed to it here)."""
        from plugins.billing import service
        from plugins.billing.gateway import shared_gateway

        def pay() -> None:
            service.providers(self.ctx)  # the sim provider starts the shared gateway
            gateway = shared_gateway(self.ctx.clock)
            if self.order.out_trade_no not in gateway.orders:
                raise Refused("billing.sim_only", "Only a simulated payment code can be paid here.")
            headers, body = gateway.pay(self.order.out_trade_no)
            if gateway.deliver is None:
                service.handle_notification(self.ctx, self.order.provider, headers, body)

        try:
            await self.call(pay)
        except Refused as exc:
            self.say(_refusal(exc))
            return False
        self.check()
        return True

    @on(Button.Pressed, "#cancel")
    async def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        await self.run_action("back")

    async def action_back(self) -> None:
        """Cancel: the order is closed (at the provider too), then back. A payment that
        arrived meanwhile is applied instead, and the paid screen shown."""
        from plugins.billing import service

        if self._leaving:
            return
        self._leaving = True
        try:
            view = await self.call(service.cancel_order, self.ctx, self.order.out_trade_no)
        except Refused as exc:
            self._leaving = False
            self.say(_refusal(exc))
            return
        if view is None:
            return  # the shell took over (out of service)
        if view.status == "paid":
            self.paid(view)
            return
        self.cancelled()

    def cancelled(self) -> None:
        """The order is closed: back to where the payment started."""
        self.app.pop_screen()

    def on_unmount(self) -> None:
        """Left without Cancel (the kiosk went home after the idle time, the shell took over):
        the code on screen is closed too, off the UI thread, so that nobody pays a code whose
        result no one sees. A payment that arrived meanwhile is applied, not lost; an order
        already paid or closed is left as it is."""
        if self._leaving:
            return
        self._leaving = True
        import threading

        from plugins.billing import service

        def close() -> None:
            try:
                service.cancel_order(self.ctx, self.order.out_trade_no)
            except Exception:  # noqa: BLE001 - the order expires by itself in any case
                log.warning("closing order %s after the screen left", self.order.out_trade_no,
                            exc_info=True)  # fmt: skip

        threading.Thread(target=close, name="close-order", daemon=True).start()


class PaidScreen(BillingScreen):
    """Payment confirmed: receipt number, the receipt printed (or shown), e-receipt QR."""

    DEFAULT_CSS = """
    PaidScreen .title { padding: 0 2; }
    PaidScreen #qr-row { height: auto; }
    PaidScreen #facts { padding: 0 2; width: 1fr; height: auto; }
    """

    def __init__(self, ctx: KioskContext, actor: Actor | None, order: Any) -> None:
        super().__init__(ctx, actor)
        self.order = order

    def body(self) -> ComposeResult:
        from plugins.billing import service

        with VerticalScroll():
            yield Label(_("Paid. Thank you!"), classes="title", id="paid")
            with Horizontal(id="qr-row"):
                url = service.receipt_url(self.ctx, self.order.receipt_no)
                yield QRBlock(url, id="receipt-qr")
                with Vertical(id="facts"):
                    yield Label(_("Amount") + f": {format_fen(self.order.amount_fen)}")
                    yield Label(_("Receipt no.") + f": {self.order.receipt_no}", id="receipt-no")
                    # An order of arrears: the receipts of its other bills, under the first.
                    indent = " " * cell_len(_("Receipt no.") + ": ")
                    for more in getattr(self.order, "receipt_nos", ())[1:]:
                        yield Label(indent + more, classes="more-receipt")
                    yield Label(self._print(), id="print-state")
                    yield Label(_("Scan for the e-receipt."))

    def actions(self) -> Iterable[Button]:
        return [Button(_("Done"), id="done", variant="primary")]

    def _print(self) -> str:
        from plugins.billing import service

        job = service.receipt_job(self.ctx, self.order.receipt_no)
        if job is None or self.ctx.printing is None:
            return _("Your receipt is being printed.")
        outcome = self.ctx.printing.print_now(job[0])
        if outcome.state == "printed":
            return _("Please take your receipt.")
        return _("The printer cannot print now; your receipt is kept and the desk can reprint it.")

    @on(Button.Pressed, "#done")
    def _done(self) -> None:
        self.app.pop_screen()


class ExpiredScreen(BillingScreen):
    """The QR expired (or the bill was paid elsewhere); nothing was taken."""

    def __init__(self, ctx: KioskContext, actor: Actor | None, order: Any) -> None:
        super().__init__(ctx, actor)
        self.order = order

    def body(self) -> ComposeResult:
        if getattr(self.order, "flag", ""):
            # Money arrived but could not be applied (wrong amount, bill settled elsewhere).
            yield Label(_("This payment could not be applied."), classes="title", id="flagged")
            yield Label(_("It will be refunded; the desk has been told. Please see the desk."))
        else:
            yield Label(_("This payment code has expired."), classes="title", id="expired")
            yield Label(_("Nothing was charged. Start again to get a new code."))


def entry_screen(ctx: KioskContext, actor: Actor | None = None) -> Screen[None]:
    """What the Bills tile opens: the bills of the identified resident, else identify first."""
    if actor is not None and actor.kind == "resident":
        return BillsScreen(ctx, actor)
    return IdentifyScreen(ctx)
