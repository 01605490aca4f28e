"""What a parking card tap at the kiosk means (headless; the screen is built lazily): the
card's validity, decided from the paid-through date in one read, the desk told of a lost card,
and ``kiosk parking card UID``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select

from kiosk.db import direct
from kiosk.db.models import Resident, Unit
from kiosk.errors import Refused
from kiosk.hookspecs import CardOutcome
from kiosk.i18n import N_
from kiosk.identity import find_card
from kiosk.notify import raise_kiosk_alert
from kiosk.pii import mask_name
from plugins.parking import service
from plugins.parking.models import ParkingCard, ParkingPeriod, ParkingRental

if TYPE_CHECKING:
    from kiosk.context import KioskContext
    from plugins.parking.service import ParkingCardView


def card_outcome(ctx: KioskContext, uid: str, card_id: int | None = None) -> CardOutcome | None:
    """Valid, expired or unpaid -> the validity screen (renewal offered); lost -> refused and
    the desk alerted; returned -> refused. ``card_id``: the card the tap found."""
    validity = card_validity(ctx, uid, card_id=card_id)
    if validity is None:
        return None
    data: dict[str, Any] = {
        "plate": validity.plate,
        "card": validity.card_number,
        "end": validity.end_date.isoformat(),
        "unit": validity.unit_code,
    }
    if validity.state == "lost":
        alert_blocked_tap(ctx, validity, uid)
        return CardOutcome(
            kind="parking.lost",
            message="This parking card ({card}) was reported lost and is blocked. "
            "Please see the desk.",
            refused=True,
            data=data,
        )
    if validity.state == "returned":
        return CardOutcome(
            kind="parking.returned",
            message="This parking card ({card}) was returned and no longer works.",
            refused=True,
            data=data,
        )

    def screen(c: KioskContext) -> Any:
        from plugins.parking.screens import ValidityScreen

        return ValidityScreen(c, validity, uid)

    return CardOutcome(kind=f"parking.{validity.state}", message="", screen=screen, data=data)


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
    pending_fen: int = 0  # rent put on the bill, not paid yet


# A tap's answer in one statement: the card's latest binding, its rental, unit and holder, and
# the rent put on the bill and not applied yet (it may have been paid since).
_VALIDITY = (
    select(
        ParkingCard.state,
        ParkingCard.printed_number,
        ParkingCard.uid_hex,
        ParkingRental.id,
        ParkingRental.number,
        ParkingRental.unit_id,
        ParkingRental.resident_id,
        ParkingRental.plate,
        ParkingRental.start_date,
        ParkingRental.end_date,
        ParkingRental.monthly_rent_fen,
        Unit.code,
        Resident.name,
        select(func.coalesce(func.sum(ParkingPeriod.amount_fen), 0))
        .where(
            ParkingPeriod.rental_id == ParkingRental.id,
            ParkingPeriod.state == "pending",
            ParkingPeriod.method == "bill",
        )
        .scalar_subquery()
        .label("pending"),
    )
    .join(ParkingRental, ParkingRental.id == ParkingCard.rental_id)
    .outerjoin(Unit, Unit.id == ParkingRental.unit_id)
    .outerjoin(Resident, Resident.id == ParkingRental.resident_id)
    .where(ParkingCard.card_id == bindparam("card_id"))
    .order_by(ParkingCard.id.desc())
    .limit(1)
)


def card_validity(
    ctx: KioskContext, uid: str, *, settle: bool = True, card_id: int | None = None
) -> Validity | None:
    """The validity of a parking card, or None when ``uid`` is not a parking card. Expiry is
    decided here from the paid-through date (never from the card), so a lapsed card stops
    working the day after its last paid day. One read (``card_id``: the parking card a tap
    already found); a write only when rent put on the bill has been paid since and is applied
    first."""
    with ctx.database().read() as session:
        if card_id is None:
            card = find_card(session, uid)
            if card is None or card.kind != "parking":
                return None
            card_id = card.id
        row = direct.execute(session.connection(), _VALIDITY, {"card_id": card_id}).first()
    if row is None:
        return None
    (card_state, printed, uid_hex, rental_id, number, unit_id, resident_id, plate, start,
     end, rent, unit_code, holder, pending) = row  # fmt: skip
    if settle and pending and service.apply_paid_periods(ctx, rental_id):
        return card_validity(ctx, uid, settle=False, card_id=card_id)
    today = ctx.today()
    if card_state != "active":
        state = card_state
    elif end < start:
        state = "unpaid"
    elif end < today:
        state = "expired"
    else:
        state = "valid"
    return Validity(
        state=state,
        rental_id=rental_id,
        rental_number=number,
        unit_id=unit_id,
        unit_code=unit_code or "",
        resident_id=resident_id,
        holder=mask_name(holder) if holder else "",
        plate=plate,
        card_number=printed or uid_hex,
        end_date=end,
        days_left=(end - today).days,
        monthly_rent_fen=rent,
        pending_fen=int(pending or 0),
    )


def alert_blocked_tap(ctx: KioskContext, validity: Validity, uid: str) -> None:
    """A lost (blocked) parking card was presented: tell the desk."""
    with ctx.database().write() as session:
        raise_kiosk_alert(
            ctx,
            session,
            "parking_card_lost",
            N_("lost parking card {card} ({plate}, {unit}) tapped at kiosk {kiosk}"),
            {
                "card": validity.card_number,
                "plate": validity.plate,
                "unit": validity.unit_code,
                "kiosk": ctx.kiosk_id,
            },
        )


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
        uid=uid,
        kind="parking",
        validity=validity,
        chain=service.card_chain(ctx, validity.rental_id),
    )
