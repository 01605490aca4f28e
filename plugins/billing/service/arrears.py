"""Paying all of a household's arrears at once, oldest bill first: one QR order (or one cash
payment at the desk) for everything the unit owes today, each bill paid with its own payment
and its own late fee, so a bill's history stays its own.

An order of arrears lists its bills and their shares in ``billing_order_bill``; its
``bill_id`` is the oldest of them. It is verified, applied once, flagged and closed like a
one-bill order (:mod:`.orders`): money for bills that owe less by then (the cashier took a
payment meanwhile) is applied to none of them and flagged for a refund.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.errors import Refused
from kiosk.i18n import _
from kiosk.identity import Actor, unit_by_code
from kiosk.money import format_fen
from plugins.billing.models import Bill, OrderBill, Payment, PaymentOrder
from plugins.billing.providers import PaidNotice
from plugins.billing.service.bills import (
    BillView,
    due_now_total,
    late_fee_rule,
    local_today,
    open_bills_in,
)
from plugins.billing.service.desk import _can_take_at_desk, desk_payment_in
from plugins.billing.service.orders import (
    OrderPays,
    OrderView,
    _apply_payment,
    _can_order_for,
    _close_pending_of_paid,
    _order_view,
    close_at_providers,
    drop_at_provider,
    flag_settled_elsewhere,
    lock_bills,
    place_at_provider,
    provider_label,
    record_order_paid,
    record_qr_payment,
    store_order,
    submit_receipt,
)
from plugins.billing.service.receipts import arrears_receipt

if TYPE_CHECKING:
    from kiosk.context import KioskContext


@dataclass(frozen=True)
class _Arrears:
    unit_id: int
    unit_code: str
    bills: list[BillView]  # oldest first

    @property
    def shares(self) -> list[tuple[int, int, int]]:
        """(bill id, what it owes today, its late fee today) of each bill, oldest first."""
        return [(b.id, b.due_now_fen, b.late_fee_now_fen) for b in self.bills]

    @property
    def total_fen(self) -> int:
        return due_now_total(self.bills)


def _arrears_in(
    session: Session, ctx: KioskContext, unit: str | int, *, lock: bool = False
) -> _Arrears:
    """A unit's open bills, oldest first (with ``lock``, locked before they are read);
    refused when it owes nothing."""
    the_unit = unit_by_code(session, unit)
    if lock:
        lock_bills(
            session,
            session.scalars(
                select(Bill.id).where(Bill.unit_id == the_unit.id, Bill.status == "open")
            ).all(),
        )
    owed = open_bills_in(session, the_unit.id, local_today(ctx), late_fee_rule(ctx))
    if not owed:
        raise Refused("billing.nothing_owed", "Unit {unit} owes nothing.", unit=the_unit.code)
    return _Arrears(the_unit.id, the_unit.code, owed)


def create_arrears_order(
    ctx: KioskContext, actor: Actor, unit: str | int, provider_name: str = "sim"
) -> OrderView:
    """A QR payment order for everything ``unit`` owes today: all its open bills, oldest
    first, each with today's late fee. Like a one-bill order, the provider is asked outside
    any transaction, and the order is stored only if the bills still owe what it asked for."""
    with ctx.database().read() as session:
        _can_order_for(actor, unit_by_code(session, unit).id)
        owed = _arrears_in(session, ctx, unit)
    placed = place_at_provider(ctx, provider_name, owed.total_fen, owed.bills[0].number)
    with ctx.database().write() as session:
        # Another kiosk (or the cashier) may have changed the bills while the provider answered.
        try:
            unchanged = _arrears_in(session, ctx, unit).shares == owed.shares
        except Refused:
            unchanged = False
        if unchanged:
            fees = sum(b.late_fee_now_fen for b in owed.bills)
            pays = OrderPays(
                bill_id=owed.bills[0].id, unit_id=owed.unit_id, late_fee_fen=fees, line_ids=""
            )
            bills = {"bills": [b.number for b in owed.bills]}
            order = store_order(ctx, session, actor, placed, pays, bills)
            session.add_all(
                OrderBill(order_id=order.id, bill_id=bill_id, amount_fen=amount, late_fee_fen=fee)
                for bill_id, amount, fee in owed.shares
            )
            session.flush()
            return _order_view(session, order)
    drop_at_provider(ctx, placed)
    raise Refused(
        "billing.arrears_changed",
        "The bills of unit {unit} were just paid or changed elsewhere; please look again.",
        unit=owed.unit_code,
    )


def order_shares(session: Session, order_id: int) -> list[tuple[OrderBill, Bill]]:
    """The bills an order of arrears pays and their shares, oldest first ([] for any other
    order); the bills as they are now."""
    return [
        (share, bill)
        for share, bill in session.execute(
            select(OrderBill, Bill)
            .join(Bill, Bill.id == OrderBill.bill_id)
            .where(OrderBill.order_id == order_id)
            .order_by(Bill.period)
            .execution_options(populate_existing=True)
        )
    ]


def settle_arrears_order(
    ctx: KioskContext,
    session: Session,
    order: PaymentOrder,
    notice: PaidNotice,
    shares: Sequence[tuple[OrderBill, Bill]],
    closed: list[str],
) -> tuple[str, str]:
    """Apply a won order of arrears: every bill its share, or (one owes less by now) none."""
    # The bills are locked (apply_paid_notice): what they owe now holds until the commit.
    if any(bill.balance_fen + share.late_fee_fen < share.amount_fen for share, bill in shares):
        return flag_settled_elsewhere(ctx, session, order, notice)
    payments = []
    for share, _bill in shares:
        paid = _apply_payment(ctx, session, share.bill_id, share.amount_fen, share.late_fee_fen)
        assert paid is not None
        payments.append(
            record_qr_payment(
                ctx, session, order, share.bill_id, share.amount_fen, share.late_fee_fen
            )
        )
        closed += _close_pending_of_paid(ctx, session, paid, except_order=order.id)
    record_order_paid(
        ctx,
        session,
        order,
        notice,
        arrears_receipt(ctx, session, order.unit_id, payments, provider_label(order.provider)),
        {
            "bills": [bill.number for _share, bill in shares],
            "receipts": [p.receipt_no for p in payments],
            "closed_orders": closed,
        },
    )
    return "paid", payments[0].receipt_no


def record_desk_arrears_payment(
    ctx: KioskContext, actor: Actor, unit: str | int, amount_fen: int, method: str = "cash"
) -> list[Payment]:
    """The cashier takes one payment for everything ``unit`` owes today: every open bill in
    full, oldest first, each its own payment, in one transaction and on one receipt.
    ``amount_fen`` is what the cashier counted: refused unless it is that total."""
    _can_take_at_desk(actor, method)
    with ctx.database().write() as session:
        owed = _arrears_in(session, ctx, unit, lock=True)
        if amount_fen != owed.total_fen:
            raise Refused(
                "billing.arrears_total",
                "Unit {unit} owes {owed} in all today, not {amount}.",
                unit=owed.unit_code,
                owed=format_fen(owed.total_fen),
                amount=format_fen(amount_fen),
            )
        payments = [
            desk_payment_in(ctx, session, actor, bill_id, amount, method)[0]
            for bill_id, amount, _fee in owed.shares
        ]
        submit_receipt(
            ctx,
            session,
            arrears_receipt(ctx, session, owed.unit_id, payments, _(method.capitalize())),
            ctx.kiosk_id,
        )
    close_at_providers(ctx)
    return payments
