"""Telling households of their bills: :func:`issue_bills` sends every open bill of a month
the ``bill.issued`` message (amount, period, due date, and a one-time link that opens a QR
payment order for it, see :mod:`plugins.billing.links`), once per bill.

Charges reach a month's bill all month long (rent, repairs, an umbrella's compensation); the
cashier issues the month when its charges are in (the CSV import, the fees run). Issuing is
idempotent: a bill told once is not told again, and a bill made later in the month (a unit's
first charge) is told at the next issue. A charge added to a bill already told is in what the
household sees when it pays (the kiosk, the link's order), not in a new message. A bill with
nothing owed is not sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from kiosk import audit
from kiosk.db.models import Unit
from kiosk.identity import Actor, require_role
from kiosk.money import format_fen
from kiosk.notify import queue_notification
from plugins.billing.models import Bill
from plugins.billing.service.bills import DESK_ROLES, _check_period

if TYPE_CHECKING:
    from kiosk.context import KioskContext


@dataclass(frozen=True)
class IssueResult:
    period: str
    issued: int  # bills told now
    total_fen: int  # what they owe together
    already: int  # bills of the month told before


def issue_bills(ctx: KioskContext, actor: Actor, period: str) -> IssueResult:
    """Queue ``bill.issued`` for each open bill of ``period`` not told yet (cashier, manager)."""
    require_role(actor, "issue the month's bills", *DESK_ROLES)
    period = _check_period(period)
    now = ctx.clock.now()
    issued = total = already = 0
    with ctx.database().write() as session:
        rows = session.execute(
            select(Bill, Unit.code)
            .join(Unit, Unit.id == Bill.unit_id)
            .where(Bill.period == period, Bill.status == "open")
            .order_by(Bill.id)
            .with_for_update(of=Bill)  # two desks issuing at once tell each bill once
        ).all()
        for bill, unit_code in rows:
            if bill.issued_at is not None:
                already += 1
                continue
            owed = bill.balance_fen
            if owed <= 0:
                continue
            queue_notification(
                session,
                channel="sms",
                template="bill.issued",
                at=now,
                unit_id=bill.unit_id,
                payload={
                    "bill": bill.id,
                    "unit": unit_code,
                    "amount": format_fen(owed),
                    "period": period,
                    "due": bill.due_date.isoformat(),
                },
            )
            bill.issued_at = now
            issued += 1
            total += owed
        if issued:
            audit.record_for(
                ctx, session, actor, "bill.issued", f"period:{period}",
                {"bills": issued, "total_fen": total},
            )  # fmt: skip
    return IssueResult(period, issued, total, already)
