"""Umbrellas in ``kiosk bench concurrency`` and the soak: kiosks race to lend the same few
umbrellas and to take them back; afterwards no umbrella may be out on two loans at once, its
state must match its loans, and every loan has its audit events and its slip."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from kiosk.db.models import AuditEvent, PrintJob, Resident
from kiosk.errors import Refused
from kiosk.hookspecs import WorkloadOp
from kiosk.identity import Actor
from plugins.umbrellas import service
from plugins.umbrellas.models import Umbrella, UmbrellaLoan

if TYPE_CHECKING:
    from kiosk.context import KioskContext

BORROWERS = 8
# A refusal another kiosk's move (or the household's own limit) explains; anything else fails.
EXPECTED = {"umbrellas.not_available", "umbrellas.limit", "umbrellas.not_lent"}
# The umbrellas out on loan, with who borrowed each.
_OUT_ON_LOAN = (
    select(Umbrella.tag, UmbrellaLoan.resident_id, UmbrellaLoan.unit_id)
    .join(UmbrellaLoan, UmbrellaLoan.umbrella_id == Umbrella.id)
    .where(UmbrellaLoan.returned_at.is_(None))
    .order_by(Umbrella.tag)
)


class UmbrellaRace:
    """The lobby's few umbrellas, lent and returned by a handful of households."""

    def __init__(self) -> None:
        self.tags: list[str] = []
        self.borrowers: list[Actor] = []

    def ops(self) -> list[WorkloadOp]:
        return [
            WorkloadOp("umbrella-lend", self.lend, weight=2, setup=self.setup, check=self.check),
            WorkloadOp("umbrella-return", self.give_back, weight=2),
        ]

    def setup(self, ctx: KioskContext) -> None:
        with ctx.database().read() as s:
            self.tags = list(
                s.scalars(
                    select(Umbrella.tag).where(Umbrella.state == "available").order_by(Umbrella.tag)
                )
            )
            seen: set[int] = set()
            for resident in s.scalars(
                select(Resident)
                .where(Resident.active.is_(True), Resident.role.in_(("owner", "tenant")))
                .order_by(Resident.id)
            ):
                if resident.unit_id not in seen and len(self.borrowers) < BORROWERS:
                    seen.add(resident.unit_id)
                    self.borrowers.append(Actor.of_resident(resident))

    def lend(self, ctx: KioskContext, rng: random.Random) -> bool:
        if not self.tags or not self.borrowers:
            return False
        who, tag = rng.choice(self.borrowers), rng.choice(self.tags)
        try:
            service.lend(ctx, who, tag)
        except Refused as exc:
            assert exc.code in EXPECTED, exc.code
            return False
        return True

    def give_back(self, ctx: KioskContext, rng: random.Random) -> bool:
        with ctx.database().read() as s:
            out = s.connection().execute(_OUT_ON_LOAN).all()
        if not out:
            return False
        tag, resident_id, unit_id = rng.choice(out)
        who = Actor("resident", resident_id, unit_id=unit_id)
        try:
            service.return_umbrella(ctx, who, tag, "intact")
        except Refused as exc:  # another kiosk took it back a moment ago
            assert exc.code in EXPECTED, exc.code
            return False
        return True

    def check(self, ctx: KioskContext) -> list[str]:
        problems = []
        with ctx.database().read() as s:
            open_loans = dict(
                s.execute(
                    select(UmbrellaLoan.umbrella_id, func.count())
                    .where(UmbrellaLoan.returned_at.is_(None))
                    .group_by(UmbrellaLoan.umbrella_id)
                ).all()
            )
            for umbrella in s.scalars(select(Umbrella).where(Umbrella.tag.in_(self.tags))):
                n = open_loans.get(umbrella.id, 0)
                if n > 1:
                    problems.append(f"umbrella {umbrella.tag} is out on {n} loans at once")
                if (umbrella.state in service.OUT) != (n == 1):
                    problems.append(f"umbrella {umbrella.tag} is {umbrella.state} with {n} loans")
            loans = s.scalar(select(func.count()).select_from(UmbrellaLoan)) or 0
            returned = (
                s.scalar(
                    select(func.count())
                    .select_from(UmbrellaLoan)
                    .where(UmbrellaLoan.returned_at.is_not(None))
                )
                or 0
            )
            events = dict(
                s.execute(
                    select(AuditEvent.action, func.count())
                    .where(AuditEvent.action.in_(("umbrella.lent", "umbrella.returned")))
                    .group_by(AuditEvent.action)
                ).all()
            )
            slips = s.scalar(
                select(func.count()).select_from(PrintJob).where(PrintJob.kind == "umbrella_loan")
            )
        if events.get("umbrella.lent", 0) != loans:
            problems.append(f"{events.get('umbrella.lent', 0)} umbrella.lent events, {loans} loans")
        if events.get("umbrella.returned", 0) != returned:
            problems.append(
                f"{events.get('umbrella.returned', 0)} umbrella.returned events, {returned} returns"
            )
        if slips != loans:
            problems.append(f"{slips} lending slips for {loans} loans")
        return problems
