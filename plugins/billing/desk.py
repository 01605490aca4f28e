"""The billing panel of the butler/cashier desk: a unit's statement on demand, and payments
that arrived but could not be applied (to refund). Read-only: money moves through the
service functions (``kiosk billing pay/refund`` or the cashier's screens)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input

from kiosk.errors import Refused
from kiosk.i18n import N_, _
from kiosk.identity import Actor
from kiosk.money import format_fen
from kiosk.ui.widgets.text import Button, Label, Static

DESK_READER = Actor("staff", None, "desk", frozenset({"butler"}))


class BillingDeskPanel(Vertical):
    DEFAULT_CSS = """
    BillingDeskPanel { height: auto; padding: 0 1; }
    BillingDeskPanel #statement, BillingDeskPanel #flagged { padding: 0 1; }
    """

    def __init__(self, ctx: Any) -> None:
        super().__init__(id="billing-desk")
        self.ctx = ctx

    def compose(self) -> ComposeResult:
        yield Label(_("Bills"), classes="title")
        with Horizontal():
            yield Input(placeholder=_("Unit, e.g. 3-1205"), id="desk-unit")
            yield Button(_("Statement"), id="desk-statement")
        yield Static("", id="statement")
        yield Label(_("Payments to refund"), classes="title")
        yield Static(self._flagged(), id="flagged")

    def _flagged(self) -> str:
        from plugins.billing import service

        rows = service.flagged_orders(self.ctx)
        if not rows:
            return _("None.")
        return "\n".join(
            f"{r.unit_code}  {r.out_trade_no}  {r.provider}  {r.flag}  "
            f"{format_fen(r.received_fen if r.received_fen is not None else r.order_fen)}"
            for r in rows
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "desk-statement":
            self.show(self.query_one("#desk-unit", Input).value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.show(event.value)

    def show(self, unit: str) -> None:
        from plugins.billing import service

        actor = getattr(self.app, "staff", None) or DESK_READER
        try:
            st = service.unit_statement(self.ctx, actor, unit)
        except Refused as exc:
            self.query_one("#statement", Static).update(exc.render(_))
            return
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


def state(code: str) -> str:
    return _(STATES.get(code, N_("Other")))


def panel(ctx: Any) -> BillingDeskPanel:
    return BillingDeskPanel(ctx)
