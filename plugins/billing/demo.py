"""Demo bills: an overdue bill for last month and a current one for 3-1205 (王小明), one open
bill for 1-101, so the kiosk has something to pay. The parking plugin's demo adds 王小明's
parking rent to his two bills and holds his parking card's deposit (plugins/parking/demo.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from kiosk.db.models import Unit
from kiosk.identity import SYSTEM
from kiosk.money import format_fen, yuan
from plugins.billing import fees
from plugins.billing.service import add_charge_in, bill_for, config


def _period(day: dt.date, months_back: int) -> str:
    y, m = day.year, day.month - months_back
    while m < 1:
        y, m = y - 1, m + 12
    return f"{y:04d}-{m:02d}"


def seed(session: Any, ctx: Any) -> list[str]:
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
    return lines
