"""Billing configuration, bills and charges: a unit's bill for a month, its lines, what it owes today."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kiosk import audit
from kiosk.db.models import Unit
from kiosk.errors import Refused
from kiosk.i18n import N_, _
from kiosk.identity import Actor, require_role, unit_by_code
from kiosk.money import format_fen
from kiosk.pii import mask_text
from kiosk.writes import in_own_transaction
from plugins.billing import fees
from plugins.billing.models import (
    LINE_KINDS,
    Bill,
    BillLine,
)
from plugins.billing.providers import (
    BUILTIN,
    PaymentProvider,
    build_providers,
)

if TYPE_CHECKING:
    from kiosk.context import KioskContext


# One logger for the billing service, whichever module logs.
log = logging.getLogger("plugins.billing.service")


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
    the_unit = unit_by_code(session, unit)
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


# In its own transaction, answering the new (or earlier) line's id.
add_charge = in_own_transaction(add_charge_in, then=lambda line: line.id)


# What each kind of line is called where a resident or the desk reads a bill (never the code).
LINE_TITLES: dict[str, str] = {
    "property_fee": N_("Property fee"),
    "parking_rent": N_("Parking rent"),
    "utilities": N_("Utilities"),
    "repair": N_("Repair charge"),
    "umbrella": N_("Umbrella charge"),
    "late_fee": N_("Late fee"),
    "other": N_("Other"),
}


@dataclass(frozen=True)
class LineView:
    kind: str
    description: str
    amount_fen: int

    @property
    def title(self) -> str:
        """The line's kind in the reader's language."""
        return line_title(self.kind)


def line_title(kind: str) -> str:
    """What a kind of line is called, in the reader's language (never the code)."""
    return _(LINE_TITLES.get(kind, N_("Other")))


_Line = TypeVar("_Line", LineView, BillLine)


def in_bill_order(lines: Iterable[_Line]) -> list[_Line]:
    """A bill's lines as a resident reads them: property fee first, then as LINE_TITLES."""
    order = list(LINE_TITLES)
    return sorted(lines, key=lambda ln: order.index(ln.kind) if ln.kind in order else 99)


def lines_summary(bill: BillView) -> str:
    """A bill's lines on one line, property fee first: ``物业费 ￥256.25 · 车位租金 ￥100.00``."""
    return " · ".join(f"{ln.title} {format_fen(ln.amount_fen)}" for ln in in_bill_order(bill.lines))


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


def due_now_total(bills: Iterable[BillView]) -> int:
    """What paying all of ``bills`` today costs, late fees to today included: the one sum
    the bills screen's "pay all", an arrears order, a statement and the tile's mark show."""
    return sum(b.due_now_fen for b in bills)


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
        return open_bills_in(session, unit_by_code(session, unit).id, today, rule)


def open_bills_in(
    session: Session, unit_id: int, today: dt.date, rule: fees.LateFeeRule
) -> list[BillView]:
    """:func:`open_bills` inside the caller's transaction."""
    bills = session.scalars(
        select(Bill).where(Bill.unit_id == unit_id, Bill.status == "open").order_by(Bill.period)
    ).all()
    return [view(session, b, today, rule) for b in bills if b.balance_fen > 0]


def get_bill(ctx: KioskContext, bill_id: int) -> BillView:
    with ctx.database().read() as session:
        bill = session.get(Bill, bill_id)
        if bill is None:
            raise Refused("billing.no_bill", "There is no such bill.")
        return view(session, bill, local_today(ctx), late_fee_rule(ctx))
