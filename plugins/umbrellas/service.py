"""Umbrella lending (000 "雨伞"), headless.

Procedure: the service is for owners and occupants of the estate only; at lending the umbrella
is checked and its condition written in the loan register (物品借取登记表); at return a damaged or
lost umbrella is compensated at its original price, confirmed by the butler on duty.

Circulation rules work like a library's (``[plugins.umbrellas]``): loan period, max umbrellas
per household, grace period, late fee per day with a cap; a household with an overdue umbrella
or an unpaid fee cannot borrow another one (:func:`lend` says why).

Race-prone steps are conditional updates: two kiosks lending the same umbrella, or returning it
twice, cannot both succeed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import String, Table, and_, bindparam, case, func, insert, select, update
from sqlalchemy.orm import Session

import plugins.billing.api as billing
from kiosk import audit, charges, printing
from kiosk.clock import as_utc
from kiosk.db import direct
from kiosk.db.models import Resident, Unit
from kiosk.errors import Refused
from kiosk.export import csv_text, in_period
from kiosk.i18n import N_
from kiosk.identity import SYSTEM, Actor, require_role
from kiosk.money import format_fen
from kiosk.notify import queue_notification, raise_alert
from kiosk.pii import mask_name, mask_text
from kiosk.plugin_settings import PluginRules, at_least
from kiosk.writes import change_once
from plugins.umbrellas.models import (
    RETURN_CONDITIONS,
    UMBRELLA_KINDS,
    Umbrella,
    UmbrellaLoan,
)

if TYPE_CHECKING:
    from kiosk.context import KioskContext

DESK_ROLES = ("butler",)
STOCK_ROLES = ("butler", "security")
OUT = ("lent", "overdue")
# The most an umbrella's original price may be typed as (desk form and CLI): ￥100,000.
MOST_PRICE_FEN = 10**7


@dataclass(frozen=True)
class CirculationRules(PluginRules):
    """``[plugins.umbrellas]`` with the defaults an estate starts from; periods and limits are
    at least 1, fees at least 0."""

    PLUGIN = "umbrellas"

    loan_hours: int = at_least(1, default=72)
    max_per_household: int = at_least(1, default=2)
    grace_hours: int = 24
    late_fee_per_day_fen: int = 200
    late_fee_cap_fen: int = 2000
    lend_roles: tuple[str, ...] = ("owner", "tenant", "occupant")


def late_fee(rules: CirculationRules, due_at: dt.datetime, returned_at: dt.datetime) -> int:
    """Fee in fen for returning at ``returned_at``: nothing within the grace period, then per
    started day late (counted from the due time), never above the cap."""
    late = as_utc(returned_at) - as_utc(due_at)
    if late <= dt.timedelta(hours=rules.grace_hours):
        return 0
    days = -(-late // dt.timedelta(days=1))  # started days
    return min(days * rules.late_fee_per_day_fen, rules.late_fee_cap_fen)


_UMBRELLAS = cast(Table, Umbrella.__table__)
_LOANS = cast(Table, UmbrellaLoan.__table__)
# The umbrella a tag names.
_BY_TAG = select(Umbrella).where(Umbrella.tag == bindparam("tag"))
# Whether a tag names an umbrella at all.
_KNOWN_TAG = select(_UMBRELLAS.c.tag).where(_UMBRELLAS.c.tag == bindparam("tag"))


def _unknown(tag: str) -> Refused:
    return Refused("umbrellas.unknown", "There is no umbrella {tag}.", tag=tag.strip())


def _umbrella(session: Session, tag: str) -> Umbrella:
    row = session.scalar(_BY_TAG, {"tag": tag.strip().upper()})
    if row is None:
        raise _unknown(tag)
    return row


def _known_tag(session: Session, tag: str) -> str:
    """The tag of the umbrella ``tag`` names, refused when there is none."""
    known = direct.execute(session.connection(), _KNOWN_TAG, {"tag": tag.strip().upper()}).scalar()
    if known is None:
        raise _unknown(tag)
    return str(known)


# -- stock ------------------------------------------------------------------------------------


def add_umbrella(
    ctx: KioskContext, actor: Actor, *, tag: str, kind: str, price_fen: int, lobby: str = "",
    condition: str = "intact",
) -> int:  # fmt: skip
    """Put a new umbrella in a lobby's stock (butler)."""
    require_role(actor, "add an umbrella", *DESK_ROLES)
    tag = tag.strip().upper()
    if not tag or len(tag) > 32:
        raise Refused("umbrellas.tag", "An umbrella tag is 1-32 letters and digits.")
    if kind not in UMBRELLA_KINDS:
        raise Refused("umbrellas.kind", "An umbrella is long or short, not {kind}.", kind=kind)
    if isinstance(price_fen, bool) or not isinstance(price_fen, int) or price_fen <= 0:
        raise Refused("umbrellas.price", "The original price must be a positive amount.")
    with ctx.database().write() as session:
        if session.scalar(select(Umbrella.id).where(Umbrella.tag == tag)) is not None:
            raise Refused("umbrellas.duplicate", "Umbrella {tag} is already in stock.", tag=tag)
        row = Umbrella(tag=tag, kind=kind, price_fen=price_fen, lobby=lobby or ctx.lobby,
                       condition=condition, state="available", added_at=ctx.clock.now())  # fmt: skip
        session.add(row)
        session.flush()
        audit.record_for(ctx, session, actor, "umbrella.added", f"umbrella:{tag}",
                         {"kind": kind, "price_fen": price_fen, "lobby": row.lobby})  # fmt: skip
        return row.id


def note_condition(ctx: KioskContext, actor: Actor, tag: str, condition: str) -> None:
    """The butler records how an umbrella on the stand looks (a bent rib, a stained cover):
    the next loan carries it, so that damage is never charged to the next household."""
    require_role(actor, "note an umbrella's condition", *DESK_ROLES)
    text = mask_text(condition.strip())[:100]
    if not text:
        raise Refused("umbrellas.condition", "Say how the umbrella looks.")
    with ctx.database().write() as session:
        row = _umbrella(session, tag)
        row.condition = text
        audit.record_for(ctx, session, actor, "umbrella.condition", f"umbrella:{row.tag}",
                         {"condition": text})  # fmt: skip


def retire(ctx: KioskContext, actor: Actor, tag: str) -> None:
    """Take an umbrella that is not out of service for good (butler)."""
    require_role(actor, "retire an umbrella", *DESK_ROLES)
    with ctx.database().write() as session:
        row = _umbrella(session, tag)
        if row.state == "retired":
            raise Refused("umbrellas.retired", "Umbrella {tag} is already retired.", tag=row.tag)
        change_once(
            session,
            update(Umbrella).where(Umbrella.id == row.id, Umbrella.state.not_in(OUT))
            .values(state="retired"),
            Refused("umbrellas.is_out", "Umbrella {tag} is lent; wait for its return.", tag=row.tag),
        )  # fmt: skip
        audit.record_for(ctx, session, actor, "umbrella.retired", f"umbrella:{row.tag}")


def replace_umbrella(ctx: KioskContext, actor: Actor, tag: str, new_tag: str) -> int:
    """A damaged or lost umbrella is retired and a new one of the same kind and price takes
    its place on the same lobby's stand (the replacement the property department made)."""
    require_role(actor, "replace an umbrella", *DESK_ROLES)
    with ctx.database().read() as session:
        old = _umbrella(session, tag)
        kind, price, lobby, old_tag, state = old.kind, old.price_fen, old.lobby, old.tag, old.state
    if state not in ("damaged", "lost"):
        raise Refused(
            "umbrellas.not_reported",
            "Umbrella {tag} is {state}: only a damaged or lost umbrella is replaced.",
            tag=old_tag,
            state=state,
        )
    new_id = add_umbrella(ctx, actor, tag=new_tag, kind=kind, price_fen=price, lobby=lobby)
    with ctx.database().write() as session:
        session.execute(
            update(Umbrella)
            .where(Umbrella.tag == old_tag, Umbrella.state.in_(("damaged", "lost")))
            .values(state="retired")
        )
        audit.record_for(ctx, session, actor, "umbrella.replaced", f"umbrella:{old_tag}",
                         {"by": new_tag.strip().upper()})  # fmt: skip
    return new_id


@dataclass(frozen=True)
class ReplacementLine:
    """One line of the replacement report (上报物业部更换)."""

    tag: str
    kind: str
    lobby: str
    state: str
    price_fen: int
    reported_at: dt.datetime | None
    unit_code: str
    condition_out: str


def replacement_report(ctx: KioskContext, lobby: str | None = None) -> list[ReplacementLine]:
    """Damaged and lost umbrellas waiting for the property department to replace them, with
    the loan that reported each (when, which household, its condition when lent)."""
    with ctx.database().read() as session:
        q = select(Umbrella).where(Umbrella.state.in_(("damaged", "lost")))
        if lobby:
            q = q.where(Umbrella.lobby == lobby)
        rows = list(session.scalars(q.order_by(Umbrella.lobby, Umbrella.tag)))
        ids = [u.id for u in rows]
        last: dict[int, tuple[UmbrellaLoan, str]] = {}
        for loan, code in session.execute(
            select(UmbrellaLoan, Unit.code)
            .join(Unit, Unit.id == UmbrellaLoan.unit_id)
            .where(UmbrellaLoan.umbrella_id.in_(ids), UmbrellaLoan.returned_at.is_not(None))
            .order_by(UmbrellaLoan.returned_at)
        ).all():
            last[loan.umbrella_id] = (loan, code)
        out = []
        for u in rows:
            loan_code = last.get(u.id)
            out.append(
                ReplacementLine(
                    u.tag, u.kind, u.lobby, u.state, u.price_fen,
                    loan_code[0].returned_at if loan_code else None,
                    loan_code[1] if loan_code else "",
                    loan_code[0].condition_out if loan_code else "",
                )
            )  # fmt: skip
        return out


# -- lending ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoanView:
    loan_id: int
    tag: str
    kind: str
    unit_code: str
    lent_at: dt.datetime
    due_at: dt.datetime
    condition_out: str
    price_fen: int


# Who borrows: the resident's role and household, whose row is locked so that one household
# borrows at one kiosk at a time (PostgreSQL); SQLite writes are serial.
_BORROWER = (
    select(Resident.active, Resident.role, Unit.id.label("unit_id"), Unit.code)
    .join(Unit, Unit.id == Resident.unit_id)
    .where(Resident.id == bindparam("resident_id"))
    .with_for_update(of=Unit)
)
# What a household has out and owes: its open loans, the earliest due time among them, its
# umbrella fees not paid yet (pending or at the desk) and how many of its fees are on a bill.
_HOUSEHOLD = select(
    func.count(case((_LOANS.c.returned_at.is_(None), 1))).label("open_loans"),
    func.min(case((_LOANS.c.returned_at.is_(None), _LOANS.c.due_at))).label("first_due"),
    func.coalesce(
        func.sum(
            case(
                (
                    _LOANS.c.fee_status.in_(("pending", "desk")),
                    _LOANS.c.late_fee_fen + _LOANS.c.compensation_fen,
                )
            )
        ),
        0,
    ).label("unpaid_fen"),
    func.count(case((_LOANS.c.fee_status == "billed", 1))).label("billed_loans"),
).where(_LOANS.c.unit_id == bindparam("unit_id"))
# The household's loans whose fees went on a bill.
_BILLED_LOANS = select(_LOANS.c.id).where(
    _LOANS.c.unit_id == bindparam("unit_id"), _LOANS.c.fee_status == "billed"
)
# Take an available umbrella by its tag: it goes out in the condition staff noted, else in its
# recorded one ("intact" when none is recorded), which the loan carries.
_TAKE = (
    update(_UMBRELLAS)
    .where(_UMBRELLAS.c.tag == bindparam("b_tag"), _UMBRELLAS.c.state == "available")
    .values(
        state="lent",
        condition=func.coalesce(
            bindparam("b_noted", type_=String), func.nullif(_UMBRELLAS.c.condition, ""), "intact"
        ),
    )
    .returning(_UMBRELLAS.c.id, _UMBRELLAS.c.tag, _UMBRELLAS.c.kind, _UMBRELLAS.c.price_fen,
               _UMBRELLAS.c.condition)
)  # fmt: skip
_INSERT_LOAN = insert(_LOANS).returning(_LOANS.c.id)


def _borrower(session: Session, rules: CirculationRules, actor: Actor) -> Any:
    """The borrowing resident's household (``unit_id``, ``code``), locked for this loan."""
    row = (
        direct.execute(session.connection(), _BORROWER, {"resident_id": actor.id}).first()
        if actor.kind == "resident"
        else None
    )
    if row is None or not row.active or row.role not in rules.lend_roles:
        raise Refused(
            "umbrellas.not_resident",
            "Umbrellas are lent to owners and occupants only. Please see the desk.",
        )
    return row


def _owed(session: Session, ctx: KioskContext, unit_id: int, household: Any) -> int:
    """Umbrella fees the household has not paid yet (pending, at the desk, or on an open bill),
    from its :data:`_HOUSEHOLD` row: its bill is read only when some of its fees went on one."""
    owed = int(household.unpaid_fen or 0)
    if household.billed_loans and billing.available(ctx):
        billed_refs = [
            f"umbrella_loan:{i}"
            for i in session.connection().scalars(_BILLED_LOANS, {"unit_id": unit_id})
        ]
        owed += billing.open_fen(session, billed_refs)
    return owed


def was_intact(condition: str) -> bool:
    """Whether a recorded condition says the umbrella had nothing wrong with it."""
    return condition.strip().casefold() in ("", "intact", "完好", "good")


def condition_of(ctx: KioskContext, tag: str) -> str:
    """The umbrella's recorded condition, shown to the resident to confirm before a loan."""
    with ctx.database().read() as session:
        return _umbrella(session, tag).condition or "intact"


def lend(ctx: KioskContext, actor: Actor, tag: str, condition_out: str | None = None) -> LoanView:
    """Lend umbrella ``tag`` to the card-tapped (or unit + PIN) resident ``actor``.

    The loan carries the umbrella's recorded condition (what the butler noted, which the
    resident confirmed on screen), so damage that was already there is never charged; staff
    lending at the desk may record a new ``condition_out``.

    Refused, with the reason, for someone who is not an owner or occupant, a household at its
    limit, with an overdue umbrella or an unpaid fee, and an umbrella that is not available
    (also when another kiosk lent it a moment ago).
    """
    rules = CirculationRules.of(ctx)
    now = ctx.clock.now()
    noted = mask_text(condition_out.strip())[:100] if condition_out else ""
    with ctx.database().write() as session:
        household = _borrower(session, rules, actor)
        standing = direct.execute(
            session.connection(), _HOUSEHOLD, {"unit_id": household.unit_id}
        ).one()
        if standing.first_due is not None and as_utc(standing.first_due) < now:
            raise Refused(
                "umbrellas.overdue",
                "Your household has an overdue umbrella (due {due}). Please return it first.",
                due=ctx.local_time(standing.first_due),
            )
        owed = _owed(session, ctx, household.unit_id, standing)
        if owed:
            raise Refused(
                "umbrellas.owing",
                "Your household owes {amount} for umbrellas. Please pay at the desk first.",
                amount=format_fen(owed),
            )
        if standing.open_loans >= rules.max_per_household:
            raise Refused(
                "umbrellas.limit",
                "Your household already has {count} umbrellas, the most it may borrow.",
                count=standing.open_loans,
            )
        noted_by_staff = noted if actor.kind == "staff" and noted else None
        umbrella = direct.execute(
            session.connection(), _TAKE, {"b_tag": tag.strip().upper(), "b_noted": noted_by_staff}
        ).first()
        if umbrella is None:
            raise Refused(
                "umbrellas.not_available",
                "Umbrella {tag} is not available. Please take another one.",
                tag=_known_tag(session, tag),
            )
        due = now + dt.timedelta(hours=rules.loan_hours)
        loan_id = (
            direct.execute(session.connection(),
                _INSERT_LOAN,
                {
                    "umbrella_id": umbrella.id, "unit_id": household.unit_id,
                    "resident_id": actor.id, "lent_at": now, "due_at": due,
                    "lent_kiosk": ctx.kiosk_id, "condition_out": umbrella.condition,
                    "condition_in": "", "fee_status": "none",
                },
            )
            .scalar_one()
        )  # fmt: skip
        audit.record_for(ctx, session, actor, "umbrella.lent", f"umbrella:{umbrella.tag}",
                         {"loan": loan_id, "unit": household.code,
                          "condition": umbrella.condition})  # fmt: skip
        view = LoanView(loan_id, umbrella.tag, umbrella.kind, household.code, now, due,
                        umbrella.condition, umbrella.price_fen)  # fmt: skip
        printing.queue(
            session, lending_slip(ctx, view), kind="umbrella_loan", at=now, kiosk_id=ctx.kiosk_id
        )
        return view


def condition_text(condition: str) -> str:
    """A recorded condition: the known words translated, a butler's note shown as written."""
    from kiosk.i18n import _

    return _(condition) if condition in ("intact", "damaged", "lost", "worn") else condition


def lending_slip(ctx: KioskContext, view: LoanView) -> Any:
    from devices.printer import Receipt
    from kiosk.i18n import _

    return (
        Receipt()
        .title(_("Umbrella loan"))
        .row(_("Umbrella"), view.tag)
        .row(_("Unit"), view.unit_code)
        .row(_("Condition"), condition_text(view.condition_out))
        .row(_("Lent"), ctx.local_time(view.lent_at))
        .row(_("Due"), ctx.local_time(view.due_at))
        .text(_("Return it at any kiosk of the estate."))
        .cut()
    )


def loans_of(ctx: KioskContext, actor: Actor) -> list[LoanView]:
    """The resident's household's umbrellas still out (what the return screen lists)."""
    with ctx.database().read() as session:
        rows = session.execute(
            select(UmbrellaLoan, Umbrella, Unit)
            .join(Umbrella, Umbrella.id == UmbrellaLoan.umbrella_id)
            .join(Unit, Unit.id == UmbrellaLoan.unit_id)
            .where(UmbrellaLoan.unit_id == actor.unit_id, UmbrellaLoan.returned_at.is_(None))
            .order_by(UmbrellaLoan.id)
        ).all()
        return [LoanView(ln.id, u.tag, u.kind, unit.code, as_utc(ln.lent_at), as_utc(ln.due_at),
                         ln.condition_out, u.price_fen) for ln, u, unit in rows]  # fmt: skip


# -- return -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnResult:
    loan_id: int
    tag: str
    unit_code: str
    condition: str
    late_fee_fen: int
    compensation_fen: int

    @property
    def owed_fen(self) -> int:
        return self.late_fee_fen + self.compensation_fen


# The umbrella a tag names, with its open loan (if any) and that loan's household.
_HANDED_BACK = (
    select(
        Umbrella.id, Umbrella.tag, Umbrella.state, Umbrella.price_fen, Umbrella.lobby,
        UmbrellaLoan.id.label("loan_id"), UmbrellaLoan.unit_id, UmbrellaLoan.due_at,
        UmbrellaLoan.condition_out, Unit.code.label("unit_code"),
    )
    .outerjoin(UmbrellaLoan, and_(UmbrellaLoan.umbrella_id == Umbrella.id,
                                  UmbrellaLoan.returned_at.is_(None)))
    .outerjoin(Unit, Unit.id == UmbrellaLoan.unit_id)
    .where(Umbrella.tag == bindparam("tag"))
)  # fmt: skip
# Close a loan that is still open (a second return of it changes nothing).
_CLOSE_LOAN = (
    update(_LOANS)
    .where(_LOANS.c.id == bindparam("b_loan"), _LOANS.c.returned_at.is_(None))
    .values(
        returned_at=bindparam("b_at"), returned_kiosk=bindparam("b_kiosk"),
        condition_in=bindparam("b_condition"), late_fee_fen=bindparam("b_fee"),
        compensation_fen=bindparam("b_compensation"), fee_status=bindparam("b_fee_status"),
    )
)  # fmt: skip
# Put a lent umbrella back on a lobby's stand (or out of service) in its returned condition.
_PUT_BACK = (
    update(_UMBRELLAS)
    .where(_UMBRELLAS.c.id == bindparam("b_umbrella"), _UMBRELLAS.c.state.in_(OUT))
    .values(state=bindparam("b_state"), condition=bindparam("b_condition"),
            lobby=bindparam("b_lobby"))
)  # fmt: skip


def return_umbrella(
    ctx: KioskContext, actor: Actor, tag: str, condition: str = "intact"
) -> ReturnResult:
    """Take umbrella ``tag`` back at this kiosk (any kiosk of the estate) in the declared
    ``condition`` (intact / damaged / lost). A late fee and, for damage or loss, the original
    price are owed; the butler confirms them (:func:`confirm_charge`).

    An umbrella that is not lent is not changed: the desk is alerted and the return refused.
    """
    if condition not in RETURN_CONDITIONS:
        raise Refused("umbrellas.condition", "Say whether the umbrella is intact, damaged or lost.")
    rules = CirculationRules.of(ctx)
    now = ctx.clock.now()
    with ctx.database().write() as session:
        row = direct.execute(
            session.connection(), _HANDED_BACK, {"tag": tag.strip().upper()}
        ).first()
        if row is None:
            raise _unknown(tag)
        if row.state in OUT and row.loan_id is not None:
            if condition != "intact" and actor.kind != "staff" and actor.unit_id != row.unit_id:
                # Anyone may hand an umbrella back; only its household (or staff) can say
                # it is damaged or lost, which puts a charge on that household.
                raise Refused(
                    "umbrellas.not_borrower",
                    "Only the household that borrowed umbrella {tag} can report it damaged or "
                    "lost. Please hand it to the desk.",
                    tag=row.tag,
                )
            result = _take_back(ctx, session, actor, row, condition, rules, now)
            if result is not None:
                return result
        raise_alert(
            session, "umbrella_not_lent",
            N_("umbrella {tag} ({state}) was handed back at kiosk {kiosk} but is not lent"),
            params={"tag": row.tag, "state": row.state, "kiosk": ctx.kiosk_id},
            at=now, lobby=ctx.lobby, kiosk_id=ctx.kiosk_id,
        )  # fmt: skip
    raise Refused(
        "umbrellas.not_lent",
        "Umbrella {tag} is not on loan. Please hand it to the desk.",
        tag=row.tag,
    )


def _take_back(
    ctx: KioskContext, session: Session, actor: Actor, row: Any, condition: str,
    rules: CirculationRules, now: dt.datetime,
) -> ReturnResult | None:  # fmt: skip
    """Close the open loan of :data:`_HANDED_BACK`'s ``row`` and put its umbrella back; None
    when another kiosk took it back first."""
    fee = late_fee(rules, row.due_at, now)
    charged = condition == "lost" or (condition == "damaged" and was_intact(row.condition_out))
    compensation = row.price_fen if charged else 0
    conn = session.connection()
    back = direct.execute(conn,
        _CLOSE_LOAN,
        {"b_loan": row.loan_id, "b_at": now, "b_kiosk": ctx.kiosk_id, "b_condition": condition,
         "b_fee": fee, "b_compensation": compensation,
         "b_fee_status": "pending" if fee + compensation else "none"},
    ).rowcount  # fmt: skip
    if not back:
        return None
    new_state = {"intact": "available", "damaged": "damaged", "lost": "lost"}[condition]
    direct.execute(conn,
        _PUT_BACK,
        {"b_umbrella": row.id, "b_state": new_state, "b_condition": condition,
         "b_lobby": ctx.lobby or row.lobby},
    )  # fmt: skip
    unit_code = row.unit_code or ""
    audit.record_for(ctx, session, actor, "umbrella.returned", f"umbrella:{row.tag}",
                     {"loan": row.loan_id, "condition": condition, "late_fee_fen": fee,
                      "compensation_fen": compensation})  # fmt: skip
    if fee + compensation:
        raise_alert(
            session, "umbrella_charge",
            N_("umbrella {tag} returned {condition} by {unit}: {amount} to confirm "
               "(loan {loan})"),
            params={"tag": row.tag, "condition": condition, "unit": unit_code,
                    "amount": format_fen(fee + compensation), "loan": row.loan_id},
            at=now, lobby=ctx.lobby, kiosk_id=ctx.kiosk_id,
        )  # fmt: skip
    return ReturnResult(row.loan_id, row.tag, unit_code, condition, fee, compensation)


# -- fees ------------------------------------------------------------------------------------


def confirm_charge(ctx: KioskContext, actor: Actor, loan_id: int, *, waive: bool = False) -> str:
    """The butler confirms (or waives) what a returned loan owes. With the billing plugin the
    amount becomes a bill line of the unit ("umbrella"); without it, a desk item to collect.
    Returns the new fee status."""
    require_role(actor, "confirm an umbrella charge", *DESK_ROLES)
    now = ctx.clock.now()
    with ctx.database().write() as session:
        loan = session.get(UmbrellaLoan, loan_id)
        if loan is None:
            raise Refused("umbrellas.no_loan", "There is no umbrella loan {loan}.", loan=loan_id)
        target = "waived" if waive else "billed"
        change_once(
            session,
            update(UmbrellaLoan).where(UmbrellaLoan.id == loan.id,
                                       UmbrellaLoan.fee_status == "pending")
            .values(fee_status=target, confirmed_by=actor.label, confirmed_at=now),
            Refused("umbrellas.not_pending", "Nothing is waiting to be confirmed for loan {loan}.",
                    loan=loan_id),
        )  # fmt: skip
        umbrella = session.get(Umbrella, loan.umbrella_id)
        tag = umbrella.tag if umbrella else "?"
        amount = loan.late_fee_fen + loan.compensation_fen
        what = f"umbrella {tag}: " + ", ".join(
            part for part in (
                f"late fee {format_fen(loan.late_fee_fen)}" if loan.late_fee_fen else "",
                f"{loan.condition_in} at original price {format_fen(loan.compensation_fen)}"
                if loan.compensation_fen else "",
            ) if part
        )  # fmt: skip
        if target == "billed" and not charges.charge(
            ctx, session, actor, loan.unit_id, "umbrella", amount, f"umbrella_loan:{loan.id}", what
        ):
            # Nothing takes charges here (no billing): the desk was alerted to collect it.
            target = "desk"
            session.execute(
                update(UmbrellaLoan).where(UmbrellaLoan.id == loan.id).values(fee_status="desk")
            )
        audit.record_for(ctx, session, actor, f"umbrella.charge.{target}", f"umbrella_loan:{loan.id}",
                         {"amount_fen": amount})  # fmt: skip
        return target


def mark_paid_at_desk(ctx: KioskContext, actor: Actor, loan_id: int) -> None:
    """The desk took the money for a desk item (no billing plugin)."""
    require_role(actor, "take an umbrella payment", "butler", "cashier")
    with ctx.database().write() as session:
        change_once(
            session,
            update(UmbrellaLoan).where(UmbrellaLoan.id == loan_id, UmbrellaLoan.fee_status == "desk")
            .values(fee_status="paid"),
            Refused("umbrellas.not_desk", "Loan {loan} has nothing to pay at the desk.", loan=loan_id),
        )  # fmt: skip
        audit.record_for(ctx, session, actor, "umbrella.charge.paid", f"umbrella_loan:{loan_id}")


# -- desk -------------------------------------------------------------------------------------


def stock(ctx: KioskContext, lobby: str | None = None) -> dict[str, dict[str, int]]:
    """``{lobby: {state: count}}`` with every state present (overdue computed from due times)."""
    from plugins.umbrellas.models import UMBRELLA_STATES

    now = ctx.clock.now()
    with ctx.database().read() as session:
        q = select(Umbrella.lobby, Umbrella.state, func.count()).group_by(
            Umbrella.lobby, Umbrella.state
        )
        late = (
            select(Umbrella.lobby, func.count())
            .join(UmbrellaLoan, UmbrellaLoan.umbrella_id == Umbrella.id)
            .where(UmbrellaLoan.returned_at.is_(None), UmbrellaLoan.due_at < now,
                   Umbrella.state == "lent")
            .group_by(Umbrella.lobby)
        )  # fmt: skip
        if lobby:
            q, late = q.where(Umbrella.lobby == lobby), late.where(Umbrella.lobby == lobby)
        out: dict[str, dict[str, int]] = {}
        for where, state, count in session.execute(q):
            out.setdefault(where, dict.fromkeys(UMBRELLA_STATES, 0))[state] += count
        for where, count in session.execute(late):
            out[where]["lent"] -= count
            out[where]["overdue"] += count
        return out


@dataclass(frozen=True)
class OverdueLoan:
    loan_id: int
    tag: str
    unit_code: str
    borrower: str  # masked
    due_at: dt.datetime
    days_late: int
    reminded_at: dt.datetime | None


def overdue_loans(ctx: KioskContext) -> list[OverdueLoan]:
    """Loans past their due time, oldest first (the desk's overdue list)."""
    now = ctx.clock.now()
    with ctx.database().read() as session:
        rows = session.execute(
            select(UmbrellaLoan, Umbrella.tag, Unit.code, Resident.name)
            .join(Umbrella, Umbrella.id == UmbrellaLoan.umbrella_id)
            .join(Unit, Unit.id == UmbrellaLoan.unit_id)
            .outerjoin(Resident, Resident.id == UmbrellaLoan.resident_id)
            .where(UmbrellaLoan.returned_at.is_(None), UmbrellaLoan.due_at < now)
            .order_by(UmbrellaLoan.due_at)
        ).all()
        return [
            OverdueLoan(ln.id, tag, code, mask_name(name or ""), as_utc(ln.due_at),
                        (now - as_utc(ln.due_at)).days,
                        as_utc(ln.reminded_at) if ln.reminded_at else None)
            for ln, tag, code, name in rows
        ]  # fmt: skip


def send_reminders(ctx: KioskContext, actor: Actor = SYSTEM) -> list[int]:
    """Remind each household with an overdue umbrella, at most once a day; marks umbrellas
    ``overdue``. Returns the reminded loan ids."""
    if actor.kind != "system":
        require_role(actor, "send umbrella reminders", *STOCK_ROLES)
    now = ctx.clock.now()
    day_ago = now - dt.timedelta(days=1)
    sent: list[int] = []
    with ctx.database().write() as session:
        loans = list(session.scalars(
            select(UmbrellaLoan).where(UmbrellaLoan.returned_at.is_(None), UmbrellaLoan.due_at < now)
        ))  # fmt: skip
        for loan in loans:
            session.execute(
                update(Umbrella).where(Umbrella.id == loan.umbrella_id, Umbrella.state == "lent")
                .values(state="overdue")
            )  # fmt: skip
            claimed = session.execute(
                update(UmbrellaLoan)
                .where(UmbrellaLoan.id == loan.id,
                       (UmbrellaLoan.reminded_at.is_(None)) | (UmbrellaLoan.reminded_at <= day_ago))
                .values(reminded_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]  # fmt: skip
            if not claimed:
                continue
            umbrella = session.get(Umbrella, loan.umbrella_id)
            queue_notification(
                session, channel="sms", template="umbrella_overdue", at=now, unit_id=loan.unit_id,
                payload={"tag": umbrella.tag if umbrella else "", "due": ctx.local_time(loan.due_at)},
            )  # fmt: skip
            audit.record_for(ctx, session, actor, "umbrella.reminded", f"umbrella_loan:{loan.id}")
            sent.append(loan.id)
    return sent


REGISTER_FIELDS = ["loan", "umbrella", "kind", "unit", "borrower", "lent_at", "condition_out",
                   "due_at", "returned_at", "condition_in", "late_fee", "compensation",
                   "fee_status", "confirmed_by"]  # fmt: skip


def loan_register_csv(
    ctx: KioskContext, actor: Actor, since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> str:  # fmt: skip
    """The loan register (物品借取登记表) as CSV, borrowers' names masked."""
    require_role(actor, "export the umbrella loan register", *STOCK_ROLES)
    with ctx.database().read() as session:
        q = (
            select(UmbrellaLoan, Umbrella, Unit.code, Resident.name)
            .join(Umbrella, Umbrella.id == UmbrellaLoan.umbrella_id)
            .join(Unit, Unit.id == UmbrellaLoan.unit_id)
            .outerjoin(Resident, Resident.id == UmbrellaLoan.resident_id)
            .order_by(UmbrellaLoan.id)
        )
        rows = (
            [
                ln.id, u.tag, u.kind, code, mask_name(name or ""), ctx.local_time(ln.lent_at),
                ln.condition_out, ctx.local_time(ln.due_at),
                ctx.local_time(ln.returned_at) if ln.returned_at else "", ln.condition_in,
                format_fen(ln.late_fee_fen) if ln.late_fee_fen else "",
                format_fen(ln.compensation_fen) if ln.compensation_fen else "",
                ln.fee_status, ln.confirmed_by,
            ]
            for ln, u, code, name in session.execute(in_period(q, UmbrellaLoan.lent_at, since, until))
        )  # fmt: skip
        return csv_text(REGISTER_FIELDS, rows)


def pending_charges(ctx: KioskContext) -> list[dict[str, Any]]:
    """Returned loans whose fees wait for the butler's confirmation."""
    with ctx.database().read() as session:
        rows = session.execute(
            select(UmbrellaLoan, Umbrella.tag, Unit.code)
            .join(Umbrella, Umbrella.id == UmbrellaLoan.umbrella_id)
            .join(Unit, Unit.id == UmbrellaLoan.unit_id)
            .where(UmbrellaLoan.fee_status == "pending").order_by(UmbrellaLoan.id)
        ).all()  # fmt: skip
        return [{"loan": ln.id, "tag": tag, "unit": code, "condition": ln.condition_in,
                 "late_fee_fen": ln.late_fee_fen, "compensation_fen": ln.compensation_fen}
                for ln, tag, code in rows]  # fmt: skip
