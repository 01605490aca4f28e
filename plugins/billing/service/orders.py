"""Paying a bill (shared by QR notifications and the cashier) and QR payment orders: created, notified, polled, expired, superseded."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict, cast

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Integer,
    Table,
    bindparam,
    case,
    exists,
    func,
    insert,
    select,
    true,
    union,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from kiosk import audit, printing
from kiosk.clock import as_utc
from kiosk.db import direct
from kiosk.db.models import Unit
from kiosk.errors import Refused
from kiosk.i18n import N_, _
from kiosk.identity import Actor, require_role
from kiosk.money import format_fen
from kiosk.notify import raise_alert
from plugins.billing.models import (
    Bill,
    BillLine,
    NoticeLog,
    OrderBill,
    Payment,
    PaymentOrder,
)
from plugins.billing.providers import (
    BUILTIN,
    NotificationRejected,
    PaidNotice,
    ProviderError,
)
from plugins.billing.service.bills import (
    DESK_ROLES,
    _ref,
    late_fee_now,
    late_fee_rule,
    local_today,
    order_lifetime,
    provider,
)
from plugins.billing.service.receipts import payment_receipt
from plugins.billing.service.rejections import _note_rejection

if TYPE_CHECKING:
    from devices.printer import Receipt
    from kiosk.context import KioskContext


# One logger for the billing service, whichever module logs.
log = logging.getLogger("plugins.billing.service")

_BILLS = cast(Table, Bill.__table__)
_ORDERS = cast(Table, PaymentOrder.__table__)
_ORDER_BILLS = cast(Table, OrderBill.__table__)
_NOTICES = cast(Table, NoticeLog.__table__)
_LINES = cast(Table, BillLine.__table__)
_PAYMENTS = cast(Table, Payment.__table__)
_UNITS = cast(Table, Unit.__table__)

SUPERSEDED = "superseded"  # closed here; the provider still has to be told
SUPERSEDED_DONE = "superseded+provider"

_late_fee = bindparam("b_late_fee", type_=BigInteger)
_amount = bindparam("b_amount", type_=BigInteger)
_owed_after = _BILLS.c.charged_fen + _late_fee - _BILLS.c.credited_fen - _BILLS.c.paid_fen - _amount
# Crystallise a late fee and take a payment, unless the bill owes less: the bill as it is then.
_PAY_BILL = (
    update(_BILLS)
    .where(_BILLS.c.id == bindparam("bill_id"), _owed_after >= 0)
    .values(
        charged_fen=_BILLS.c.charged_fen + _late_fee,
        late_fee_fen=_BILLS.c.late_fee_fen + _late_fee,
        paid_fen=_BILLS.c.paid_fen + _amount,
        late_fee_through=bindparam("b_today", type_=Date),
        # Settled by this payment -> paid, in the same statement.
        status=case((_owed_after == 0, "paid"), else_=_BILLS.c.status),
        paid_at=case(
            (_owed_after == 0, bindparam("b_now", type_=DateTime(timezone=True))),
            else_=_BILLS.c.paid_at,
        ),
    )
    .returning(*_BILLS.c)
)
_BILL_COLUMNS = _BILLS.c.keys()
# A bill's row as it is now (to compute what it owes, not to change it).
_BILL_BY_ID = select(_BILLS).where(_BILLS.c.id == bindparam("bill_id"))
_INSERT_ORDER = insert(_ORDERS).returning(_ORDERS.c.id)
_owes = _BILLS.c.charged_fen - _BILLS.c.credited_fen - _BILLS.c.paid_fen
_ORDER_COLUMNS = [c.name for c in _ORDERS.c if c.name != "id"]
# Store an order for a whole bill unless the bill changed since its amount was worked out
# (it owes nothing now, or another amount before today's late fee): its id, or nothing.
_INSERT_ORDER_IF_OWES = (
    insert(_ORDERS)
    .from_select(
        _ORDER_COLUMNS,
        select(*(bindparam(f"v_{c}", type_=_ORDERS.c[c].type) for c in _ORDER_COLUMNS)).where(
            _BILLS.c.id == bindparam("b_bill_id"),
            _owes > 0,
            _owes == bindparam("b_owes", type_=BigInteger),
        ),
    )
    .returning(_ORDERS.c.id)
)
_INSERT_LINE = insert(_LINES)
_INSERT_PAYMENT = insert(_PAYMENTS).returning(_PAYMENTS.c.id)
_pending_on_bill = (_ORDERS.c.status == "pending") & (
    (_ORDERS.c.bill_id == bindparam("b_bill_id"))
    | _ORDERS.c.id.in_(
        select(_ORDER_BILLS.c.order_id).where(_ORDER_BILLS.c.bill_id == bindparam("b_bill_id"))
    )
)
# The pending orders that pay a bill: its own, and orders of arrears covering it.
_PENDING_ORDERS_ON = select(_ORDERS.c.id, _ORDERS.c.out_trade_no, _ORDERS.c.line_ids).where(
    _pending_on_bill
)
_except_order = bindparam("except_order", type_=Integer)
_pending_but = _pending_on_bill & (_except_order.is_(None) | (_ORDERS.c.id != _except_order))
# _PAY_BILL, and whether other orders (but one, if given) still pend on the bill then: those
# a settling payment closes (an order stored after this statement met a bill still owing).
_PAY_BILL_NOTING_PENDING = _PAY_BILL.returning(exists().where(_pending_but).label("others_pending"))
_paid = _PAY_BILL_NOTING_PENDING.cte("paid")
_PAYMENT_COLUMNS = [c.name for c in _PAYMENTS.c if c.name not in ("id", "bill_id")]
_recorded = (
    insert(_PAYMENTS)
    .from_select(
        ["bill_id", *_PAYMENT_COLUMNS],
        select(
            _paid.c.id,
            *(bindparam(f"p_{c}", type_=_PAYMENTS.c[c].type) for c in _PAYMENT_COLUMNS),
        ),
    )
    .returning(_PAYMENTS.c.id)
    .cte("recorded")
)
# PostgreSQL: _PAY_BILL_NOTING_PENDING and the payment's row in one statement (nothing is
# recorded when the bill owes less): the bill, others_pending and the payment's id.
_PAY_BILL_RECORDED = select(_paid, _recorded.c.id.label("payment_id")).select_from(
    _paid.join(_recorded, true())  # one row each, or none
)
# Close the pending orders that pay a bill (but one, if given): their numbers.
_SUPERSEDE_PENDING_ON = (
    update(_ORDERS)
    .where(_pending_but)
    .values(status="closed", close_reason=SUPERSEDED, closed_at=bindparam("b_closed_at"))
    .returning(_ORDERS.c.out_trade_no)
)
# Close pending orders another payment made unpayable.
_SUPERSEDE = (
    update(_ORDERS)
    .where(
        _ORDERS.c.out_trade_no.in_(bindparam("numbers", expanding=True)),
        _ORDERS.c.status == "pending",
    )
    .values(status="closed", close_reason=SUPERSEDED, closed_at=bindparam("b_closed_at"))
)

_order_numbered = _ORDERS.c.out_trade_no == bindparam("b_out_trade_no")
# An order's row as it is now, by its number.
_ORDER_BY_NUMBER = select(_ORDERS).where(_order_numbered)
# Lock the bills an order pays (its own, and for an order of arrears every one it covers),
# by id, whoever locks several; with the order as it was then (a repeated notice is known
# by it without trying to win the order).
_ORDER_SEEN = _ORDERS.alias("seen")
_LOCK_BILLS_OF_ORDER = (
    select(_BILLS.c.id, _ORDER_SEEN.c.provider, _ORDER_SEEN.c.provider_txn_id, _ORDER_SEEN.c.status)
    .join_from(_BILLS, _ORDER_SEEN, _ORDER_SEEN.c.out_trade_no == bindparam("b_out_trade_no"))
    .where(
        _BILLS.c.id.in_(
            union(
                select(_ORDERS.c.bill_id).where(_order_numbered),
                select(_ORDER_BILLS.c.bill_id)
                .join(_ORDERS, _ORDERS.c.id == _ORDER_BILLS.c.order_id)
                .where(_order_numbered),
            )
        )
    )
    .order_by(_BILLS.c.id)
    .with_for_update(of=_BILLS)
)
# A pending order of this provider and amount becomes paid: its row when the notice won it.
_WIN_ORDER = (
    update(_ORDERS)
    .where(
        _order_numbered,
        _ORDERS.c.provider == bindparam("b_provider"),
        _ORDERS.c.status == "pending",
        _ORDERS.c.amount_fen == bindparam("b_amount_fen"),
    )
    .values(
        status="paid",
        provider_txn_id=bindparam("b_txn_id"),
        notified_amount_fen=bindparam("b_amount_fen"),
        paid_at=bindparam("b_paid_at"),
    )
    .returning(
        *_ORDERS.c,
        # Whether it is an order of arrears (it lists its bills); not correlated with the
        # updated row, which SQLite's RETURNING would name ambiguously.
        exists()
        .where(
            _ORDER_BILLS.c.order_id == select(_ORDERS.c.id).where(_order_numbered).scalar_subquery()
        )
        .label("of_arrears"),
        # The code of its unit, for the receipt (not correlated either).
        select(_UNITS.c.code)
        .where(_UNITS.c.id == select(_ORDERS.c.unit_id).where(_order_numbered).scalar_subquery())
        .scalar_subquery()
        .label("unit_code"),
    )
)
# Close an order whose money came for a bill settled meanwhile.
_FLAG_SETTLED_ELSEWHERE = (
    update(_ORDERS)
    .where(_ORDERS.c.id == bindparam("order_id"))
    .values(
        flag="bill_already_paid",
        status="closed",
        close_reason="bill_already_paid",
        closed_at=bindparam("b_closed_at"),
    )
)


# -- paying a bill (shared by QR notifications and the cashier) -------------------------------


def _apply_payment(
    ctx: KioskContext,
    session: Session,
    bill_id: int,
    amount_fen: int,
    late_fee_fen: int,
) -> Bill | None:
    """Crystallise ``late_fee_fen`` as a line and take ``amount_fen``, in one conditional
    update: the bill as it is then (not loaded into the session), or None (nothing changed)
    when the bill owes less than that by now."""
    paid = _pay_bill(ctx, session, bill_id, amount_fen, late_fee_fen, _PAY_BILL, {})
    return None if paid is None else direct.detached(Bill, paid._mapping)


def _apply_order_payment(
    ctx: KioskContext,
    session: Session,
    order: PaymentOrder,
) -> tuple[Bill, bool, Payment] | None:
    """:func:`_apply_payment` of a QR order for its bill and its payment's row
    (:func:`record_qr_payment`; on PostgreSQL in the same statement), and whether other
    orders still pend on the bill (those a settling payment closes)."""
    pending = {"b_bill_id": order.bill_id, "except_order": order.id}
    amounts = (order.amount_fen, order.late_fee_fen)
    if session.get_bind().dialect.name == "postgresql":
        values = _payment_values(ctx, order.bill_id, amounts, "qr", _by_provider(order), order)
        recorded = {f"p_{c}": values[c] for c in _PAYMENT_COLUMNS}
        paid = _pay_bill(
            ctx, session, order.bill_id, *amounts, _PAY_BILL_RECORDED, pending | recorded
        )
        if paid is None:
            return None
        payment = direct.detached(Payment, {"id": paid.payment_id, **values})
    else:
        paid = _pay_bill(ctx, session, order.bill_id, *amounts, _PAY_BILL_NOTING_PENDING, pending)
        if paid is None:
            return None
        payment = record_qr_payment(ctx, session, order, order.bill_id, *amounts)
    bill = direct.detached(Bill, dict(zip(_BILL_COLUMNS, paid[: len(_BILL_COLUMNS)], strict=True)))
    return bill, bool(paid.others_pending), payment


def _pay_bill(
    ctx: KioskContext,
    session: Session,
    bill_id: int,
    amount_fen: int,
    late_fee_fen: int,
    statement: Any,
    extra: dict[str, Any],
) -> Row[Any] | None:
    now, today = ctx.clock.now(), local_today(ctx)
    paid = direct.execute(
        session.connection(),
        statement,
        {
            "bill_id": bill_id,
            "b_late_fee": late_fee_fen,
            "b_amount": amount_fen,
            "b_today": today,
            "b_now": now,
            **extra,
        },
    ).first()
    if paid is None:
        return None
    if late_fee_fen:
        direct.execute(
            session.connection(),
            _INSERT_LINE,
            {
                "bill_id": bill_id,
                "kind": "late_fee",
                "description": f"late fee to {today.isoformat()}",
                "amount_fen": late_fee_fen,
                "created_at": now,
            },
        )
    return paid


def record_payment(
    ctx: KioskContext,
    session: Session,
    bill_id: int,
    amount_fen: int,
    late_fee_fen: int,
    *,
    method: str,
    received_by: str,
    order: PaymentOrder | None = None,
) -> Payment:
    """The payment row of money just applied to a bill (:func:`_apply_payment`), written by
    one ``INSERT ... RETURNING``; the payment comes back as a detached object with its id."""
    values = _payment_values(ctx, bill_id, (amount_fen, late_fee_fen), method, received_by, order)
    return direct.inserted(session, _INSERT_PAYMENT, Payment, values)


def _payment_values(
    ctx: KioskContext,
    bill_id: int,
    amounts: tuple[int, int],
    method: str,
    received_by: str,
    order: PaymentOrder | None,
) -> dict[str, Any]:
    """The columns of a payment of ``amounts`` (amount, late fee in it) for a bill."""
    return {
        "receipt_no": _ref("SK", ctx),
        "bill_id": bill_id,
        "order_id": order.id if order else None,
        "method": method,
        "provider": order.provider if order else "",
        "amount_fen": amounts[0],
        "late_fee_fen": amounts[1],
        "refunded_fen": 0,
        "received_by": received_by,
        "paid_at": ctx.clock.now(),
    }


def submit_receipt(ctx: KioskContext, session: Session, receipt: Receipt, kiosk_id: str) -> None:
    printing.queue(session, receipt, kind="billing-payment", at=ctx.clock.now(), kiosk_id=kiosk_id)


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
    # An order of arrears: every bill it pays, oldest first (bill_number is the first).
    bill_numbers: tuple[str, ...] = ()
    # Once paid: the receipt of every bill it paid, oldest bill first (receipt_no is the first).
    receipt_nos: tuple[str, ...] = ()


# An order's row by its number, with its bill's number and whether it is an order of arrears:
# what a kiosk asks every second while it shows the order's QR code, in one statement.
_ORDER_SHOWN = select(
    _ORDERS,
    select(_BILLS.c.number)
    .where(_BILLS.c.id == _ORDERS.c.bill_id)
    .scalar_subquery()
    .label("bill_number"),
    exists().where(_ORDER_BILLS.c.order_id == _ORDERS.c.id).label("of_arrears"),
).where(_order_numbered)
_RECEIPTS_OF_ORDER = (
    select(_PAYMENTS.c.receipt_no)
    .where(_PAYMENTS.c.order_id == bindparam("order_id"))
    .order_by(_PAYMENTS.c.id)
)


def _order_of(columns: Sequence[Any]) -> PaymentOrder:
    """The order of a row of the order's columns (selected or returned), not loaded into the
    session."""
    return direct.detached(PaymentOrder, dict(zip(_ORDERS.c.keys(), columns, strict=True)))


def _order_view(
    session: Session,
    order: PaymentOrder,
    bill_number: str | None = None,
    of_arrears: bool = True,
) -> OrderView:
    """The view of ``order`` as it is now: its bill's number (looked up unless given), its
    receipts once paid, and for an order of arrears (unless known not to be one) its bills."""
    from plugins.billing.service.arrears import order_shares

    if bill_number is None:
        bill = _bill_as_is(session, order.bill_id)
        bill_number = bill.number if bill else ""
    receipts: tuple[str, ...] = ()
    if order.status != "pending":  # a pending order has no payment yet
        found = direct.execute(session.connection(), _RECEIPTS_OF_ORDER, {"order_id": order.id})
        receipts = tuple(row[0] for row in found)
    shares = order_shares(session, order.id) if of_arrears else []
    view = _view_of(
        order,
        bill_number,
        receipts[0] if receipts else "",
        tuple(b.number for _share, b in shares),
    )
    return replace(view, receipt_nos=receipts)


def _view_of(
    order: PaymentOrder, bill_number: str, receipt_no: str = "", bill_numbers: tuple[str, ...] = ()
) -> OrderView:
    """The view of ``order``; a one-bill order just stored has no receipt nor bills of arrears."""
    return OrderView(
        bill_numbers=bill_numbers,
        out_trade_no=order.out_trade_no,
        provider=order.provider,
        bill_number=bill_number,
        amount_fen=order.amount_fen,
        late_fee_fen=order.late_fee_fen,
        qr_content=order.qr_content,
        status=order.status,
        expires_at=as_utc(order.expires_at),
        flag=order.flag,
        receipt_no=receipt_no,
    )


def _bill_as_is(session: Session, bill_id: int) -> Bill | None:
    """Bill ``bill_id`` as it is now, not loaded into the session."""
    row = direct.execute(session.connection(), _BILL_BY_ID, {"bill_id": bill_id}).first()
    return None if row is None else direct.detached(Bill, row._mapping)


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
    today, rule = local_today(ctx), late_fee_rule(ctx)
    with ctx.database().read() as session:
        bill = _bill_as_is(session, bill_id)
        if bill is None:
            raise Refused("billing.no_bill", "There is no such bill.")
        _can_order_for(actor, bill.unit_id)
        if bill.balance_fen <= 0:
            raise Refused("billing.settled", "Bill {number} is already paid.", number=bill.number)
        if line_ids:
            fee, amount = 0, _chosen_lines(session, bill, line_ids)
        else:
            fee, _days = late_fee_now(bill, today, rule)
            amount = bill.balance_fen + fee
        number, unit_id = bill.number, bill.unit_id
    placed = place_at_provider(ctx, provider_name, amount, number)
    lines = sorted(set(line_ids))
    pays = OrderPays(
        bill_id=bill_id, unit_id=unit_id, late_fee_fen=fee, line_ids=",".join(map(str, lines))
    )
    details = {"bill": number, "lines": lines}
    with ctx.database().write() as session:
        # Another kiosk (or the cashier) may have changed the bill while the provider answered.
        if not line_ids:
            # Checked by the insert itself: the bill still owes what the order asks, less fee.
            values = _order_values(ctx, placed, pays)
            order_id = direct.execute(
                session.connection(),
                _INSERT_ORDER_IF_OWES,
                {f"v_{k}": v for k, v in values.items()}
                | {"b_bill_id": bill_id, "b_owes": amount - fee},
            ).scalar()
            if order_id is not None:
                order = _order_stored(ctx, session, actor, order_id, values, details)
                return _view_of(order, number)
        else:
            fresh = _bill_as_is(session, bill_id)
            try:
                unchanged = fresh is not None and _chosen_lines(session, fresh, line_ids) == amount
            except Refused:
                unchanged = False
            if (
                fresh is not None
                and fresh.balance_fen > 0
                and fresh.balance_fen >= amount
                and unchanged
            ):
                order = store_order(ctx, session, actor, placed, pays, details)
                return _view_of(order, number)
    drop_at_provider(ctx, placed)
    raise Refused(
        "billing.changed",
        "Bill {number} was just paid or changed elsewhere; please look again.",
        number=number,
    )


def _can_order_for(actor: Actor, unit_id: int) -> None:
    """A resident pays for their own unit; staff at the desk or a butler for any."""
    if actor.kind == "resident" and actor.unit_id != unit_id:
        raise Refused("billing.not_yours", "This bill belongs to another unit.")
    if actor.kind == "staff":
        require_role(actor, "create a payment order", *DESK_ROLES, "butler")


@dataclass(frozen=True)
class PlacedOrder:
    """An order the provider has taken (and can be paid there), not yet stored here (its
    fields are the order's columns of the same names)."""

    out_trade_no: str
    provider: str
    amount_fen: int
    qr_content: str
    provider_order_id: str
    created_at: dt.datetime
    expires_at: dt.datetime


def place_at_provider(
    ctx: KioskContext, provider_name: str, amount_fen: int, number: str
) -> PlacedOrder:
    """Ask the provider for an order of ``amount_fen`` for bill ``number`` (outside any
    transaction: it may be a network call); refused when it does not answer."""
    prov = provider(ctx, provider_name)
    now = ctx.clock.now()
    out_trade_no = f"KO{now:%Y%m%d%H%M%S}{secrets.token_hex(4).upper()}"
    expires = now + order_lifetime(ctx)
    try:
        created = prov.create_order(
            out_trade_no=out_trade_no,
            amount_fen=amount_fen,
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
    return PlacedOrder(
        out_trade_no,
        provider_name,
        amount_fen,
        created.qr_content,
        created.provider_order_id,
        now,
        expires,
    )


class OrderPays(TypedDict):
    """What a stored order pays: its bill (for arrears the oldest), its unit, the late fee in
    its amount, and its chosen lines ("" for whole bills)."""

    bill_id: int
    unit_id: int
    late_fee_fen: int
    line_ids: str


def drop_at_provider(ctx: KioskContext, placed: PlacedOrder) -> None:
    """Close an order the provider took but that is not stored here (the bills changed)."""
    try:
        provider(ctx, placed.provider).close(placed.out_trade_no)
    except ProviderError as exc:
        log.warning("closing %s at %s failed: %s", placed.out_trade_no, placed.provider, exc)


def store_order(
    ctx: KioskContext,
    session: Session,
    actor: Actor,
    placed: PlacedOrder,
    pays: OrderPays,
    details: dict[str, Any],
) -> PaymentOrder:
    """Store a placed order, pending, and audit it (``details`` name what it pays). One
    ``INSERT ... RETURNING id``; the order comes back as a detached object with its id."""
    values = _order_values(ctx, placed, pays)
    order_id = direct.execute(session.connection(), _INSERT_ORDER, values).scalar_one()
    return _order_stored(ctx, session, actor, order_id, values, details)


def _order_values(ctx: KioskContext, placed: PlacedOrder, pays: OrderPays) -> dict[str, Any]:
    """The columns of a placed order stored pending."""
    return {
        **{f.name: getattr(placed, f.name) for f in dataclasses.fields(placed)},
        **pays,
        "status": "pending",
        "close_reason": "",
        "flag": "",
        "provider_txn_id": None,
        "notified_amount_fen": None,
        "kiosk_id": ctx.kiosk_id,
        "paid_at": None,
        "closed_at": None,
    }


def _order_stored(
    ctx: KioskContext,
    session: Session,
    actor: Actor,
    order_id: int,
    values: dict[str, Any],
    details: dict[str, Any],
) -> PaymentOrder:
    """The order just stored with ``values``, audited."""
    audit.record_for(
        ctx,
        session,
        actor,
        "billing.order.created",
        f"order:{values['out_trade_no']}",
        {
            **details,
            "amount_fen": values["amount_fen"],
            "late_fee_fen": values["late_fee_fen"],
            "provider": values["provider"],
        },
    )
    return direct.detached(PaymentOrder, {"id": order_id, **values})


def order_status(ctx: KioskContext, out_trade_no: str) -> OrderView:
    """The order as it is now (what the kiosk showing its QR code asks every second)."""
    with ctx.database().read() as session:
        row = direct.execute(
            session.connection(), _ORDER_SHOWN, {"b_out_trade_no": out_trade_no}
        ).first()
        if row is None:
            raise Refused("billing.no_order", "There is no such payment order.")
        *columns, bill_number, of_arrears = row
        order = _order_of(columns)
        return _order_view(session, order, bill_number or "", bool(of_arrears))


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


def apply_paid_notice(ctx: KioskContext, provider_name: str, notice: PaidNotice) -> tuple[str, str]:
    """Apply a verified notice (from a notification or a query); (verdict, detail)."""
    now = ctx.clock.now()
    with ctx.database().write() as session:
        # Lock order: the bills first, then their orders, the same as a desk payment;
        # otherwise two notices for two orders of one bill deadlock on PostgreSQL.
        seen = lock_bills_of_order(session, notice.out_trade_no)
        closed: list[str] = []
        if seen is not None and seen.provider == provider_name and seen.txn_id == notice.txn_id:
            # Paid (or flagged) by this very transaction before: a txn id is never taken back.
            verdict, detail = "duplicate", seen.status
        elif (
            won := direct.execute(
                session.connection(),
                _WIN_ORDER,
                {
                    "b_out_trade_no": notice.out_trade_no,
                    "b_provider": provider_name,
                    "b_amount_fen": notice.amount_fen,
                    "b_txn_id": notice.txn_id,
                    "b_paid_at": now,
                },
            ).first()
        ) is not None:
            *columns, of_arrears, unit_code = won
            order = _order_of(columns)
            verdict, detail = _settle_order(
                ctx, session, order, notice, closed, of_arrears, unit_code
            )
        else:
            known = direct.execute(
                session.connection(), _ORDER_BY_NUMBER, {"b_out_trade_no": notice.out_trade_no}
            ).first()
            verdict, detail = _not_won(
                ctx,
                session,
                provider_name,
                None if known is None else direct.detached(PaymentOrder, known._mapping),
                notice,
            )
        audit.write_with_chain(
            session,
            _NOTICES,
            {
                "provider": provider_name,
                "received_at": now,
                "verdict": verdict,
                "out_trade_no": notice.out_trade_no[:40],
                "txn_id": notice.txn_id[:64],
                "amount_fen": notice.amount_fen,
                "detail": detail[:300],
            },
        )
    if closed:  # after the commit: the provider may be slow
        close_at_providers(ctx)
    return verdict, detail


def lock_bills(session: Session, bill_ids: Sequence[int]) -> None:
    """Lock the bills' rows, in one order (by id) whoever locks several. SQLite needs no row
    lock: its write transactions are serialised by BEGIN IMMEDIATE."""
    if bill_ids and session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(Bill.id).where(Bill.id.in_(bill_ids)).order_by(Bill.id).with_for_update()
        )


class OrderSeen(NamedTuple):
    """An order as it was when its bills were locked."""

    provider: str
    txn_id: str | None
    status: str


def lock_bills_of_order(session: Session, out_trade_no: str) -> OrderSeen | None:
    """Lock the bills an order pays, as :func:`lock_bills` does, in one statement: on
    PostgreSQL the order as it was then (None: no such order, or SQLite, which needs no
    lock)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    row = direct.execute(
        session.connection(), _LOCK_BILLS_OF_ORDER, {"b_out_trade_no": out_trade_no}
    ).first()
    return None if row is None else OrderSeen(*row[1:])


def _settle_order(
    ctx: KioskContext,
    session: Session,
    order: PaymentOrder,
    notice: PaidNotice,
    closed: list[str],
    of_arrears: bool,
    unit_code: str | None,
) -> tuple[str, str]:
    from plugins.billing.service.arrears import order_shares, settle_arrears_order

    if of_arrears:
        shares = order_shares(session, order.id)
        return settle_arrears_order(ctx, session, order, notice, shares, closed)
    lines = order_lines(order)
    # An order for chosen charges takes them first, each once: a second order for the same
    # charge (another kiosk) finds them paid and is flagged for a refund like a settled bill.
    taken = lines and _take_lines(session, lines)
    paid = _apply_order_payment(ctx, session, order) if not lines or taken else None
    if paid is None:
        if taken:
            _release_lines(session, lines)
        return flag_settled_elsewhere(ctx, session, order, notice)
    bill, others_pending, payment = paid
    if others_pending:  # else there is nothing to close
        closed += _close_pending_of_paid(ctx, session, bill, except_order=order.id)
        if lines:
            closed += _close_overlapping(ctx, session, order)
    by = provider_label(order.provider)
    receipt = payment_receipt(ctx, session, payment, bill, by, unit_code=unit_code, line_ids=lines)
    record_order_paid(
        ctx,
        session,
        order,
        notice,
        receipt,
        {"bill": bill.number, "receipt": payment.receipt_no, "closed_orders": closed},
    )
    return "paid", payment.receipt_no


def record_qr_payment(
    ctx: KioskContext,
    session: Session,
    order: PaymentOrder,
    bill_id: int,
    amount_fen: int,
    late_fee_fen: int,
) -> Payment:
    """The payment of a paid QR order (or of its share for one bill) just applied."""
    return record_payment(
        ctx,
        session,
        bill_id,
        amount_fen,
        late_fee_fen,
        method="qr",
        received_by=_by_provider(order),
        order=order,
    )


def _by_provider(order: PaymentOrder) -> str:
    """Who received a QR order's money."""
    return f"provider:{order.provider}"


def record_order_paid(
    ctx: KioskContext,
    session: Session,
    order: PaymentOrder,
    notice: PaidNotice,
    receipt: Receipt,
    details: dict[str, Any],
) -> None:
    """Audit a paid order (``details`` name what it paid) and queue its receipt."""
    audit.record_for(
        ctx,
        session,
        f"provider:{order.provider}",
        "billing.order.paid",
        f"order:{order.out_trade_no}",
        {"amount_fen": order.amount_fen, "txn": notice.txn_id, **details},
    )
    submit_receipt(ctx, session, receipt, order.kiosk_id or ctx.kiosk_id)


def flag_settled_elsewhere(
    ctx: KioskContext, session: Session, order: PaymentOrder, notice: PaidNotice
) -> tuple[str, str]:
    """Paid at the desk (or by another order) meanwhile: the money must go back, and the
    order is not "paid" (no receipt, nothing applied) but closed with a flag. ``order`` is
    the row the notice won, not loaded into the session: it is updated here as well."""
    order.flag = "bill_already_paid"
    order.status = "closed"
    order.close_reason = "bill_already_paid"
    order.closed_at = ctx.clock.now()
    direct.execute(
        session.connection(),
        _FLAG_SETTLED_ELSEWHERE,
        {"order_id": order.id, "b_closed_at": order.closed_at},
    )
    return _flag_order(
        ctx,
        session,
        order,
        notice,
        order.flag,
        N_("payment order {order}: bill already settled; refund needed"),
    )


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
        return _flag_order(
            ctx,
            session,
            order,
            notice,
            "second_payment",
            N_("payment order {order}: a second payment {txn} for one order"),
            txn=notice.txn_id,
        )
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
    return _flag_order(
        ctx,
        session,
        order,
        notice,
        flag,
        N_("payment order {order}: wrong amount: got {got} for {want}")
        if flag == "amount_mismatch"
        else N_("payment order {order}: paid after it was closed: got {got} for {want}"),
        audited={"order_amount_fen": order.amount_fen},
        got=format_fen(notice.amount_fen),
        want=format_fen(order.amount_fen),
    )


def _flag_order(
    ctx: KioskContext,
    session: Session,
    order: PaymentOrder,
    notice: PaidNotice,
    flag: str,
    what: str,
    *,
    audited: dict[str, Any] | None = None,
    **values: str,
) -> tuple[str, str]:
    """Money the order cannot take: the desk's alert (``what`` is a message id with
    ``{order}`` and the ``values``' placeholders) and the audit event of the provider's
    notice, with ``audited`` added to what it records. Answers the verdict."""
    raise_alert(
        session,
        "billing.payment_flagged",
        what,
        params={"order": order.out_trade_no, **values},
        at=ctx.clock.now(),
        severity="warning",
        kiosk_id=order.kiosk_id,
    )
    audit.record_for(
        ctx,
        session,
        f"provider:{order.provider}",
        "billing.order.flagged",
        f"order:{order.out_trade_no}",
        {"flag": flag, "txn": notice.txn_id, "amount_fen": notice.amount_fen, **(audited or {})},
    )
    return "flagged", flag


def _close_pending_if_settled(
    ctx: KioskContext, session: Session, bill_id: int, except_order: int | None
) -> list[str]:
    """Once a bill is settled, its other pending orders are closed (a bill is paid once)."""
    bill = session.get(Bill, bill_id)
    assert bill is not None
    session.refresh(bill)
    return _close_pending_of_paid(ctx, session, bill, except_order)


def _close_pending_of_paid(
    ctx: KioskContext, session: Session, bill: Bill, except_order: int | None
) -> list[str]:
    """:func:`_close_pending_if_settled` for a bill as a payment just left it."""
    if bill.balance_fen > 0:
        return []
    return list(
        direct.execute(
            session.connection(),
            _SUPERSEDE_PENDING_ON,
            {"b_bill_id": bill.id, "except_order": except_order, "b_closed_at": ctx.clock.now()},
        ).scalars()
    )


def _pending_orders_on(session: Session, bill_id: int) -> Sequence[Row[int, str, str]]:
    """The pending orders that pay ``bill_id``: (id, out_trade_no, line_ids) of its own, and
    of orders of arrears covering it."""
    return direct.execute(session.connection(), _PENDING_ORDERS_ON, {"b_bill_id": bill_id}).all()


def _supersede(ctx: KioskContext, session: Session, numbers: list[str]) -> list[str]:
    """Close pending orders another payment made unpayable (the provider is told later)."""
    if numbers:
        direct.execute(
            session.connection(), _SUPERSEDE, {"numbers": numbers, "b_closed_at": ctx.clock.now()}
        )
    return numbers


def order_lines(order: PaymentOrder) -> list[int]:
    """The bill lines an order pays ([] = the whole bill)."""
    return _lines_in(order.line_ids)


def _lines_in(line_ids: str) -> list[int]:
    return [int(i) for i in line_ids.split(",") if i]


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
    pending = [o for o in _pending_orders_on(session, paid.bill_id) if o.id != paid.id]
    return _supersede(
        ctx,
        session,
        [o.out_trade_no for o in pending if not o.line_ids or mine & set(_lines_in(o.line_ids))],
    )


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
