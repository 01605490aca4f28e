"""Parking IC cards and monthly rentals (000 "停车"), headless.

Procedure: only owners and tenants of the estate may rent monthly; the cashier checks the
renter's identity card and driving licence (recorded as checked, licence number masked) and
writes the 月租办理记录. Rent is paid first (cash at the desk, or on the unit's bill); with the
paid receipt the cashier issues an IC card — only monthly renters get one — taking a 50 CNY
deposit (a 收据 from the billing plugin's deposit ledger). At the end the card is returned and
the deposit refunded; a lost card is blocked at once and replaced, its deposit forfeited.

Months: a period of N months runs from its first day to the same day N months later, less one
day (23 Nov -> 22 Dec); a day past the end of a shorter month clamps to its last day. A renewal
continues from the paid-through date, or from today when the rental has lapsed (a lapse is not
charged). There is no proration: rent is per whole month from the day the period starts.

Race-prone steps are conditional updates or unique keys: a card cannot be bound twice, a
period is applied once, a deposit refunded once.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, Row, String, and_, bindparam, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

import plugins.billing.api as billing
from kiosk import audit, charges, printing
from kiosk.db import direct
from kiosk.db.models import Card, Resident, Unit
from kiosk.errors import Refused
from kiosk.identity import (
    SYSTEM,
    Actor,
    CardTapResult,
    card_forms,
    identify_card,
    require_role,
    unit_by_code,
)
from kiosk.money import format_fen
from kiosk.pii import mask_id_number, mask_text
from kiosk.plugin_settings import rules_from
from plugins.parking.fees import FeeRule, parking_fee, validate_plate
from plugins.parking.models import ParkingCard, ParkingPeriod, ParkingRental
from plugins.parking.views import (
    RentalView,
    find_rental,
    get_rental,
    is_rental_id,
    no_rental,
    rental_state,
    rental_view,
    rentals_of_unit,
    state_label,
)

if TYPE_CHECKING:
    from sqlalchemy import Update

    from devices.printer import Receipt
    from kiosk.context import KioskContext

log = logging.getLogger(__name__)

__all__ = ["RentalView", "get_rental", "rental_state", "rentals_of_unit", "state_label"]

CASHIER = ("cashier",)
BLOCK_ROLES = ("cashier", "butler", "security")
RECORD_ROLES = ("cashier", "butler", "security")


@dataclass(frozen=True)
class ParkingRules:
    """``[plugins.parking]`` with the defaults from the procedure."""

    monthly_rent_fen: int = 10000
    deposit_fen: int = 5000
    remind_days: int = 7
    max_months: int = 12
    retention_days: int = 730
    renter_roles: tuple[str, ...] = ("owner", "tenant")
    fee: FeeRule = FeeRule()

    @classmethod
    def of(cls, ctx: KioskContext) -> ParkingRules:
        raw = ctx.settings.plugin("parking")
        return rules_from(cls, "parking", raw, fee=FeeRule.of(raw))


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` calendar months, clamped to the end of a shorter month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_end(first: dt.date, months: int) -> dt.date:
    """The last day of ``months`` months starting on ``first`` (23 Nov, 1 -> 22 Dec)."""
    return add_months(first, months) - dt.timedelta(days=1)


def temporary_fee(ctx: KioskContext, minutes: int) -> int:
    """The temporary parking fee for a stay of ``minutes`` under this estate's rule (fen)."""
    return parking_fee(minutes, ParkingRules.of(ctx).fee)


# -- rentals ----------------------------------------------------------------------------------


def _number(ctx: KioskContext, rental_id: int) -> str:
    """``PK`` + month + the row id: unique without counting rows, so two desks opening rentals
    at the same moment cannot both take the same number."""
    return f"PK{ctx.today():%Y%m}{rental_id:04d}"


def open_rental(
    ctx: KioskContext,
    actor: Actor,
    *,
    unit: str,
    resident_id: int | None = None,
    renter: str = "",
    plate: str,
    car_model: str,
    licence_no: str,
    identity_checked: bool,
    months: int = 1,
    method: str = "cash",
) -> RentalView:
    """Write a 月租办理记录 and take the first rent (cash now, or on the unit's bill).

    The renter is ``resident_id``, else the resident of ``unit`` named ``renter``, else the
    unit's first owner.

    Refused: not an owner/tenant of ``unit``, identity/licence not checked, a bad plate, a plate
    already rented, a bad number of months or method.
    """
    require_role(actor, "open a parking rental", *CASHIER)
    rules = ParkingRules.of(ctx)
    the_plate = validate_plate(plate)
    if not identity_checked:
        raise Refused(
            "parking.unchecked",
            "Check the renter's identity card and driving licence before renting.",
        )
    if not licence_no.strip():
        raise Refused("parking.licence", "Enter the driving licence number (it is kept masked).")
    _check_months(months, rules)
    if method not in ("cash", "bill"):
        raise Refused("parking.method", "{method} is not cash or bill.", method=method)
    with ctx.database().write() as session:
        the_unit = unit_by_code(session, unit)
        if resident_id is None:
            named = select(Resident).where(Resident.unit_id == the_unit.id, Resident.active)
            if renter.strip():
                named = named.where(Resident.name == renter.strip())
            else:
                named = named.where(Resident.role == "owner")
            resident = session.scalars(named.order_by(Resident.id).limit(1)).first()
        else:
            resident = session.get(Resident, resident_id)
        if resident is None or resident.unit_id != the_unit.id or not resident.active:
            raise Refused(
                "parking.not_resident",
                "Only residents of the estate can rent monthly; the public pays the hourly rate.",
            )
        if resident.role not in rules.renter_roles:
            raise Refused(
                "parking.role",
                "Monthly parking is for owners and tenants; a {role} pays the hourly rate.",
                role=resident.role,
            )
        taken = direct.execute(
            session.connection(), _OPEN_RENTAL_OF_PLATE, {"plate": the_plate}
        ).first()
        if taken is not None:
            raise Refused(
                "parking.plate_taken",
                "{plate} already has a monthly rental ({number}, unit {unit}).",
                plate=the_plate,
                number=taken.number,
                unit=taken.code or "?",
            )
        today = ctx.today()
        rental = _insert_rental(
            ctx,
            session,
            {
                "unit_id": the_unit.id,
                "resident_id": resident.id,
                "plate": the_plate,
                "car_model": mask_text(car_model.strip())[:64],
                "licence_masked": mask_id_number(licence_no.strip())[:32],
                "identity_checked": True,
                "checked_by": actor.label,
                "monthly_rent_fen": rules.monthly_rent_fen,
                "start_date": today,
                "end_date": today - dt.timedelta(days=1),
                "state": "open",
                "created_at": ctx.clock.now(),
                "created_by": actor.label,
                "ended_at": None,
                "reminded_for": None,
            },
        )
        audit.record_for(
            ctx,
            session,
            actor,
            "parking.rental.opened",
            f"rental:{rental.number}",
            {"unit": the_unit.code, "plate": the_plate, "months": months, "method": method},
        )
        period = _take_rent(ctx, session, actor, rental, months, method)
        if period.to_date is not None:
            rental.end_date = period.to_date
        return rental_view(ctx, session, rental)


def _check_months(months: int, rules: ParkingRules) -> None:
    if (
        isinstance(months, bool)
        or not isinstance(months, int)
        or not 1 <= months <= rules.max_months
    ):
        raise Refused(
            "parking.months",
            "Rent is paid for 1 to {most} months at a time.",
            most=rules.max_months,
        )


def _set_one(model: Any, column: str) -> Update:
    """The update of one ``column`` of the ``model`` row ``row_id`` to ``value``, built once."""
    return update(model).where(model.id == bindparam("row_id")).values({column: bindparam("value")})


def _set_while(model: Any, was: str, values: dict[str, Any]) -> Update:
    """The update of the ``model`` row ``row_id`` to ``values`` while its state is still
    ``was`` (its row count says whether this caller made the change), built once."""
    return update(model).where(model.id == bindparam("row_id"), model.state == was).values(values)


# The open rental of a plate, if any, with its unit.
_OPEN_RENTAL_OF_PLATE = (
    select(ParkingRental.number, Unit.code)
    .outerjoin(Unit, Unit.id == ParkingRental.unit_id)
    .where(ParkingRental.plate == bindparam("plate"), ParkingRental.state == "open")
    .limit(1)
)
_INSERT_RENTAL = insert(ParkingRental).returning(ParkingRental.id)
_SET_RENTAL_NUMBER = _set_one(ParkingRental, "number")
_INSERT_PERIOD = insert(ParkingPeriod).returning(ParkingPeriod.id)
_SET_RECEIPT_NO = _set_one(ParkingPeriod, "receipt_no")
# A billed period: its bill line, or cancelled when nothing took the charge.
_SET_BILLED = (
    update(ParkingPeriod)
    .where(ParkingPeriod.id == bindparam("period_id"))
    .values(state=bindparam("b_state"), bill_line_id=bindparam("b_bill_line_id"))
)
# What applying a period to a rental starts from.
_RENTAL_END = select(ParkingRental.end_date, ParkingRental.number).where(
    ParkingRental.id == bindparam("rental_id")
)
# A pending period applied, unless another desk or kiosk applied it first.
_APPLY_PERIOD = _set_while(
    ParkingPeriod,
    "pending",
    {
        "state": "applied",
        "from_date": bindparam("b_from"),
        "to_date": bindparam("b_to"),
        "applied_at": bindparam("at"),
    },
)
_EXTEND_RENTAL = _set_one(ParkingRental, "end_date")
# The expired core cards of a rental's active parking cards working again.
_REACTIVATE_CARDS = (
    update(Card)
    .where(
        Card.id.in_(
            select(ParkingCard.card_id).where(
                ParkingCard.rental_id == bindparam("rental_id"), ParkingCard.state == "active"
            )
        ),
        Card.status == "expired",
    )
    .values(status="active")
)


def _insert_rental(ctx: KioskContext, session: Session, row: dict[str, Any]) -> ParkingRental:
    """The rental ``row`` written and numbered; returned as a detached object."""
    # Numbered once the row has its id; the placeholder only keeps the number unique till then.
    placeholder = {**row, "number": f"PKNEW{secrets.token_hex(8)}"}
    connection = session.connection()
    rental_id = direct.execute(connection, _INSERT_RENTAL, placeholder).scalar_one()
    number = _number(ctx, rental_id)
    direct.execute(connection, _SET_RENTAL_NUMBER, {"row_id": rental_id, "value": number})
    return direct.detached(ParkingRental, {"id": rental_id, **row, "number": number})


def _take_rent(
    ctx: KioskContext,
    session: Session,
    actor: Actor,
    rental: ParkingRental,
    months: int,
    method: str,
    *,
    bill_period: str | None = None,
) -> ParkingPeriod:
    """A period of ``months`` rent taken inside the caller's transaction: in cash applied now
    (a receipt prints), or put on the unit's bill (this month's, or ``bill_period``'s,
    YYYY-MM). Returns it as a detached object."""
    amount = rental.monthly_rent_fen * months
    row = {
        "rental_id": rental.id,
        "months": months,
        "amount_fen": amount,
        "method": method,
        "state": "pending",
        "receipt_no": "",
        "bill_line_id": None,
        "from_date": None,
        "to_date": None,
        "created_at": ctx.clock.now(),
        "created_by": actor.label,
        "applied_at": None,
    }
    connection = session.connection()
    period = direct.inserted(session, _INSERT_PERIOD, ParkingPeriod, row)
    if method == "cash":
        period.receipt_no = f"YZ{ctx.clock.now():%Y%m%d%H%M%S}{period.id:05d}"
        direct.execute(
            connection, _SET_RECEIPT_NO, {"row_id": period.id, "value": period.receipt_no}
        )
        applied = _apply(ctx, session, period)
        if applied is not None:
            period.state = "applied"
            period.from_date, period.to_date, period.applied_at = applied
        unit = session.get(Unit, rental.unit_id)
        has_card = session.scalar(
            select(ParkingCard.id).where(
                ParkingCard.rental_id == rental.id, ParkingCard.state == "active"
            ).limit(1)
        ) is not None  # fmt: skip
        printing.queue(
            session,
            _rent_receipt(ctx, rental, period, unit.code if unit else "", has_card),
            kind="parking-rent",
            at=ctx.clock.now(),
            kiosk_id=ctx.kiosk_id,
        )
    else:
        taken = charges.charge(
            ctx,
            session,
            actor,
            rental.unit_id,
            "parking_rent",
            amount,
            period_reference(period.id),
            f"parking {rental.plate} x{months}",
            period=bill_period,
        )
        if taken is None:
            # Nothing takes charges here (no billing): the desk was alerted to collect the
            # rent by hand (a cash renewal), so this period will never be paid on a bill.
            period.state = "cancelled"
        else:
            period.bill_line_id = taken.record_id
        direct.execute(
            connection,
            _SET_BILLED,
            {
                "period_id": period.id,
                "b_state": period.state,
                "b_bill_line_id": period.bill_line_id,
            },
        )
        audit.record_for(
            ctx,
            session,
            actor,
            "parking.rent.billed" if taken else "parking.rent.to_desk",
            f"rental:{rental.number}",
            {"months": months, "amount_fen": amount, "line": taken.record_id if taken else None},
        )
    return period


def period_reference(period_id: int) -> str:
    """How a billed rent period is named on the unit's account (``kiosk_charge``)."""
    return f"parking:period:{period_id}"


def _apply(
    ctx: KioskContext, session: Session, period: ParkingPeriod
) -> tuple[dt.date, dt.date, dt.datetime] | None:
    """Extend the rental by ``period`` exactly once (a conditional update guards the state):
    the period's first and last days and when it was applied, None when it was already."""
    today = ctx.today()
    end, number = direct.execute(
        session.connection(), _RENTAL_END, {"rental_id": period.rental_id}
    ).one()
    first = max(end + dt.timedelta(days=1), today)
    last = period_end(first, period.months)
    at = ctx.clock.now()
    connection = session.connection()
    won = direct.execute(
        connection, _APPLY_PERIOD, {"row_id": period.id, "b_from": first, "b_to": last, "at": at}
    ).rowcount
    if not won:
        return None
    direct.execute(connection, _EXTEND_RENTAL, {"row_id": period.rental_id, "value": last})
    # A renewed card works again (the sweep marks the core card expired when a rental lapses).
    direct.execute(connection, _REACTIVATE_CARDS, {"rental_id": period.rental_id})
    audit.record_for(
        ctx,
        session,
        "system" if period.method == "bill" else period.created_by,
        "parking.rent.applied",
        f"rental:{number}",
        {"months": period.months, "from": first.isoformat(), "to": last.isoformat()},
    )
    return first, last, at


def _billed_pending(session: Session, rental_id: int | None) -> list[ParkingPeriod]:
    query = select(ParkingPeriod).where(
        ParkingPeriod.state == "pending", ParkingPeriod.bill_line_id.is_not(None)
    )
    if rental_id is not None:
        query = query.where(ParkingPeriod.rental_id == rental_id)
    return list(session.scalars(query))


def apply_paid_periods(ctx: KioskContext, rental_id: int | None = None) -> int:
    """Apply billed rent whose charge has been paid (by QR, at the desk, by anyone): returns
    how many periods were applied. Cheap when nothing is pending (one indexed read)."""
    with ctx.database().read() as session:
        pending = {period_reference(p.id): p.id for p in _billed_pending(session, rental_id)}
        paid = billing.paid_references(session, list(pending)) if pending else set()
    applied = 0
    for pid in sorted(pending[ref] for ref in paid):
        with ctx.database().write() as session:
            period = session.get(ParkingPeriod, pid)
            if period is None or period.state != "pending":
                continue
            applied += _apply(ctx, session, period) is not None
    return applied


def pending_references(ctx: KioskContext, rental_id: int) -> list[str]:
    """The charges of the rental's rent put on the bill and not paid yet (to pay them by QR
    rather than bill another month)."""
    with ctx.database().read() as session:
        return [period_reference(p.id) for p in _billed_pending(session, rental_id)]


def cancel_unpaid(
    ctx: KioskContext,
    rental_id: int,
    reason: str = "not paid at the kiosk",
    references: Collection[str] | None = None,
) -> int:
    """Take back rent put on the bill but not paid (the resident cancelled the QR, or it
    expired): the charge withdrawn (a credit note) for each pending period still unpaid --
    only those of ``references`` when given (the kiosk's own renewal, not rent the cashier
    billed) -- and the period cancelled. Returns how many were cancelled; a period paid
    meanwhile is applied instead."""
    if apply_paid_periods(ctx, rental_id):
        return 0
    with ctx.database().read() as session:
        rows = [
            (p.id, p.amount_fen)
            for p in _billed_pending(session, rental_id)
            if references is None or period_reference(p.id) in references
        ]
    cancelled = 0
    for period_id, amount in rows:
        with ctx.database().write() as session:
            won = session.execute(
                update(ParkingPeriod)
                .where(ParkingPeriod.id == period_id, ParkingPeriod.state == "pending")
                .values(state="cancelled")
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            if not won:
                continue
            audit.record_for(
                          ctx, session, "system", "parking.rent.cancelled", f"period:{period_id}",
                          {"amount_fen": amount, "reason": reason},
                      )  # fmt: skip
        if not billing.withdraw_charge(
            ctx, SYSTEM, period_reference(period_id), f"parking renewal {reason}"
        ):
            log.warning("could not withdraw the charge for parking period %s", period_id)
        cancelled += 1
    return cancelled


def renew(
    ctx: KioskContext, actor: Actor, rental_ref: int | str, months: int, method: str = "bill"
) -> tuple[RentalView, str | None]:
    """Pay ``months`` more rent. Staff (cashier): cash (applied now) or bill. A resident (the
    kiosk): on the unit's account only, applied once paid; returns the charge's reference
    to pay (None when paid in cash, or when nothing takes charges and the desk collects it)."""
    rules = ParkingRules.of(ctx)
    _check_months(months, rules)
    if actor.kind == "resident":
        if method != "bill":
            raise Refused("parking.method", "At the kiosk rent is paid by QR through your bill.")
    else:
        require_role(actor, "renew a parking rental", *CASHIER)
        if method not in ("cash", "bill"):
            raise Refused("parking.method", "{method} is not cash or bill.", method=method)
    with ctx.database().write() as session:
        rental = find_rental(session, rental_ref)
        if actor.kind == "resident" and rental.unit_id != actor.unit_id:
            raise Refused("parking.not_yours", "This parking rental belongs to another unit.")
        if rental.state != "open":
            raise Refused(
                "parking.ended",
                "Rental {number} has ended; please see the cashier.",
                number=rental.number,
            )
        period = _take_rent(ctx, session, actor, rental, months, method)
        if period.to_date is not None:
            session.refresh(rental)
        reference = period_reference(period.id) if period.bill_line_id is not None else None
        audit.record_for(
            ctx,
            session,
            actor,
            "parking.rental.renewed",
            f"rental:{rental.number}",
            {"months": months, "method": method, "amount_fen": period.amount_fen},
        )
        return rental_view(ctx, session, rental), reference


def _rent_receipt(
    ctx: KioskContext, rental: ParkingRental, period: ParkingPeriod, unit: str, has_card: bool
) -> Receipt:
    from devices.printer import Receipt
    from kiosk.i18n import _

    r = Receipt().title(_("Monthly parking receipt"))
    r.row(_("Estate"), ctx.settings.estate.name).row(_("Unit"), unit)
    r.row(_("Receipt no."), period.receipt_no).row(_("Rental"), rental.number)
    r.row(_("Plate"), rental.plate)
    r.row(_("Months"), str(period.months)).row(_("Amount received"), format_fen(period.amount_fen))
    if period.from_date and period.to_date:
        r.row(_("Valid"), f"{period.from_date} ~ {period.to_date}")
    r.row(_("Time"), ctx.local_time(period.created_at))
    if not has_card:  # a renewal of a card already issued: the card works again by itself
        r.text(_("Bring this receipt to the cashier for your IC card."), align="center")
    return r.cut()


# -- cards ------------------------------------------------------------------------------------


# A rental locked for issuing a card (PostgreSQL: two cashiers cannot both give it one), with
# what issuing checks and writes; by id or by number.
_LOCK_RENTAL = {
    by_id: update(ParkingRental)
    .where(
        ParkingRental.id == bindparam("ref", type_=Integer)
        if by_id
        else ParkingRental.number == bindparam("ref", type_=String)
    )
    .values(state=ParkingRental.state)
    .returning(
        ParkingRental.id,
        ParkingRental.number,
        ParkingRental.state,
        ParkingRental.end_date,
        ParkingRental.unit_id,
        ParkingRental.resident_id,
        ParkingRental.plate,
    )
    for by_id in (False, True)
}
# Read once the rental is locked, in one statement: the card the rental holds now, if any, and
# the card tapped -- the one whose raw UID is exactly the desk reader's hex, which wins over
# other cards' printed forms (kiosk.identity.find_card) -- with its holder's unit, if known.
_HELD = aliased(ParkingCard)
_ISSUE_CHECK = (
    select(
        _HELD.id.label("held_id"),
        _HELD.printed_number.label("held_printed"),
        _HELD.uid_hex.label("held_uid"),
        Card.id.label("card_id"),
        Card.kind,
        Card.status,
        Card.staff_id,
        Unit.code.label("unit_code"),
    )
    .select_from(ParkingRental)
    .outerjoin(_HELD, and_(_HELD.rental_id == ParkingRental.id, _HELD.state == "active"))
    .outerjoin(Card, Card.uid_hex == bindparam("uid_hex"))
    .outerjoin(Resident, Resident.id == Card.resident_id)
    .outerjoin(Unit, Unit.id == Resident.unit_id)
    .where(ParkingRental.id == bindparam("rental_id"))
    .limit(1)
)
# A returned parking card bound again, unless another desk took it first; answers the card's
# printed number (kept when no new one is given).
_REBIND_CARD = (
    update(Card)
    .where(Card.id == bindparam("card_id"), Card.status == "returned")
    .values(
        status="active",
        resident_id=bindparam("b_resident_id"),
        staff_id=None,
        printed_number=func.coalesce(bindparam("b_printed", type_=String), Card.printed_number),
    )
    .returning(Card.printed_number)
)
_INSERT_CARD = insert(Card).returning(Card.id)
_INSERT_BINDING = insert(ParkingCard).returning(ParkingCard.id)
# The deposit receipt of a card just issued (its deposit names the binding's id).
_SET_DEPOSIT_RECEIPT = _set_one(ParkingCard, "deposit_receipt")


# A card as issuing sees it: its id, kind, status, staff owner and resident owner's unit code.
_FoundCard = CardTapResult | Row[*tuple[Any, ...]]


def _holder_unit(card: _FoundCard) -> str:
    """Whom a bound card belongs to, as a refusal names it: its resident's unit, else staff."""
    if card.unit_code:
        return card.unit_code
    return "staff" if card.staff_id else "?"


def _lock_rental(session: Session, ref: int | str) -> Any:
    """The rental ``ref`` names, locked for this transaction; refused when there is none."""
    by_id = is_rental_id(ref)
    row = direct.execute(
        session.connection(), _LOCK_RENTAL[by_id], {"ref": int(ref) if by_id else str(ref)}
    ).first()
    if row is None:
        raise no_rental(ref)
    return row


def issue_card(
    ctx: KioskContext,
    actor: Actor,
    rental_ref: int | str,
    uid: str,
    printed_number: str = "",
    *,
    replaces: int | None = None,
) -> ParkingCardView:
    """Bind a blank card (tapped on the desk reader) to a paid rental and take its deposit.

    Refused: the card is already bound (names the holder's unit), the rental is not paid
    through today, the rental already has an active card (report it lost to replace it).
    """
    require_role(actor, "issue a parking card", *CASHIER)
    rules = ParkingRules.of(ctx)
    hex_uid, dec, rev = card_forms(uid)
    try:
        with ctx.database().write() as session:
            rental = _lock_rental(session, rental_ref)
            if rental.state != "open":
                raise Refused("parking.ended", "Rental {number} has ended.", number=rental.number)
            if rental.end_date < ctx.today():
                raise Refused(
                    "parking.unpaid",
                    "Rental {number} is not paid for today; take the rent first.",
                    number=rental.number,
                )
            check = direct.execute(
                session.connection(), _ISSUE_CHECK, {"rental_id": rental.id, "uid_hex": hex_uid}
            ).one()
            if check.held_id is not None and check.held_id != replaces:
                raise Refused(
                    "parking.has_card",
                    "Rental {number} already has card {card}; report it lost to replace it.",
                    number=rental.number,
                    card=check.held_printed or check.held_uid,
                )
            # No card has that UID: it may still be known by another printed form.
            card = check if check.card_id is not None else identify_card(session, hex_uid)
            card_id, printed = _bind_card(
                ctx, session, rental.resident_id, (hex_uid, dec, rev), printed_number, card
            )
            takes_deposit = bool(rules.deposit_fen and billing.available(ctx))
            binding = _Binding(
                id=0,
                rental_number=rental.number,
                rental_id=rental.id,
                uid_hex=hex_uid,
                printed_number=printed,
                state="active",
                deposit_receipt="",
                deposit_state="held" if takes_deposit else "none",
                replaces_id=replaces,
                issued_at=ctx.clock.now(),
            )
            binding = _insert_binding(session, binding, card_id, actor)
            if takes_deposit:
                receipt = billing.take_deposit_in(
                    session,
                    ctx,
                    actor,
                    rental.unit_id,
                    "parking_card",
                    rules.deposit_fen,
                    f"{rental.plate} {printed}",
                    source_ref=f"parking:card:{binding.id}",
                )
                direct.execute(
                    session.connection(),
                    _SET_DEPOSIT_RECEIPT,
                    {"row_id": binding.id, "value": receipt},
                )
                binding = replace(binding, deposit_receipt=receipt)
            audit.record_for(
                ctx,
                session,
                actor,
                "parking.card.issued",
                f"rental:{rental.number}",
                {
                    "card": printed,
                    "uid": hex_uid,
                    "replaces": replaces,
                    "deposit": binding.deposit_receipt,
                },
            )
            return binding.view(rental.number)
    except IntegrityError:
        # Another desk inserted the same UID a moment ago: the unique key refused ours.
        with ctx.database().read() as session:
            unit = _holder_unit(identify_card(session, hex_uid))
        raise Refused(
            "parking.card_bound",
            "This card is already bound to unit {unit}; use a blank card.",
            unit=unit,
        ) from None


def _bind_card(
    ctx: KioskContext,
    session: Session,
    resident_id: int,
    forms: tuple[str, str, str],
    printed_number: str,
    card: _FoundCard,
) -> tuple[int, str]:
    """The core card of ``forms`` (hex, decimal, reversed) -- ``card``, as the caller found it
    -- made the resident's active parking card: a returned parking card bound again, or a blank
    one registered. Returns its id and printed number; refused when the card is bound to
    someone already."""
    hex_uid, dec, rev = forms
    if card.card_id is None:
        printed = (printed_number or dec)[:32]
        card_id = direct.execute(
            session.connection(),
            _INSERT_CARD,
            {
                "uid_hex": hex_uid,
                "uid_dec": dec,
                "uid_dec_rev": rev,
                "printed_number": printed,
                "kind": "parking",
                "status": "active",
                "resident_id": resident_id,
                "staff_id": None,
                "created_at": ctx.clock.now(),
            },
        ).scalar_one()
        return card_id, printed
    if not (card.kind == "parking" and card.status == "returned"):
        raise Refused(
            "parking.card_bound",
            "This card is already bound to unit {unit}; use a blank card.",
            unit=_holder_unit(card),
        )
    rebound = direct.execute(
        session.connection(),
        _REBIND_CARD,
        {
            "card_id": card.card_id,
            "b_resident_id": resident_id,
            "b_printed": printed_number[:32] or None,
        },
    ).first()
    if rebound is None:
        raise Refused("parking.card_bound", "This card was just bound elsewhere.")
    return card.card_id, rebound.printed_number


def _insert_binding(session: Session, binding: _Binding, card_id: int, actor: Actor) -> _Binding:
    """``binding`` written (its deposit receipt still to come); returned with its id."""
    binding_id = direct.execute(
        session.connection(),
        _INSERT_BINDING,
        {
            "rental_id": binding.rental_id,
            "card_id": card_id,
            "uid_hex": binding.uid_hex,
            "printed_number": binding.printed_number,
            "state": binding.state,
            "deposit_receipt": binding.deposit_receipt,
            "deposit_state": binding.deposit_state,
            "replaces_id": binding.replaces_id,
            "issued_at": binding.issued_at,
            "issued_by": actor.label,
            "ended_at": None,
            "ended_by": "",
        },
    ).scalar_one()
    return replace(binding, id=binding_id)


@dataclass(frozen=True)
class ParkingCardView:
    id: int
    rental_number: str
    uid_hex: str
    printed_number: str
    state: str
    deposit_receipt: str
    deposit_state: str
    replaces_id: int | None
    issued_at: dt.datetime


def _card_view(card: Any, rental_number: str) -> ParkingCardView:
    """What the desk is shown of a parking card (a ``parking_card`` row or a binding)."""
    shown = {
        f.name: getattr(card, f.name) for f in fields(ParkingCardView) if f.name != "rental_number"
    }
    return ParkingCardView(rental_number=rental_number, **shown)


@dataclass(frozen=True)
class _Binding(ParkingCardView):
    """A parking card's binding to a rental (a ``parking_card`` row) as the desk's card
    operations read and write it: what the desk is shown, and the rental's id."""

    rental_id: int = 0

    @property
    def holds_deposit(self) -> bool:
        return bool(self.deposit_receipt) and self.deposit_state == "held"

    def view(self, rental_number: str) -> ParkingCardView:
        return _card_view(self, rental_number)


# The latest binding of a core card.
_BINDING_COLUMNS = (
    ParkingCard.id,
    ParkingCard.rental_id,
    ParkingCard.uid_hex,
    ParkingCard.printed_number,
    ParkingCard.state,
    ParkingCard.deposit_receipt,
    ParkingCard.deposit_state,
    ParkingCard.replaces_id,
    ParkingCard.issued_at,
)
# The latest binding of a core card.
_LATEST_BINDING = (
    select(*_BINDING_COLUMNS)
    .where(ParkingCard.card_id == bindparam("card_id"))
    .order_by(ParkingCard.id.desc())
    .limit(1)
)
# The latest binding of the card whose raw UID is exactly the hex a desk reader gives, with the
# card's id: such a card is the one the UID names, whatever other cards' printed forms say
# (kiosk.identity.find_card), so no lookup by the other forms is needed.
_LATEST_BINDING_OF_UID = (
    select(ParkingCard.card_id, *_BINDING_COLUMNS)
    .join(Card, Card.id == ParkingCard.card_id)
    .where(Card.uid_hex == bindparam("uid_hex"))
    .order_by(ParkingCard.id.desc())
    .limit(1)
)
_RAW_UID = re.compile(r"[0-9A-F]+")
_SET_CARD_STATUS = _set_one(Card, "status")
# An active binding ended (lost, returned) with its deposit's fate, unless it ended already.
_END_BINDING = _set_while(
    ParkingCard,
    "active",
    {
        "state": bindparam("b_state"),
        "deposit_state": bindparam("b_deposit_state"),
        "ended_at": bindparam("at"),
        "ended_by": bindparam("by"),
    },
)
# A rental ended when none of its cards is active any more; answers its number when it was.
_END_RENTAL_WITHOUT_CARDS = (
    update(ParkingRental)
    .where(
        ParkingRental.id == bindparam("rental_id"),
        ~exists().where(ParkingCard.rental_id == ParkingRental.id, ParkingCard.state == "active"),
    )
    .values(state="ended", ended_at=bindparam("at"))
    .returning(ParkingRental.number)
)
# A rental's number.
_RENTAL_NUMBER = select(ParkingRental.number).where(ParkingRental.id == bindparam("rental_id"))


def _parking_card(session: Session, uid: str) -> tuple[int, _Binding]:
    """The core card ``uid`` names (its id) and its latest binding; refused when it is not a
    parking card. A raw UID (what the desk reader gives) is one read."""
    raw = uid.strip().upper()
    if _RAW_UID.fullmatch(raw):
        read = direct.execute(
            session.connection(), _LATEST_BINDING_OF_UID, {"uid_hex": raw}
        ).first()
        if read is not None:
            binding = dict(read._mapping)
            return binding.pop("card_id"), _Binding(rental_number="", **binding)
    card = identify_card(session, uid)
    row = None
    if card.card_id is not None:
        row = direct.execute(
            session.connection(), _LATEST_BINDING, {"card_id": card.card_id}
        ).first()
    if card.card_id is None or row is None:
        raise Refused("parking.no_card", "Card {uid} is not a parking card.", uid=uid)
    return card.card_id, _Binding(rental_number="", **row._mapping)


def _not_active(uid: str, state: str) -> Refused:
    return Refused("parking.not_active", "Card {uid} is already {state}.", uid=uid, state=state)


def _end_binding(
    ctx: KioskContext, session: Session, actor: Actor, binding: _Binding, state: str, deposit: str
) -> _Binding | None:
    """``binding`` moved to ``state`` with its deposit's fate, unless it is not active any more
    (None: another desk ended it first)."""
    held = binding.holds_deposit
    ended = replace(binding, state=state, deposit_state=deposit if held else binding.deposit_state)
    changed = direct.execute(
        session.connection(),
        _END_BINDING,
        {
            "row_id": binding.id,
            "b_state": state,
            "b_deposit_state": ended.deposit_state,
            "at": ctx.clock.now(),
            "by": actor.label,
        },
    )
    return ended if changed.rowcount == 1 else None


def _end_card(
    ctx: KioskContext,
    session: Session,
    actor: Actor,
    uid: str,
    state: str,
    deposit: str,
    locked_rental: int | None = None,
    read: tuple[int, _Binding] | None = None,
) -> tuple[_Binding, bool]:
    """Move the active card ``uid`` to ``state`` (lost, returned) exactly once, in the parking
    table and in the core card table; refused when it is not active any more. A deposit it
    holds is marked ``deposit`` (refunded, forfeited): returns the ended binding and whether it
    held one, for the caller to end in the deposit ledger.

    ``read``: the card's id and binding as the caller read them (else they are read here).
    ``locked_rental``: the rental the caller locked, as it saw the card's binding before the
    lock. Should the card have been returned and issued to another rental in between, it is
    refused rather than ended: ending it would lock that other rental after this card's rows,
    the opposite order of issue_card, and two desks could deadlock. (Issued again to the same
    rental, the new binding is ended.)"""
    card_id, binding = read if read is not None else _parking_card(session, uid)
    _not_moved(binding, locked_rental, uid)
    ended = _end_binding(ctx, session, actor, binding, state, deposit)
    if ended is None and locked_rental is not None:
        # Changed between the caller's read and its lock: as it is now.
        row = direct.execute(session.connection(), _LATEST_BINDING, {"card_id": card_id}).one()
        binding = _Binding(rental_number="", **row._mapping)
        _not_moved(binding, locked_rental, uid)
        ended = _end_binding(ctx, session, actor, binding, state, deposit)
    if ended is None:
        raise _not_active(uid, binding.state)
    direct.execute(session.connection(), _SET_CARD_STATUS, {"row_id": card_id, "value": state})
    return ended, binding.holds_deposit


def _not_moved(binding: _Binding, locked_rental: int | None, uid: str) -> None:
    if locked_rental is not None and binding.rental_id != locked_rental:
        raise Refused(
            "parking.card_moved",
            "Card {uid} was just returned and issued again at another desk; tap it again.",
            uid=uid,
        )


def _rental_number(session: Session, rental_id: int) -> str:
    return session.connection().scalar(_RENTAL_NUMBER, {"rental_id": rental_id}) or ""


def report_lost(ctx: KioskContext, actor: Actor, uid: str) -> ParkingCardView:
    """Block a lost card at once (desk staff); its deposit is forfeited under the rules."""
    require_role(actor, "block a lost parking card", *BLOCK_ROLES)
    with ctx.database().write() as session:
        binding, held = _end_card(ctx, session, actor, uid, "lost", "forfeited")
        if held:
            billing.end_deposit_in(
                session, ctx, actor, binding.deposit_receipt, "parking card lost",
                forfeit=True, roles=BLOCK_ROLES,
            )  # fmt: skip
        number = _rental_number(session, binding.rental_id)
        audit.record_for(
            ctx,
            session,
            actor,
            "parking.card.lost",
            f"rental:{number}",
            {"card": binding.printed_number, "uid": binding.uid_hex},
        )
        return binding.view(number)


def replace_lost_card(
    ctx: KioskContext, actor: Actor, old_uid: str, new_uid: str, printed_number: str = ""
) -> ParkingCardView:
    """Block the old card (if not yet) and bind a replacement to the same rental; the chain of
    cards is kept (``replaces_id``) and a new deposit is taken."""
    require_role(actor, "replace a parking card", *CASHIER)
    with ctx.database().read() as session:
        _card, binding = _parking_card(session, old_uid)
        rental_id, state, old_id = binding.rental_id, binding.state, binding.id
    if state == "active":
        report_lost(ctx, actor, old_uid)
    elif state != "lost":
        raise Refused(
            "parking.not_lost", "Card {uid} was {state}, not lost.", uid=old_uid, state=state
        )
    return issue_card(ctx, actor, rental_id, new_uid, printed_number, replaces=old_id)


def return_card(
    ctx: KioskContext, actor: Actor, uid: str, reason: str = "rental ended"
) -> ParkingCardView:
    """The card comes back: deactivated, its deposit refunded (a refund 收据 prints), and the
    rental ended when it has no other active card."""
    require_role(actor, "take back a parking card", *CASHIER)
    with ctx.database().write() as session:
        # The rental first, as issue_card takes it: a card issued to it meanwhile by another
        # desk has then committed, and the check below that ends the rental sees it.
        read = _parking_card(session, uid)
        current = read[1]
        if current.state != "active":  # nothing to lock: already returned (or lost) when read
            raise _not_active(uid, current.state)
        rental = _lock_rental(session, current.rental_id)
        binding, held = _end_card(
            ctx, session, actor, uid, "returned", "refunded", current.rental_id, read
        )
        if held:
            billing.end_deposit_in(
                session, ctx, actor, binding.deposit_receipt, reason, roles=CASHIER
            )
        number = direct.execute(
            session.connection(),
            _END_RENTAL_WITHOUT_CARDS,
            {"rental_id": binding.rental_id, "at": ctx.clock.now()},
        ).scalar()
        ended = number is not None
        if number is None:
            number = rental.number
        audit.record_for(
            ctx,
            session,
            actor,
            "parking.card.returned",
            f"rental:{number}",
            {"card": binding.printed_number, "deposit": binding.deposit_state, "ended": ended},
        )
        return binding.view(number)


def printed_number(ctx: KioskContext, uid: str) -> str:
    """The number printed on the parking card ``uid`` (what the cashier reads on it)."""
    with ctx.database().read() as session:
        return _parking_card(session, uid)[1].printed_number


def card_chain(ctx: KioskContext, rental_ref: int | str) -> list[ParkingCardView]:
    """Every card a rental has had, oldest first (lost ones and their replacements)."""
    with ctx.database().read() as session:
        rental = find_rental(session, rental_ref)
        rows = session.scalars(
            select(ParkingCard).where(ParkingCard.rental_id == rental.id).order_by(ParkingCard.id)
        ).all()
        return [_card_view(p, rental.number) for p in rows]


# The sweep, the weekly records and retention live in plugins.parking.records; their names
# stay here (the plugin's hooks and callers use service.sweep, service.records, service.purge_in).
from plugins.parking.records import (  # noqa: E402
    PURGED_PLATE,
    RECORD_COLUMNS,
    STATE_ZH,
    RecordRow,
    purge_in,
    records,
    records_csv,
    sweep,
)

__all__ += ["PURGED_PLATE", "RECORD_COLUMNS", "STATE_ZH", "RecordRow", "purge_in", "records"]
__all__ += ["records_csv", "sweep"]
