"""The parcels figures of the manager's report (kiosk report parcels --html): how long the
parcels waiting at the end of November had waited, as ``kiosk report parcels --aging`` buckets
them, and the month's parcels in and out by week."""

from __future__ import annotations

import datetime as dt

from parcels_helpers import BUTLER

from kiosk.clock import FixedClock
from kiosk.identity import Actor
from kiosk.reports import collect_figures, report_period
from plugins.parcels import service
from plugins.parcels.aging import aging_report, return_to_sender

MANAGER = Actor("staff", 5, "周经理", frozenset({"manager"}))


def _local(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _figures(ctx) -> dict[str, object]:
    period = report_period(ctx, "2026-11")
    return {f.key: f for f in collect_figures(ctx, MANAGER, period, ["parcels"])}


def test_november_parcels_by_age_and_by_week(ctx) -> None:
    ctx.clock = FixedClock(dt.datetime(2026, 12, 10, 2, 0, tzinfo=dt.UTC))
    before = _figures(ctx)
    for day, tracking in ((2, "SF1000000001"), (3, "SF1000000002"), (25, "SF1000000003"),
                          (29, "SF1000000004")):  # fmt: skip
        ctx.clock = FixedClock(_local(day))
        checked = service.check_in(ctx, BUTLER, tracking=tracking, unit_code="3-1205")
        if day == 3:
            returned = checked.parcel_id
    ctx.clock = FixedClock(_local(20))
    return_to_sender(ctx, BUTLER, returned, "地址错误")
    ctx.clock = FixedClock(dt.datetime(2026, 12, 10, 2, 0, tzinfo=dt.UTC))
    after = _figures(ctx)

    aging = after["parcels.aging"]
    added = [
        a - b
        for a, b in zip(
            aging.series[0].values, before["parcels.aging"].series[0].values, strict=True
        )
    ]
    # At midnight of 1 December: 29 November is 1 day old, 25 November 5, 2 November 28;
    # the one returned on 20 November no longer waits.
    assert added == [1, 1, 0, 1]  # 0-2, 3-6, 7-14, 15+ days
    # The same buckets as the aging report read at the month's end.
    ctx.clock = FixedClock(report_period(ctx, "2026-11").end)
    assert list(aging.series[0].values) == list(aging_report(ctx)["buckets"].values())

    weekly = after["parcels.weekly"]
    assert weekly.categories == ("11-01", "11-02", "11-09", "11-16", "11-23", "11-30")
    checked_in, _collected, returned_by_week = (
        [a - b for a, b in zip(s.values, t.values, strict=True)]
        for s, t in zip(weekly.series, before["parcels.weekly"].series, strict=True)
    )
    assert checked_in == [0, 2, 0, 0, 2, 0]
    assert returned_by_week == [0, 0, 0, 1, 0, 0]
