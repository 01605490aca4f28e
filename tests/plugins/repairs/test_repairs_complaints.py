"""Complaints (000 投诉) as the procedure reads: forwarded within 10 minutes, judged valid or
invalid with the explanation, graded (important and major reported upward at once), major
automatically (five customers about one event, a sudden wide outage, unresolved after a week),
the complainant told the same day, and the return visit within a day after handling."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from repairs_helpers import BUTLER, ENGINEER, SIGNED, resident
from sqlalchemy import select

from kiosk.db.models import AuditEvent, DeskAlert, Notification
from kiosk.errors import Refused
from kiosk.identity import Actor
from plugins.repairs import service
from plugins.repairs.models import RepairTicket

MANAGER = Actor("staff", 5, "周经理", frozenset({"manager", "butler", "cashier"}))
GUARD = Actor("staff", 4, "孙保安", frozenset({"security"}))


def _alerts(ctx, kind: str) -> list[str]:
    with ctx.database().read() as s:
        return list(s.scalars(select(DeskAlert.message).where(DeskAlert.kind == kind)))


def _notices(ctx, template: str) -> list[Notification]:
    with ctx.database().read() as s:
        return list(s.scalars(select(Notification).where(Notification.template == template)))


def _row(ctx, number: str) -> RepairTicket:
    with ctx.database().read() as s:
        return s.scalars(select(RepairTicket).where(RepairTicket.number == number)).one()


def _complaint(ctx, unit: str, category: str = "complaint.noise", phone: str = "", **kw):
    return service.file_ticket(ctx, BUTLER, category=category, unit_code=unit,
                               contact_phone=phone, **kw)  # fmt: skip


def test_a_complaint_at_the_kiosk_alerts_the_desk_at_once_one_taken_there_does_not(ctx) -> None:
    """Nobody at the kiosk can settle a complaint: the desk is alerted as it is filed, inside
    the 10-minute forward rule. The butler who took one at the desk heard it already."""
    from kiosk.i18n import language, set_language
    from kiosk.ui.desk_app import alert_message

    at_kiosk = service.file_ticket(ctx, resident(ctx, "王小明"), category="complaint.noise",
                                   description="楼上装修太吵")  # fmt: skip
    _complaint(ctx, "2-803")
    with ctx.database().read() as s:
        (alert,) = s.scalars(select(DeskAlert).where(DeskAlert.kind == "complaint_new"))
    assert at_kiosk.number in alert.message and "3-1205" in alert.message
    before = language()
    try:
        set_language("zh_CN")
        shown = alert_message(alert.kind, alert.message, alert.msgid, alert.params)
    finally:
        set_language(before)
    assert shown.startswith(f"新投诉 {at_kiosk.number}（3-1205）"), shown


# -- grading: important and major are reported upward at once --------------------------------


@pytest.mark.parametrize("severity", ["important", "major"])
def test_important_and_major_complaints_alert_the_superior_when_graded(ctx, severity) -> None:
    t = _complaint(ctx, "2-803")
    assert _notices(ctx, "complaint_reported_up") == []
    graded = service.grade(ctx, BUTLER, t.number, severity)
    assert graded.severity == severity
    assert any(t.number in m and "manager" in m for m in _alerts(ctx, f"complaint_{severity}"))
    (notice,) = _notices(ctx, "complaint_reported_up")
    assert notice.recipient == "manager" and t.number in notice.payload["numbers"]
    assert _row(ctx, t.number).reported_up_at is not None


def test_a_complaint_filed_as_major_by_the_desk_is_reported_upward_at_once(ctx) -> None:
    t = service.file_ticket(ctx, BUTLER, category="complaint.service", location="common_area",
                            severity="major")  # fmt: skip
    assert _row(ctx, t.number).reported_up_at is not None
    assert any(t.number in m for m in _alerts(ctx, "complaint_major"))


def test_a_minor_complaint_is_not_reported_upward(ctx) -> None:
    t = _complaint(ctx, "2-803")
    service.confirm(ctx, BUTLER, t.number, severity="minor")
    assert _notices(ctx, "complaint_reported_up") == []
    assert _alerts(ctx, "complaint_important") == [] and _alerts(ctx, "complaint_major") == []


def test_grading_at_confirmation_reports_upward_too_and_the_clocks_follow(ctx) -> None:
    t = _complaint(ctx, "2-803")
    service.confirm(ctx, BUTLER, t.number, severity="important")
    row = _row(ctx, t.number)
    created = row.created_at.replace(tzinfo=dt.UTC)
    assert row.resolve_due_at.replace(tzinfo=dt.UTC) - created == dt.timedelta(days=1)
    assert _alerts(ctx, "complaint_important")


def test_only_a_supervisor_grades_and_only_a_complaint_is_graded(ctx) -> None:
    t = _complaint(ctx, "2-803")
    with pytest.raises(Refused) as exc:  # a resident cannot file a "major" to page the manager
        service.file_ticket(ctx, resident(ctx, "刘芳"), category="complaint.noise",
                            severity="major")  # fmt: skip
    assert exc.value.code == "repairs.grade_staff"
    assert _notices(ctx, "complaint_reported_up") == []
    with pytest.raises(Refused):
        service.grade(ctx, ENGINEER, t.number, "major")
    with pytest.raises(Refused):
        service.grade(ctx, BUTLER, t.number, "catastrophic")
    r = service.file_ticket(ctx, BUTLER, category="plumbing.leak", unit_code="2-803")
    with pytest.raises(Refused):
        service.grade(ctx, BUTLER, r.number, "major")
    assert _row(ctx, t.number).severity == ""


# -- major automatically ------------------------------------------------------------------------


def test_five_customers_about_one_event_make_all_their_complaints_major(ctx) -> None:
    units = ["3-101", "3-202", "3-303", "3-404"]
    first = [_complaint(ctx, u, phone=f"1391234000{i}") for i, u in enumerate(units)]
    other = _complaint(ctx, "1-101", phone="13912340009")  # another building: another event
    assert all(_row(ctx, t.number).severity == "" for t in first)
    assert _alerts(ctx, "complaint_major") == []
    ctx.clock.advance(hours=3)
    fifth = _complaint(ctx, "3-505", phone="13912340005")
    numbers = [t.number for t in first] + [fifth.number]
    rows = [_row(ctx, n) for n in numbers]
    assert all(r.severity == "major" and r.major_reason == "event" for r in rows)
    assert _row(ctx, other.number).severity == ""
    (alert,) = _alerts(ctx, "complaint_major")
    assert all(n in alert for n in numbers) and "manager" in alert
    (notice,) = _notices(ctx, "complaint_reported_up")
    assert sorted(notice.payload["numbers"]) == sorted(numbers)
    assert notice.payload["reason"] == "event"


def test_one_customer_complaining_five_times_is_not_five_customers(ctx) -> None:
    for _ in range(5):
        _complaint(ctx, "3-101", phone="13912340001")
    with ctx.database().read() as s:
        assert set(s.scalars(select(RepairTicket.severity))) == {""}


def test_complaints_outside_the_event_window_are_another_event(ctx) -> None:
    for i, u in enumerate(["3-101", "3-202", "3-303", "3-404"]):
        _complaint(ctx, u, phone=f"1391234000{i}")
    ctx.clock.advance(hours=25)  # default window: 24 hours
    t = _complaint(ctx, "3-505", phone="13912340005")
    assert _row(ctx, t.number).severity == ""
    assert _alerts(ctx, "complaint_major") == []


def test_the_event_window_and_threshold_are_configurable(ctx) -> None:
    ctx.settings.plugin_settings.setdefault("repairs", {})["complaints"] = {
        "event_threshold": 3, "event_window_minutes": 60}  # fmt: skip
    for i, u in enumerate(["3-101", "3-202"]):
        _complaint(ctx, u, phone=f"1391234000{i}")
    ctx.clock.advance(minutes=61)
    late = _complaint(ctx, "3-303", phone="13912340003")
    assert _row(ctx, late.number).severity == ""
    now = _complaint(ctx, "3-404", phone="13912340004")
    assert _row(ctx, now.number).severity == ""  # two within the hour
    _complaint(ctx, "3-505", phone="13912340005")
    assert _row(ctx, now.number).severity == "major"


def test_common_area_complaints_group_by_building_or_floor(ctx) -> None:
    for i in range(5):
        service.file_ticket(ctx, BUTLER, category="complaint.environment",
                            location="common_area", floor=7, contact_phone=f"1371234000{i}")  # fmt: skip
    with ctx.database().read() as s:
        assert set(s.scalars(select(RepairTicket.severity))) == {"major"}
    with pytest.raises(Refused):
        service.file_ticket(ctx, BUTLER, category="complaint.environment",
                            location="common_area", building="Z9")  # fmt: skip


def test_a_sudden_wide_outage_makes_the_related_complaints_major(ctx) -> None:
    before = _complaint(ctx, "3-101", category="complaint.service", phone="13912340001")
    elsewhere = _complaint(ctx, "1-101", category="complaint.service", phone="13912340002")
    service.file_ticket(ctx, BUTLER, category="plumbing.no_water", unit_code="3-202")
    ctx.clock.advance(minutes=20)
    service.file_ticket(
        ctx, BUTLER, category="plumbing.leak", unit_code="3-303", description="家里突然没水了"
    )  # fmt: skip  (the words say it)
    assert _row(ctx, before.number).severity == ""  # two are not yet a wide outage
    ctx.clock.advance(minutes=20)
    service.file_ticket(ctx, BUTLER, category="electrical.no_power", unit_code="3-404")
    assert _row(ctx, before.number).severity == "major"
    assert _row(ctx, before.number).major_reason == "outage"
    assert _row(ctx, elsewhere.number).severity == ""
    assert any(before.number in m for m in _alerts(ctx, "complaint_major"))
    during = _complaint(ctx, "3-505", category="complaint.fees", phone="13912340003")
    assert _row(ctx, during.number).severity == "major"


def test_outage_repairs_spread_over_more_than_an_hour_are_no_wide_outage(ctx) -> None:
    c = _complaint(ctx, "3-101", category="complaint.service")
    for unit in ("3-202", "3-303", "3-404"):
        service.file_ticket(ctx, BUTLER, category="plumbing.no_water", unit_code=unit)
        ctx.clock.advance(minutes=40)
    assert _row(ctx, c.number).severity == ""


def test_a_valid_complaint_unresolved_after_a_week_becomes_major(ctx) -> None:
    valid = _complaint(ctx, "2-803", category="complaint.service")
    service.judge(ctx, MANAGER, valid.number, True, "the guard was rude")
    done = _complaint(ctx, "1-101", category="complaint.service")
    service.confirm(ctx, BUTLER, done.number)
    service.dispatch(ctx, BUTLER, done.number, "service")
    service.start(ctx, BUTLER, done.number)
    service.complete(ctx, BUTLER, done.number, SIGNED)
    ctx.clock.advance(days=6, hours=23)
    assert service.escalation_sweep(ctx) == []
    ctx.clock.advance(hours=1)
    check = service.daily_check(ctx)
    assert check.made_major == [valid.number]
    row = _row(ctx, valid.number)
    assert row.severity == "major" and row.major_reason == "unresolved"
    assert any(valid.number in m for m in _alerts(ctx, "complaint_major"))
    assert service.escalation_sweep(ctx) == []  # once


def test_an_invalid_complaint_never_becomes_major_by_age(ctx) -> None:
    t = _complaint(ctx, "2-803")
    service.judge(ctx, MANAGER, t.number, False, "the noise is a licensed daytime renovation")
    ctx.clock.advance(days=8)
    assert service.sweep(ctx)["made_major"] == []


# -- forwarded within 10 minutes ------------------------------------------------------------------


def test_a_complaint_not_settled_on_the_spot_is_forwarded_within_10_minutes(ctx) -> None:
    on_time = service.file_ticket(ctx, GUARD, category="complaint.security", unit_code="2-803")
    late = service.file_ticket(ctx, GUARD, category="complaint.security", unit_code="1-101")
    row = _row(ctx, on_time.number)
    assert row.forward_due_at.replace(tzinfo=dt.UTC) - ctx.clock.now() == dt.timedelta(minutes=10)
    ctx.clock.advance(minutes=9)
    service.forward(ctx, GUARD, on_time.number, to="客服中心")
    assert _row(ctx, on_time.number).forwarded_to == "客服中心"
    assert service.sla_panel(ctx).forwards_late == []
    ctx.clock.advance(minutes=2)
    assert service.sla_panel(ctx).forwards_late == [late.number]
    assert service.daily_check(ctx).forwards_late == [late.number]
    service.forward(ctx, GUARD, late.number, to="客服中心")  # late: recorded as such
    assert service.sla_panel(ctx).forwards_late == [late.number]
    with ctx.database().read() as s:
        events = {e.subject: json.loads(e.data) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action == "complaint.forwarded"))}  # fmt: skip
    assert events[f"repair:{late.number}"]["late"] is True
    assert events[f"repair:{on_time.number}"]["late"] is False
    notice = [n for n in _notices(ctx, "complaint_forwarded") if n.payload["number"] == late.number]
    assert notice and notice[0].recipient == "客服中心"


def test_a_complaint_filed_at_the_kiosk_reaches_the_desk_at_once(ctx) -> None:
    t = service.file_ticket(ctx, resident(ctx, "刘芳"), category="complaint.noise")
    assert _row(ctx, t.number).forwarded_to == "desk"
    ctx.clock.advance(minutes=30)
    assert service.sla_panel(ctx).forwards_late == []


def test_forwarding_needs_a_recipient_and_an_open_complaint(ctx) -> None:
    t = _complaint(ctx, "2-803")
    with pytest.raises(Refused):
        service.forward(ctx, GUARD, t.number, to="  ")
    r = service.file_ticket(ctx, BUTLER, category="plumbing.leak", unit_code="2-803")
    with pytest.raises(Refused):
        service.forward(ctx, GUARD, r.number, to="engineering")


# -- judged valid or invalid, with the explanation ---------------------------------------------------


def test_the_supervisor_judges_valid_or_invalid_and_an_invalid_one_is_explained(ctx) -> None:
    t = _complaint(ctx, "2-803", phone="13812345678")
    with pytest.raises(Refused) as exc:
        service.judge(ctx, MANAGER, t.number, False, "   ")
    assert exc.value.code == "repairs.explanation"
    with pytest.raises(Refused):
        service.judge(ctx, ENGINEER, t.number, False, "not our business")
    view = service.judge(ctx, MANAGER, t.number, False, "施工在许可时间内，已张贴通知")
    assert view.status == "closed" and view.valid is False
    row = _row(ctx, t.number)
    assert row.explanation == "施工在许可时间内，已张贴通知" and row.judged_by == "周经理"
    assert row.replied_at is not None and row.clock is None
    (told,) = _notices(ctx, "complaint_invalid")
    assert told.payload["text"] == row.explanation and told.channel == "sms"
    with ctx.database().read() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "complaint.judged")).one()
    assert json.loads(ev.data)["valid"] is False and json.loads(ev.data)["explanation"]
    with pytest.raises(Refused):  # judged once: closed
        service.judge(ctx, MANAGER, t.number, True, "")


def test_a_valid_complaint_stays_open_for_handling(ctx) -> None:
    t = _complaint(ctx, "2-803")
    view = service.judge(ctx, BUTLER, t.number, True, "")
    assert view.status == "new" and view.valid is True
    with pytest.raises(Refused):
        service.judge(ctx, BUTLER, service.file_ticket(
            ctx, BUTLER, category="plumbing.leak", unit_code="2-803").number, True, "")  # fmt: skip


# -- the complainant is told the same day ---------------------------------------------------------


def _handled(ctx, unit: str) -> str:
    t = _complaint(ctx, unit, phone="13812345678")
    service.confirm(ctx, BUTLER, t.number, severity="minor")
    service.dispatch(ctx, BUTLER, t.number, "security")
    service.start(ctx, BUTLER, t.number)
    service.complete(ctx, BUTLER, t.number, SIGNED)
    return t.number


def test_the_reply_time_is_recorded_and_the_complainant_told_the_same_day(ctx) -> None:
    number = _handled(ctx, "2-803")
    ctx.clock.advance(hours=1)
    view = service.reply(ctx, BUTLER, number, "已与邻居沟通，夜间不再施工")
    row = _row(ctx, number)
    assert row.replied_at.replace(tzinfo=dt.UTC) == ctx.clock.now() and view.status == "completed"
    (told,) = _notices(ctx, "complaint_reply")
    assert told.channel == "sms" and told.payload["number"] == number
    assert told.payload["text"] == "已与邻居沟通，夜间不再施工"
    # To the complainant's own phone, with the text the outbox sends.
    assert told.recipient == "13812345678" and "已与邻居沟通" in told.payload["message"]
    ctx.clock.advance(days=1)
    assert number not in service.sla_panel(ctx).replies_late


def test_a_complaint_with_no_reply_by_the_end_of_the_day_shows_as_late(ctx) -> None:
    number = _handled(ctx, "2-803")
    row = _row(ctx, number)
    zone = ctx.settings.estate.timezone
    from zoneinfo import ZoneInfo

    due = row.reply_due_at.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(zone))
    handled = ctx.clock.now().astimezone(ZoneInfo(zone))
    assert due.date() == handled.date() and (due.hour, due.minute) == (23, 59)
    assert service.sla_panel(ctx).replies_late == []
    ctx.clock.advance(seconds=(due.astimezone(dt.UTC) - ctx.clock.now()).total_seconds() + 60)
    assert service.sla_panel(ctx).replies_late == [number]
    assert service.daily_check(ctx).replies_late == [number]
    service.reply(ctx, BUTLER, number, "已处理")  # late reply: still shown for the day
    assert service.sla_panel(ctx).replies_late == [number]
    with ctx.database().read() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "complaint.replied")).one()
    assert json.loads(ev.data)["late"] is True


def test_a_reply_needs_words_and_a_supervisor(ctx) -> None:
    number = _handled(ctx, "2-803")
    with pytest.raises(Refused):
        service.reply(ctx, BUTLER, number, "  ")
    with pytest.raises(Refused):
        service.reply(ctx, ENGINEER, number, "done")
    assert _row(ctx, number).replied_at is None
