"""Demo bills: an overdue October bill and a current November bill for 3-1205 (王小明), one
open bill for 1-101, and a parking-card deposit, so the kiosk has something to pay."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from kiosk.db.models import Unit
from kiosk.identity import SYSTEM, Actor
from kiosk.money import format_fen, yuan
from plugins.billing import fees
from plugins.billing.service import add_charge_in, bill_for, config, take_deposit_in

DEMO_RENT_FEN = 10000  # the parking plugin's default monthly rent
DEMO_DEPOSIT_FEN = 5000  # and card deposit


def _period(day: dt.date, months_back: int) -> str:
    y, m = day.year, day.month - months_back
    while m < 1:
        y, m = y - 1, m + 12
    return f"{y:04d}-{m:02d}"


def seed(session: Any, ctx: Any) -> list[str]:
    # The parking lines use the estate's parking settings ([plugins.parking] monthly_rent_fen,
    # deposit_fen; the parking plugin's defaults otherwise), read from the config rather than
    # the parking plugin, so the demo bill shows what this estate charges without it.
    parking = ctx.settings.plugin("parking")
    monthly_rent_fen = int(parking.get("monthly_rent_fen", DEMO_RENT_FEN))
    deposit_fen = int(parking.get("deposit_fen", DEMO_DEPOSIT_FEN))
    today = ctx.today()  # the estate's date: periods and due dates are local
    rate = yuan(str(config(ctx).get("property_fee_per_m2", "2.50")))
    lines = []
    for code, months in (("3-1205", (1, 0)), ("1-101", (0,))):
        unit = session.scalar(select(Unit).where(Unit.code == code))
        if unit is None:
            continue
        for back in months:
            period = _period(today, back)
            fee = fees.property_fee(unit.area_dm2, rate)
            add_charge_in(
                session,
                ctx,
                SYSTEM,
                unit.id,
                "property_fee",
                fee,
                f"物业费 {period}",
                source_ref=f"demo:{code}:{period}:pf",
                period=period,
            )
            if code == "3-1205":
                add_charge_in(
                    session,
                    ctx,
                    SYSTEM,
                    unit.id,
                    "parking_rent",
                    monthly_rent_fen,
                    f"车位租金 {period}",
                    source_ref=f"demo:{code}:{period}:pk",
                    period=period,
                )
            if back:
                add_charge_in(
                    session,
                    ctx,
                    SYSTEM,
                    unit.id,
                    "umbrella",
                    3500,
                    "雨伞赔偿 Umbrella compensation",
                    source_ref=f"demo:{code}:{period}:um",
                    period=period,
                )
            bill = bill_for(ctx, session, unit, period)
            session.refresh(bill)
            lines.append(f"bill {bill.number}: {format_fen(bill.balance_fen)} due {bill.due_date}")
    cashier = Actor("staff", 0, "demo", frozenset({"cashier"}))
    unit = session.scalar(select(Unit).where(Unit.code == "3-1205"))
    if unit is not None:
        dep = take_deposit_in(
            session,
            ctx,
            cashier,
            unit.id,
            "parking_card",
            deposit_fen,
            "停车卡押金",
            source_ref="demo:deposit:3-1205",
        )
        lines.append(
            f"deposit {dep.receipt_no}: {format_fen(dep.amount_fen)} (parking card, 3-1205)"
        )
    return lines
