"""Payment receipts: one bill's, and one for several bills paid together (all arrears),
each bill with its own receipt number and e-receipt. Each bill's charges are itemised (收费项目),
property fee first: the whole bill's, or only the charges an order paid on their own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from kiosk.db import direct
from kiosk.db.models import Unit
from kiosk.i18n import _
from kiosk.money import format_fen
from plugins.billing.models import Bill, BillLine, Payment
from plugins.billing.service.bills import config, in_bill_order, line_title

if TYPE_CHECKING:
    from devices.printer import Receipt
    from kiosk.context import KioskContext

_UNITS = cast(Table, Unit.__table__)
# The code of the unit a receipt is for.
_UNIT_CODE = select(_UNITS.c.code).where(_UNITS.c.id == bindparam("unit_id"))


def payment_receipt(
    ctx: KioskContext,
    session: Session,
    payment: Payment,
    bill: Bill,
    method_label: str,
    *,
    unit_code: str | None = None,
    line_ids: Sequence[int] = (),
) -> Receipt:
    """One bill's receipt (``bill`` as the payment left it); ``unit_code`` when the caller
    read it already; ``line_ids``, the charges an order paid on their own (none: the bill)."""
    receipt = _receipt_head(ctx, session, bill.unit_id, unit_code)
    _bill_rows(receipt, payment, bill)
    _item_rows(session, receipt, bill, line_ids)
    receipt.row(_("Paid by"), method_label)
    _amount_rows(receipt, payment, bill)
    receipt.row(_("Time"), ctx.local_time(payment.paid_at))
    receipt.rule()
    _e_receipt(ctx, receipt, payment.receipt_no)
    return receipt.cut()


def _receipt_head(
    ctx: KioskContext, session: Session, unit_id: int, code: str | None = None
) -> Receipt:
    from devices.printer import Receipt

    if code is None:
        code = direct.execute(session.connection(), _UNIT_CODE, {"unit_id": unit_id}).scalar()
    return (
        Receipt()
        .title(_("Payment receipt"))
        .row(_("Estate"), ctx.settings.estate.name)
        .row(_("Unit"), code or "")
    )


def _bill_rows(receipt: Receipt, payment: Payment, bill: Bill) -> None:
    receipt.row(_("Bill"), bill.number)
    receipt.row(_("Period"), bill.period)
    receipt.row(_("Receipt no."), payment.receipt_no)


def _item_rows(session: Session, receipt: Receipt, bill: Bill, line_ids: Sequence[int]) -> None:
    """收费项目: what was paid for, a row a charge, named in the reader's language: the
    charges ``line_ids`` (an order's), or the bill's less those paid on their own before."""
    from devices.printer import Column

    # The late fee has its own row below, this payment's (a bill's late fee line is added when
    # a payment settles it).
    query = select(BillLine).where(BillLine.bill_id == bill.id, BillLine.kind != "late_fee")
    if line_ids:
        query = query.where(BillLine.id.in_(line_ids))
    else:
        query = query.where(BillLine.paid_fen == 0)
    lines = in_bill_order(session.scalars(query.order_by(BillLine.id)))
    if lines:
        receipt.table(
            [Column(_("Fee item")), Column(_("Amount"), width=12, align="right")],
            [[line_title(ln.kind), format_fen(ln.amount_fen)] for ln in lines],
        )


def _amount_rows(receipt: Receipt, payment: Payment, bill: Bill) -> None:
    if payment.late_fee_fen:
        receipt.row(_("Late fee"), format_fen(payment.late_fee_fen))
    receipt.row(_("Amount paid"), format_fen(payment.amount_fen))
    receipt.row(_("Still owed"), format_fen(bill.balance_fen))


def _e_receipt(ctx: KioskContext, receipt: Receipt, receipt_no: str) -> None:
    receipt.qr(receipt_url(ctx, receipt_no))
    receipt.text(_("Scan for the e-receipt."), align="center")


def receipt_url(ctx: KioskContext, receipt_no: str) -> str:
    """Where the e-invoice / e-receipt for ``receipt_no`` is found (configurable)."""
    pattern = str(config(ctx).get("receipt_url", "https://estate.invalid/r/{receipt_no}"))
    return pattern.format(receipt_no=receipt_no)


def arrears_receipt(
    ctx: KioskContext,
    session: Session,
    unit_id: int,
    payments: Sequence[Payment],
    method_label: str,
) -> Receipt:
    """One receipt for the bills paid together: each bill with its own receipt number,
    late fee, amount and e-receipt, then the total."""
    receipt = _receipt_head(ctx, session, unit_id)
    receipt.row(_("Paid by"), method_label)
    for payment in payments:
        bill = session.get(Bill, payment.bill_id)
        assert bill is not None
        session.refresh(bill)
        receipt.rule()
        _bill_rows(receipt, payment, bill)
        _item_rows(session, receipt, bill, ())
        _amount_rows(receipt, payment, bill)
        _e_receipt(ctx, receipt, payment.receipt_no)
    receipt.rule()
    receipt.row(_("Total paid"), format_fen(sum(p.amount_fen for p in payments)))
    receipt.row(_("Time"), ctx.local_time(payments[0].paid_at))
    return receipt.cut()
