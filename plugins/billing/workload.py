"""Bill payments for ``kiosk bench concurrency``: kiosks race to pay the same bills by QR,
providers deliver notifications more than once; afterwards no bill may hold more money
than it owed and every paid order has exactly one payment.

A payment is two requests on an estate, in two processes: the kiosk creates the order (and
shows the payer's success once it is paid), the notify server applies the provider's
notification. ``bill-pay-qr`` meters the kiosk's part, ``bill-notice`` the notify server's
(:func:`kiosk.workload.elsewhere`)."""

from __future__ import annotations

import random
import threading
from typing import Any

from sqlalchemy import func, select

from kiosk.hookspecs import WorkloadFault, WorkloadOp
from kiosk.identity import SYSTEM
from kiosk.workload import elsewhere

UNITS = 24
# Each unit gets a bill for this many months (the current one and the next): enough unpaid
# bills that a 32-kiosk run still pays real bills after its warm-up, few enough that kiosks
# often pick the same one.
MONTHS = 4


class BillRace:
    def __init__(self) -> None:
        self.bills: list[int] = []  # those this kiosk has not yet found paid
        self.checked: list[int] = []  # every bill of the race (checked afterwards)
        self.lock = threading.Lock()

    def ops(self) -> list[WorkloadOp]:
        return [
            WorkloadOp(
                "bill-pay-qr",
                self.pay,
                weight=2,
                setup=self.setup,
                check=self.check,
                faults=(WorkloadFault("duplicate_notice", paid_orders_exist, duplicate_notice),),
            )
        ]

    def setup(self, ctx: Any) -> None:
        from kiosk.db.models import Unit
        from plugins.billing import service
        from plugins.billing.gateway import shared_gateway

        # Start the simulated gateway (and make its RSA keys) before the clock runs: a kiosk
        # has its provider set up long before anyone pays.
        shared_gateway()

        with ctx.database().read() as s:
            units = list(s.scalars(select(Unit.id).order_by(Unit.id).limit(UNITS)))
        year, month = (int(x) for x in service.current_period(ctx).split("-"))
        for k in range(MONTHS):
            y, m = divmod(year * 12 + month - 1 + k, 12)
            period = f"{y:04d}-{m + 1:02d}"
            for i, unit_id in enumerate(units):
                service.add_charge(
                    ctx, SYSTEM, unit_id, "other", 1000 + i, "bench",
                    source_ref=f"bench:{unit_id}:{period}", period=period,
                )  # fmt: skip
        with ctx.database().read() as s:
            from plugins.billing.models import BillLine

            self.checked = sorted(
                set(s.scalars(select(BillLine.bill_id).where(BillLine.source_ref.like("bench:%"))))
            )
        self.bills = list(self.checked)

    def pay(self, ctx: Any, rng: random.Random) -> bool:
        from kiosk.errors import Refused
        from plugins.billing import service
        from plugins.billing.gateway import shared_gateway

        with self.lock:
            if not self.bills:
                return False
            bill_id = rng.choice(self.bills)
        try:
            order = service.create_payment_order(ctx, SYSTEM, bill_id, "sim")
        except Refused:
            # Paid by another kiosk: this kiosk picks among the others from now on (without
            # it, a large run pays every bill in its warm-up and then only meets refusals).
            with self.lock:
                if bill_id in self.bills:
                    self.bills.remove(bill_id)
            return False
        gw = shared_gateway()
        headers, body = gw.pay(order.out_trade_no)
        with elsewhere("bill-notice") as notify_server:
            verdict = service.handle_notification(ctx, "sim", headers, body).verdict
            if rng.random() < 0.3:  # the provider retries
                again = service.handle_notification(ctx, "sim", headers, body).verdict
                assert again in ("duplicate", "flagged"), again
            notify_server.changed = verdict in ("paid", "flagged")
        # The kiosk's screen asks once more and shows the payer the outcome.
        shown = service.order_status(ctx, order.out_trade_no).status
        return shown == "paid"

    def check(self, ctx: Any) -> list[str]:
        from plugins.billing.models import Bill, Payment, PaymentOrder

        problems = []
        with ctx.database().read() as s:
            for bill in s.scalars(select(Bill).where(Bill.id.in_(self.checked))):
                paid = s.scalar(
                    select(func.coalesce(func.sum(Payment.amount_fen), 0)).where(
                        Payment.bill_id == bill.id
                    )
                )
                if bill.paid_fen != paid:
                    problems.append(
                        f"bill {bill.number}: paid_fen {bill.paid_fen} != payments {paid}"
                    )
                if bill.balance_fen < 0:
                    problems.append(f"bill {bill.number} paid more than it owed")
            orders_paid = s.scalar(
                select(func.count()).select_from(PaymentOrder).where(PaymentOrder.status == "paid")
            )
            flagged_paid = s.scalar(
                select(func.count())
                .select_from(PaymentOrder)
                .where(PaymentOrder.status == "paid", PaymentOrder.flag != "")
            )
            if flagged_paid:
                problems.append(f"{flagged_paid} orders are paid and flagged at once")
            qr_payments = s.scalar(
                select(func.count()).select_from(Payment).where(Payment.order_id.is_not(None))
            )
        if orders_paid != qr_payments:
            problems.append(f"{orders_paid} paid orders but {qr_payments} QR payments")
        return problems


def _paid_orders(ctx: Any) -> list[str]:
    """Orders paid through the simulated gateway this process started (it can sign again)."""
    from plugins.billing.gateway import shared_gateway
    from plugins.billing.models import PaymentOrder

    known = shared_gateway(ctx.clock).orders
    with ctx.database().read() as s:
        paid = s.scalars(
            select(PaymentOrder.out_trade_no)
            .where(PaymentOrder.status == "paid", PaymentOrder.provider == "sim")
            .order_by(PaymentOrder.id)
        )
        return [n for n in paid if n in known]


def paid_orders_exist(ctx: Any) -> bool:
    return bool(_paid_orders(ctx))


def duplicate_notice(ctx: Any, rng: random.Random) -> list[str]:
    """The provider delivers a paid order's notification again (1-3 times): each must be
    answered ``duplicate`` and move no money. Returns the problems found."""
    from plugins.billing import service
    from plugins.billing.gateway import shared_gateway
    from plugins.billing.models import Bill, Payment, PaymentOrder

    out_trade_no = rng.choice(_paid_orders(ctx))

    def money() -> tuple[Any, ...]:
        with ctx.database().read() as s:
            bill_id = s.scalar(
                select(PaymentOrder.bill_id).where(PaymentOrder.out_trade_no == out_trade_no)
            )
            return (
                s.scalar(select(Bill.paid_fen).where(Bill.id == bill_id)),
                s.scalar(select(func.count()).select_from(Payment)),
                s.scalar(select(func.coalesce(func.sum(Payment.amount_fen), 0))),
            )

    problems: list[str] = []
    before = money()
    gateway = shared_gateway(ctx.clock)
    for _ in range(rng.randint(1, 3)):
        headers, body = gateway.notification(out_trade_no)
        verdict = service.handle_notification(ctx, "sim", headers, body).verdict
        if verdict != "duplicate":
            problems.append(f"notice again for {out_trade_no}: {verdict}")
    if money() != before:
        problems.append(f"notice again for {out_trade_no} moved money: {money()}")
    return problems
