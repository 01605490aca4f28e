"""The parking figures of the manager's report (kiosk report parking --html): a month's rental
paid in cash in September runs out on 9 October and is not renewed: opened in September, open
at the end of September and October, lapsed in October."""

from __future__ import annotations

import datetime as dt

from parking_helpers import open_cash

from kiosk.clock import FixedClock
from kiosk.identity import Actor
from kiosk.reports import collect_figures, report_period

MANAGER = Actor("staff", 5, "周经理", frozenset({"manager"}))
DECEMBER = dt.datetime(2026, 12, 10, 2, 0, tzinfo=dt.UTC)


def _series(ctx) -> dict[str, list[float]]:
    ctx.clock = FixedClock(DECEMBER)
    figures = collect_figures(ctx, MANAGER, report_period(ctx, "2026-10"), ["parking"])
    out = {}
    for f in figures:
        assert f.categories == ("2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10")
        out |= {f"{f.key}:{s.label}": list(s.values) for s in f.series}
    return out


def test_a_rental_not_renewed_lapses_in_the_month_it_ran_out(ctx) -> None:
    before = _series(ctx)
    ctx.clock = FixedClock(dt.datetime(2026, 9, 10, 2, 0, tzinfo=dt.UTC))  # 10:00 local
    rental = open_cash(ctx, months=1)
    assert rental.end_date == dt.date(2026, 10, 9)
    after = _series(ctx)
    change = {k: [a - b for a, b in zip(after[k], before[k], strict=True)] for k in after}
    opened, ended, lapsed = (v for k, v in change.items() if k.startswith("parking.changes"))
    (active,) = (v for k, v in change.items() if k.startswith("parking.active"))
    assert opened == [0, 0, 0, 0, 1, 0]
    assert ended == [0, 0, 0, 0, 0, 0]
    assert lapsed == [0, 0, 0, 0, 0, 1]
    assert active == [0, 0, 0, 0, 1, 1]
