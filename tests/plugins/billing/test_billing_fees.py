"""Fee rules in fen: property fee by area, the contract late fee with its cap."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from plugins.billing import fees

RULE = fees.LateFeeRule(daily_rate=Decimal("0.0005"), cap_ratio=Decimal("1"))


def test_property_fee_is_area_times_rate_per_square_metre() -> None:
    # 89.00 m² (8 900 hundredths) at ￥2.50 per m² per month
    assert fees.property_fee(8900, 250) == 22250
    # 102.55 m² at ￥2.50: 256.375 -> ￥256.38 (half up)
    assert fees.property_fee(10255, 250) == 25638
    assert fees.property_fee(10255, 250, months=3) == 76913


def test_late_fee_is_half_a_thousandth_per_day_on_what_is_outstanding() -> None:
    due, today = dt.date(2026, 10, 25), dt.date(2026, 11, 23)
    days = fees.days_overdue(due, None, today)
    assert days == 29
    # ￥1,000.00 x 0.05 % x 29 days = ￥14.50
    assert fees.late_fee(100000, 100000, 0, days, RULE) == 1450


def test_no_late_fee_on_or_before_the_due_date_or_within_grace() -> None:
    due = dt.date(2026, 11, 25)
    assert fees.days_overdue(due, None, due) == 0
    assert fees.days_overdue(due, None, dt.date(2026, 11, 28), grace_days=5) == 0
    assert fees.days_overdue(due, None, dt.date(2026, 12, 2), grace_days=5) == 2


def test_late_fee_already_charged_is_not_charged_again() -> None:
    due = dt.date(2026, 10, 25)
    assert fees.days_overdue(due, dt.date(2026, 11, 20), dt.date(2026, 11, 23)) == 3


def test_late_fee_stops_at_the_cap() -> None:
    rule = fees.LateFeeRule(daily_rate=Decimal("0.01"), cap_ratio=Decimal("0.1"))
    assert fees.late_fee(100000, 100000, 0, 365, rule) == 10000
    assert fees.late_fee(100000, 100000, 9000, 365, rule) == 1000
    assert fees.late_fee(100000, 100000, 10000, 365, rule) == 0


@given(
    st.integers(0, 10**9),
    st.integers(0, 3650),
    st.decimals(min_value=0, max_value=Decimal("0.01"), places=5),
    st.decimals(min_value=0, max_value=Decimal("2"), places=2),
    st.integers(0, 10**8),
)
def test_late_fee_is_whole_fen_never_negative_and_within_the_cap(
    principal: int, days: int, rate: Decimal, cap: Decimal, charged: int
) -> None:
    rule = fees.LateFeeRule(daily_rate=rate, cap_ratio=cap)
    fee = fees.late_fee(principal, principal, charged, days, rule)
    assert isinstance(fee, int) and fee >= 0
    assert fee + charged <= max(charged, int(principal * cap + Decimal("0.5")))
    exact = Decimal(principal) * rate * days
    assert fee <= exact + Decimal("0.5")


@given(st.integers(0, 10**8), st.integers(0, 10**5))
def test_property_fee_rounds_half_up_once(area: int, rate: int) -> None:
    fee = fees.property_fee(area, rate)
    exact = Decimal(area) * rate / 100
    assert abs(Decimal(fee) - exact) <= Decimal("0.5")


def test_every_message_the_billing_plugin_shows_has_a_chinese_translation() -> None:
    import re
    from pathlib import Path

    import plugins.billing as billing
    from kiosk.i18n import parse_po

    root = Path(billing.__file__).parent
    catalog = parse_po((root / "locale/zh_CN/LC_MESSAGES/billing.po").read_text("utf-8"))
    shown: set[str] = set()
    for py in root.glob("*.py"):
        text = py.read_text("utf-8")
        shown |= set(re.findall(r'(?<![\w])N?_\("([^"]+)"\)', text))
        shown |= set(re.findall(r'Refused\(\s*"[^"]+",\s*"([^"]+)"', text))
    missing = sorted(m for m in shown if m not in catalog)
    assert missing == []
