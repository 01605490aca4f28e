"""A booked appointment runs the clocks from the slot and engineering is not urged before it;
return visits have deadlines (repairs the same day as completion, complaints within a day
after resolution) and a late one shows on the desk, in the 17:00 check and in the month."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from repairs_helpers import BUTLER, ENGINEER, SIGNED, resident
from sqlalchemy import select

from kiosk.db.models import DeskAlert
from plugins.repairs import service
from plugins.repairs.models import RepairTicket


def _row(ctx, number: str) -> RepairTicket:
    with ctx.database().read() as s:
        return s.scalars(select(RepairTicket).where(RepairTicket.number == number)).one()


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _slot_hours_ahead(ctx, hours: float) -> dt.datetime:
    return next(
        s
        for s in service.appointment_slots(ctx)
        if s - ctx.clock.now() >= dt.timedelta(hours=hours)
    )


# -- booked appointment ---------------------------------------------------------------------------


def test_a_booked_appointment_runs_the_respond_clock_from_the_booked_time(ctx) -> None:
    slot = _slot_hours_ahead(ctx, 2)
    booked = service.file_ticket(ctx, resident(ctx, "张伟"), category="plumbing.leak",
                                 appointment_at=slot)  # fmt: skip
    row = _row(ctx, booked.number)
    assert _utc(row.respond_due_at) == slot + dt.timedelta(minutes=5)
    assert _utc(row.solve_due_at) == slot + dt.timedelta(minutes=30)
    assert _utc(row.resolve_due_at) == slot + dt.timedelta(hours=4)
    ctx.clock.advance(minutes=30)  # long past 5 minutes after filing: not a breach
    panel = service.sla_panel(ctx)
    assert panel.breached_respond == 0
    (timer,) = [x for x in panel.timers if x.number == booked.number]
    assert timer.clock == "respond" and timer.due_at == slot + dt.timedelta(minutes=5)
    ctx.clock.advance(seconds=(slot - ctx.clock.now()).total_seconds() + 6 * 60)
    assert service.sla_panel(ctx).breached_respond == 1  # 6 minutes after the slot: late


def test_a_booked_appointment_met_at_the_slot_meets_the_sla(ctx) -> None:
    slot = _slot_hours_ahead(ctx, 2)
    t = service.file_ticket(ctx, resident(ctx, "张伟"), category="plumbing.leak",
                            appointment_at=slot)  # fmt: skip
    service.confirm(ctx, BUTLER, t.number)
    service.dispatch(ctx, BUTLER, t.number, "赵工程")
    ctx.clock.advance(seconds=(slot - ctx.clock.now()).total_seconds() + 3 * 60)
    service.start(ctx, ENGINEER, t.number)
    ctx.clock.advance(minutes=20)
    service.complete(ctx, ENGINEER, t.number, SIGNED)
    assert _row(ctx, t.number).sla_met is True


def test_engineering_is_not_renotified_while_the_booked_slot_is_in_the_future(ctx) -> None:
    slot = _slot_hours_ahead(ctx, 2)
    booked = service.file_ticket(ctx, resident(ctx, "张伟"), category="plumbing.leak",
                                 appointment_at=slot)  # fmt: skip
    now_one = service.file_ticket(ctx, resident(ctx, "刘芳"), category="plumbing.leak")
    for t in (booked, now_one):
        service.confirm(ctx, BUTLER, t.number)
        service.dispatch(ctx, BUTLER, t.number)
    ctx.clock.advance(minutes=11)
    assert service.renotify_unclaimed(ctx) == [now_one.number]  # the unbooked one only
    ctx.clock.advance(seconds=(slot - ctx.clock.now()).total_seconds() - 60)
    assert booked.number not in service.renotify_unclaimed(ctx)  # a minute before the slot
    ctx.clock.advance(minutes=6)
    assert booked.number not in service.renotify_unclaimed(ctx)  # the grace after the slot
    ctx.clock.advance(minutes=6)
    assert booked.number in service.renotify_unclaimed(ctx)  # slot + 11 min, nobody came
    assert _row(ctx, booked.number).renotify_count == 1


def test_an_emergency_does_not_wait_for_a_booked_slot(ctx) -> None:
    slot = _slot_hours_ahead(ctx, 2)
    t = service.file_ticket(ctx, resident(ctx, "张伟"), category="plumbing.leak",
                            appointment_at=slot, urgent=True)  # fmt: skip
    row = _row(ctx, t.number)
    assert _utc(row.respond_due_at) == ctx.clock.now() + dt.timedelta(minutes=5)
    service.confirm(ctx, BUTLER, t.number)
    service.dispatch(ctx, BUTLER, t.number)
    ctx.clock.advance(minutes=11)
    assert service.renotify_unclaimed(ctx) == [t.number]


# -- return visits --------------------------------------------------------------------------------


def _completed(ctx, category: str = "plumbing.leak", unit: str = "1-101") -> str:
    t = service.file_ticket(ctx, BUTLER, category=category, unit_code=unit)
    service.confirm(ctx, BUTLER, t.number)
    service.dispatch(ctx, BUTLER, t.number)
    service.start(ctx, BUTLER, t.number)
    service.complete(ctx, BUTLER, t.number, SIGNED)
    return t.number


def _month(ctx) -> str:
    local = ctx.clock.now().astimezone(ZoneInfo(ctx.settings.estate.timezone))
    return local.strftime("%Y-%m")


def test_a_repair_return_visit_is_due_the_same_day_and_a_late_one_shows(ctx) -> None:
    zone = ZoneInfo(ctx.settings.estate.timezone)
    late = _completed(ctx)
    on_time = _completed(ctx, unit="2-803")
    due = _utc(_row(ctx, late).visit_due_at)
    assert due.astimezone(zone).date() == ctx.clock.now().astimezone(zone).date()
    service.record_visit(ctx, BUTLER, on_time, 5)
    assert service.sla_panel(ctx).visits_late == []
    ctx.clock.advance(seconds=(due - ctx.clock.now()).total_seconds() + 60)
    assert service.sla_panel(ctx).visits_late == [late]
    check = service.daily_check(ctx)
    assert check.visits_late == [late]
    with ctx.database().read() as s:
        alert = s.scalars(
            select(DeskAlert.message).where(DeskAlert.kind == "repair_daily_check")
        ).one()
    assert late in alert and "late this week: 1 visits" in alert
    report = service.monthly_report(ctx, _month(ctx))
    assert report["return_visits_late"] == 1
    service.record_visit(ctx, BUTLER, late, 4)  # made late: still counted in the month
    assert service.monthly_report(ctx, _month(ctx))["return_visits_late"] == 1


def test_a_complaint_return_visit_is_due_within_a_day_after_resolution(ctx) -> None:
    number = _completed(ctx, category="complaint.noise", unit="2-803")
    due = _utc(_row(ctx, number).visit_due_at)
    assert due - ctx.clock.now() == dt.timedelta(days=1)
    ctx.clock.advance(hours=23)
    assert number not in service.sla_panel(ctx).visits_late
    ctx.clock.advance(hours=2)
    assert number in service.sla_panel(ctx).visits_late
    assert number in service.daily_check(ctx).visits_late
    assert service.monthly_report(ctx, _month(ctx))["return_visits_late"] == 1


def test_visits_made_in_time_are_not_late_in_the_month(ctx) -> None:
    for unit in ("1-101", "2-803"):
        service.record_visit(ctx, BUTLER, _completed(ctx, unit=unit), 5)
    ctx.clock.advance(days=2)
    assert service.monthly_report(ctx, _month(ctx))["return_visits_late"] == 0
    assert service.sla_panel(ctx).visits_late == []
