"""The CSV import of charges, unit statements and the daily reconciliation."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from kiosk import audit
from kiosk.clock import as_utc
from kiosk.db.models import Unit
from kiosk.errors import Refused
from kiosk.identity import Actor, require_role, unit_by_code
from kiosk.money import MoneyError, yuan
from plugins.billing import fees
from plugins.billing.models import (
    LINE_KINDS,
    Bill,
    BillLine,
    Deposit,
    Payment,
    PaymentOrder,
    Refund,
)
from plugins.billing.providers import (
    ProviderError,
)
from plugins.billing.service.bills import (
    BillView,
    _check_period,
    add_charge_in,
    bill_for,
    config,
    due_now_total,
    late_fee_rule,
    local_today,
    providers,
    view,
)

if TYPE_CHECKING:
    from kiosk.context import KioskContext


# One logger for the billing service, whichever module logs.
log = logging.getLogger("plugins.billing.service")


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
                unit = unit_by_code(session, unit_code)
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
        return due_now_total(self.bills)


def unit_statement(ctx: KioskContext, actor: Actor, unit: str | int) -> UnitStatement:
    """A unit's bills, payments and deposits (desk staff, or the unit's own resident)."""
    today, rule = local_today(ctx), late_fee_rule(ctx)
    with ctx.database().read() as session:
        the_unit = unit_by_code(session, unit)
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
    start = dt.datetime.combine(day, dt.time(), ctx.zone).astimezone(dt.UTC)
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
