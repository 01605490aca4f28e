"""Paying a bill (shared by QR notifications and the cashier) and QR payment orders: created, notified, polled, expired, superseded."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from kiosk import audit
from kiosk.clock import as_utc
from kiosk.db.models import Unit
from kiosk.errors import Refused
from kiosk.i18n import N_, _
from kiosk.identity import Actor, require_role
from kiosk.money import format_fen
from kiosk.notify import raise_alert
from kiosk.printing import submit
from plugins.billing.models import (
    Bill,
    BillLine,
    CreditNote,
    NoticeLog,
    Payment,
    PaymentOrder,
)
from plugins.billing.providers import (
    BUILTIN,
    NotificationRejected,
    OrderState,
    PaidNotice,
    ProviderError,
)
from plugins.billing.service.bills import (
    DESK_ROLES,
    _ref,
    config,
    late_fee_now,
    late_fee_rule,
    local_today,
    order_lifetime,
    provider,
)

if TYPE_CHECKING:
    from devices.printer import Receipt
    from kiosk.context import KioskContext


# One logger for the billing service, whichever module logs.
log = logging.getLogger("plugins.billing.service")


# -- paying a bill (shared by QR notifications and the cashier) -------------------------------


def _apply_payment(
    ctx: KioskContext,
    session: Session,
    bill_id: int,
    amount_fen: int,
    late_fee_fen: int,
) -> bool:
    """Crystallise ``late_fee_fen`` as a line and take ``amount_fen``, in one conditional
    update: False (nothing changed) when the bill owes less than that by now."""
    now, today = ctx.clock.now(), local_today(ctx)
    owed_after = Bill.charged_fen + late_fee_fen - Bill.credited_fen - Bill.paid_fen - amount_fen
    result = session.execute(
        update(Bill)
        .where(Bill.id == bill_id, owed_after >= 0)
        .values(
            charged_fen=Bill.charged_fen + late_fee_fen,
            late_fee_fen=Bill.late_fee_fen + late_fee_fen,
            paid_fen=Bill.paid_fen + amount_fen,
            late_fee_through=today,
            # Settled by this payment -> paid, in the same statement.
            status=case((owed_after == 0, "paid"), else_=Bill.status),
            paid_at=case((owed_after == 0, now), else_=Bill.paid_at),
        )
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    if late_fee_fen:
        session.add(
            BillLine(
                bill_id=bill_id,
                kind="late_fee",
                description=f"late fee to {today.isoformat()}",
                amount_fen=late_fee_fen,
                created_at=now,
            )
        )
    session.flush()
    return True


def _payment_receipt(
    ctx: KioskContext, session: Session, payment: Payment, bill: Bill, method_label: str
) -> Receipt:
    from devices.printer import Receipt

    unit = session.get(Unit, bill.unit_id)  # the bill was refreshed after the payment
    receipt = (
        Receipt()
        .title(_("Payment receipt"))
        .row(_("Estate"), ctx.settings.estate.name)
        .row(_("Unit"), unit.code if unit else "")
        .row(_("Bill"), bill.number)
        .row(_("Period"), bill.period)
        .row(_("Receipt no."), payment.receipt_no)
        .row(_("Paid by"), method_label)
    )
    if payment.late_fee_fen:
        receipt.row(_("Late fee"), format_fen(payment.late_fee_fen))
    receipt.row(_("Amount paid"), format_fen(payment.amount_fen))
    receipt.row(_("Still owed"), format_fen(bill.balance_fen))
    receipt.row(_("Time"), _local(ctx, payment.paid_at))
    receipt.rule()
    receipt.qr(receipt_url(ctx, payment.receipt_no))
    receipt.text(_("Scan for the e-receipt."), align="center")
    return receipt.cut()


def receipt_url(ctx: KioskContext, receipt_no: str) -> str:
    """Where the e-invoice / e-receipt for ``receipt_no`` is found (configurable)."""
    pattern = str(config(ctx).get("receipt_url", "https://estate.invalid/r/{receipt_no}"))
    return pattern.format(receipt_no=receipt_no)


def _local(ctx: KioskContext, at: dt.datetime) -> str:
    return ctx.local_time(at)


def record_desk_payment(
    ctx: KioskContext, actor: Actor, bill_id: int, amount_fen: int, method: str = "cash"
) -> Payment:
    """The cashier takes cash or a card payment (whole or partial) for a bill; receipt queued."""
    require_role(actor, "take a payment", *DESK_ROLES)
    if method not in ("cash", "card"):
        raise Refused("billing.method", "{method} is not cash or card.", method=method)
    if amount_fen <= 0:
        raise Refused("billing.amount", "A payment must be a positive amount.")
    with ctx.database().write() as session:
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
        payment = Payment(
            receipt_no=_ref("SK", ctx),
            bill_id=bill_id,
            method=method,
            amount_fen=amount_fen,
            late_fee_fen=fee,
            received_by=actor.label,
            paid_at=ctx.clock.now(),
        )
        session.add(payment)
        session.flush()
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
        submit(
            session,
            _payment_receipt(ctx, session, payment, bill, _(method.capitalize())),
            kind="billing-payment",
            at=ctx.clock.now(),
            kiosk_id=ctx.kiosk_id,
        )
    close_at_providers(ctx)
    return payment


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


# -- QR payment orders -----------------------------------------------------------------------


@dataclass(frozen=True)
class OrderView:
    out_trade_no: str
    provider: str
    bill_number: str
    amount_fen: int
    late_fee_fen: int
    qr_content: str
    status: str
    expires_at: dt.datetime
    flag: str = ""
    receipt_no: str = ""


def _order_view(session: Session, order: PaymentOrder) -> OrderView:
    bill = session.get(Bill, order.bill_id)
    payment = session.scalar(select(Payment).where(Payment.order_id == order.id))
    return OrderView(
        out_trade_no=order.out_trade_no,
        provider=order.provider,
        bill_number=bill.number if bill else "",
        amount_fen=order.amount_fen,
        late_fee_fen=order.late_fee_fen,
        qr_content=order.qr_content,
        status=order.status,
        expires_at=as_utc(order.expires_at),
        flag=order.flag,
        receipt_no=payment.receipt_no if payment else "",
    )


def _chosen_lines(session: Session, bill: Bill, line_ids: Sequence[int]) -> int:
    """What the chosen lines of ``bill`` come to; refused when one is not on it or was paid."""
    lines = session.scalars(
        select(BillLine).where(BillLine.id.in_(set(line_ids)), BillLine.bill_id == bill.id)
    ).all()
    if len(lines) != len(set(line_ids)) or any(ln.kind == "late_fee" for ln in lines):
        raise Refused("billing.no_line", "This charge is not on bill {number}.", number=bill.number)
    if any(ln.paid_fen for ln in lines):
        raise Refused("billing.settled", "Bill {number} is already paid.", number=bill.number)
    return sum(ln.amount_fen for ln in lines)


def create_payment_order(
    ctx: KioskContext,
    actor: Actor,
    bill_id: int,
    provider_name: str = "sim",
    line_ids: Sequence[int] = (),
) -> OrderView:
    """A QR payment order for everything the bill owes today (late fee included), or, with
    ``line_ids``, for exactly those charges of the bill (a parking renewal alone; the late
    fee and the other lines stay on the bill).

    The provider is asked first (outside any transaction: it may be a network call); the order
    is then stored pending, expiring after ``order_minutes`` (120). Several kiosks may hold
    orders for the same bill; the first one paid closes the others it overlaps.
    """
    prov = provider(ctx, provider_name)
    today, rule, now = local_today(ctx), late_fee_rule(ctx), ctx.clock.now()
    with ctx.database().read() as session:
        bill = session.get(Bill, bill_id)
        if bill is None:
            raise Refused("billing.no_bill", "There is no such bill.")
        if actor.kind == "resident" and actor.unit_id != bill.unit_id:
            raise Refused("billing.not_yours", "This bill belongs to another unit.")
        if actor.kind == "staff":
            require_role(actor, "create a payment order", *DESK_ROLES, "butler")
        if bill.balance_fen <= 0:
            raise Refused("billing.settled", "Bill {number} is already paid.", number=bill.number)
        if line_ids:
            fee, amount = 0, _chosen_lines(session, bill, line_ids)
        else:
            fee, _days = late_fee_now(bill, today, rule)
            amount = bill.balance_fen + fee
        number, unit_id = bill.number, bill.unit_id
    out_trade_no = f"KO{now:%Y%m%d%H%M%S}{secrets.token_hex(4).upper()}"
    expires = now + order_lifetime(ctx)
    try:
        created = prov.create_order(
            out_trade_no=out_trade_no,
            amount_fen=amount,
            description=f"{ctx.settings.estate.name} {number}",
            bill_number=number,
            expires_at=expires,
        )
    except ProviderError as exc:
        log.warning("create order at %s failed: %s", provider_name, exc)
        raise Refused(
            "billing.provider_down",
            "The payment service is not answering; please pay at the desk or try again.",
        ) from None
    with ctx.database().write() as session:
        # Another kiosk (or the cashier) may have changed the bill while the provider answered.
        fresh = session.get(Bill, bill_id, populate_existing=True)
        if fresh is not None and line_ids:
            try:
                unchanged = _chosen_lines(session, fresh, line_ids) == amount
            except Refused:
                unchanged = False
            unchanged = unchanged and fresh.balance_fen >= amount
        else:
            unchanged = fresh is not None and fresh.balance_fen + fee == amount
        if fresh is not None and fresh.balance_fen > 0 and unchanged:
            order = PaymentOrder(
                out_trade_no=out_trade_no,
                bill_id=bill_id,
                unit_id=unit_id,
                line_ids=",".join(str(i) for i in sorted(set(line_ids))),
                provider=provider_name,
                amount_fen=amount,
                late_fee_fen=fee,
                status="pending",
                qr_content=created.qr_content,
                provider_order_id=created.provider_order_id,
                kiosk_id=ctx.kiosk_id,
                created_at=now,
                expires_at=expires,
            )
            session.add(order)
            session.flush()
            audit.record_for(
                ctx,
                session,
                actor,
                "billing.order.created",
                f"order:{out_trade_no}",
                {
                    "bill": number,
                    "amount_fen": amount,
                    "late_fee_fen": fee,
                    "provider": provider_name,
                    "lines": sorted(set(line_ids)),
                },
            )
            return _order_view(session, order)
    try:
        prov.close(out_trade_no)
    except ProviderError as exc:
        log.warning("closing %s at %s failed: %s", out_trade_no, provider_name, exc)
    raise Refused(
        "billing.changed",
        "Bill {number} was just paid or changed elsewhere; please look again.",
        number=number,
    )


def order_status(ctx: KioskContext, out_trade_no: str) -> OrderView:
    with ctx.database().read() as session:
        order = session.scalar(
            select(PaymentOrder).where(PaymentOrder.out_trade_no == out_trade_no)
        )
        if order is None:
            raise Refused("billing.no_order", "There is no such payment order.")
        return _order_view(session, order)


@dataclass(frozen=True)
class NoticeOutcome:
    """What happened to a notification: ``paid``, ``duplicate``, ``flagged``, ``rejected``."""

    verdict: str
    http_status: int
    reply: bytes
    out_trade_no: str = ""
    detail: str = ""


def handle_notification(
    ctx: KioskContext, provider_name: str, headers: Mapping[str, str], body: bytes
) -> NoticeOutcome:
    """Verify and apply a provider's payment notification (what the notify endpoint calls).

    Forged, tampered, replayed or malformed notices are rejected and counted: the first of a
    minute per provider is recorded and audited, the rest as one summary (a flood of forgeries
    costs constant rows, see :func:`flush_rejections`). A verified notice
    pays its order exactly once; a repeat is a harmless ``duplicate``; an amount that differs
    from the order, or money for an order already closed, is ``flagged`` for the desk.
    """
    prov = provider(ctx, provider_name)
    try:
        notice = prov.verify_notification(headers, body)
    except NotificationRejected as exc:
        _note_rejection(ctx, provider_name, exc.reason)
        status, reply = prov.notification_reply(False)
        return NoticeOutcome("rejected", status, reply, detail=exc.reason)
    verdict, detail = apply_paid_notice(ctx, provider_name, notice)
    status, reply = prov.notification_reply(verdict != "rejected")
    return NoticeOutcome(verdict, status, reply, notice.out_trade_no, detail)


REJECT_WINDOW = dt.timedelta(minutes=1)


@dataclass
class _Rejections:
    """Rejected notices of one window per provider: the first is recorded (a notice row and
    an audit event), the rest only counted and recorded as one summary when the window ends."""

    since: dict[str, dt.datetime] = field(default_factory=dict)
    more: dict[str, int] = field(default_factory=dict)
    last: dict[str, str] = field(default_factory=dict)


_rejections: dict[int, tuple[Any, _Rejections]] = {}
_rejections_lock = threading.Lock()


def _rejections_of(ctx: KioskContext) -> _Rejections:
    for key in [k for k, v in _rejections.items() if v[0]() is None]:
        del _rejections[key]
    entry = _rejections.get(id(ctx))
    if entry is None or entry[0]() is not ctx:
        entry = (weakref.ref(ctx), _Rejections())
        _rejections[id(ctx)] = entry
    return entry[1]


def _note_rejection(ctx: KioskContext, provider_name: str, reason: str) -> None:
    """Count a rejected notice: a flood of forgeries costs O(1) rows per window, not one row
    and one audit event each (a disk filler). The first of a window is recorded at once."""
    now = ctx.clock.now()
    with _rejections_lock:
        r = _rejections_of(ctx)
        since = r.since.get(provider_name)
        first = since is None or now - since >= REJECT_WINDOW
        summary = _take_summary(r, provider_name) if first else None
        if first:
            r.since[provider_name], r.more[provider_name] = now, 0
        else:
            r.more[provider_name] = r.more.get(provider_name, 0) + 1
            r.last[provider_name] = reason
    if first or summary:
        with ctx.database().write() as session:
            if summary:
                _write_summary(ctx, session, provider_name, *summary)
            if first:
                log.warning("notification for %s rejected: %s", provider_name, reason[:100])
                _write_rejection(ctx, session, provider_name, reason, {"reason": reason})


def _take_summary(r: _Rejections, provider_name: str) -> tuple[int, dt.datetime, str] | None:
    n = r.more.get(provider_name, 0)
    if not n:
        return None
    r.more[provider_name] = 0
    return n, r.since[provider_name], r.last.get(provider_name, "")


def _write_summary(
    ctx: KioskContext,
    session: Session,
    provider_name: str,
    n: int,
    since: dt.datetime,
    last: str,
) -> None:
    log.warning("%d more notifications for %s rejected since %s", n, provider_name, since)
    _write_rejection(
        ctx,
        session,
        provider_name,
        f"{n} more rejected since {as_utc(since).isoformat(timespec='seconds')}; last: {last}",
        {"suppressed": n, "since": as_utc(since).isoformat(), "reason": last},
    )


def _write_rejection(
    ctx: KioskContext, session: Session, provider_name: str, detail: str, data: dict[str, Any]
) -> None:
    session.add(
        NoticeLog(
            provider=provider_name,
            received_at=ctx.clock.now(),
            verdict="rejected",
            detail=detail[:300],
        )
    )
    audit.record_for(
        ctx,
        session,
        f"provider:{provider_name}",
        "billing.notice.rejected",
        f"provider:{provider_name}",
        data,
    )


def flush_rejections(ctx: KioskContext) -> int:
    """Record the rejected notices counted but not yet written (one row per provider); the
    notify server calls it every minute and when it stops. Returns how many were counted."""
    with _rejections_lock:
        r = _rejections_of(ctx)
        pending = {name: _take_summary(r, name) for name in list(r.since)}
        r.since.clear()
    todo = {name: s for name, s in pending.items() if s}
    if todo:
        with ctx.database().write() as session:
            for name, (n, since, last) in todo.items():
                _write_summary(ctx, session, name, n, since, last)
    return sum(s[0] for s in todo.values())


def apply_paid_notice(ctx: KioskContext, provider_name: str, notice: PaidNotice) -> tuple[str, str]:
    """Apply a verified notice (from a notification or a query); (verdict, detail)."""
    now = ctx.clock.now()
    with ctx.database().write() as session:
        # Lock order: the bill first, then its orders, the same as a desk payment; otherwise
        # two notices for two orders of one bill deadlock on PostgreSQL.
        # (SQLite needs no row lock: its write transactions are serialised by BEGIN IMMEDIATE.)
        if session.get_bind().dialect.name == "postgresql":
            bill_id = session.scalar(
                select(PaymentOrder.bill_id).where(PaymentOrder.out_trade_no == notice.out_trade_no)
            )
            if bill_id is not None:
                session.execute(select(Bill.id).where(Bill.id == bill_id).with_for_update())
        won = session.execute(
            update(PaymentOrder)
            .where(
                PaymentOrder.out_trade_no == notice.out_trade_no,
                PaymentOrder.provider == provider_name,
                PaymentOrder.status == "pending",
                PaymentOrder.amount_fen == notice.amount_fen,
            )
            .values(
                status="paid",
                provider_txn_id=notice.txn_id,
                notified_amount_fen=notice.amount_fen,
                paid_at=now,
            )
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        order = session.scalar(
            select(PaymentOrder)
            .where(PaymentOrder.out_trade_no == notice.out_trade_no)
            .execution_options(populate_existing=True)
        )
        closed: list[str] = []
        if won:
            assert order is not None
            verdict, detail = _settle_order(ctx, session, order, notice, closed)
        else:
            verdict, detail = _not_won(ctx, session, provider_name, order, notice)
        session.add(
            NoticeLog(
                provider=provider_name,
                received_at=now,
                verdict=verdict,
                out_trade_no=notice.out_trade_no[:40],
                txn_id=notice.txn_id[:64],
                amount_fen=notice.amount_fen,
                detail=detail[:300],
            )
        )
    if closed:  # after the commit: the provider may be slow
        close_at_providers(ctx)
    return verdict, detail


def _settle_order(
    ctx: KioskContext,
    session: Session,
    order: PaymentOrder,
    notice: PaidNotice,
    closed: list[str],
) -> tuple[str, str]:
    bill = session.get(Bill, order.bill_id)
    assert bill is not None
    lines = order_lines(order)
    # An order for chosen charges takes them first, each once: a second order for the same
    # charge (another kiosk) finds them paid and is flagged for a refund like a settled bill.
    taken = lines and _take_lines(session, lines)
    if (lines and not taken) or not _apply_payment(
        ctx, session, order.bill_id, order.amount_fen, order.late_fee_fen
    ):
        if taken:
            _release_lines(session, lines)
        # Paid at the desk (or by another order) meanwhile: the money must go back, and the
        # order is not "paid" (no receipt, nothing applied) but closed with a flag.
        order.flag = "bill_already_paid"
        order.status = "closed"
        order.close_reason = "bill_already_paid"
        order.closed_at = ctx.clock.now()
        _flag_alert(
            ctx, session, order, N_("payment order {order}: bill already settled; refund needed")
        )
        audit.record_for(
            ctx,
            session,
            f"provider:{order.provider}",
            "billing.order.flagged",
            f"order:{order.out_trade_no}",
            {"flag": order.flag, "txn": notice.txn_id, "amount_fen": notice.amount_fen},
        )
        return "flagged", order.flag
    payment = Payment(
        receipt_no=_ref("SK", ctx),
        bill_id=order.bill_id,
        order_id=order.id,
        method="qr",
        provider=order.provider,
        amount_fen=order.amount_fen,
        late_fee_fen=order.late_fee_fen,
        received_by=f"provider:{order.provider}",
        paid_at=ctx.clock.now(),
    )
    session.add(payment)
    session.flush()
    closed += _close_pending_if_settled(ctx, session, order.bill_id, except_order=order.id)
    if lines:
        closed += _close_overlapping(ctx, session, order)
    audit.record_for(
        ctx,
        session,
        f"provider:{order.provider}",
        "billing.order.paid",
        f"order:{order.out_trade_no}",
        {
            "bill": bill.number,
            "amount_fen": order.amount_fen,
            "txn": notice.txn_id,
            "receipt": payment.receipt_no,
            "closed_orders": closed,
        },
    )
    submit(
        session,
        _payment_receipt(ctx, session, payment, bill, provider_label(order.provider)),
        kind="billing-payment",
        at=ctx.clock.now(),
        kiosk_id=order.kiosk_id or ctx.kiosk_id,
    )
    return "paid", payment.receipt_no


def provider_label(name: str) -> str:
    cls = next((c for c in BUILTIN if c.name == name), None)
    return _(cls.label) if cls is not None else name


def _not_won(
    ctx: KioskContext,
    session: Session,
    provider_name: str,
    order: PaymentOrder | None,
    notice: PaidNotice,
) -> tuple[str, str]:
    actor = f"provider:{provider_name}"
    subject = f"order:{notice.out_trade_no}"
    if order is None or order.provider != provider_name:
        audit.record_for(
            ctx, session, actor, "billing.notice.rejected", subject, {"reason": "unknown order"}
        )
        return "rejected", "unknown order"
    if order.provider_txn_id == notice.txn_id:
        return "duplicate", order.status
    if order.provider_txn_id is not None:
        _flag_alert(
            ctx,
            session,
            order,
            N_("payment order {order}: a second payment {txn} for one order"),
            txn=notice.txn_id,
        )
        audit.record_for(
            ctx,
            session,
            actor,
            "billing.order.flagged",
            subject,
            {"flag": "second_payment", "txn": notice.txn_id, "amount_fen": notice.amount_fen},
        )
        return "flagged", "second_payment"
    # Money arrived for an order that cannot take it: wrong amount, or already closed.
    flag = "amount_mismatch" if order.status == "pending" else "paid_after_close"
    changed = session.execute(
        update(PaymentOrder)
        .where(PaymentOrder.id == order.id, PaymentOrder.provider_txn_id.is_(None))
        .values(
            status="closed",
            close_reason=order.close_reason or flag,
            closed_at=order.closed_at or ctx.clock.now(),
            flag=flag,
            provider_txn_id=notice.txn_id,
            notified_amount_fen=notice.amount_fen,
            paid_at=ctx.clock.now(),  # when the money arrived: reconciliation counts it
        )
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not changed:
        return "duplicate", "flagged before"
    _flag_alert(
        ctx,
        session,
        order,
        N_("payment order {order}: wrong amount: got {got} for {want}")
        if flag == "amount_mismatch"
        else N_("payment order {order}: paid after it was closed: got {got} for {want}"),
        got=format_fen(notice.amount_fen),
        want=format_fen(order.amount_fen),
    )
    audit.record_for(
        ctx,
        session,
        actor,
        "billing.order.flagged",
        subject,
        {
            "flag": flag,
            "txn": notice.txn_id,
            "amount_fen": notice.amount_fen,
            "order_amount_fen": order.amount_fen,
        },
    )
    return "flagged", flag


def _flag_alert(
    ctx: KioskContext, session: Session, order: PaymentOrder, what: str, **values: str
) -> None:
    """``what`` is a message id with ``{order}`` and the ``values``' placeholders."""
    raise_alert(
        session,
        "billing.payment_flagged",
        what,
        params={"order": order.out_trade_no, **values},
        at=ctx.clock.now(),
        severity="warning",
        kiosk_id=order.kiosk_id,
    )


def _close_pending_if_settled(
    ctx: KioskContext, session: Session, bill_id: int, except_order: int | None
) -> list[str]:
    """Once a bill is settled, its other pending orders are closed (a bill is paid once)."""
    bill = session.get(Bill, bill_id)
    assert bill is not None
    session.refresh(bill)
    if bill.balance_fen > 0:
        return []
    q = select(PaymentOrder.out_trade_no).where(
        PaymentOrder.bill_id == bill_id, PaymentOrder.status == "pending"
    )
    if except_order is not None:
        q = q.where(PaymentOrder.id != except_order)
    return _supersede(ctx, session, list(session.scalars(q)))


def _supersede(ctx: KioskContext, session: Session, numbers: list[str]) -> list[str]:
    """Close pending orders another payment made unpayable (the provider is told later)."""
    if numbers:
        session.execute(
            update(PaymentOrder)
            .where(PaymentOrder.out_trade_no.in_(numbers), PaymentOrder.status == "pending")
            .values(status="closed", close_reason=SUPERSEDED, closed_at=ctx.clock.now())
            .execution_options(synchronize_session=False)
        )
    return numbers


def order_lines(order: PaymentOrder) -> list[int]:
    """The bill lines an order pays ([] = the whole bill)."""
    return [int(i) for i in order.line_ids.split(",") if i]


def _take_lines(session: Session, line_ids: list[int]) -> bool:
    """Mark the chosen lines paid: all of them or none. The caller holds the bill (row lock
    on PostgreSQL, BEGIN IMMEDIATE on SQLite), so no other payment moves them meanwhile."""
    unpaid = session.scalar(
        select(func.count())
        .select_from(BillLine)
        .where(BillLine.id.in_(line_ids), BillLine.paid_fen == 0)
    )
    if unpaid != len(line_ids):
        return False
    session.execute(
        update(BillLine)
        .where(BillLine.id.in_(line_ids), BillLine.paid_fen == 0)
        .values(paid_fen=BillLine.amount_fen)
        .execution_options(synchronize_session=False)
    )
    return True


def _release_lines(session: Session, line_ids: list[int]) -> None:
    session.execute(
        update(BillLine)
        .where(BillLine.id.in_(line_ids))
        .values(paid_fen=0)
        .execution_options(synchronize_session=False)
    )


def _close_overlapping(ctx: KioskContext, session: Session, paid: PaymentOrder) -> list[str]:
    """After an order for chosen charges is paid, the bill's pending orders that counted on
    them (a whole-bill order, an order sharing a line) can no longer be paid: close them."""
    mine = set(order_lines(paid))
    pending = session.scalars(
        select(PaymentOrder).where(
            PaymentOrder.bill_id == paid.bill_id,
            PaymentOrder.status == "pending",
            PaymentOrder.id != paid.id,
        )
    ).all()
    return _supersede(
        ctx,
        session,
        [o.out_trade_no for o in pending if not o.line_ids or mine & set(order_lines(o))],
    )


SUPERSEDED = "superseded"  # closed here; the provider still has to be told
SUPERSEDED_DONE = "superseded+provider"


def close_at_providers(ctx: KioskContext) -> int:
    """Tell the providers about orders closed here because their bill was settled, so the
    payer cannot pay a stale QR. Driven by the database (an outbox), so a provider that is
    down now is retried by the next call from any process."""
    with ctx.database().read() as session:
        todo = list(
            session.execute(
                select(PaymentOrder.out_trade_no, PaymentOrder.provider).where(
                    PaymentOrder.status == "closed", PaymentOrder.close_reason == SUPERSEDED
                )
            )
        )
    done = 0
    for no, prov_name in todo:
        try:
            provider(ctx, prov_name).close(no)
        except (ProviderError, Refused) as exc:
            log.warning("closing %s at %s failed: %s", no, prov_name, exc)
            continue
        with ctx.database().write() as session:
            session.execute(
                update(PaymentOrder)
                .where(PaymentOrder.out_trade_no == no, PaymentOrder.close_reason == SUPERSEDED)
                .values(close_reason=SUPERSEDED_DONE)
                .execution_options(synchronize_session=False)
            )
        done += 1
    return done


def poll_order(ctx: KioskContext, out_trade_no: str) -> OrderView:
    """Ask the provider about a pending order (the kiosk polls while the QR is shown, so a
    payment lands even when the notification never reaches an on-premises kiosk)."""
    current = order_status(ctx, out_trade_no)
    if current.status != "pending":
        return current
    state = _bound(
        provider(ctx, current.provider).query(out_trade_no), out_trade_no, current.amount_fen
    )
    if state.status == "paid":
        apply_paid_notice(
            ctx,
            current.provider,
            PaidNotice(
                out_trade_no, state.txn_id, state.amount_fen, state.paid_at or ctx.clock.now()
            ),
        )
        close_at_providers(ctx)
    return order_status(ctx, out_trade_no)


def _bound(state: OrderState, out_trade_no: str, amount_fen: int) -> OrderState:
    """A provider's "paid" answer counts only for the order's own amount (the provider checked
    it is about this order number): an answer for another amount is not this order's."""
    if state.status == "paid" and state.amount_fen != amount_fen:
        log.warning(
            "query of %s answered paid for %s, the order is for %s: ignored",
            out_trade_no,
            state.amount_fen,
            amount_fen,
        )
        return OrderState("unknown")
    return state


def expire_orders(ctx: KioskContext) -> list[str]:
    """Close pending orders past their expiry. Each is queried first: one paid at the last
    minute is applied, not closed. Returns the numbers closed."""
    now = ctx.clock.now()
    with ctx.database().read() as session:
        due = list(
            session.execute(
                select(
                    PaymentOrder.out_trade_no, PaymentOrder.provider, PaymentOrder.amount_fen
                ).where(PaymentOrder.status == "pending", PaymentOrder.expires_at <= now)
            )
        )
    closed = []
    for no, prov_name, amount_fen in due:
        prov = provider(ctx, prov_name)
        state = _bound(prov.query(no), no, amount_fen)
        if state.status == "paid":
            apply_paid_notice(
                ctx, prov_name, PaidNotice(no, state.txn_id, state.amount_fen, state.paid_at or now)
            )
            continue
        try:
            prov.close(no)
        except ProviderError as exc:
            log.warning("closing %s at %s failed: %s", no, prov_name, exc)
        with ctx.database().write() as session:
            changed = session.execute(
                update(PaymentOrder)
                .where(PaymentOrder.out_trade_no == no, PaymentOrder.status == "pending")
                .values(status="closed", close_reason="expired", closed_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            if changed:
                audit.record_for(ctx, session, "system", "billing.order.expired", f"order:{no}", {})
                closed.append(no)
    close_at_providers(ctx)
    return closed


def cancel_order(ctx: KioskContext, out_trade_no: str) -> OrderView:
    """The payer pressed Cancel on the QR screen: close the pending order here and at its
    provider, so the code on screen can no longer be paid. The provider is asked first: an
    order paid at the last second is applied, not closed (its view then says "paid")."""
    current = order_status(ctx, out_trade_no)
    if current.status != "pending":
        return current
    prov = provider(ctx, current.provider)
    try:
        state = _bound(prov.query(out_trade_no), out_trade_no, current.amount_fen)
    except ProviderError as exc:
        log.warning("query of %s at %s failed: %s", out_trade_no, current.provider, exc)
        state = OrderState("unknown")
    if state.status == "paid":
        now = ctx.clock.now()
        apply_paid_notice(
            ctx,
            current.provider,
            PaidNotice(out_trade_no, state.txn_id, state.amount_fen, state.paid_at or now),
        )
        close_at_providers(ctx)
        return order_status(ctx, out_trade_no)
    try:
        prov.close(out_trade_no)
    except ProviderError as exc:
        log.warning("closing %s at %s failed: %s", out_trade_no, current.provider, exc)
    with ctx.database().write() as session:
        changed = session.execute(
            update(PaymentOrder)
            .where(PaymentOrder.out_trade_no == out_trade_no, PaymentOrder.status == "pending")
            .values(status="closed", close_reason="cancelled", closed_at=ctx.clock.now())
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if changed:
            audit.record_for(
                ctx, session, "system", "billing.order.cancelled", f"order:{out_trade_no}", {}
            )
    return order_status(ctx, out_trade_no)
