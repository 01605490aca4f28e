"""The umbrella figures of the manager's report (kiosk report umbrellas --html): the stock by
state as the desk counts it, and the month's loans and returns by week."""

from __future__ import annotations

import datetime as dt

from umbrellas_helpers import resident

from kiosk.clock import FixedClock
from kiosk.identity import Actor
from kiosk.reports import collect_figures, report_period
from plugins.umbrellas import service

MANAGER = Actor("staff", 5, "周经理", frozenset({"manager"}))


def _at(day: int, hour: int = 10) -> FixedClock:
    return FixedClock(dt.datetime(2026, 11, day, hour - 8, 0, tzinfo=dt.UTC))


def test_loans_returns_and_a_lost_umbrella_in_november(ctx, english) -> None:
    """U001 lent on 3 November and brought back on the 4th; U002 lent on the 17th and lost on
    the 24th; U003 lent on the 24th and still out on the 30th, past its due time."""
    zhang, liu = resident(ctx, "张伟"), resident(ctx, "刘芳")
    ctx.clock = _at(3)
    service.lend(ctx, zhang, "U001")
    ctx.clock = _at(4)
    service.return_umbrella(ctx, zhang, "U001")
    ctx.clock = _at(17)
    service.lend(ctx, liu, "U002")
    ctx.clock = _at(24)
    service.return_umbrella(ctx, liu, "U002", condition="lost")
    service.lend(ctx, zhang, "U003")
    ctx.clock = _at(30, 20)
    figures = {
        f.key: f
        for f in collect_figures(ctx, MANAGER, report_period(ctx, "2026-11"), ["umbrellas"])
    }
    (lobby_a,) = figures["umbrellas.stock"].series
    stock = dict(zip(figures["umbrellas.stock"].categories, lobby_a.values, strict=True))
    assert stock == {"In the stand": 4, "On loan": 0, "Overdue": 1, "Lost": 1, "Damaged": 0}
    weekly = figures["umbrellas.weekly"]
    assert weekly.categories == ("11-01", "11-02", "11-09", "11-16", "11-23", "11-30")
    lent, back = (list(s.values) for s in weekly.series)
    assert lent == [0, 1, 0, 1, 1, 0]
    assert back == [0, 1, 0, 0, 1, 0]
