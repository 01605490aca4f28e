"""Repair requests and complaints through the procedure: register -> confirm -> solve ->
feedback -> close (004), with the 5341 clocks (003) and the complaint time limits (000)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from repairs_helpers import BUTLER, DOT, ENGINEER, SIGNED, resident
from sqlalchemy import func, select

from kiosk import signatures
from kiosk.db.models import AuditEvent, DeskAlert, Notification, PrintJob
from kiosk.errors import Refused
from plugins.repairs import service
from plugins.repairs.models import RepairTicket
from plugins.repairs.service import TRANSITIONS, signature_is_meaningful


def _alerts(ctx, kind: str) -> list[str]:
    with ctx.database().read() as s:
        return list(s.scalars(select(DeskAlert.message).where(DeskAlert.kind == kind)))


def _row(ctx, number: str) -> RepairTicket:
    with ctx.database().read() as s:
        return s.scalars(select(RepairTicket).where(RepairTicket.number == number)).one()


def test_a_resident_files_a_repair_in_a_few_taps_and_gets_a_slip_with_the_number(ctx) -> None:
    slot = service.appointment_slots(ctx)[0]
    t = service.file_ticket(ctx, resident(ctx, "张伟"), category="plumbing.leak",
                            appointment_at=slot, contact_phone="13812345678")  # fmt: skip
    assert t.number.startswith("R261123-") and t.status == "new" and t.unit_code == "1-101"
    assert t.phone == "138****5678" and not t.emergency and t.appointment
    row = _row(ctx, t.number)
    assert row.received_by == "kiosk:test-kiosk" and row.reporter == "张伟"
    with ctx.database().read() as s:
        job = s.scalars(select(PrintJob).where(PrintJob.kind == "repair_ticket")).one()
        assert t.number in str(job.document) and "13812345678" not in str(job.document)
        assert s.scalar(select(func.count()).where(AuditEvent.action == "repair.filed")) == 1


@pytest.mark.parametrize(
    "category", ["plumbing.burst_pipe", "electrical.smoking_appliance", "plumbing.no_water",
                 "electrical.no_power"],
)  # fmt: skip
def test_an_emergency_alerts_the_desk_and_engineering_at_once(ctx, category) -> None:
    t = service.file_ticket(ctx, resident(ctx, "刘芳"), category=category)
    assert t.emergency
    assert any(t.number in m for m in _alerts(ctx, "repair_emergency"))
    with ctx.database().read() as s:
        n = s.scalars(select(Notification).where(Notification.template == "repair_emergency")).one()
        assert n.recipient == "engineering"


def test_a_resident_may_say_it_is_urgent(ctx) -> None:
    t = service.file_ticket(ctx, resident(ctx, "刘芳"), category="doors.window", urgent=True)
    assert t.emergency and _alerts(ctx, "repair_emergency")


def test_bad_input_is_refused_and_nothing_is_filed(ctx) -> None:
    zhang = resident(ctx, "张伟")
    for kwargs in (
        {"category": "nope"},
        {"category": "plumbing.leak", "location": "garden"},
        {"category": "plumbing.leak", "contact_phone": "12"},
        {"category": "plumbing.leak", "description": "x" * 501},
        {"category": "plumbing.leak", "severity": "major"},
        {"category": "plumbing.leak", "appointment_at": ctx.clock.now() - dt.timedelta(hours=1)},
    ):
        with pytest.raises(Refused):
            service.file_ticket(ctx, zhang, **kwargs)
    with pytest.raises(Refused):  # the desk must say which unit for an in-home repair
        service.file_ticket(ctx, BUTLER, category="plumbing.leak")
    with ctx.database().read() as s:
        assert s.scalar(select(func.count()).select_from(RepairTicket)) == 0


def test_a_repair_goes_from_new_to_closed_within_5341(ctx) -> None:
    t = service.file_ticket(ctx, BUTLER, category="electrical.lighting", unit_code="3-1205",
                            contact_phone="139 0000 1111", reporter="王小明")  # fmt: skip
    assert _row(ctx, t.number).received_by == "李管家"
    ctx.clock.advance(minutes=1)
    service.confirm(ctx, BUTLER, t.number)
    service.dispatch(ctx, BUTLER, t.number, assignee="赵工程")
    ctx.clock.advance(minutes=3)
    service.start(ctx, ENGINEER, t.number)
    ctx.clock.advance(minutes=20)
    with pytest.raises(Refused) as exc:
        service.complete(ctx, ENGINEER, t.number, DOT)
    assert exc.value.code == "repairs.signature"
    with pytest.raises(Refused):
        service.complete(ctx, ENGINEER, t.number, [])
    assert service.complete(ctx, ENGINEER, t.number, SIGNED).status == "completed"
    row = _row(ctx, t.number)
    assert row.sla_met is True and row.signature
    assert service.record_visit(ctx, BUTLER, t.number, 5, "quick").status == "closed"


def test_a_late_response_breaks_the_sla_and_the_desk_sees_it(ctx) -> None:
    t = service.file_ticket(ctx, resident(ctx, "张伟"), category="plumbing.leak")
    ctx.clock.advance(minutes=6)
    panel = service.sla_panel(ctx)
    assert panel.open_count == 1 and panel.breached_respond == 1
    assert panel.timers[0].number == t.number and panel.timers[0].seconds_left < 0
    service.confirm(ctx, BUTLER, t.number)
    service.dispatch(ctx, BUTLER, t.number)
    service.start(ctx, ENGINEER, t.number)
    service.complete(ctx, ENGINEER, t.number, SIGNED)
    assert _row(ctx, t.number).sla_met is False


def test_transitions_the_lifecycle_does_not_allow_are_refused(ctx) -> None:
    t = service.file_ticket(ctx, resident(ctx, "张伟"), category="plumbing.leak")
    with pytest.raises(Refused) as exc:
        service.start(ctx, ENGINEER, t.number)
    assert exc.value.code == "repairs.transition" and "new" in str(exc.value)
    with pytest.raises(Refused):
        service.complete(ctx, ENGINEER, t.number, SIGNED)
    with pytest.raises(Refused):
        service.record_visit(ctx, BUTLER, t.number, 5)
    service.cancel(ctx, resident(ctx, "张伟"), t.number, "fixed it myself")
    with pytest.raises(Refused):
        service.confirm(ctx, BUTLER, t.number)
    with pytest.raises(Refused):  # not the household's ticket
        other = service.file_ticket(ctx, resident(ctx, "刘芳"), category="plumbing.leak")
        service.cancel(ctx, resident(ctx, "张伟"), other.number, "")
    with pytest.raises(Refused):  # only the desk confirms
        service.confirm(ctx, ENGINEER, other.number)


def test_the_lifecycle_table_reaches_closed_from_new() -> None:
    seen, todo = set(), ["new"]
    while todo:
        s = todo.pop()
        if s not in seen:
            seen.add(s)
            todo.extend(TRANSITIONS[s])
    assert {"closed", "canceled", "deferred", "reopened"} <= seen
    assert TRANSITIONS["canceled"] == ()


def test_a_paid_repair_shows_the_price_and_needs_consent_before_dispatch(ctx) -> None:
    from plugins.billing.models import BillLine

    assert ("doors.lock", "Door lock", 12000) in service.price_list(ctx)
    wang = resident(ctx, "王小明")
    t = service.file_ticket(ctx, wang, category="doors.lock")
    assert t.paid and t.price_fen == 12000
    service.confirm(ctx, BUTLER, t.number)
    with pytest.raises(Refused) as exc:
        service.dispatch(ctx, BUTLER, t.number)
    assert exc.value.code == "repairs.no_consent" and "120.00" in str(exc.value)
    service.consent(ctx, wang, t.number, accepted=True)
    service.dispatch(ctx, BUTLER, t.number)
    service.start(ctx, ENGINEER, t.number)
    service.complete(ctx, ENGINEER, t.number, SIGNED)
    with ctx.database().read() as s:
        line = s.scalars(select(BillLine).where(BillLine.source_ref == f"repair:{t.number}")).one()
        assert (line.kind, line.amount_fen) == ("repair", 12000)


def test_declining_the_price_cancels_the_ticket(ctx) -> None:
    wang = resident(ctx, "王小明")
    t = service.file_ticket(ctx, wang, category="electrical.socket")
    assert service.consent(ctx, wang, t.number, accepted=False).status == "canceled"


def test_a_low_rating_reopens_a_repair_and_counts_it(ctx) -> None:
    t = service.file_ticket(ctx, resident(ctx, "张伟"), category="plumbing.leak")
    for step in (service.confirm, service.dispatch):
        step(ctx, BUTLER, t.number)
    service.start(ctx, ENGINEER, t.number)
    service.complete(ctx, ENGINEER, t.number, SIGNED)
    with pytest.raises(Refused):
        service.record_visit(ctx, BUTLER, t.number, 6)
    after = service.record_visit(ctx, BUTLER, t.number, 2, "still dripping")
    assert after.status == "reopened" and after.reopen_count == 1
    assert _alerts(ctx, "repair_reopened")
    service.dispatch(ctx, BUTLER, t.number)
    service.start(ctx, ENGINEER, t.number)
    service.complete(ctx, ENGINEER, t.number, SIGNED)
    assert service.record_visit(ctx, BUTLER, t.number, 4).status == "closed"
    assert service.reopen(ctx, BUTLER, t.number, "leaks again").reopen_count == 2


def test_a_complaint_is_graded_answered_and_a_low_rating_escalates_it(ctx) -> None:
    t = service.file_ticket(ctx, resident(ctx, "刘芳"), category="complaint.noise",
                            location="common_area", floor=8)  # fmt: skip
    assert t.kind == "complaint" and t.number.startswith("C")
    service.confirm(ctx, BUTLER, t.number, severity="major")
    row = _row(ctx, t.number)
    created = row.created_at.replace(tzinfo=dt.UTC)
    assert row.resolve_due_at.replace(tzinfo=dt.UTC) - created == dt.timedelta(days=15)
    assert row.respond_due_at.replace(tzinfo=dt.UTC) - created == dt.timedelta(days=2)
    assert _alerts(ctx, "complaint_major")
    service.dispatch(ctx, BUTLER, t.number, assignee="security")
    service.start(ctx, BUTLER, t.number)
    service.complete(ctx, BUTLER, t.number, SIGNED)
    assert _row(ctx, t.number).visit_due_at.replace(tzinfo=dt.UTC) - ctx.clock.now() == (
        dt.timedelta(days=1)
    )
    after = service.record_visit(ctx, BUTLER, t.number, 1, "nothing changed")
    assert after.status == "reopened" and _alerts(ctx, "complaint_escalated")


def test_complaint_clocks_follow_the_grade() -> None:
    from plugins.repairs.rules import DEFAULT_CATEGORIES, RepairRules

    rules = RepairRules({c.code: c for c in DEFAULT_CATEGORIES},
                        {"complaint.minor": {"respond": 720, "resolve": 720},
                         "complaint.important": {"respond": 1440, "resolve": 1440}})  # fmt: skip
    assert rules.clocks("complaint", "minor")["resolve"] == 720
    assert rules.clocks("complaint", "important")["resolve"] == 1440


def test_external_work_is_committed_within_a_day(ctx) -> None:
    def lift_ticket() -> str:
        t = service.file_ticket(ctx, BUTLER, category="common.elevator", location="common_area",
                                external=True)  # fmt: skip
        service.confirm(ctx, BUTLER, t.number)
        service.dispatch(ctx, BUTLER, t.number)
        service.start(ctx, ENGINEER, t.number)
        return t.number

    on_time = lift_ticket()
    ctx.clock.advance(hours=5)  # past the 4 h of ordinary work, within the 1-day commitment
    service.defer(ctx, ENGINEER, on_time, ctx.clock.now() + dt.timedelta(days=3), "lift firm")
    assert _row(ctx, on_time).sla_met is True
    late = lift_ticket()
    ctx.clock.advance(hours=25)
    service.defer(ctx, ENGINEER, late, ctx.clock.now() + dt.timedelta(days=3), "lift firm")
    assert _row(ctx, late).sla_met is False
    with pytest.raises(Refused):
        service.defer(ctx, ENGINEER, late, ctx.clock.now(), "")


def test_an_unclaimed_ticket_is_renotified_and_the_1700_check_lists_open_slips(ctx) -> None:
    t = service.file_ticket(ctx, resident(ctx, "张伟"), category="plumbing.leak")
    service.confirm(ctx, BUTLER, t.number)
    service.dispatch(ctx, BUTLER, t.number)
    assert service.renotify_unclaimed(ctx) == []
    ctx.clock.advance(minutes=11)
    assert service.renotify_unclaimed(ctx) == [t.number]
    assert service.renotify_unclaimed(ctx) == []
    assert _row(ctx, t.number).renotify_count == 1
    check = service.daily_check(ctx)
    assert check.not_returned == [t.number] and check.not_visited == []
    assert _alerts(ctx, "repair_daily_check")


@given(st.lists(st.lists(st.tuples(st.integers(0, 80), st.integers(0, 24)), max_size=5),
                max_size=4))  # fmt: skip
def test_a_signature_needs_three_points_spread_over_three_cells(strokes) -> None:
    """The sign-off takes the core's rule, as every other signature does."""
    points = [p for s in strokes for p in s]
    ok = signature_is_meaningful(strokes)
    assert ok is signatures.is_meaningful(strokes)
    if len(points) < 3 or len(set(points)) == 1:
        assert not ok
    if ok:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        assert max(max(xs) - min(xs), max(ys) - min(ys)) >= signatures.MIN_EXTENT


@pytest.mark.parametrize("garbage", [None, "x", [["ab"]], [[(1,)]], [[{"x": 1}]]])
def test_a_signature_that_is_not_strokes_is_no_signature(garbage) -> None:
    assert signature_is_meaningful(garbage) is False


def test_the_desk_panel_follows_the_running_clock_through_the_lifecycle(ctx) -> None:
    t = service.file_ticket(ctx, resident(ctx, "张伟"), category="plumbing.leak")

    def clock() -> str | None:
        mine = [x for x in service.sla_panel(ctx).timers if x.number == t.number]
        return mine[0].clock if mine else None

    assert clock() == "respond"
    service.confirm(ctx, BUTLER, t.number)
    service.dispatch(ctx, BUTLER, t.number)
    service.start(ctx, ENGINEER, t.number)
    assert clock() == "solve"  # the 30-minute target of 5341
    ctx.clock.advance(minutes=31)
    assert clock() == "resolve"  # then the 4-hour final result
    service.complete(ctx, ENGINEER, t.number, SIGNED)
    assert clock() is None and service.sla_panel(ctx).visits_due == 1
    service.record_visit(ctx, BUTLER, t.number, 1, "worse")
    assert clock() == "resolve"
    ctx.clock.advance(hours=5)
    assert service.sla_panel(ctx).breached_resolve == 1


def _paid_repair_on_site(ctx, category: str = "doors.lock") -> str:
    wang = resident(ctx, "王小明")
    t = service.file_ticket(ctx, wang, category=category)
    service.confirm(ctx, BUTLER, t.number)
    service.consent(ctx, wang, t.number, accepted=True)
    service.dispatch(ctx, BUTLER, t.number)
    service.start(ctx, ENGINEER, t.number)
    return t.number


def test_an_engineer_cannot_charge_more_than_the_resident_agreed_to(ctx) -> None:
    from plugins.billing.models import BillLine

    number = _paid_repair_on_site(ctx)  # the resident agreed to 120.00
    with pytest.raises(Refused) as exc:
        service.complete(ctx, ENGINEER, number, SIGNED, charge_fen=99_900)
    assert exc.value.code == "repairs.over_consent"
    assert "120.00" in str(exc.value) and "999.00" in str(exc.value)
    with ctx.database().read() as s:
        t = s.scalars(select(RepairTicket).where(RepairTicket.number == number)).one()
        assert (t.status, t.charge_fen) == ("in_progress", 0)
        assert not s.scalars(
            select(BillLine).where(BillLine.source_ref == f"repair:{number}")
        ).all()
    # A lower charge than agreed is fine.
    done = service.complete(ctx, ENGINEER, number, SIGNED, charge_fen=8_000)
    assert done.status == "completed"
    with ctx.database().read() as s:
        line = s.scalars(select(BillLine).where(BillLine.source_ref == f"repair:{number}")).one()
        assert line.amount_fen == 8_000


def test_a_new_quote_on_site_needs_a_new_consent_before_completion(ctx) -> None:
    number = _paid_repair_on_site(ctx)
    service.quote(ctx, ENGINEER, number, 30_000)  # more parts than expected
    with pytest.raises(Refused) as exc:
        service.complete(ctx, ENGINEER, number, SIGNED, charge_fen=30_000)
    assert exc.value.code == "repairs.no_consent"
    service.consent(ctx, resident(ctx, "王小明"), number, accepted=True)
    done = service.complete(ctx, ENGINEER, number, SIGNED, charge_fen=30_000)
    assert done.status == "completed"
    with ctx.database().read() as s:
        t = s.scalars(select(RepairTicket).where(RepairTicket.number == number)).one()
        assert t.charge_fen == 30_000
