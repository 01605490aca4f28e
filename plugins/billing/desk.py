"""The billing panel of the butler/cashier desk: a unit's statement on demand; the cashier
takes one cash or card payment for everything the unit owes (all its open bills, oldest
first, one receipt printed), as ``kiosk billing pay-arrears`` does, or for one bill chosen
(whole or in part), as ``kiosk billing pay`` does; for the unit shown, adds a charge
(``kiosk billing charge``), takes or refunds a deposit (``kiosk billing deposit take`` /
``refund``) and issues a credit note (``kiosk billing credit``), each through a short form;
sends the households their month's bills (``kiosk billing issue``); and payments that
arrived but could not be applied (to refund)."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Select

from kiosk.errors import Refused
from kiosk.i18n import N_, _
from kiosk.identity import Actor
from kiosk.money import format_fen
from kiosk.ui.desk_forms import DeskActions, Field
from kiosk.ui.widgets.text import Button, Label, Static

DESK_READER = Actor("staff", None, "desk", frozenset({"butler"}))


class BillingDeskPanel(DeskActions, Vertical):
    DEFAULT_CSS = """
    BillingDeskPanel { height: auto; padding: 0 1; }
    BillingDeskPanel #statement, BillingDeskPanel #flagged, BillingDeskPanel #taken {
        padding: 0 1;
    }
    BillingDeskPanel Horizontal { height: auto; }
    BillingDeskPanel #desk-unit, BillingDeskPanel #desk-amount { width: 1fr; }
    BillingDeskPanel #desk-bill { width: 2fr; }
    BillingDeskPanel #desk-acts Button { width: 1fr; }
    BillingDeskPanel #said { padding: 0 1; color: $warning; }
    """
    MESSAGE_ID = "said"  # what a form's step said (DeskActions.say)

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx, id="billing-desk")
        self.unit = ""  # the unit whose statement is shown: a payment is taken for it
        self.owed_fen = 0
        self.due: dict[str, int] = {}  # bill id -> what it owes today, of the shown unit
        self.bills: list[tuple[str, str]] = []  # (label, bill id) of the shown unit's open bills
        self.held: list[tuple[str, str]] = []  # (label, receipt no.) of its deposits held

    def compose(self) -> ComposeResult:
        yield Label(_("Bills"), classes="title")
        with Horizontal():
            yield Input(placeholder=_("Unit, e.g. 3-1205"), id="desk-unit")
            yield Button(_("Statement"), id="desk-statement")
        yield Static("", id="statement")
        with Horizontal(id="desk-take"):
            # Everything owed (the default), or one bill the resident chooses to pay.
            yield Select[str]([(_("All open bills"), "all")], id="desk-bill", allow_blank=False)
            yield Input(placeholder=_("Amount counted"), id="desk-amount", restrict=r"[0-9.]*")
            yield Button(_("Cash"), id="desk-cash", variant="primary")
            yield Button(_("Bank card"), id="desk-card")
        yield Static("", id="taken")
        with Horizontal(id="desk-acts"):
            # The unit shown: a one-off charge, a deposit in or back, a credit note (红冲).
            yield Button(_("Add a charge"), id="desk-charge")
            yield Button(_("Take a deposit"), id="desk-deposit")
            yield Button(_("Refund a deposit"), id="desk-deposit-refund")
            yield Button(_("Credit note"), id="desk-credit")
        yield Label("", id="said")
        with Horizontal():
            yield Button(_("Send this month's bills"), id="desk-issue")
        yield Static("", id="issued")
        yield Label(_("Payments to refund"), classes="title")
        yield Static(self._flagged(), id="flagged")

    def _flagged(self) -> str:
        from plugins.billing import service

        rows = service.flagged_orders(self.ctx)
        if not rows:
            return _("None.")
        return "\n".join(
            f"{r.unit_code}  {r.out_trade_no}  {service.provider_label(r.provider)}  "
            f"{flag_title(r.flag)}  "
            f"{format_fen(r.received_fen if r.received_fen is not None else r.order_fen)}"
            for r in rows
        )

    def on_mount(self) -> None:
        self.query_one("#desk-take").display = False
        self.query_one("#desk-acts").display = False

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "desk-statement":
            event.stop()
            self.show_statement(self.query_one("#desk-unit", Input).value)
        elif event.button.id in ("desk-cash", "desk-card"):
            event.stop()
            await self.take("cash" if event.button.id == "desk-cash" else "card")
        elif event.button.id == "desk-issue":
            event.stop()
            self.ask_to_issue()
        elif event.button.id in FORMS:
            event.stop()
            if self.logged_in() and self.unit:
                getattr(self, FORMS[event.button.id])()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "desk-unit":
            self.show_statement(event.value)
        elif event.input.id == "desk-amount":
            await self.take("cash")

    def _staff(self) -> Actor:
        return self.actor or DESK_READER

    async def reload(self) -> None:
        """After a form's step: the shown unit's statement read again."""
        if self.unit:
            self.show_statement(self.unit, keep_said=True)

    def ask(self, title: str, fields: list[Field], call: Any, said: Any, missing: str = "") -> None:
        """A form for the unit shown (``title`` names it); on OK ``call(answers)`` runs off the
        UI thread (it writes), then ``said(answers, result)`` or the refusal is said and the
        statement read again. A form with an amount checks it is yuan first; one with a choice
        of nothing (no deposit held, no open bill) is not opened: ``missing`` is said."""
        if any(f.kind == "choice" and not f.options for f in fields):
            self.say(missing.format(unit=self.unit))
            return
        amount = any(f.id == "amount" for f in fields)

        def then(v: dict[str, Any]) -> None:
            self.desk_run(lambda result: said(v, result), lambda: call(v), off_thread=True)

        self.desk_form(title.format(unit=self.unit), fields, then,
                       check=_amount_typed if amount else None)  # fmt: skip

    def ask_charge(self) -> None:
        """A one-off charge on the unit's bill this month (a repair's materials, a lost key):
        what it is for, the amount, a description."""
        from plugins.billing import service

        unit, actor = self.unit, self._staff()
        kinds = [(service.line_title(k), k) for k in service.LINE_TITLES if k != "late_fee"]
        self.ask(
            _("Add a charge to {unit}"),
            [choice("kind", _("What for"), kinds, "repair"),
             Field("amount", _("Amount, e.g. 35.00")), Field("what", _("Description"))],
            lambda v: service.add_charge(self.ctx, actor, unit, v["kind"], _fen(v), v["what"]),
            lambda v, _line: _("{amount} charged to {unit} ({kind}).").format(
                amount=format_fen(_fen(v)), unit=unit, kind=service.line_title(v["kind"])),
        )  # fmt: skip

    def ask_deposit(self) -> None:
        """A deposit taken in cash or by card (e.g. a renovation's); its 收据 prints."""
        from plugins.billing import service

        unit, actor = self.unit, self._staff()
        kinds = [(service.deposit_kind_title(k), k) for k in DESK_DEPOSIT_KINDS]
        methods = [(_(METHODS[m]), m) for m in ("cash", "card")]
        self.ask(
            _("Take a deposit from {unit}"),
            [choice("kind", _("Deposit for"), kinds),
             Field("amount", _("Amount, e.g. 2000.00")), Field("what", _("Description")),
             choice("method", _("Paid by"), methods)],
            lambda v: service.take_deposit(self.ctx, actor, unit, v["kind"], _fen(v), v["what"],
                                           method=v["method"]),
            lambda _v, dep: _("Deposit {receipt} of {amount} taken from {unit}; its receipt is "
                              "printing.").format(receipt=dep.receipt_no,
                                                  amount=format_fen(dep.amount_fen), unit=unit),
        )  # fmt: skip

    def ask_deposit_refund(self) -> None:
        """A held deposit given back (manager), with the reason; its refund 收据 prints."""
        from plugins.billing import service

        actor = self._staff()
        self.ask(
            _("Refund a deposit of {unit}"),
            [choice("deposit", _("Deposit"), self.held), Field("reason", _("Reason"))],
            lambda v: service.refund_deposit(self.ctx, actor, v["deposit"], v["reason"]),
            lambda _v, dep: _("Deposit {receipt} refunded ({refund}): {amount}.").format(
                receipt=dep.receipt_no, refund=dep.refund_no, amount=format_fen(dep.amount_fen)),
            missing=_("{unit} has no deposit held."),
        )  # fmt: skip

    def ask_credit(self) -> None:
        """A credit note (红冲, manager) reducing one open bill, with the reason."""
        from plugins.billing import service

        actor = self._staff()
        self.ask(
            _("Credit note for {unit}"),
            [choice("bill", _("Bill"), self.bills),
             Field("amount", _("Amount, e.g. 35.00")), Field("reason", _("Reason"))],
            lambda v: service.issue_credit_note(self.ctx, actor, int(v["bill"]), _fen(v),
                                                v["reason"]),
            lambda _v, note: _("Credit note {number}: {amount} off the bill.").format(
                number=note.number, amount=format_fen(note.amount_fen)),
            missing=_("{unit} has no open bill."),
        )  # fmt: skip

    async def take(self, method: str) -> None:
        """Take what the cashier counted for everything the shown unit owes (the service
        refuses any other amount), or for the one bill chosen (all of it or a part); refused
        to a person without the cashier's role."""
        from kiosk.money import typed_fen
        from plugins.billing import service

        said = self.query_one("#taken", Static)
        field = self.query_one("#desk-amount", Input)
        if not self.unit or not self.owed_fen:
            return
        bill = str(self.query_one("#desk-bill", Select).value)
        owed = self.due.get(bill, self.owed_fen)
        amount = typed_fen(field.value)
        if amount is None:
            said.update(_("Type the amount counted, e.g. {amount}.").format(
                amount=f"{owed // 100}.{owed % 100:02d}"))  # fmt: skip
            return
        unit, actor = self.unit, self._staff()

        def pay() -> list[Any]:
            if bill in self.due:
                return [service.record_desk_payment(self.ctx, actor, int(bill), amount, method)]
            return service.record_desk_arrears_payment(self.ctx, actor, unit, amount, method)

        try:
            paid = await asyncio.to_thread(pay)
        except Refused as exc:
            said.update(exc.render(_))
            return
        field.value = ""
        said.update(
            _("Took {amount} for {n} bills of {unit}; receipts {receipts} (printing).").format(
                amount=format_fen(sum(p.amount_fen for p in paid)),
                n=len(paid), unit=unit, receipts=", ".join(p.receipt_no for p in paid),
            )
        )  # fmt: skip
        self.show_statement(unit, keep_said=True)

    def ask_to_issue(self) -> None:
        """Send this month's bills, once asked: each household not sent its bill yet."""
        from kiosk.ui.desk_forms import ConfirmDialog
        from plugins.billing import service

        period = service.current_period(self.ctx)

        async def answered(yes: bool | None) -> None:
            if yes:
                await self.issue(period)

        question = _("Send every household its bill for {period}, with a link to pay it?")
        self.app.push_screen(
            ConfirmDialog(question.format(period=period), yes=_("Send the bills")), answered
        )

    async def issue(self, period: str) -> None:
        from plugins.billing import service

        said = self.query_one("#issued", Static)
        try:
            r = await asyncio.to_thread(service.issue_bills, self.ctx, self._staff(), period)
        except Refused as exc:
            said.update(exc.render(_))
            return
        said.update(
            _("{period}: {n} bills sent ({amount}); {before} were sent before.").format(
                period=r.period, n=r.issued, amount=format_fen(r.total_fen), before=r.already
            )
        )

    def show_statement(self, unit: str, keep_said: bool = False) -> None:
        from plugins.billing import service

        if not keep_said:
            self.query_one("#taken", Static).update("")
        try:
            st = service.unit_statement(self.ctx, self._staff(), unit)
        except Refused as exc:
            self.unit, self.owed_fen = "", 0
            self.query_one("#desk-take").display = False
            self.query_one("#desk-acts").display = False
            self.query_one("#statement", Static).update(exc.render(_))
            return
        self.unit, self.owed_fen = st.unit_code, st.owed_fen
        self.query_one("#desk-take").display = st.owed_fen > 0
        self.query_one("#desk-acts").display = True
        owing = [b for b in st.bills if b.due_now_fen > 0]
        self.due = {str(b.id): b.due_now_fen for b in owing}
        self.bills = [(f"{b.number} {format_fen(b.balance_fen)}", str(b.id)) for b in owing]
        self.held = [
            (f"{d['receipt_no']} {service.deposit_kind_title(d['kind'])} "
             f"{format_fen(d['amount_fen'])}", d["receipt_no"])
            for d in st.deposits if d["status"] == "held"
        ]  # fmt: skip
        everything = _("Everything owed: {amount}").format(amount=format_fen(st.owed_fen))
        choice = self.query_one("#desk-bill", Select)
        choice.set_options([(everything, "all:" + everything)]
                           + [(f"{b.number} {format_fen(b.due_now_fen)}", str(b.id))
                              for b in owing])  # fmt: skip
        # The first option selected, and shown (a value named by its label changes with it).
        choice.value = "all:" + everything
        lines = [
            _("Unit {unit} owes {amount} today").format(
                unit=st.unit_code, amount=format_fen(st.owed_fen)
            )
        ]
        for b in st.bills:
            late = f" +{format_fen(b.late_fee_now_fen)}" if b.late_fee_now_fen else ""
            lines.append(
                f"  {b.number}  {b.due_date}  {state(b.status)}  {format_fen(b.balance_fen)}{late}"
            )
            lines.append(f"      {service.lines_summary(b)}")
        for p in st.payments:
            method = _(METHODS.get(p["method"], N_("Other")))
            lines.append(f"  {p['receipt_no']}  {method}  {format_fen(p['amount_fen'])}")
        for d in st.deposits:
            lines.append(
                f"  {d['receipt_no']}  {service.deposit_kind_title(d['kind'])}  "
                f"{format_fen(d['amount_fen'])}  {state(d['status'])}"
            )
        self.query_one("#statement", Static).update("\n".join(lines))


STATES: dict[str, str] = {
    "open": N_("Unpaid"), "paid": N_("Paid"), "closed": N_("Closed"), "held": N_("Held"),
    "refunded": N_("Refunded"), "forfeited": N_("Forfeited"), "pending": N_("Pending"),
    "expired": N_("Expired"), "done": N_("Done"), "requested": N_("Requested"),
}  # fmt: skip
METHODS: dict[str, str] = {"cash": N_("Cash"), "qr": N_("QR code"), "card": N_("Bank card")}


# What an order's flag (models.ORDER_FLAGS) says to the staff.
FLAGS: dict[str, str] = {
    "amount_mismatch": N_("Amount differs from the order"),
    "paid_after_close": N_("Paid after the order closed"),
    "bill_already_paid": N_("Bill was already paid"),
}


# The desk's buttons for the unit shown, and the form each opens.
FORMS: dict[str, str] = {
    "desk-charge": "ask_charge",
    "desk-deposit": "ask_deposit",
    "desk-deposit-refund": "ask_deposit_refund",
    "desk-credit": "ask_credit",
}
# Deposits the desk takes itself (a parking card's or an umbrella's are taken by their own
# steps, tied to the card or the loan).
DESK_DEPOSIT_KINDS = ("renovation", "key", "other")


def choice(id: str, label: str, options: list[tuple[str, str]], first: str = "") -> Field:
    """A form's choice of ``options`` (label, value), ``first`` (else the first) chosen."""
    return Field(id, label, "choice", tuple(options), first or (options[0][1] if options else ""))


def _fen(v: dict[str, Any]) -> int:
    """A form's amount in fen (checked by :func:`_amount_typed` before the form closed)."""
    from kiosk.money import typed_fen

    return typed_fen(v["amount"]) or 0


def _amount_typed(v: dict[str, Any]) -> str | None:
    """A form's amount must be yuan with at most two decimals (the service decides the rest)."""
    return None if _fen(v) else _("Type the amount in yuan, e.g. 35.00.")


def flag_title(code: str) -> str:
    return _(FLAGS.get(code, N_("Other")))


def state(code: str) -> str:
    return _(STATES.get(code, N_("Other")))


def panel(ctx: Any) -> BillingDeskPanel:
    return BillingDeskPanel(ctx)
