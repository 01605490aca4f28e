"""Fee rules as pure functions over integer fen; Decimal half-up only where a rate applies.

- Property fee: ``rate`` fen per m² per month x area. ``Unit.area_dm2`` is the area in
  hundredths of a square metre, so 89.00 m² at ￥2.50/m² is ``8900 * 250 / 100`` = 22 250 fen.
- Contract late fee (滞纳金): outstanding principal x daily rate x days overdue, rounded half
  up to whole fen, never more than ``cap_ratio`` x the bill's principal over the bill's life.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from kiosk.money import fen_of


@dataclass(frozen=True)
class LateFeeRule:
    """The contract's late fee: ``daily_rate`` (0.0005 = 0.05 %/day) after ``grace_days``,
    capped at ``cap_ratio`` x principal in total (1 = at most the principal itself)."""

    daily_rate: Decimal = Decimal("0.0005")
    cap_ratio: Decimal = Decimal("1")
    grace_days: int = 0

    @classmethod
    def from_config(cls, cfg: dict[str, object]) -> LateFeeRule:
        return cls(
            daily_rate=Decimal(str(cfg.get("late_fee_daily_rate", "0.0005"))),
            cap_ratio=Decimal(str(cfg.get("late_fee_cap_ratio", "1"))),
            grace_days=int(str(cfg.get("late_fee_grace_days", 0))),
        )


def property_fee(area_dm2: int, rate_fen_per_m2: int, months: int = 1) -> int:
    """Property fee in fen for ``months`` months (rounded half up once, on the total)."""
    if area_dm2 < 0 or rate_fen_per_m2 < 0 or months < 0:
        raise ValueError("area, rate and months are never negative")
    return fen_of(Decimal(area_dm2) * rate_fen_per_m2 * months / 100)


def days_overdue(due: dt.date, since: dt.date | None, today: dt.date, grace_days: int = 0) -> int:
    """Days of late fee still to charge: from the later of the due date (plus grace) and the
    date up to which late fee was already charged, until ``today``."""
    start = due + dt.timedelta(days=grace_days)
    if today <= start:
        return 0
    if since is not None and since > start:
        start = since
    return max(0, (today - start).days)


def late_fee(
    principal_outstanding: int,
    principal_total: int,
    already_charged: int,
    days: int,
    rule: LateFeeRule,
) -> int:
    """Late fee to add now, in fen: rate x days on what is outstanding, within the cap."""
    if principal_outstanding <= 0 or days <= 0:
        return 0
    fee = fen_of(Decimal(principal_outstanding) * rule.daily_rate * days)
    cap = fen_of(Decimal(principal_total) * rule.cap_ratio) - already_charged
    return max(0, min(fee, cap))
