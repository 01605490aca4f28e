"""Parking upkeep and records: the sweep (paid periods applied, lapsed cards expired, renters
reminded before the end), the 月租办理记录 as the garage cashier's weekly copy (on screen and
as CSV), and retention (plates and licences of long-ended rentals purged)."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from kiosk import audit
from kiosk.clock import as_utc
from kiosk.db.models import Card
from kiosk.export import csv_writer
from kiosk.identity import Actor, require_role
from kiosk.money import format_fen
from kiosk.notify import queue_notification
from plugins.parking.models import ParkingCard, ParkingPeriod, ParkingRental
from plugins.parking.views import rental_view

if TYPE_CHECKING:
    from kiosk.context import KioskContext

# -- sweep: expiry and reminders -----------------------------------------------------------------


def sweep(ctx: KioskContext) -> dict[str, int]:
    """Run from cron (``kiosk parking sweep``) and at kiosk start: apply paid bills, mark cards
    of lapsed rentals expired, remind renters ``remind_days`` before the end (once per end)."""
    from plugins.parking.service import ParkingRules, apply_paid_periods

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
    from plugins.parking.service import RECORD_ROLES

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


# -- retention --------------------------------------------------------------------------------

PURGED_PLATE = "-"


def purge_in(session: Session, ctx: KioskContext, now: dt.datetime, dry_run: bool) -> list[Any]:
    """Rentals ended more than ``retention_days`` ago lose their plate, car model and licence
    (``kiosk purge``); dates, unit, rent and the card chain stay for the records."""
    from kiosk.hookspecs import PurgeCount
    from plugins.parking.service import ParkingRules

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
