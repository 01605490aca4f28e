"""Refunds of payments at the provider or in cash, and settling those left unconfirmed."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update

from kiosk import audit
from kiosk.errors import Refused
from kiosk.identity import Actor, require_role
from kiosk.writes import change_once
from plugins.billing.models import (
    Bill,
    Payment,
    PaymentOrder,
    Refund,
)
from plugins.billing.providers import (
    PaymentProvider,
    ProviderError,
)
from plugins.billing.service.bills import _ref, config, provider

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from kiosk.context import KioskContext


# One logger for the billing service, whichever module logs.
log = logging.getLogger("plugins.billing.service")


# -- refunds ---------------------------------------------------------------------------------


REFUND_OPEN = ("requested", "processing")  # not settled at the provider yet
REFUND_RESOLVE_MINUTES = 10


def refund_payment(
    ctx: KioskContext, actor: Actor, payment_id: int, amount_fen: int, reason: str
) -> Refund:
    """Give money back for a payment (manager only): at the provider for QR payments, in
    cash for desk payments. The bill owes the refunded amount again.

    A QR refund gets its number (``out_refund_no``) once, before the provider is asked, and
    keeps it: when the provider's answer is lost (a timeout after it refunded), the refund
    stays ``requested``, its state is asked of the provider, and it is only ever sent again
    with the same number (providers refund a number once). Only a refund the provider never
    received, or refused, is ``failed`` and undone. Returns the refund (``done``,
    ``processing`` or ``requested``); a failed one is a refusal."""
    require_role(actor, "refund a payment", "manager")
    if amount_fen <= 0 or not reason.strip():
        raise Refused("billing.refund", "A refund needs a positive amount and a reason.")
    with ctx.database().read() as session:
        payment = session.get(Payment, payment_id)
        if payment is None:
            raise Refused("billing.no_payment", "There is no such payment.")
        order = session.get(PaymentOrder, payment.order_id) if payment.order_id else None
    refund_no = _ref("TK", ctx)
    with ctx.database().write() as session:
        change_once(
            session,
            update(Payment)
            .where(
                Payment.id == payment_id,
                Payment.amount_fen - Payment.refunded_fen >= amount_fen,
            )
            .values(refunded_fen=Payment.refunded_fen + amount_fen)
            .execution_options(synchronize_session=False),
            Refused("billing.refund_too_much", "A refund cannot exceed what was paid."),
        )
        # After the update (which locks the payment's row): one unconfirmed refund at a time,
        # so a manager retrying a refund whose answer was lost cannot send a second one.
        if order is not None and session.scalar(
            select(func.count())
            .select_from(Refund)
            .where(Refund.payment_id == payment_id, Refund.status == "requested")
        ):
            raise Refused(
                "billing.refund_unconfirmed",
                "A refund of this payment is still waiting for the payment service's answer; it is settled under its own number by: kiosk billing refunds resolve",
            )
        session.execute(
            update(Bill)
            .where(Bill.id == payment.bill_id)
            .values(paid_fen=Bill.paid_fen - amount_fen, status="open", paid_at=None)
            .execution_options(synchronize_session=False)
        )
        refund = Refund(
            refund_no=refund_no,
            payment_id=payment_id,
            order_id=order.id if order else None,
            amount_fen=amount_fen,
            reason=reason[:200],
            status="requested" if order else "done",
            refunded_by=actor.label,
            refunded_at=ctx.clock.now(),
        )
        session.add(refund)
        session.flush()
        audit.record_for(
            ctx,
            session,
            actor,
            "billing.refund",
            f"payment:{payment.receipt_no}",
            {"amount_fen": amount_fen, "reason": reason, "refund_no": refund_no},
        )
    if order is not None:
        status = _send_refund(ctx, actor, refund_no, resend=False)
        if status == "failed":
            raise Refused(
                "billing.refund_failed",
                "The payment service did not take the refund; nothing was refunded. Try again later.",
            )
    with ctx.database().read() as session:
        row = session.scalar(select(Refund).where(Refund.refund_no == refund_no))
        assert row is not None
        return row


def _send_refund(ctx: KioskContext, actor: Actor | str, refund_no: str, *, resend: bool) -> str:
    """Ask the provider for refund ``refund_no`` (always that number) and record what is known:
    returns ``done``, ``processing``, ``failed`` or ``requested`` (not known yet).

    ``resend``: an earlier attempt's outcome is unknown, so the provider is asked about the
    number first and it is sent again only when the provider never received it."""
    with ctx.database().read() as session:
        found = session.execute(
            select(Refund, PaymentOrder)
            .join(PaymentOrder, Refund.order_id == PaymentOrder.id)
            .where(Refund.refund_no == refund_no)
        ).first()
    if found is None:
        return "failed"
    refund, order = found
    total = order.amount_fen if refund.payment_id is not None else refund.amount_fen
    try:
        prov = provider(ctx, order.provider)
    except Refused:
        log.warning("refund %s: provider %s is not configured", refund_no, order.provider)
        return refund.status
    if resend:
        state = _ask_refund(prov, order.out_trade_no, refund_no)
        if state in ("done", "processing", "failed"):
            return _record_refund(ctx, actor, refund_no, state)
        if state == "unknown" or refund.status != "requested":
            return refund.status
        # absent: the provider never received it; send it (again) with the same number.
    try:
        status = prov.refund(
            out_trade_no=order.out_trade_no,
            refund_no=refund_no,
            amount_fen=refund.amount_fen,
            total_fen=total,
            reason=refund.reason,
        )
    except (ProviderError, ValueError, KeyError) as exc:
        log.warning("refund %s at %s: %s", refund_no, order.provider, exc)
        sure = isinstance(exc, ProviderError) and not exc.ambiguous
        refused = isinstance(exc, ProviderError) and exc.refused
        if sure and (refused or not resend):
            # Nothing left the estate's account: refused, or (first attempt) never sent.
            return _record_refund(ctx, actor, refund_no, "failed")
        if sure:
            return "requested"  # unreachable now; the next resolve tries again
        # The provider may have refunded: ask it, never assume either way.
        state = _ask_refund(prov, order.out_trade_no, refund_no)
        if state in ("done", "processing", "failed"):
            return _record_refund(ctx, actor, refund_no, state)
        _audit_refund(ctx, actor, refund_no, "requested")
        return "requested"
    return _record_refund(ctx, actor, refund_no, status if status in REFUND_OPEN else "done")


def _ask_refund(prov: PaymentProvider, out_trade_no: str, refund_no: str) -> str:
    """The provider's state of a refund, ``unknown`` when it cannot tell now."""
    try:
        return prov.refund_state(out_trade_no, refund_no)
    except NotImplementedError:
        return "absent"  # a provider without the query: resending the same number is safe
    except (ProviderError, ValueError, KeyError) as exc:
        log.warning("refund %s: state not known: %s", refund_no, exc)
        return "unknown"


def _audit_refund(ctx: KioskContext, actor: Actor | str, refund_no: str, status: str) -> None:
    with ctx.database().write() as session:
        _audit_refund_in(ctx, session, actor, refund_no, status)


def _audit_refund_in(
    ctx: KioskContext, session: Session, actor: Actor | str, refund_no: str, status: str
) -> None:
    """The provider's answer about a refund, in the audit log."""
    audit.record_for(
        ctx, session, actor, "billing.refund.provider", f"refund:{refund_no}", {"status": status}
    )


def _record_refund(ctx: KioskContext, actor: Actor | str, refund_no: str, status: str) -> str:
    """Record the provider's answer for an open refund, once (a conditional update); a failed
    refund gives its reservation back: the payment's refundable amount and the bill's payment
    (or, for a flagged order, the flag)."""
    with ctx.database().write() as session:
        changed = session.execute(
            update(Refund)
            .where(Refund.refund_no == refund_no, Refund.status.in_(REFUND_OPEN))
            .values(status=status)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        refund = session.scalar(
            select(Refund)
            .where(Refund.refund_no == refund_no)
            .execution_options(populate_existing=True)
        )
        assert refund is not None
        if not changed:
            return refund.status  # settled meanwhile by another process
        if status == "failed":
            if refund.payment_id is not None:
                payment = session.get(Payment, refund.payment_id)
                assert payment is not None
                session.execute(
                    update(Payment)
                    .where(Payment.id == refund.payment_id)
                    .values(refunded_fen=Payment.refunded_fen - refund.amount_fen)
                    .execution_options(synchronize_session=False)
                )
                session.execute(
                    update(Bill)
                    .where(Bill.id == payment.bill_id)
                    .values(paid_fen=Bill.paid_fen + refund.amount_fen)
                    .execution_options(synchronize_session=False)
                )
                bill = session.get(Bill, payment.bill_id, populate_existing=True)
                if bill is not None and bill.balance_fen == 0:
                    bill.status, bill.paid_at = "paid", ctx.clock.now()
            elif refund.order_id is not None:
                order = session.get(PaymentOrder, refund.order_id)
                if order is not None and order.flag.endswith(":refunded"):
                    order.flag = order.flag[: -len(":refunded")]
        _audit_refund_in(ctx, session, actor, refund_no, status)
        return status


@dataclass(frozen=True)
class RefundResolution:
    refund_no: str
    out_trade_no: str
    amount_fen: int
    before: str
    after: str


def resolve_refunds(
    ctx: KioskContext, older_than: dt.timedelta | None = None
) -> list[RefundResolution]:
    """Settle refunds still open at the provider (``requested``: the answer was lost or the
    process died midway; ``processing``): each is asked of its provider and recorded, and a
    ``requested`` one the provider never received is sent again with its own number. Only
    refunds older than ``older_than`` (``refund_resolve_minutes``, 10) are looked at, so one
    being sent right now is left alone. Run by ``kiosk billing refunds resolve``, the notify
    server every minute and the kiosk at start."""
    if older_than is None:
        minutes = int(config(ctx).get("refund_resolve_minutes", REFUND_RESOLVE_MINUTES))
        older_than = dt.timedelta(minutes=minutes)
    cutoff = ctx.clock.now() - older_than
    with ctx.database().read() as session:
        rows = session.execute(
            select(Refund.refund_no, Refund.status, Refund.amount_fen, PaymentOrder.out_trade_no)
            .join(PaymentOrder, Refund.order_id == PaymentOrder.id)
            .where(Refund.status.in_(REFUND_OPEN), Refund.refunded_at <= cutoff)
            .order_by(Refund.id)
        ).all()
    out = []
    for refund_no, before, amount, out_trade_no in rows:
        after = _send_refund(ctx, "system", refund_no, resend=True)
        out.append(RefundResolution(refund_no, out_trade_no, amount, before, after))
    return out


def refund_flagged_order(ctx: KioskContext, actor: Actor, out_trade_no: str, reason: str) -> str:
    """Return money received for a flagged order (wrong amount, paid after close, bill
    already settled) at its provider. Manager only; returns the refund's status (``done``,
    ``processing``, ``requested`` while the provider's answer is not known, ``failed``)."""
    require_role(actor, "refund a payment", "manager")
    with ctx.database().write() as session:
        order = session.scalar(
            select(PaymentOrder).where(PaymentOrder.out_trade_no == out_trade_no)
        )
        if order is None or not order.flag or order.flag.endswith(":refunded"):
            raise Refused("billing.not_flagged", "Only flagged payments are refunded this way.")
        amount = order.notified_amount_fen or order.amount_fen
        refund_no = _ref("TK", ctx)
        change_once(
            session,
            update(PaymentOrder)
            .where(PaymentOrder.id == order.id, PaymentOrder.flag == order.flag)
            .values(flag=order.flag + ":refunded")
            .execution_options(synchronize_session=False),
            Refused("billing.not_flagged", "Only flagged payments are refunded this way."),
        )
        session.add(
            Refund(
                refund_no=refund_no,
                order_id=order.id,
                amount_fen=amount,
                reason=reason[:200],
                status="requested",
                refunded_by=actor.label,
                refunded_at=ctx.clock.now(),
            )
        )
        audit.record_for(
            ctx,
            session,
            actor,
            "billing.refund.flagged",
            f"order:{out_trade_no}",
            {"amount_fen": amount, "refund_no": refund_no},
        )
    return _send_refund(ctx, actor, refund_no, resend=False)
