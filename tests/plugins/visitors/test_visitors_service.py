"""访客: verify with the host before entry, give a signed pass, record 来访人员登记表."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from visitors_helpers import BUTLER, CASHIER, SECURITY, host

from devices.printer import render_text
from kiosk.db.models import AuditEvent, Notification, PrintJob
from kiosk.errors import PermissionDenied, Refused
from kiosk.pii import find_unmasked
from kiosk.printing import receipt_of
from plugins.visitors import passes, service
from plugins.visitors.models import Visit


def walk_up(ctx, name="赵六一", phone="13912345678", unit="3-1205", **kw):
    return service.register_walkup(
        ctx, name=name, phone=phone, unit_code=unit, purpose="探亲 family", **kw
    )


def test_walk_up_asks_the_host_and_only_an_approved_visit_prints_a_pass(ctx) -> None:
    v = walk_up(ctx, party_size=2)
    assert v.status == "pending" and v.qr == "" and v.print_job_id is None
    with ctx.database().read() as s:
        asks = s.scalars(
            select(Notification).where(Notification.template == "visitor.ask_host")
        ).all()
        assert len(asks) == 1 and asks[0].payload["visitor"] == "赵*一"
        assert "13912345678" not in str(asks[0].payload)
    approved = service.decide(ctx, host(ctx, "王小明"), v.id, approve=True)
    assert approved.status == "approved" and approved.qr.startswith("KP1.")
    with ctx.database().read() as s:
        job = s.get(PrintJob, approved.print_job_id)
        slip = render_text(receipt_of(job), qr="payload")
    assert job.kind == "visitor-pass" and "赵*一" in slip and "3-1205" in slip
    qrs = [b.payload for b in receipt_of(job).blocks if b.type == "qr"]
    assert qrs == [approved.qr] and not find_unmasked(slip)
    assert service.check_pass(ctx, approved.qr).id == v.id


def test_a_declined_or_unanswered_visit_gets_no_pass(ctx) -> None:
    declined = service.decide(ctx, host(ctx, "王小明"), walk_up(ctx).id, approve=False)
    assert declined.status == "declined" and declined.qr == ""
    waiting = walk_up(ctx, name="钱七")
    ctx.clock.advance(minutes=5)
    assert service.visit_status(ctx, waiting.id).status == "timed_out"
    with pytest.raises(Refused) as err:
        service.decide(ctx, host(ctx, "王小明"), waiting.id, approve=True)
    assert err.value.code == "visitors.visit_timed_out"
    with pytest.raises(Refused) as err:
        service.decide(ctx, host(ctx, "王小明"), declined.id, approve=True)
    assert err.value.code == "visitors.visit_decided"


def test_only_the_host_or_the_desk_may_answer(ctx) -> None:
    v = walk_up(ctx)
    with pytest.raises(PermissionDenied):
        service.decide(ctx, host(ctx, "张伟"), v.id, approve=True)  # another unit
    with pytest.raises(PermissionDenied):
        service.decide(ctx, CASHIER, v.id, approve=True)
    assert service.decide(ctx, SECURITY, v.id, approve=True).status == "approved"


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"name": " "}, "visitors.name"),
        ({"phone": "12345"}, "visitors.phone"),
        ({"party_size": 0}, "visitors.party_size"),
        ({"party_size": 11}, "visitors.party_size"),
        ({"unit": "9-999"}, "unit.unknown"),
    ],
)
def test_bad_walk_up_input_is_refused_and_records_nothing(ctx, kw, code) -> None:
    with pytest.raises(Refused) as err:
        walk_up(ctx, **kw)
    assert err.value.code == code
    with ctx.database().read() as s:
        assert s.scalar(select(Visit)) is None


def test_an_invite_gives_the_pass_at_once_and_works_once(ctx) -> None:
    now = ctx.clock.now()
    inv = service.create_invite(
        ctx,
        host(ctx, "王小明"),
        unit_code="3-1205",
        visitor_name="孙悟空",
        visitor_phone="13700001111",
        valid_from=now,
        valid_until=now + dt.timedelta(hours=3),
    )
    v = service.redeem_invite(ctx, inv.qr)
    assert v.status == "approved" and v.qr and v.valid_until == now + dt.timedelta(hours=3)
    with pytest.raises(Refused) as err:
        service.redeem_invite(ctx, inv.code)
    assert err.value.code == "visitors.invite_used"
    with ctx.database().read() as s:
        sms = s.scalar(select(Notification).where(Notification.template == "visitor.invited"))
        assert sms.recipient == "13700001111" and sms.payload["code"] == inv.code


def test_invite_codes_outside_their_window_revoked_or_forged_are_refused(ctx) -> None:
    now = ctx.clock.now()
    later = service.create_invite(
        ctx,
        BUTLER,
        unit_code="1-101",
        visitor_name="Bob Lee",
        valid_from=now + dt.timedelta(hours=1),
        valid_until=now + dt.timedelta(hours=2),
    )
    with pytest.raises(Refused) as err:
        service.redeem_invite(ctx, later.code)
    assert err.value.code == "visitors.invite_early"
    ctx.clock.advance(hours=2)
    with pytest.raises(Refused) as err:
        service.redeem_invite(ctx, later.code)
    assert err.value.code == "visitors.invite_expired"
    now = ctx.clock.now()
    revoked = service.create_invite(
        ctx,
        host(ctx, "张伟"),
        unit_code="1-101",
        visitor_name="Bob Lee",
        valid_from=now,
        valid_until=now + dt.timedelta(hours=2),
    )
    service.revoke_invite(ctx, host(ctx, "张伟"), revoked.id)
    with pytest.raises(Refused) as err:
        service.redeem_invite(ctx, revoked.code)
    assert err.value.code == "visitors.invite_revoked"
    forged = revoked.qr[:-4] + ("0000" if not revoked.qr.endswith("0000") else "1111")
    with pytest.raises(Refused) as err:
        service.redeem_invite(ctx, forged)
    assert err.value.code == "visitors.invite_forged"
    with pytest.raises(Refused) as err:
        service.redeem_invite(ctx, "999999" if revoked.code != "999999" else "888888")
    assert err.value.code in ("visitors.invite_unknown", "visitors.invite_expired")
    with pytest.raises(PermissionDenied):
        service.create_invite(
            ctx,
            host(ctx, "张伟"),
            unit_code="3-1205",
            visitor_name="X",
            valid_from=now,
            valid_until=now + dt.timedelta(hours=1),
        )


def test_sign_out_by_pass_once_and_automatically_at_the_end_of_the_window(ctx) -> None:
    a = service.decide(ctx, BUTLER, walk_up(ctx).id, approve=True)
    b = service.decide(ctx, BUTLER, walk_up(ctx, name="钱七", phone="13600000000").id, True)
    assert {row["id"] for row in service.inside_now(ctx)} == {a.id, b.id}
    service.sign_out(ctx, a.qr)
    with pytest.raises(Refused) as err:
        service.sign_out(ctx, a.qr)
    assert err.value.code == "visitors.pass_used"
    with pytest.raises(Refused) as err:
        service.check_pass(ctx, a.qr)
    assert err.value.code == "visitors.pass_used"
    assert [row["id"] for row in service.inside_now(ctx)] == [b.id]
    ctx.clock.advance(hours=4)
    with pytest.raises(Refused) as err:
        service.check_pass(ctx, b.qr)
    assert err.value.code == "visitors.pass_expired"
    assert service.close_ended_visits(ctx) == 1 and service.close_ended_visits(ctx) == 0
    with ctx.database().read() as s:
        assert s.get(Visit, b.id).sign_out_by == "auto"
    assert service.inside_now(ctx) == []


def test_a_revoked_or_forged_pass_is_refused(ctx) -> None:
    v = service.decide(ctx, BUTLER, walk_up(ctx).id, approve=True)
    with pytest.raises(Refused) as err:
        service.check_pass(ctx, v.qr.replace("KP1.", "KP1.0"))
    assert err.value.code == "visitors.pass_invalid"
    service.revoke_pass(ctx, BUTLER, v.id, "left with the wrong people")
    with pytest.raises(Refused) as err:
        service.check_pass(ctx, v.qr)
    assert err.value.code == "visitors.pass_revoked"


def test_a_blocked_visitor_waits_silently_for_the_desk(ctx) -> None:
    service.block(ctx, BUTLER, phone="139 1234 5678", reason="harassment")
    v = walk_up(ctx)
    assert v.status == "pending"  # the visitor's screen looks like any other wait
    with ctx.database().read() as s:
        assert (
            s.scalar(select(Notification).where(Notification.template == "visitor.ask_host"))
            is None
        )
        held = s.scalar(select(Notification).where(Notification.template == "visitor.held"))
        assert held.channel == "desk" and "13912345678" not in str(held.payload)
    ctx.clock.advance(minutes=30)  # no host timeout for a held visit
    assert service.visit_status(ctx, v.id).status == "pending"
    with pytest.raises(PermissionDenied):
        service.decide(ctx, host(ctx, "王小明"), v.id, approve=True)
    assert [p["blocked"] for p in service.pending_visits(ctx)] == [True]
    assert service.decide(ctx, BUTLER, v.id, approve=False).status == "declined"


def test_the_desk_marks_id_checked_and_exports_the_days_log_masked(ctx) -> None:
    v = service.decide(ctx, BUTLER, walk_up(ctx, id_number="310101199001011234").id, True)
    service.mark_id_checked(ctx, SECURITY, v.id)
    with pytest.raises(Refused):
        service.mark_id_checked(ctx, SECURITY, v.id)
    walk_up(ctx, name="Alice Wong", phone="13800000000")
    text = service.daily_log_csv(ctx)
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [r["访客姓名"] for r in rows] == ["赵*一", "A**** W***"]
    assert rows[0]["证件核验"] == "是" and rows[0]["审批"] == "同意" and rows[1]["审批"] == "待定"
    assert rows[0]["联系电话"] == "139****5678"
    assert not find_unmasked(text)
    assert service.daily_log(ctx, dt.date(2020, 1, 1)) == []


def test_visitor_pii_is_anonymised_after_the_retention_period(ctx) -> None:
    old = walk_up(ctx, id_number="310101199001011234")
    ctx.clock.advance(minutes=10)
    assert service.expire_pending(ctx) == 1  # the host never answered: old is closed
    ctx.clock.advance(days=100)
    recent = walk_up(ctx, name="钱七")
    ctx.clock.advance(days=81)  # old ended 181 days ago; recent is 81 days old (and open)
    assert service.purge_pii(ctx) == {"visits": 1, "invites": 0}
    assert service.purge_pii(ctx) == {"visits": 0, "invites": 0}
    with ctx.database().read() as s:
        gone, kept = s.get(Visit, old.id), s.get(Visit, recent.id)
        assert (gone.name, gone.phone, gone.id_number) == ("已匿名", "", "")
        assert kept.name == "钱七"
        events = s.scalars(select(AuditEvent.data).where(AuditEvent.action.like("visitor.%"))).all()
        assert not any(find_unmasked(e) for e in events)


def test_pass_signatures_depend_on_the_key() -> None:
    payload = passes.sign(b"k1", "pass", "abc")
    assert passes.verify(b"k1", "pass", payload) == "abc"
    assert passes.verify(b"k2", "pass", payload) is None
    assert passes.verify(b"k1", "invite", payload) is None
    assert passes.verify(b"k1", "pass", "garbage") is None


@given(st.text(max_size=80))
def test_no_scanned_text_passes_for_a_pass_without_the_key(text: str) -> None:
    assert passes.verify(b"k", "pass", text) is None


@given(st.text(alphabet="0123456789abcdef", min_size=1, max_size=20))
def test_every_signed_pass_verifies_and_no_other_key_accepts_it(ident: str) -> None:
    payload = passes.sign(b"estate-key", "pass", ident)
    assert passes.verify(b"estate-key", "pass", payload) == ident
    assert passes.verify(b"other-key", "pass", payload) is None
    assert passes.verify(b"estate-key", "pass", payload.lower()) == ident  # scanners may lower-case


def _stored(ctx, visit_id: int) -> tuple[str, str]:
    with ctx.database().read() as s:
        v = s.get(Visit, visit_id)
        return v.status, v.decided_by


@pytest.mark.parametrize("approve", [False, True])
def test_a_walk_up_answered_after_the_hosts_timeout_is_stored_as_timed_out(ctx, approve) -> None:
    v = walk_up(ctx, name="孙八")
    ctx.clock.advance(minutes=5)  # host_timeout_minutes: nobody polled in between
    assert _stored(ctx, v.id)[0] == "pending"
    with pytest.raises(Refused) as err:
        service.decide(ctx, host(ctx, "王小明"), v.id, approve=approve)
    assert err.value.code == "visitors.visit_timed_out"
    # The refusal did not roll the timeout back: the record says timed_out at once.
    assert _stored(ctx, v.id) == ("timed_out", "timeout")
    assert service.visit_status(ctx, v.id).status == "timed_out"
    assert service.pending_visits(ctx, None) == []
    with ctx.database().read() as s:
        events = s.scalars(
            select(AuditEvent.action).where(AuditEvent.subject == f"visitor_visit:{v.id}")
        ).all()
        jobs = s.scalars(select(PrintJob).where(PrintJob.kind == "visitor-pass")).all()
    assert "visitor.timed_out" in events
    assert "visitor.declined" not in events and "visitor.approved" not in events
    assert jobs == []
    # The desk answering later is refused the same way; the state stays timed_out.
    with pytest.raises(Refused) as err:
        service.decide(ctx, BUTLER, v.id, approve=False)
    assert err.value.code == "visitors.visit_timed_out"
    assert _stored(ctx, v.id)[0] == "timed_out"


def test_a_walk_up_the_kiosk_gives_up_on_is_timed_out_at_once(ctx) -> None:
    v = walk_up(ctx, name="周九")
    ctx.clock.advance(minutes=1)  # before the host's timeout: the visitor walked away
    assert service.stop_waiting(ctx, v.id).status == "timed_out"
    assert _stored(ctx, v.id) == ("timed_out", "kiosk")
    with pytest.raises(Refused) as err:
        service.decide(ctx, host(ctx, "王小明"), v.id, approve=True)
    assert err.value.code == "visitors.visit_timed_out"
    with ctx.database().read() as s:
        assert s.scalars(select(PrintJob).where(PrintJob.kind == "visitor-pass")).all() == []
    # An answered visit is not changed by the kiosk giving up.
    answered = walk_up(ctx, name="吴十")
    service.decide(ctx, host(ctx, "王小明"), answered.id, approve=False)
    assert service.stop_waiting(ctx, answered.id).status == "declined"
