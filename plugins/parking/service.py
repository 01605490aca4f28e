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
import io
import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import plugins.billing.api as billing
from kiosk import audit, charges, printing
from kiosk.clock import as_utc
from kiosk.db.models import Card, Resident, Unit
from kiosk.errors import Refused
from kiosk.export import csv_writer
from kiosk.i18n import N_
from kiosk.identity import (
    SYSTEM,
    Actor,
    card_forms,
    find_card,
    require_role,
    unit_by_code,
)
from kiosk.money import format_fen
from kiosk.notify import queue_notification, raise_alert
from kiosk.pii import mask_id_number, mask_name, mask_text
from kiosk.plugin_settings import rules_from
from kiosk.writes import change_once
from plugins.parking.fees import FeeRule, parking_fee, validate_plate
from plugins.parking.models import ParkingCard, ParkingPeriod, ParkingRental
from plugins.parking.views import (
    RentalView,
    find_rental,
    get_rental,
    rental_state,
    rental_view,
    rentals_of_unit,
    state_label,
)

if TYPE_CHECKING:
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
        taken = session.scalar(
            select(ParkingRental).where(
                ParkingRental.plate == the_plate, ParkingRental.state == "open"
            )
        )
        if taken is not None:
            other = session.get(Unit, taken.unit_id)
            raise Refused(
                "parking.plate_taken",
                "{plate} already has a monthly rental ({number}, unit {unit}).",
                plate=the_plate,
                number=taken.number,
                unit=other.code if other else "?",
            )
        today = ctx.today()
        rental = ParkingRental(
            number=f"PKNEW{secrets.token_hex(8)}",  # numbered once the row has its id
            unit_id=the_unit.id,
            resident_id=resident.id,
            plate=the_plate,
            car_model=mask_text(car_model.strip())[:64],
            licence_masked=mask_id_number(licence_no.strip())[:32],
            identity_checked=True,
            checked_by=actor.label,
            monthly_rent_fen=rules.monthly_rent_fen,
            start_date=today,
            end_date=today - dt.timedelta(days=1),
            state="open",
            created_at=ctx.clock.now(),
            created_by=actor.label,
        )
        session.add(rental)
        session.flush()
        rental.number = _number(ctx, rental.id)
        session.flush()
        audit.record_for(
            ctx,
            session,
            actor,
            "parking.rental.opened",
            f"rental:{rental.number}",
            {"unit": the_unit.code, "plate": the_plate, "months": months, "method": method},
        )
        _take_rent(ctx, session, actor, rental, months, method)
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


def _take_rent(
    ctx: KioskContext,
    session: Session,
    actor: Actor,
    rental: ParkingRental,
    months: int,
    method: str,
) -> ParkingPeriod:
    amount = rental.monthly_rent_fen * months
    period = ParkingPeriod(
        rental_id=rental.id,
        months=months,
        amount_fen=amount,
        method=method,
        state="pending",
        created_at=ctx.clock.now(),
        created_by=actor.label,
    )
    session.add(period)
    session.flush()
    if method == "cash":
        period.receipt_no = f"YZ{ctx.clock.now():%Y%m%d%H%M%S}{period.id:05d}"
        _apply(ctx, session, rental, period)
        session.refresh(period)
        unit = session.get(Unit, rental.unit_id)
        printing.submit(
            session,
            _rent_receipt(ctx, rental, period, unit.code if unit else ""),
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
        )
        if taken is None:
            # Nothing takes charges here (no billing): the desk was alerted to collect the
            # rent by hand (a cash renewal), so this period will never be paid on a bill.
            period.state = "cancelled"
        else:
            period.bill_line_id = taken.record_id
        audit.record_for(
            ctx,
            session,
            actor,
            "parking.rent.billed" if taken else "parking.rent.to_desk",
            f"rental:{rental.number}",
            {"months": months, "amount_fen": amount, "line": taken.record_id if taken else None},
        )
    session.flush()
    return period


def period_reference(period_id: int) -> str:
    """How a billed rent period is named on the unit's account (``kiosk_charge``)."""
    return f"parking:period:{period_id}"


def _apply(
    ctx: KioskContext, session: Session, rental: ParkingRental, period: ParkingPeriod
) -> bool:
    """Extend the rental by ``period`` exactly once (a conditional update guards the state)."""
    today = ctx.today()
    session.refresh(rental)
    first = max(rental.end_date + dt.timedelta(days=1), today)
    last = period_end(first, period.months)
    won = session.execute(
        update(ParkingPeriod)
        .where(ParkingPeriod.id == period.id, ParkingPeriod.state == "pending")
        .values(state="applied", from_date=first, to_date=last, applied_at=ctx.clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not won:
        return False
    session.execute(
        update(ParkingRental)
        .where(ParkingRental.id == rental.id)
        .values(end_date=last)
        .execution_options(synchronize_session=False)
    )
    # A renewed card works again (the sweep marks the core card expired when a rental lapses).
    card_ids = session.scalars(
        select(ParkingCard.card_id).where(
            ParkingCard.rental_id == rental.id, ParkingCard.state == "active"
        )
    ).all()
    if card_ids:
        session.execute(
            update(Card)
            .where(Card.id.in_(card_ids), Card.status == "expired")
            .values(status="active")
            .execution_options(synchronize_session=False)
        )
    session.refresh(rental)
    audit.record_for(
        ctx,
        session,
        "system" if period.method == "bill" else period.created_by,
        "parking.rent.applied",
        f"rental:{rental.number}",
        {"months": period.months, "from": first.isoformat(), "to": last.isoformat()},
    )
    return True


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
            rental = session.get(ParkingRental, period.rental_id)
            assert rental is not None
            applied += _apply(ctx, session, rental, period)
    return applied


def cancel_unpaid(ctx: KioskContext, rental_id: int, reason: str = "not paid at the kiosk") -> int:
    """Take back rent put on the bill but not paid (the resident cancelled the QR, or it
    expired): the charge withdrawn (a credit note) for each pending period still unpaid, and
    the period cancelled. Returns how many were cancelled; a period paid meanwhile is applied
    instead."""
    if apply_paid_periods(ctx, rental_id):
        return 0
    with ctx.database().read() as session:
        rows = [(p.id, p.amount_fen) for p in _billed_pending(session, rental_id)]
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
    ctx: KioskContext, rental: ParkingRental, period: ParkingPeriod, unit: str
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
    r.text(_("Bring this receipt to the cashier for your IC card."), align="center")
    return r.cut()


# -- cards ------------------------------------------------------------------------------------


def _holder_unit(session: Session, card: Card) -> str:
    resident = session.get(Resident, card.resident_id) if card.resident_id else None
    unit = session.get(Unit, resident.unit_id) if resident else None
    if unit is not None:
        return unit.code
    return "staff" if card.staff_id else "?"


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
            rental = find_rental(session, rental_ref)
            # Lock the rental row first (PostgreSQL): two cashiers cannot both give it a card.
            session.execute(
                update(ParkingRental)
                .where(ParkingRental.id == rental.id)
                .values(state=ParkingRental.state)
                .execution_options(synchronize_session=False)
            )
            session.refresh(rental)
            if rental.state != "open":
                raise Refused("parking.ended", "Rental {number} has ended.", number=rental.number)
            if rental.end_date < ctx.today():
                raise Refused(
                    "parking.unpaid",
                    "Rental {number} is not paid for today; take the rent first.",
                    number=rental.number,
                )
            active = session.scalar(
                select(ParkingCard).where(
                    ParkingCard.rental_id == rental.id, ParkingCard.state == "active"
                )
            )
            if active is not None and active.id != replaces:
                raise Refused(
                    "parking.has_card",
                    "Rental {number} already has card {card}; report it lost to replace it.",
                    number=rental.number,
                    card=active.printed_number or active.uid_hex,
                )
            card = find_card(session, hex_uid)
            if card is not None:
                reusable = card.kind == "parking" and card.status == "returned"
                if not reusable:
                    raise Refused(
                        "parking.card_bound",
                        "This card is already bound to unit {unit}; use a blank card.",
                        unit=_holder_unit(session, card),
                    )
                change_once(
                    session,
                    update(Card)
                    .where(Card.id == card.id, Card.status == "returned")
                    .values(status="active", resident_id=rental.resident_id, staff_id=None)
                    .execution_options(synchronize_session=False),
                    Refused("parking.card_bound", "This card was just bound elsewhere."),
                )
                if printed_number:
                    card.printed_number = printed_number[:32]
            else:
                card = Card(
                    uid_hex=hex_uid,
                    uid_dec=dec,
                    uid_dec_rev=rev,
                    printed_number=(printed_number or dec)[:32],
                    kind="parking",
                    status="active",
                    resident_id=rental.resident_id,
                    created_at=ctx.clock.now(),
                )
                session.add(card)
                session.flush()
            pcard = ParkingCard(
                rental_id=rental.id,
                card_id=card.id,
                uid_hex=hex_uid,
                printed_number=card.printed_number,
                state="active",
                deposit_state="held",
                replaces_id=replaces,
                issued_at=ctx.clock.now(),
                issued_by=actor.label,
            )
            session.add(pcard)
            session.flush()
            if rules.deposit_fen and billing.available(ctx):
                pcard.deposit_receipt = billing.take_deposit_in(
                    session,
                    ctx,
                    actor,
                    rental.unit_id,
                    "parking_card",
                    rules.deposit_fen,
                    f"{rental.plate} {pcard.printed_number}",
                    source_ref=f"parking:card:{pcard.id}",
                )
            else:  # no deposit rule, or no deposit ledger here (billing not installed)
                pcard.deposit_state = "none"
            audit.record_for(
                ctx,
                session,
                actor,
                "parking.card.issued",
                f"rental:{rental.number}",
                {
                    "card": pcard.printed_number,
                    "uid": hex_uid,
                    "replaces": replaces,
                    "deposit": pcard.deposit_receipt,
                },
            )
            return _card_view(ctx, session, pcard)
    except IntegrityError:
        # Another desk inserted the same UID a moment ago: the unique key refused ours.
        with ctx.database().read() as session:
            card = find_card(session, hex_uid)
            unit = _holder_unit(session, card) if card else "?"
        raise Refused(
            "parking.card_bound",
            "This card is already bound to unit {unit}; use a blank card.",
            unit=unit,
        ) from None


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


def _card_view(ctx: KioskContext, session: Session, pcard: ParkingCard) -> ParkingCardView:
    rental = session.get(ParkingRental, pcard.rental_id)
    return ParkingCardView(
        id=pcard.id,
        rental_number=rental.number if rental else "",
        uid_hex=pcard.uid_hex,
        printed_number=pcard.printed_number,
        state=pcard.state,
        deposit_receipt=pcard.deposit_receipt,
        deposit_state=pcard.deposit_state,
        replaces_id=pcard.replaces_id,
        issued_at=pcard.issued_at,
    )


def _parking_card(session: Session, uid: str) -> tuple[Card, ParkingCard]:
    card = find_card(session, uid)
    pcard = None
    if card is not None:
        pcard = session.scalar(
            select(ParkingCard)
            .where(ParkingCard.card_id == card.id)
            .order_by(ParkingCard.id.desc())
            .limit(1)
        )
    if card is None or pcard is None:
        raise Refused("parking.no_card", "Card {uid} is not a parking card.", uid=uid)
    return card, pcard


def _end_card(
    ctx: KioskContext, session: Session, actor: Actor, uid: str, state: str
) -> tuple[Card, ParkingCard]:
    """Move the active card ``uid`` to ``state`` (lost, returned) exactly once, in the parking
    table and in the core card table; refused when it is not active any more."""
    card, pcard = _parking_card(session, uid)
    change_once(
        session,
        update(ParkingCard)
        .where(ParkingCard.id == pcard.id, ParkingCard.state == "active")
        .values(state=state, ended_at=ctx.clock.now(), ended_by=actor.label)
        .execution_options(synchronize_session=False),
        Refused("parking.not_active", "Card {uid} is already {state}.", uid=uid, state=pcard.state),
    )
    session.execute(
        update(Card)
        .where(Card.id == card.id)
        .values(status=state)
        .execution_options(synchronize_session=False)
    )
    session.refresh(pcard)
    return card, pcard


def report_lost(ctx: KioskContext, actor: Actor, uid: str) -> ParkingCardView:
    """Block a lost card at once (desk staff); its deposit is forfeited under the rules."""
    require_role(actor, "block a lost parking card", *BLOCK_ROLES)
    with ctx.database().write() as session:
        _card, pcard = _end_card(ctx, session, actor, uid, "lost")
        if pcard.deposit_receipt and pcard.deposit_state == "held":
            billing.end_deposit_in(
                session, ctx, actor, pcard.deposit_receipt, "parking card lost",
                forfeit=True, roles=BLOCK_ROLES,
            )  # fmt: skip
            pcard.deposit_state = "forfeited"
        session.flush()
        rental = session.get(ParkingRental, pcard.rental_id)
        audit.record_for(
            ctx,
            session,
            actor,
            "parking.card.lost",
            f"rental:{rental.number if rental else ''}",
            {"card": pcard.printed_number, "uid": pcard.uid_hex},
        )
        return _card_view(ctx, session, pcard)


def replace_lost_card(
    ctx: KioskContext, actor: Actor, old_uid: str, new_uid: str, printed_number: str = ""
) -> ParkingCardView:
    """Block the old card (if not yet) and bind a replacement to the same rental; the chain of
    cards is kept (``replaces_id``) and a new deposit is taken."""
    require_role(actor, "replace a parking card", *CASHIER)
    with ctx.database().read() as session:
        _card, pcard = _parking_card(session, old_uid)
        rental_id, state, old_id = pcard.rental_id, pcard.state, pcard.id
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
        _card, pcard = _end_card(ctx, session, actor, uid, "returned")
        if pcard.deposit_receipt and pcard.deposit_state == "held":
            billing.end_deposit_in(
                session, ctx, actor, pcard.deposit_receipt, reason, roles=CASHIER
            )
            pcard.deposit_state = "refunded"
        rental = session.get(ParkingRental, pcard.rental_id)
        assert rental is not None
        others = session.scalar(
            select(ParkingCard.id).where(
                ParkingCard.rental_id == rental.id, ParkingCard.state == "active"
            )
        )
        if others is None:
            rental.state, rental.ended_at = "ended", ctx.clock.now()
        session.flush()
        audit.record_for(
            ctx,
            session,
            actor,
            "parking.card.returned",
            f"rental:{rental.number}",
            {"card": pcard.printed_number, "deposit": pcard.deposit_state, "ended": others is None},
        )
        return _card_view(ctx, session, pcard)


def card_chain(ctx: KioskContext, rental_ref: int | str) -> list[ParkingCardView]:
    """Every card a rental has had, oldest first (lost ones and their replacements)."""
    with ctx.database().read() as session:
        rental = find_rental(session, rental_ref)
        rows = session.scalars(
            select(ParkingCard).where(ParkingCard.rental_id == rental.id).order_by(ParkingCard.id)
        ).all()
        return [_card_view(ctx, session, p) for p in rows]


# -- taps -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Validity:
    """What a parking card tap answers: ``state`` is valid, expired, unpaid, lost, returned."""

    state: str
    rental_id: int
    rental_number: str
    unit_id: int
    unit_code: str
    resident_id: int
    holder: str  # masked
    plate: str
    card_number: str
    end_date: dt.date
    days_left: int
    monthly_rent_fen: int


def card_validity(ctx: KioskContext, uid: str, *, settle: bool = True) -> Validity | None:
    """The validity of a parking card, or None when ``uid`` is not a parking card. Expiry is
    decided here from the paid-through date (never from the card), so a lapsed card stops
    working the day after its last paid day. One read; a write only when rent put on the bill
    has been paid since and is applied first."""
    with ctx.database().read() as session:
        card = find_card(session, uid)
        if card is None or card.kind != "parking":
            return None
        pcard = session.scalar(
            select(ParkingCard)
            .where(ParkingCard.card_id == card.id)
            .order_by(ParkingCard.id.desc())
            .limit(1)
        )
        if pcard is None:
            return None
        rental = session.get(ParkingRental, pcard.rental_id)
        assert rental is not None
        pending = settle and session.scalar(
            select(ParkingPeriod.id).where(
                ParkingPeriod.rental_id == rental.id,
                ParkingPeriod.state == "pending",
                ParkingPeriod.method == "bill",
            )
        )
        unit = session.get(Unit, rental.unit_id)
        resident = session.get(Resident, rental.resident_id)
    if pending and apply_paid_periods(ctx, rental.id):
        return card_validity(ctx, uid, settle=False)
    today = ctx.today()
    if pcard.state != "active":
        state = pcard.state
    elif rental.end_date < rental.start_date:
        state = "unpaid"
    elif rental.end_date < today:
        state = "expired"
    else:
        state = "valid"
    return Validity(
        state=state,
        rental_id=rental.id,
        rental_number=rental.number,
        unit_id=rental.unit_id,
        unit_code=unit.code if unit else "",
        resident_id=rental.resident_id,
        holder=mask_name(resident.name) if resident else "",
        plate=rental.plate,
        card_number=pcard.printed_number or pcard.uid_hex,
        end_date=rental.end_date,
        days_left=(rental.end_date - today).days,
        monthly_rent_fen=rental.monthly_rent_fen,
    )


def alert_blocked_tap(ctx: KioskContext, validity: Validity, uid: str) -> None:
    """A lost (blocked) parking card was presented: tell the desk."""
    with ctx.database().write() as session:
        raise_alert(
            session,
            "parking_card_lost",
            N_("lost parking card {card} ({plate}, {unit}) tapped at kiosk {kiosk}"),
            params={
                "card": validity.card_number,
                "plate": validity.plate,
                "unit": validity.unit_code,
                "kiosk": ctx.kiosk_id,
            },  # fmt: skip
            at=ctx.clock.now(),
            lobby=ctx.lobby,
            kiosk_id=ctx.kiosk_id,
        )


# -- sweep: expiry and reminders -----------------------------------------------------------------


def sweep(ctx: KioskContext) -> dict[str, int]:
    """Run from cron (``kiosk parking sweep``) and at kiosk start: apply paid bills, mark cards
    of lapsed rentals expired, remind renters ``remind_days`` before the end (once per end)."""
    rules = ParkingRules.of(ctx)
    applied = apply_paid_periods(ctx)
    today = ctx.today()
    with ctx.database().write() as session:
        lapsed = (
            select(ParkingCard.card_id)
            .join(ParkingRental, ParkingRental.id == ParkingCard.rental_id)
            .where(
                ParkingCard.state == "active",
                ParkingRental.state == "open",
                ParkingRental.end_date < today,
            )
        )
        expired = session.execute(
            update(Card)
            .where(Card.id.in_(lapsed), Card.status == "active")
            .values(status="expired")
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        due = session.scalars(
            select(ParkingRental).where(
                ParkingRental.state == "open",
                ParkingRental.end_date >= today,
                ParkingRental.end_date <= today + dt.timedelta(days=rules.remind_days),
            )
        ).all()
        reminded = 0
        for rental in due:
            # Several kiosks sweep at start-up: only the one whose update marks this end date
            # reminded sends the reminder (a plain read-then-set would let two of them send).
            won = session.execute(
                update(ParkingRental)
                .where(
                    ParkingRental.id == rental.id,
                    or_(
                        ParkingRental.reminded_for.is_(None),
                        ParkingRental.reminded_for != ParkingRental.end_date,
                    ),
                )
                .values(reminded_for=ParkingRental.end_date)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            if not won:
                continue
            queue_notification(
                session,
                channel="sms",
                template="parking.expiring",
                at=ctx.clock.now(),
                unit_id=rental.unit_id,
                payload={
                    "plate": rental.plate,
                    "end_date": rental.end_date.isoformat(),
                    "rent": format_fen(rental.monthly_rent_fen),
                },
            )
            reminded += 1
        if expired or reminded:
            audit.record_for(
                ctx,
                session,
                "system",
                "parking.sweep",
                "parking",
                {"expired_cards": expired, "reminded": reminded, "applied": applied},
            )
    return {"applied": applied, "expired_cards": expired, "reminded": reminded}


# -- records --------------------------------------------------------------------------------------

STATE_ZH = {"open": "有效", "unpaid": "待缴费", "expired": "已过期", "ended": "已结束"}
RECORD_COLUMNS = (
    "办理日期", "车主", "电话", "车型", "车牌", "月租起", "月租止", "月租卡号", "状态", "本周变更",
)  # fmt: skip


@dataclass(frozen=True)
class RecordRow:
    """One line of the 月租办理记录 (phone and name masked)."""

    date: dt.date
    owner: str
    phone: str
    car_model: str
    plate: str
    start: dt.date
    end: dt.date
    card: str
    state: str
    changed_this_week: bool
    unit_code: str


def records(ctx: KioskContext, actor: Actor, *, week_of: dt.date | None = None) -> list[RecordRow]:
    """The 月租办理记录 as the garage cashier's weekly copy: every open rental and every rental
    ended in the last 7 days; ``changed_this_week`` marks what was opened, renewed, carded or
    ended since the Monday before ``week_of`` (default today)."""
    require_role(actor, "see the parking records", *RECORD_ROLES)
    today = week_of or ctx.today()
    monday = today - dt.timedelta(days=today.weekday())
    tz = ctx.zone
    since = dt.datetime.combine(monday, dt.time(), tz)
    rows: list[RecordRow] = []
    with ctx.database().read() as session:
        rentals = session.scalars(
            select(ParkingRental)
            .where(
                (ParkingRental.state == "open")
                | (ParkingRental.ended_at >= since - dt.timedelta(days=7))
            )
            .order_by(ParkingRental.created_at, ParkingRental.id)
        ).all()
        ids = [r.id for r in rentals]
        # What changed this week, and each rental's newest card: one query each, not per line.
        renewed = set(
            session.scalars(
                select(ParkingPeriod.rental_id).where(
                    ParkingPeriod.rental_id.in_(ids), ParkingPeriod.created_at >= since
                )
            )
        )
        carded = set(
            session.scalars(
                select(ParkingCard.rental_id).where(
                    ParkingCard.rental_id.in_(ids),
                    (ParkingCard.issued_at >= since) | (ParkingCard.ended_at >= since),
                )
            )
        )
        last_card_of: dict[int, ParkingCard] = {}
        for card in session.scalars(
            select(ParkingCard).where(ParkingCard.rental_id.in_(ids)).order_by(ParkingCard.id)
        ):
            last_card_of[card.rental_id] = card
        for rental in rentals:
            view = rental_view(ctx, session, rental)
            changed = (
                as_utc(rental.created_at) >= since
                or bool(rental.ended_at and as_utc(rental.ended_at) >= since)
                or rental.id in renewed
                or rental.id in carded
            )
            last_card = last_card_of.get(rental.id)
            rows.append(
                RecordRow(
                    date=as_utc(rental.created_at).astimezone(tz).date(),
                    owner=view.holder,
                    phone=view.phone,
                    car_model=rental.car_model,
                    plate=rental.plate,
                    start=rental.start_date,
                    end=rental.end_date,
                    card=view.card_number
                    or ((last_card.printed_number or last_card.uid_hex) if last_card else ""),
                    state=view.shown_state,
                    changed_this_week=changed,
                    unit_code=view.unit_code,
                )
            )
    return rows


def records_csv(ctx: KioskContext, actor: Actor, *, week_of: dt.date | None = None) -> str:
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(RECORD_COLUMNS)
    for r in records(ctx, actor, week_of=week_of):
        writer.writerow(
            [
                r.date.isoformat(), r.owner, r.phone, r.car_model, r.plate, r.start.isoformat(),
                r.end.isoformat() if r.end >= r.start else "", r.card, STATE_ZH.get(r.state, r.state),
                "是" if r.changed_this_week else "",
            ]
        )  # fmt: skip
    return out.getvalue()


@dataclass(frozen=True)
class CardInfo:
    """``kiosk parking card UID``: holder, plate, validity, and the card's chain."""

    uid: str
    kind: str
    validity: Validity | None
    chain: list[ParkingCardView]


def card_info(ctx: KioskContext, uid: str) -> CardInfo:
    validity = card_validity(ctx, uid)
    if validity is None:
        with ctx.database().read() as session:
            card = find_card(session, uid)
        if card is None:
            raise Refused("parking.unknown_card", "Card {uid} is not known.", uid=uid)
        raise Refused(
            "parking.no_card",
            "Card {uid} is a {kind} card, not a parking card.",
            uid=uid,
            kind=card.kind,
        )
    return CardInfo(
        uid=uid, kind="parking", validity=validity, chain=card_chain(ctx, validity.rental_id)
    )


# -- retention --------------------------------------------------------------------------------

PURGED_PLATE = "-"


def purge_in(session: Session, ctx: KioskContext, now: dt.datetime, dry_run: bool) -> list[Any]:
    """Rentals ended more than ``retention_days`` ago lose their plate, car model and licence
    (``kiosk purge``); dates, unit, rent and the card chain stay for the records."""
    from kiosk.hookspecs import PurgeCount

    days = ParkingRules.of(ctx).retention_days
    before = now - dt.timedelta(days=days)
    old = (
        ParkingRental.state == "ended",
        ParkingRental.ended_at < before,
        ParkingRental.plate != PURGED_PLATE,
    )
    if dry_run:
        count = session.scalar(select(func.count()).select_from(ParkingRental).where(*old)) or 0
    else:
        count = session.execute(
            update(ParkingRental)
            .where(*old)
            .values(plate=PURGED_PLATE, car_model="", licence_masked="")
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    return [PurgeCount("parking", "parking_rental", int(count), before, days)]
