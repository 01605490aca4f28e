"""Money taken at the desk: the cashier's cash or card payment of a bill (whole or partial,
today's late fee crystallised first) and the manager's credit note (红冲). Pending QR orders a
settling payment made unpayable are closed here and at their providers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import update

from kiosk import audit
from kiosk.errors import Refused
from kiosk.i18n import _
from kiosk.identity import Actor, require_role
from kiosk.money import format_fen
from plugins.billing.models import Bill, CreditNote, Payment
from plugins.billing.service.bills import (
    DESK_ROLES,
    _ref,
    late_fee_now,
    late_fee_rule,
    local_today,
)
from plugins.billing.service.orders import (
    _apply_payment,
    _close_pending_if_settled,
    close_at_providers,
    record_payment,
    submit_receipt,
)
from plugins.billing.service.receipts import payment_receipt

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from kiosk.context import KioskContext


def record_desk_payment(
    ctx: KioskContext, actor: Actor, bill_id: int, amount_fen: int, method: str = "cash"
) -> Payment:
    """The cashier takes cash or a card payment (whole or partial) for a bill; receipt queued."""
    _can_take_at_desk(actor, method)
    if amount_fen <= 0:
        raise Refused("billing.amount", "A payment must be a positive amount.")
    with ctx.database().write() as session:
        payment, bill = desk_payment_in(ctx, session, actor, bill_id, amount_fen, method)
        submit_receipt(
            ctx,
            session,
            payment_receipt(ctx, session, payment, bill, _(method.capitalize())),
            ctx.kiosk_id,
        )
    close_at_providers(ctx)
    return payment


def _can_take_at_desk(actor: Actor, method: str) -> None:
    """Only the cashier takes money at the desk, in cash or by card."""
    require_role(actor, "take a payment", *DESK_ROLES)
    if method not in ("cash", "card"):
        raise Refused("billing.method", "{method} is not cash or card.", method=method)


def desk_payment_in(
    ctx: KioskContext, session: Session, actor: Actor, bill_id: int, amount_fen: int, method: str
) -> tuple[Payment, Bill]:
    """Take ``amount_fen`` for a bill at the desk inside the caller's transaction (today's late
    fee crystallised first); refused when the bill owes less. No receipt yet."""
    _can_take_at_desk(actor, method)
    bill = session.get(Bill, bill_id)
    if bill is None:
        raise Refused("billing.no_bill", "There is no such bill.")
    fee, _days = late_fee_now(bill, local_today(ctx), late_fee_rule(ctx))
    if not _apply_payment(ctx, session, bill_id, amount_fen, fee):
        raise Refused(
            "billing.too_much",
            "The bill owes {owed}; {amount} is more than that.",
            owed=format_fen(bill.balance_fen + fee),
            amount=format_fen(amount_fen),
        )
    payment = record_payment(
        ctx, session, bill_id, amount_fen, fee, method=method, received_by=actor.label
    )
    _close_pending_if_settled(ctx, session, bill_id, except_order=None)
    audit.record_for(
        ctx,
        session,
        actor,
        "billing.payment.desk",
        f"bill:{bill.number}",
        {
            "amount_fen": amount_fen,
            "late_fee_fen": fee,
            "method": method,
            "receipt": payment.receipt_no,
        },
    )
    return payment, bill


def issue_credit_note(
    ctx: KioskContext, actor: Actor, bill_id: int, amount_fen: int, reason: str
) -> CreditNote:
    """Reduce a bill (红冲) for a stated reason; never below what was paid. Manager only."""
    require_role(actor, "issue a credit note", "manager")
    if amount_fen <= 0 or not reason.strip():
        raise Refused("billing.credit", "A credit note needs a positive amount and a reason.")
    with ctx.database().write() as session:
        result = session.execute(
            update(Bill)
            .where(
                Bill.id == bill_id,
                Bill.charged_fen - Bill.credited_fen - Bill.paid_fen >= amount_fen,
            )
            .values(credited_fen=Bill.credited_fen + amount_fen)
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise Refused("billing.credit_too_much", "A credit note cannot exceed what is owed.")
        bill = session.get(Bill, bill_id)
        assert bill is not None
        session.refresh(bill)
        if bill.balance_fen == 0:
            bill.status, bill.paid_at = "paid", ctx.clock.now()
        note = CreditNote(
            number=_ref("HC", ctx),
            bill_id=bill_id,
            amount_fen=amount_fen,
            reason=reason[:200],
            issued_by=actor.label,
            issued_at=ctx.clock.now(),
        )
        session.add(note)
        session.flush()
        _close_pending_if_settled(ctx, session, bill_id, except_order=None)
        audit.record_for(
            ctx,
            session,
            actor,
            "billing.credit_note",
            f"bill:{bill.number}",
            {"amount_fen": amount_fen, "reason": reason, "number": note.number},
        )
    close_at_providers(ctx)
    return note
