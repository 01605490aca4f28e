"""Bill payments for ``kiosk bench concurrency``: kiosks race to pay the same bills by QR,
providers deliver notifications more than once; afterwards no bill may hold more money
than it owed and every paid order has exactly one payment."""

from __future__ import annotations

import random
import threading
from typing import Any

from sqlalchemy import func, select

from kiosk.hookspecs import WorkloadOp
from kiosk.identity import SYSTEM

UNITS = 24


class BillRace:
    def __init__(self) -> None:
        self.bills: list[int] = []
        self.lock = threading.Lock()

    def ops(self) -> list[WorkloadOp]:
        return [WorkloadOp("bill-pay-qr", self.pay, weight=2, setup=self.setup, check=self.check)]

    def setup(self, ctx: Any) -> None:
        from kiosk.db.models import Unit
        from plugins.billing import service
        from plugins.billing.gateway import shared_gateway

        # Start the simulated gateway (and make its RSA keys) before the clock runs: a kiosk
        # has its provider set up long before anyone pays.
        shared_gateway()

        with ctx.database().read() as s:
            units = list(s.scalars(select(Unit.id).order_by(Unit.id).limit(UNITS)))
        for i, unit_id in enumerate(units):
            service.add_charge(
                ctx, SYSTEM, unit_id, "other", 1000 + i, "bench", source_ref=f"bench:{unit_id}"
            )
        with ctx.database().read() as s:
            from plugins.billing.models import BillLine

            self.bills = sorted(
                set(s.scalars(select(BillLine.bill_id).where(BillLine.source_ref.like("bench:%"))))
            )

    def pay(self, ctx: Any, rng: random.Random) -> bool:
        from kiosk.errors import Refused
        from plugins.billing import service
        from plugins.billing.gateway import shared_gateway

        bill_id = rng.choice(self.bills)
        try:
            order = service.create_payment_order(ctx, SYSTEM, bill_id, "sim")
        except Refused:
            return False  # already paid by another kiosk
        gw = shared_gateway()
        headers, body = gw.pay(order.out_trade_no)
        verdict = service.handle_notification(ctx, "sim", headers, body).verdict
        if rng.random() < 0.3:  # the provider retries
            again = service.handle_notification(ctx, "sim", headers, body).verdict
            assert again in ("duplicate", "flagged"), again
        return verdict == "paid"

    def check(self, ctx: Any) -> list[str]:
        from plugins.billing.models import Bill, Payment, PaymentOrder

        problems = []
        with ctx.database().read() as s:
            for bill in s.scalars(select(Bill).where(Bill.id.in_(self.bills))):
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
