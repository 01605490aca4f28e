"""Billing service: headless (no textual), used by the kiosk screens, the desk, the CLI and
other plugins alike.

Not for other plugins: they charge through the core (:func:`kiosk.charges.charge`, which
reaches :func:`add_charge_in` through the ``kiosk_charge`` hook) and use
:mod:`plugins.billing.api` for the rest (docs/billing.md).

- :func:`add_charge` / :func:`add_charge_in` — put a charge line (umbrella compensation, repair
  charge, parking rent, ...) on a unit's bill for a month; idempotent on ``source_ref``.
- :func:`create_payment_order` — a QR payment order for a bill, or for chosen lines of it.
- :func:`take_deposit_in` — receive a deposit (e.g. a parking card's) into the deposit ledger.

Every state change takes an :class:`~kiosk.identity.Actor`, checks roles, records an audit
event in the same transaction, and race-prone changes are conditional updates: an order goes
pending -> paid exactly once, a bill can never take more money than it is owed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import secrets
import threading
import weakref
import zoneinfo
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
from kiosk.identity import Actor, normalise_unit_code, require_role
from kiosk.money import MoneyError, format_fen, yuan
from kiosk.notify import raise_alert
from kiosk.pii import mask_text
from kiosk.printing import submit
from plugins.billing import fees
from plugins.billing.models import (
    LINE_KINDS,
    Bill,
    BillLine,
    CreditNote,
    Deposit,
    NoticeLog,
    Payment,
    PaymentOrder,
    Refund,
)
from plugins.billing.providers import (
    BUILTIN,
    NotificationRejected,
    OrderState,
    PaidNotice,
    PaymentProvider,
    ProviderError,
    build_providers,
)

if TYPE_CHECKING:
    from devices.printer import Receipt
    from kiosk.context import KioskContext

log = logging.getLogger(__name__)
ORDER_LIFETIME = dt.timedelta(hours=2)
DESK_ROLES = ("cashier",)
CHARGE_ROLES = ("butler", "cashier", "engineer", "security")


# -- configuration ----------------------------------------------------------------------------


def config(ctx: KioskContext) -> dict[str, Any]:
    """The ``[plugins.billing]`` section."""
    return ctx.settings.plugin("billing")


def late_fee_rule(ctx: KioskContext) -> fees.LateFeeRule:
    return fees.LateFeeRule.from_config(config(ctx))


def local_today(ctx: KioskContext) -> dt.date:
    """Today in the estate's time zone: due dates and statements are local dates."""
    return ctx.today()


def current_period(ctx: KioskContext) -> str:
    return local_today(ctx).strftime("%Y-%m")


def order_lifetime(ctx: KioskContext) -> dt.timedelta:
    return dt.timedelta(minutes=int(config(ctx).get("order_minutes", 120)))


# Per context (keyed by id, checked through a weak reference: ids are reused after GC).
_providers: dict[int, tuple[Any, dict[str, PaymentProvider], dict[str, str]]] = {}
_providers_lock = threading.Lock()


def providers(ctx: KioskContext) -> dict[str, PaymentProvider]:
    """The enabled providers, built once per context from the config (and the environment)."""
    with _providers_lock:
        for key in [k for k, v in _providers.items() if v[0]() is None]:
            del _providers[key]
        entry = _providers.get(id(ctx))
        if entry is None or entry[0]() is not ctx:
            classes: list[type[PaymentProvider]] = []
            if ctx.plugins is not None:
                classes = list(ctx.plugins.call_flat("kiosk_payment_providers"))
            names = {c.name for c in classes}
            classes += [c for c in BUILTIN if c.name not in names]
            ready, problems = build_providers(classes, config(ctx), ctx.clock)
            for name, why in problems.items():
                log.warning("payment provider %s unavailable: %s", name, why)
            _providers[id(ctx)] = (weakref.ref(ctx), ready, problems)
        return _providers[id(ctx)][1]


def use_providers(ctx: KioskContext, ready: Mapping[str, PaymentProvider]) -> None:
    """Install providers for ``ctx`` explicitly (tests, simulations)."""
    with _providers_lock:
        _providers[id(ctx)] = (weakref.ref(ctx), dict(ready), {})


def kiosk_provider(ctx: KioskContext) -> str:
    """The provider a kiosk's QR uses: ``kiosk_provider`` in ``[plugins.billing]``, else the
    first configured one, else the simulator."""
    return str(config(ctx).get("kiosk_provider", "")) or next(iter(providers(ctx)), "sim")


def provider(ctx: KioskContext, name: str) -> PaymentProvider:
    found = providers(ctx).get(name)
    if found is None:
        raise Refused("billing.provider", "The payment method {name} is not available.", name=name)
    return found


def _ref(prefix: str, ctx: KioskContext) -> str:
    return f"{prefix}{local_today(ctx):%Y%m%d}{secrets.token_hex(4).upper()}"


# -- bills and charges -------------------------------------------------------------------------


def _unit(session: Session, unit: str | int) -> Unit:
    if isinstance(unit, int):
        found = session.get(Unit, unit)
    else:
        found = session.scalar(select(Unit).where(Unit.code == normalise_unit_code(unit)))
    if found is None:
        raise Refused("billing.unit", "There is no unit {unit}.", unit=str(unit))
    return found


def _due_date(ctx: KioskContext, period: str) -> dt.date:
    year, month = (int(x) for x in period.split("-"))
    day = int(config(ctx).get("due_day", 25))
    return dt.date(year, month, min(max(day, 1), 28))


def _check_period(period: str) -> str:
    try:
        dt.datetime.strptime(period, "%Y-%m")
    except ValueError:
        raise Refused(
            "billing.period", "{period} is not a month (YYYY-MM).", period=period
        ) from None
    return period


def bill_for(
    ctx: KioskContext, session: Session, unit: Unit, period: str, due: dt.date | None = None
) -> Bill:
    """The unit's bill for ``period``, created (empty, open) when missing."""
    bill = session.scalar(select(Bill).where(Bill.unit_id == unit.id, Bill.period == period))
    if bill is None:
        bill = Bill(
            number=f"B{period.replace('-', '')}-{unit.code}",
            unit_id=unit.id,
            period=period,
            due_date=due or _due_date(ctx, period),
            status="open",
            created_at=ctx.clock.now(),
        )
        session.add(bill)
        session.flush()
    return bill


def _can_charge(actor: Actor, unit: Unit) -> None:
    if actor.kind == "resident":
        if actor.unit_id != unit.id:
            raise Refused("billing.not_yours", "Charges can only be added to your own unit.")
        return
    if actor.kind == "kiosk":
        return
    require_role(actor, "add a charge", *CHARGE_ROLES)


def add_charge_in(
    session: Session,
    ctx: KioskContext,
    actor: Actor,
    unit: str | int,
    kind: str,
    amount_fen: int,
    description: str,
    *,
    source_ref: str = "",
    period: str | None = None,
) -> BillLine:
    """Add a charge line inside the caller's transaction (so the charge and the caller's own
    change commit together). Returns the existing line when ``source_ref`` was charged before."""
    if kind not in LINE_KINDS or kind == "late_fee":
        raise Refused("billing.kind", "{kind} is not a kind of charge.", kind=kind)
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise Refused("billing.amount", "A charge must be a positive amount.")
    the_unit = _unit(session, unit)
    _can_charge(actor, the_unit)
    if source_ref:
        existing = session.scalar(select(BillLine).where(BillLine.source_ref == source_ref))
        if existing is not None:
            return existing
    bill = bill_for(ctx, session, the_unit, _check_period(period or current_period(ctx)))
    line = BillLine(
        bill_id=bill.id,
        kind=kind,
        description=mask_text(description)[:200],
        amount_fen=amount_fen,
        source_ref=source_ref,
        created_at=ctx.clock.now(),
    )
    session.add(line)
    session.execute(
        update(Bill)
        .where(Bill.id == bill.id)
        .values(charged_fen=Bill.charged_fen + amount_fen, status="open", paid_at=None)
    )
    session.flush()
    audit.record_for(
        ctx,
        session,
        actor,
        "billing.charge.added",
        f"bill:{bill.number}",
        {"kind": kind, "amount_fen": amount_fen, "source_ref": source_ref},
    )
    return line


def add_charge(
    ctx: KioskContext,
    actor: Actor,
    unit: str | int,
    kind: str,
    amount_fen: int,
    description: str,
    *,
    source_ref: str = "",
    period: str | None = None,
) -> int:
    """Add a charge line in its own transaction; returns the line id (see :func:`add_charge_in`)."""
    with ctx.database().write() as session:
        line = add_charge_in(
            session,
            ctx,
            actor,
            unit,
            kind,
            amount_fen,
            description,
            source_ref=source_ref,
            period=period,
        )
        return line.id


@dataclass(frozen=True)
class LineView:
    kind: str
    description: str
    amount_fen: int


@dataclass(frozen=True)
class BillView:
    """A bill as shown: its lines, totals, and the late fee owed if paid today."""

    id: int
    number: str
    unit_code: str
    period: str
    due_date: dt.date
    status: str
    lines: tuple[LineView, ...]
    charged_fen: int
    credited_fen: int
    paid_fen: int
    balance_fen: int
    late_fee_now_fen: int
    days_overdue: int

    @property
    def due_now_fen(self) -> int:
        return self.balance_fen + self.late_fee_now_fen


def _principal_outstanding(bill: Bill) -> int:
    principal_total = bill.charged_fen - bill.late_fee_fen - bill.credited_fen
    principal_paid = max(0, bill.paid_fen - bill.late_fee_fen)
    return max(0, principal_total - principal_paid)


def late_fee_now(bill: Bill, today: dt.date, rule: fees.LateFeeRule) -> tuple[int, int]:
    """(late fee to add if paid ``today``, days it covers)."""
    days = fees.days_overdue(bill.due_date, bill.late_fee_through, today, rule.grace_days)
    principal_total = bill.charged_fen - bill.late_fee_fen - bill.credited_fen
    fee = fees.late_fee(
        _principal_outstanding(bill), principal_total, bill.late_fee_fen, days, rule
    )
    return fee, days


def view(session: Session, bill: Bill, today: dt.date, rule: fees.LateFeeRule) -> BillView:
    unit = session.get(Unit, bill.unit_id)
    fee, days = late_fee_now(bill, today, rule) if bill.balance_fen > 0 else (0, 0)
    return BillView(
        id=bill.id,
        number=bill.number,
        unit_code=unit.code if unit else "",
        period=bill.period,
        due_date=bill.due_date,
        status=bill.status,
        lines=tuple(LineView(ln.kind, ln.description, ln.amount_fen) for ln in bill.lines),
        charged_fen=bill.charged_fen,
        credited_fen=bill.credited_fen,
        paid_fen=bill.paid_fen,
        balance_fen=bill.balance_fen,
        late_fee_now_fen=fee,
        days_overdue=days,
    )


def open_bills(ctx: KioskContext, unit: str | int) -> list[BillView]:
    """A unit's bills still owing, oldest first, with today's late fee."""
    today, rule = local_today(ctx), late_fee_rule(ctx)
    with ctx.database().read() as session:
        the_unit = _unit(session, unit)
        bills = session.scalars(
            select(Bill)
            .where(Bill.unit_id == the_unit.id, Bill.status == "open")
            .order_by(Bill.period)
        ).all()
        return [view(session, b, today, rule) for b in bills if b.balance_fen > 0]


def get_bill(ctx: KioskContext, bill_id: int) -> BillView:
    with ctx.database().read() as session:
        bill = session.get(Bill, bill_id)
        if bill is None:
            raise Refused("billing.no_bill", "There is no such bill.")
        return view(session, bill, local_today(ctx), late_fee_rule(ctx))


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
        _flag_alert(ctx, session, order, "bill already settled; refund needed")
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
        _flag_alert(ctx, session, order, f"a second payment {notice.txn_id} for one order")
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
        f"{flag}: got {format_fen(notice.amount_fen)} for {format_fen(order.amount_fen)}",
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


def _flag_alert(ctx: KioskContext, session: Session, order: PaymentOrder, what: str) -> None:
    raise_alert(
        session,
        "billing.payment_flagged",
        f"payment order {order.out_trade_no}: {what}",
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
        changed = session.execute(
            update(Payment)
            .where(
                Payment.id == payment_id,
                Payment.amount_fen - Payment.refunded_fen >= amount_fen,
            )
            .values(refunded_fen=Payment.refunded_fen + amount_fen)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if not changed:
            raise Refused("billing.refund_too_much", "A refund cannot exceed what was paid.")
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
        audit.record_for(
            ctx,
            session,
            actor,
            "billing.refund.provider",
            f"refund:{refund_no}",
            {"status": status},
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
        audit.record_for(
            ctx,
            session,
            actor,
            "billing.refund.provider",
            f"refund:{refund_no}",
            {"status": status},
        )
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
        changed = session.execute(
            update(PaymentOrder)
            .where(PaymentOrder.id == order.id, PaymentOrder.flag == order.flag)
            .values(flag=order.flag + ":refunded")
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if not changed:
            raise Refused("billing.not_flagged", "Only flagged payments are refunded this way.")
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


# -- deposits (a separate ledger; 收据, not 发票) ------------------------------------------------


def take_deposit_in(
    session: Session,
    ctx: KioskContext,
    actor: Actor,
    unit: str | int,
    kind: str,
    amount_fen: int,
    description: str = "",
    *,
    method: str = "cash",
    source_ref: str = "",
) -> Deposit:
    """Receive a deposit (cashier) inside the caller's transaction; a 收据 is queued."""
    require_role(actor, "take a deposit", *DESK_ROLES)
    if amount_fen <= 0:
        raise Refused("billing.amount", "A deposit must be a positive amount.")
    the_unit = _unit(session, unit)
    if source_ref:
        existing = session.scalar(select(Deposit).where(Deposit.source_ref == source_ref))
        if existing is not None:
            return existing
    deposit = Deposit(
        receipt_no=_ref("SJ", ctx),
        unit_id=the_unit.id,
        kind=kind[:32],
        description=mask_text(description)[:200],
        amount_fen=amount_fen,
        method=method,
        status="held",
        source_ref=source_ref,
        received_by=actor.label,
        received_at=ctx.clock.now(),
    )
    session.add(deposit)
    session.flush()
    audit.record_for(
        ctx,
        session,
        actor,
        "billing.deposit.received",
        f"deposit:{deposit.receipt_no}",
        {"unit": the_unit.code, "kind": kind, "amount_fen": amount_fen},
    )
    submit(
        session,
        _deposit_receipt(ctx, deposit, the_unit, refund=False),
        kind="billing-deposit",
        at=ctx.clock.now(),
        kiosk_id=ctx.kiosk_id,
    )
    return deposit


def take_deposit(
    ctx: KioskContext,
    actor: Actor,
    unit: str | int,
    kind: str,
    amount_fen: int,
    description: str = "",
    *,
    method: str = "cash",
    source_ref: str = "",
) -> Deposit:
    with ctx.database().write() as session:
        return take_deposit_in(
            session,
            ctx,
            actor,
            unit,
            kind,
            amount_fen,
            description,
            method=method,
            source_ref=source_ref,
        )


def refund_deposit(ctx: KioskContext, actor: Actor, receipt_no: str, reason: str) -> Deposit:
    """Give a deposit back (manager), exactly once; a refund 收据 is queued."""
    with ctx.database().write() as session:
        return refund_deposit_in(session, ctx, actor, receipt_no, reason)


def refund_deposit_in(
    session: Session,
    ctx: KioskContext,
    actor: Actor,
    receipt_no: str,
    reason: str,
    *,
    roles: tuple[str, ...] = ("manager",),
) -> Deposit:
    """Refund inside the caller's transaction. ``roles`` lets a service whose procedure gives
    the refund to another role use it (parking: the cashier refunds a returned card's deposit)."""
    require_role(actor, "refund a deposit", *roles)
    refund_no = _ref("TJ", ctx)
    deposit = _close_deposit(
        session,
        receipt_no,
        status="refunded",
        refund_no=refund_no,
        refunded_by=actor.label,
        refunded_at=ctx.clock.now(),
    )
    unit = session.get(Unit, deposit.unit_id)
    assert unit is not None
    audit.record_for(
        ctx,
        session,
        actor,
        "billing.deposit.refunded",
        f"deposit:{receipt_no}",
        {"amount_fen": deposit.amount_fen, "reason": reason, "refund_no": refund_no},
    )
    submit(
        session,
        _deposit_receipt(ctx, deposit, unit, refund=True),
        kind="billing-deposit-refund",
        at=ctx.clock.now(),
        kiosk_id=ctx.kiosk_id,
    )
    return deposit


def _close_deposit(session: Session, receipt_no: str, **values: Any) -> Deposit:
    """Move a held deposit on (refunded, forfeited) exactly once: a conditional update, so two
    desks cannot both refund it; refused when it is not held."""
    changed = session.execute(
        update(Deposit)
        .where(Deposit.receipt_no == receipt_no, Deposit.status == "held")
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not changed:
        raise Refused(
            "billing.deposit",
            "Deposit {receipt} is not held (unknown or already refunded).",
            receipt=receipt_no,
        )
    deposit = session.scalar(
        select(Deposit)
        .where(Deposit.receipt_no == receipt_no)
        .execution_options(populate_existing=True)
    )
    assert deposit is not None
    return deposit


def forfeit_deposit_in(
    session: Session,
    ctx: KioskContext,
    actor: Actor,
    receipt_no: str,
    reason: str,
    *,
    roles: tuple[str, ...] = ("manager",),
) -> Deposit:
    """Keep a held deposit (e.g. a lost card's) instead of refunding it, exactly once."""
    require_role(actor, "forfeit a deposit", *roles)
    deposit = _close_deposit(
        session,
        receipt_no,
        status="forfeited",
        refunded_by=actor.label,
        refunded_at=ctx.clock.now(),
    )
    audit.record_for(
        ctx,
        session,
        actor,
        "billing.deposit.forfeited",
        f"deposit:{receipt_no}",
        {"amount_fen": deposit.amount_fen, "reason": reason},
    )
    return deposit


DEPOSIT_KINDS: dict[str, str] = {"parking_card": N_("Parking card"), "key": N_("Key"),
                                  "umbrella": N_("Umbrella")}  # fmt: skip


def deposit_kind_title(kind: str) -> str:
    """What a deposit is for, in the reader's language (never the stored code)."""
    return _(DEPOSIT_KINDS.get(kind, N_("Other deposit")))


def _deposit_receipt(ctx: KioskContext, deposit: Deposit, unit: Unit, refund: bool) -> Receipt:
    from devices.printer import Receipt

    r = Receipt().title(_("Deposit refund receipt") if refund else _("Deposit receipt"))
    r.text(_("Receipt (收据), not an invoice"), align="center")
    r.row(_("Estate"), ctx.settings.estate.name).row(_("Unit"), unit.code)
    r.row(
        _("Receipt no."), deposit.refund_no if refund and deposit.refund_no else deposit.receipt_no
    )
    if refund:
        r.row(_("For deposit"), deposit.receipt_no)
    r.row(
        _("Deposit"),
        deposit_kind_title(deposit.kind)
        + (f" {deposit.description}" if deposit.description else ""),
    )
    r.row(_("Amount refunded") if refund else _("Amount received"), format_fen(deposit.amount_fen))
    r.row(
        _("Time"),
        _local(ctx, deposit.refunded_at if refund and deposit.refunded_at else deposit.received_at),
    )
    return r.cut()


# -- CSV import ---------------------------------------------------------------------------------


@dataclass
class ImportResult:
    period: str
    bills: int = 0
    lines: int = 0
    total_fen: int = 0
    units: list[str] = field(default_factory=list)


CSV_COLUMNS = ("unit", "kind", "description", "amount")


def import_bills_csv(
    ctx: KioskContext, actor: Actor, text: str, period: str, due_date: dt.date | None = None
) -> ImportResult:
    """Import a month's bills: ``unit,kind,description,amount`` (amount in yuan; empty amount
    for ``property_fee`` = area x ``property_fee_per_m2``). All rows or none: the first bad
    row is refused with its line number. A month is imported once."""
    require_role(actor, "import bills", "cashier")
    _check_period(period)
    rate = yuan(str(config(ctx).get("property_fee_per_m2", "2.50")))
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows or [c.strip().lower() for c in rows[0]][:4] != list(CSV_COLUMNS):
        raise Refused(
            "billing.csv", "The CSV must start with the header unit,kind,description,amount."
        )
    result = ImportResult(period=period)
    source = f"csv:{period}"
    with ctx.database().write() as session:
        if session.scalar(
            select(func.count())
            .select_from(BillLine)
            .where(BillLine.source_ref.like(source + ":%"))
        ):
            raise Refused(
                "billing.csv_again", "The bills of {period} were imported already.", period=period
            )
        seen_units: set[str] = set()
        for n, row in enumerate(rows[1:], start=2):
            if not any(c.strip() for c in row):
                continue
            if len(row) < 4:
                raise Refused("billing.csv_row", "Line {n}: expected 4 columns.", n=n)
            unit_code, kind, description, amount_text = (c.strip() for c in row[:4])
            try:
                unit = _unit(session, unit_code)
            except Refused:
                raise Refused(
                    "billing.csv_row", "Line {n}: there is no unit {unit}.", n=n, unit=unit_code
                ) from None
            if kind not in LINE_KINDS or kind == "late_fee":
                raise Refused(
                    "billing.csv_row", "Line {n}: {kind} is not a kind of charge.", n=n, kind=kind
                )
            try:
                amount = (
                    fees.property_fee(unit.area_dm2, rate)
                    if (kind == "property_fee" and not amount_text)
                    else yuan(amount_text)
                )
            except MoneyError:
                raise Refused(
                    "billing.csv_row",
                    "Line {n}: {amount} is not an amount.",
                    n=n,
                    amount=amount_text,
                ) from None
            if amount <= 0:
                raise Refused("billing.csv_row", "Line {n}: the amount must be positive.", n=n)
            bill_for(ctx, session, unit, period, due_date)
            add_charge_in(
                session,
                ctx,
                actor,
                unit.id,
                kind,
                amount,
                description or kind,
                source_ref=f"{source}:{n}",
                period=period,
            )
            result.lines += 1
            result.total_fen += amount
            if unit.code not in seen_units:
                seen_units.add(unit.code)
                result.units.append(unit.code)
        result.bills = len(seen_units)
        audit.record_for(
            ctx,
            session,
            actor,
            "billing.csv.imported",
            f"period:{period}",
            {"bills": result.bills, "lines": result.lines, "total_fen": result.total_fen},
        )
    return result


# -- statements and reconciliation --------------------------------------------------------------


@dataclass(frozen=True)
class UnitStatement:
    unit_code: str
    bills: tuple[BillView, ...]
    payments: tuple[dict[str, Any], ...]
    deposits: tuple[dict[str, Any], ...]

    @property
    def owed_fen(self) -> int:
        return sum(b.due_now_fen for b in self.bills)


def unit_statement(ctx: KioskContext, actor: Actor, unit: str | int) -> UnitStatement:
    """A unit's bills, payments and deposits (desk staff, or the unit's own resident)."""
    today, rule = local_today(ctx), late_fee_rule(ctx)
    with ctx.database().read() as session:
        the_unit = _unit(session, unit)
        if actor.kind == "resident":
            if actor.unit_id != the_unit.id:
                raise Refused("billing.not_yours", "This bill belongs to another unit.")
        else:
            require_role(actor, "see a unit statement", "cashier", "butler")
        bills = session.scalars(
            select(Bill).where(Bill.unit_id == the_unit.id).order_by(Bill.period)
        ).all()
        pays = session.scalars(
            select(Payment)
            .join(Bill, Payment.bill_id == Bill.id)
            .where(Bill.unit_id == the_unit.id)
            .order_by(Payment.id)
        ).all()
        deps = session.scalars(
            select(Deposit).where(Deposit.unit_id == the_unit.id).order_by(Deposit.id)
        ).all()
        return UnitStatement(
            the_unit.code,
            tuple(view(session, b, today, rule) for b in bills),
            tuple(
                {
                    "receipt_no": p.receipt_no,
                    "method": p.method,
                    "provider": p.provider,
                    "amount_fen": p.amount_fen,
                    "refunded_fen": p.refunded_fen,
                    "paid_at": as_utc(p.paid_at).isoformat(),
                }
                for p in pays
            ),
            tuple(
                {
                    "receipt_no": d.receipt_no,
                    "kind": d.kind,
                    "amount_fen": d.amount_fen,
                    "status": d.status,
                }
                for d in deps
            ),
        )


@dataclass
class Mismatch:
    provider: str
    out_trade_no: str
    problem: str
    ours_fen: int | None = None
    theirs_fen: int | None = None


@dataclass
class Reconciliation:
    day: dt.date
    matched: dict[str, int] = field(default_factory=dict)
    totals_fen: dict[str, int] = field(default_factory=dict)
    mismatches: list[Mismatch] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.unavailable


def reconcile(ctx: KioskContext, actor: Actor, day: dt.date) -> Reconciliation:
    """Compare the day's QR payments and refunds with each provider's statement and list
    every difference: missing on either side, or amounts that differ."""
    require_role(actor, "reconcile payments", "cashier")
    tz = zoneinfo.ZoneInfo(ctx.settings.estate.timezone)
    start = dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC)
    end = start + dt.timedelta(days=1)
    rec = Reconciliation(day=day)
    with ctx.database().read() as session:
        orders = session.scalars(
            select(PaymentOrder).where(
                PaymentOrder.provider_txn_id.is_not(None),
                PaymentOrder.paid_at >= start,
                PaymentOrder.paid_at < end,
            )
        ).all()
        refunds = session.execute(
            select(Refund, PaymentOrder)
            .join(PaymentOrder, Refund.order_id == PaymentOrder.id)
            .where(Refund.refunded_at >= start, Refund.refunded_at < end, Refund.status != "failed")
        ).all()
    ours: dict[tuple[str, str, str], int] = {}
    for o in orders:
        ours[(o.provider, o.out_trade_no, "payment")] = o.notified_amount_fen or o.amount_fen
    for r, o in refunds:
        key = (o.provider, o.out_trade_no, "refund")
        ours[key] = ours.get(key, 0) + r.amount_fen
    for name, prov in providers(ctx).items():
        try:
            lines = prov.statement(day)
        except (ProviderError, NotImplementedError) as exc:
            rec.unavailable[name] = str(exc) or type(exc).__name__
            continue
        theirs: dict[tuple[str, str, str], int] = {}
        for line in lines:
            key = (name, line.out_trade_no, line.kind)
            theirs[key] = theirs.get(key, 0) + line.amount_fen
        keys = {k for k in ours if k[0] == name} | set(theirs)
        rec.matched[name] = 0
        rec.totals_fen[name] = sum(v for k, v in theirs.items() if k[2] == "payment") - sum(
            v for k, v in theirs.items() if k[2] == "refund"
        )
        for key in sorted(keys):
            a, b = ours.get(key), theirs.get(key)
            if a == b:
                rec.matched[name] += 1
            elif a is None:
                rec.mismatches.append(
                    Mismatch(name, key[1], f"{key[2]} on the provider's statement only", None, b)
                )
            elif b is None:
                rec.mismatches.append(
                    Mismatch(name, key[1], f"{key[2]} in our books only", a, None)
                )
            else:
                rec.mismatches.append(Mismatch(name, key[1], f"{key[2]} amounts differ", a, b))
    return rec


def receipt_job(ctx: KioskContext, receipt_no: str) -> tuple[int, dict[str, Any]] | None:
    """The print job (id, document) of a payment receipt, for the paid screen to print now
    or show on screen when the printer cannot."""
    from kiosk.db.models import PrintJob

    with ctx.database().read() as session:
        jobs = session.execute(
            select(PrintJob.id, PrintJob.document)
            .where(PrintJob.kind == "billing-payment")
            .order_by(PrintJob.id.desc())
            .limit(50)
        ).all()
    for job_id, document in jobs:
        if any(b.get("value") == receipt_no for b in document.get("blocks", [])):
            return job_id, document
    return None


@dataclass(frozen=True)
class FlaggedOrder:
    out_trade_no: str
    provider: str
    unit_code: str
    flag: str
    order_fen: int
    received_fen: int | None


def flagged_orders(ctx: KioskContext, limit: int = 50) -> list[FlaggedOrder]:
    """Money received that could not be applied and is not refunded yet (the desk's to-do)."""
    with ctx.database().read() as session:
        rows = session.execute(
            select(PaymentOrder, Unit.code)
            .join(Unit, Unit.id == PaymentOrder.unit_id)
            .where(PaymentOrder.flag != "", PaymentOrder.flag.not_like("%:refunded"))
            .order_by(PaymentOrder.id.desc())
            .limit(limit)
        ).all()
    return [
        FlaggedOrder(o.out_trade_no, o.provider, code, o.flag, o.amount_fen, o.notified_amount_fen)
        for o, code in rows
    ]
