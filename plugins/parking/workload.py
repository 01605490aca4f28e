"""Parking in ``kiosk bench concurrency`` and the soak: desks race to bind the same few blank
cards to different rentals, report them lost and take them back, while kiosks tap them.
Afterwards no card may be active on two rentals, no rental may hold two active cards, and
every card issued has exactly one deposit and one audit event."""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

import plugins.billing.api as billing
from kiosk import lobby
from kiosk.db.models import AuditEvent, Resident, Unit
from kiosk.errors import Refused
from kiosk.hookspecs import WorkloadOp
from kiosk.identity import Actor
from plugins.parking import service
from plugins.parking.models import ParkingCard, ParkingRental

if TYPE_CHECKING:
    from kiosk.context import KioskContext

CASHIER = Actor("staff", 2, "陈收银", frozenset({"cashier"}))
RENTALS = 6
BLANKS = [f"7F0000{n:04X}" for n in range(1, 5)]
# Refusals another desk's move explains; anything else fails the run.
EXPECTED = {
    "parking.card_bound", "parking.has_card", "parking.not_active", "parking.no_card",
    "parking.ended", "parking.plate_taken", "parking.card_moved",
}  # fmt: skip


# The unit and renter of a rental, by its number.
_HOUSEHOLD_OF = (
    select(Unit.code, ParkingRental.resident_id)
    .join(Unit, Unit.id == ParkingRental.unit_id)
    .where(ParkingRental.number == bindparam("number"))
)


def _shared_by_active_cards(s: Session, column: Any) -> list[tuple[Any, int]]:
    """Each value of ``column`` that more than one active card has, with how many have it."""
    rows = s.execute(
        select(column, func.count())
        .where(ParkingCard.state == "active")
        .group_by(column)
        .having(func.count() > 1)
    ).all()
    return [(value, n) for value, n in rows]


def _rows(s: Session, model: Any, *where: Any) -> int:
    """How many rows of ``model`` match ``where``."""
    return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


class ParkingRace:
    def __init__(self) -> None:
        self.rentals: list[str] = []
        self.returned: dict[int, str] = {}  # a kiosk's (thread's) last returned rental
        self.lock = threading.Lock()

    def ops(self) -> list[WorkloadOp]:
        return [
            WorkloadOp("parking-issue", self.issue, weight=2, setup=self.setup, check=self.check),
            WorkloadOp("parking-return", self.give_back, weight=1, after=self.rent_again),
            WorkloadOp("parking-tap", self.tap, weight=2),
        ]

    def setup(self, ctx: KioskContext) -> None:
        with ctx.database().read() as s:
            owners = s.execute(
                select(Resident.id, Unit.code)
                .join(Unit, Unit.id == Resident.unit_id)
                .where(Resident.role == "owner", Resident.active.is_(True))
                .order_by(Resident.id)
                .limit(RENTALS)
            ).all()
        for n, (rid, code) in enumerate(owners):
            plate = f"粤W{n:05d}"
            with ctx.database().read() as s:
                existing = s.scalar(
                    select(ParkingRental.number).where(
                        ParkingRental.plate == plate, ParkingRental.state == "open"
                    )
                )
            if existing is None:
                existing = service.open_rental(
                    ctx, CASHIER, unit=code, resident_id=rid, plate=plate, car_model="",
                    licence_no="440301199001011234", identity_checked=True, months=12,
                ).number  # fmt: skip
            self.rentals.append(existing)

    def issue(self, ctx: KioskContext, rng: random.Random) -> bool:
        if not self.rentals:
            self.rentals = self._open_rentals(ctx)
            if not self.rentals:
                return False
        try:
            service.issue_card(ctx, CASHIER, rng.choice(self.rentals), rng.choice(BLANKS))
        except Refused as exc:
            assert exc.code in EXPECTED, exc.code
            if exc.code in ("parking.ended", "parking.not_active"):
                # Another kiosk's desk ended that rental and opened a new one: this kiosk's
                # list is stale. Without this, each kiosk's list ends up all ended rentals and
                # the race stops issuing (and so returning) anything at all.
                self.rentals = self._open_rentals(ctx)
            return False
        return True

    @staticmethod
    def _open_rentals(ctx: KioskContext) -> list[str]:
        with ctx.database().read() as s:
            return list(
                s.scalars(
                    select(ParkingRental.number)
                    .where(ParkingRental.state == "open", ParkingRental.plate.like("粤W%"))
                    .order_by(ParkingRental.id)
                )
            )

    def give_back(self, ctx: KioskContext, rng: random.Random) -> bool:
        """A parking card handed back at the desk (the timed operation: only the return)."""
        try:
            card = service.return_card(ctx, CASHIER, rng.choice(BLANKS))
        except Refused as exc:
            assert exc.code in EXPECTED, exc.code
            return False
        with self.lock:
            self.returned[threading.get_ident()] = card.rental_number
        return True

    def rent_again(self, ctx: KioskContext, rng: random.Random) -> None:
        """After a return (untimed, see ``WorkloadOp.after``): the returned card's rental has
        ended, and its household rents again -- a new rental -- so the race goes on with open
        rentals to issue cards for."""
        with self.lock:
            number = self.returned.pop(threading.get_ident(), None)
        if number is None:
            return
        with ctx.database().read() as s:
            unit, rid = s.connection().execute(_HOUSEHOLD_OF, {"number": number}).one()
        try:
            again = service.open_rental(
                ctx, CASHIER, unit=unit, resident_id=rid,
                plate=f"粤W{rng.randrange(10**5):05d}", car_model="",
                licence_no="440301199001011234", identity_checked=True, months=12,
            )  # fmt: skip
        except Refused as exc:
            assert exc.code in EXPECTED, exc.code
        else:
            self.rentals = [*(r for r in self.rentals if r != number), again.number]

    def tap(self, ctx: KioskContext, rng: random.Random) -> bool:
        """A card tapped at a kiosk, as the lobby takes it; a lost card alerts the desk."""
        outcome = lobby.tap_card(ctx, rng.choice(BLANKS))
        return outcome.plugin is not None and outcome.plugin.kind == "parking.lost"

    def check(self, ctx: KioskContext) -> list[str]:
        problems: list[str] = []
        with ctx.database().read() as s:
            for uid, n in _shared_by_active_cards(s, ParkingCard.uid_hex):
                problems.append(f"parking card {uid} active on {n} rentals")
            for rental, n in _shared_by_active_cards(s, ParkingCard.rental_id):
                problems.append(f"rental {rental} holds {n} active cards")
            ended_with_card = _rows(
                s,
                ParkingCard,
                ParkingCard.state == "active",
                ParkingCard.rental_id.in_(
                    select(ParkingRental.id).where(ParkingRental.state == "ended")
                ),
            )
            if ended_with_card:
                problems.append(f"{ended_with_card} active cards on ended rentals")
            issued = _rows(s, ParkingCard)
            deposits = billing.count_deposits(s, "parking:card:") if billing.available(ctx) else 0
            events = _rows(s, AuditEvent, AuditEvent.action == "parking.card.issued")
            demo = _rows(s, ParkingCard, ParkingCard.deposit_state == "none")
            if deposits != issued - demo:
                problems.append(f"{issued - demo} parking cards issued but {deposits} deposits")
            if events != issued - demo:
                problems.append(f"{issued - demo} parking cards issued but {events} audit events")
        return problems
