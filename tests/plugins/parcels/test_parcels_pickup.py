"""邮件签收: log at the desk, notify with a one-time code, collect at the kiosk with a signature."""

from __future__ import annotations

import pytest
from parcels_helpers import BUTLER, CASHIER, DOT, SIGNED, resident
from sqlalchemy import func, select, update

from devices.printer import render_text
from kiosk.db.models import AuditEvent, DeskAlert, Notification, PrintJob
from kiosk.errors import PermissionDenied, Refused
from kiosk.notify_messages import render
from kiosk.printing import JobOutcome
from plugins.parcels import service
from plugins.parcels.models import Parcel, PickupCode, Release


def check_in(ctx, number="SF1000000000001", unit="1-101", **kw):
    return service.check_in(
        ctx, BUTLER, tracking=number, unit_code=unit, recipient="张伟", shelf="a2", **kw
    )


def test_desk_logs_a_scanned_parcel_and_the_unit_gets_a_code(ctx) -> None:
    # The scanner "types" the number and an Enter.
    result = check_in(ctx, number=" sf1000000000001\r\n", perishable=True)
    assert result.tracking_number == "SF1000000000001" and result.carrier == "SF"
    with ctx.database().read() as s:
        parcel = s.get(Parcel, result.parcel_id)
        note = s.get(Notification, result.notification_id)
        assert parcel.status == "waiting" and parcel.shelf == "A2" and parcel.perishable
        assert note.template == "parcel.arrived" and note.payload["code"] == result.code
        # The carrier by name, in the resident's language (never the stored code).
        assert "顺丰速运" in render(note.template, note.payload, "zh_CN")[1]
        assert "(SF Express)" in render(note.template, note.payload, "en")[1]
        assert len(result.code) == 6 and result.code.isdigit()
        # Only a digest of the code is kept; the audit log never sees it.
        assert result.code not in s.scalars(select(PickupCode.digest)).all()
        events = s.scalars(select(AuditEvent.data).where(AuditEvent.action == "parcel.checked_in"))
        assert all(result.code not in e for e in events)


def test_a_duplicate_tracking_number_is_caught(ctx) -> None:
    check_in(ctx)
    with pytest.raises(Refused) as err:
        check_in(ctx, number="SF 1000 0000 0000 1", unit="2-803")
    assert err.value.code == "parcels.duplicate_tracking"
    with ctx.database().read() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(Parcel)
                .where(Parcel.tracking_number == "SF1000000000001")
            )
            == 1
        )


def test_only_desk_staff_log_parcels_and_bad_input_is_refused(ctx) -> None:
    with pytest.raises(PermissionDenied):
        service.check_in(ctx, CASHIER, tracking="SF1000000000001", unit_code="1-101")
    with pytest.raises(Refused) as err:
        check_in(ctx, number="12-34")
    assert err.value.code == "parcels.bad_tracking"
    with pytest.raises(Refused) as err:
        check_in(ctx, unit="9-999")
    assert err.value.code == "unit.unknown"


def test_resident_taps_card_signs_and_collects_everything_at_once(ctx) -> None:
    a = check_in(ctx, number="SF1000000000001")
    b = check_in(ctx, number="JDVA00000000001", oversize=True)
    pickup = service.start_pickup_by_card(ctx, resident(ctx, "张伟"))
    assert [p.id for p in pickup.parcels] == [a.parcel_id, b.parcel_id]
    done = service.release(ctx, pickup, [a.parcel_id, b.parcel_id], SIGNED)
    with ctx.database().read() as s:
        rel = s.get(Release, done.release_id)
        assert rel.item_count == 2 and rel.picker_kind == "resident" and rel.via == "card"
        assert rel.signature_strokes == SIGNED and rel.signature_png.startswith(b"\x89PNG")
        assert {
            p.status for p in s.scalars(select(Parcel).where(Parcel.unit_id == rel.unit_id))
        } == {"released"}
        job = s.get(PrintJob, done.print_job_id)
        assert job.kind == "parcel-pickup" and rel.print_job_id == job.id
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "parcel.released")
            )
            == 1
        )
        # Nothing left to collect: the unit's codes are spent.
        assert set(
            s.scalars(select(PickupCode.status).where(PickupCode.unit_id == rel.unit_id))
        ) == {"spent"}
    slip = render_text(done.receipt)
    assert "张*" in slip and "张伟" not in slip and "000001" in slip and "1-101" in slip


def test_unit_and_code_then_a_named_proxy_collects(ctx) -> None:
    r = check_in(ctx)
    service.add_proxy(ctx, resident(ctx, "张伟"), "1-101", "赵阿姨", "13900001111")
    pickup = service.start_pickup_by_code(ctx, "1-101", r.code)
    pickup = service.identify_picker(ctx, pickup, " 赵阿姨 ")
    assert pickup.picker.kind == "proxy"
    done = service.release(ctx, pickup, [r.parcel_id], SIGNED)
    assert "(代取 proxy)" in render_text(done.receipt)
    # The code worked once.
    with pytest.raises(Refused) as err:
        service.start_pickup_by_code(ctx, "1-101", r.code)
    assert err.value.code == "parcels.code_used"


def test_someone_not_named_by_the_household_is_sent_to_the_desk(ctx) -> None:
    r = check_in(ctx)
    pickup = service.start_pickup_by_code(ctx, "1-101", r.code)
    with pytest.raises(Refused) as err:
        service.identify_picker(ctx, pickup, "陌生人")
    assert err.value.code == "parcels.not_recipient" and "desk" in err.value.render()
    with ctx.database().read() as s:
        assert s.scalar(select(DeskAlert).where(DeskAlert.kind == "parcel_picker_unknown"))
    with pytest.raises(Refused) as err:
        service.release(ctx, pickup, [r.parcel_id], SIGNED)
    assert err.value.code == "parcels.picker_unknown"


@pytest.mark.parametrize("strokes", [[], DOT, [[[3, 3], [3, 4], [4, 3]]], "nonsense"])
def test_an_empty_or_one_dot_signature_is_refused_and_nothing_is_released(ctx, strokes) -> None:
    r = check_in(ctx)
    pickup = service.start_pickup_by_card(ctx, resident(ctx, "张伟"))
    with pytest.raises(Refused) as err:
        service.release(ctx, pickup, [r.parcel_id], strokes)
    assert err.value.code in ("parcels.signature_missing", "parcels.signature_invalid")
    with ctx.database().read() as s:
        assert s.get(Parcel, r.parcel_id).status == "waiting"


def test_a_pickup_is_all_or_nothing(ctx) -> None:
    a = check_in(ctx, number="SF1000000000001")
    b = check_in(ctx, number="SF1000000000002")
    first = service.start_pickup_by_card(ctx, resident(ctx, "张伟"))
    second = service.start_pickup_by_card(ctx, resident(ctx, "张伟"))
    service.release(ctx, first, [b.parcel_id], SIGNED)
    # The second kiosk still shows both; one is gone, so neither is released.
    with pytest.raises(Refused) as err:
        service.release(ctx, second, [a.parcel_id, b.parcel_id], SIGNED)
    assert err.value.code == "parcels.already_released"
    with ctx.database().read() as s:
        assert s.get(Parcel, a.parcel_id).status == "waiting"
        assert s.scalar(select(func.count()).select_from(Release)) == 1
        assert (
            s.scalar(
                select(func.count()).select_from(PrintJob).where(PrintJob.kind == "parcel-pickup")
            )
            == 1
        )


def test_another_units_parcel_cannot_be_taken(ctx) -> None:
    mine = check_in(ctx, unit="2-803", number="SF1000000000009")
    pickup = service.start_pickup_by_card(ctx, resident(ctx, "张伟"))
    with pytest.raises(Refused):
        service.release(ctx, pickup, [mine.parcel_id], SIGNED)


def test_five_wrong_codes_lock_the_unit_for_ten_minutes_and_alert_the_desk(ctx) -> None:
    r = check_in(ctx)
    wrong = "000000" if r.code != "000000" else "111111"
    for _ in range(4):
        with pytest.raises(Refused) as err:
            service.start_pickup_by_code(ctx, "1-101", wrong)
        assert err.value.code == "parcels.code_wrong"
    with pytest.raises(Refused) as err:
        service.start_pickup_by_code(ctx, "1-101", wrong)
    assert err.value.code == "parcels.code_locked"
    # Locked: even the right code waits.
    with pytest.raises(Refused) as err:
        service.start_pickup_by_code(ctx, "1-101", r.code)
    assert err.value.code == "parcels.code_locked"
    with ctx.database().read() as s:
        alerts = s.scalars(select(DeskAlert).where(DeskAlert.kind == "parcel_code_locked")).all()
        assert len(alerts) == 1 and "1-101" in alerts[0].message
    ctx.clock.advance(minutes=10, seconds=1)
    assert service.start_pickup_by_code(ctx, "1-101", r.code).parcels


def test_printer_out_of_paper_shows_the_slip_and_the_release_is_recorded_once(ctx) -> None:
    r = check_in(ctx)

    class PaperOut:
        def print_now(self, job_id: int) -> JobOutcome:
            return JobOutcome(job_id, "queued", "paper out")

    ctx.printing = PaperOut()
    pickup = service.start_pickup_by_card(ctx, resident(ctx, "张伟"))
    done = service.release(ctx, pickup, [r.parcel_id], SIGNED)
    shown = service.print_slip(ctx, done.print_job_id, done.receipt)
    assert not shown.printed and "1-101" in shown.text and "000001" in shown.text
    with ctx.database().read() as s:
        assert s.scalar(select(func.count()).select_from(Release)) == 1
        assert s.get(PrintJob, done.print_job_id).state == "queued"  # prints when paper is back


def without_demo_parcels(ctx) -> None:
    """Aging counts every waiting item: take the demo household's two out of the way."""
    with ctx.database().write() as s:
        s.execute(update(Parcel).values(status="released"))


def test_aging_reminds_at_3_and_7_days_escalates_at_15_and_returns(ctx) -> None:
    without_demo_parcels(ctx)
    r = check_in(ctx)
    ctx.clock.advance(days=3)
    assert service.run_aging(ctx).reminded == {3: 1}
    assert service.run_aging(ctx).reminded == {}  # once only
    ctx.clock.advance(days=4)
    assert service.run_aging(ctx).reminded == {7: 1}
    ctx.clock.advance(days=8)
    run = service.run_aging(ctx)
    assert run.escalated == 1 and service.run_aging(ctx).escalated == 0
    report = service.aging_report(ctx)
    assert report["buckets"]["15+ days"] == 1 and report["items"][0]["escalated"]
    with pytest.raises(Refused):
        service.return_to_sender(ctx, BUTLER, r.parcel_id, " ")
    service.return_to_sender(ctx, BUTLER, r.parcel_id, "无人领取 unclaimed")
    with ctx.database().read() as s:
        p = s.get(Parcel, r.parcel_id)
        assert p.status == "returned" and p.return_reason == "无人领取 unclaimed"
        reminders = s.scalars(
            select(Notification).where(Notification.template == "parcel.reminder")
        ).all()
        assert [n.payload["days"] for n in reminders] == [3, 7]
    assert service.aging_report(ctx)["returned"] == 1
    with pytest.raises(Refused):
        service.return_to_sender(ctx, BUTLER, r.parcel_id, "again")


def test_an_item_found_at_8_days_gets_one_reminder_not_two(ctx) -> None:
    without_demo_parcels(ctx)
    check_in(ctx)
    ctx.clock.advance(days=8)
    assert service.run_aging(ctx).reminded == {7: 1}
    ctx.clock.advance(days=1)
    assert service.run_aging(ctx).reminded == {}


def test_the_demo_household_has_parcels_a_code_and_a_proxy(ctx) -> None:
    from plugins.parcels import DEMO_CODE, DEMO_PROXY

    pickup = service.start_pickup_by_code(ctx, "3-1205", DEMO_CODE)
    assert len(pickup.parcels) == 2
    assert service.identify_picker(ctx, pickup, DEMO_PROXY).picker.kind == "proxy"
    assert service.identify_picker(ctx, pickup, "emily wang").picker.kind == "resident"
    assert all(p.carrier in ("SF", "JD") for p in pickup.parcels)


def test_items_left_behind_after_a_code_pickup_get_a_fresh_code(ctx) -> None:
    from plugins.parcels import DEMO_CODE

    # The demo household has two items for 王小明 and one code; he takes one, leaves one.
    pickup = service.start_pickup_by_code(ctx, "3-1205", DEMO_CODE)
    pickup = service.identify_picker(ctx, pickup, "王小明")
    first, left = pickup.parcels
    service.release(ctx, pickup, [first.id], SIGNED)
    with ctx.database().read() as s:
        renewed = s.scalars(
            select(Notification).where(Notification.template == "parcel.code_renewed")
        ).one()
    assert renewed.payload["waiting"] == 1
    again = service.start_pickup_by_code(ctx, "3-1205", renewed.payload["code"])
    assert [p.id for p in again.parcels] == [left.id]


def test_no_fresh_code_when_every_item_still_has_one(ctx) -> None:
    a = check_in(ctx, number="SF1000000000001")
    b = check_in(ctx, number="SF1000000000002")
    pickup = service.identify_picker(
        ctx, service.start_pickup_by_code(ctx, "1-101", a.code), "张伟"
    )
    service.release(ctx, pickup, [a.parcel_id], SIGNED)
    assert service.start_pickup_by_code(ctx, "1-101", b.code).parcels  # b's own code works
    with ctx.database().read() as s:
        assert not s.scalars(
            select(Notification).where(Notification.template == "parcel.code_renewed")
        ).all()


def test_names_and_signatures_are_anonymised_after_the_retention_period(ctx) -> None:
    old = check_in(ctx, number="SF1000000000001")
    pickup = service.start_pickup_by_card(ctx, resident(ctx, "张伟"))
    done = service.release(ctx, pickup, [old.parcel_id], SIGNED)
    ctx.clock.advance(days=200)
    recent = check_in(ctx, number="SF1000000000002")
    service.release(ctx, service.start_pickup_by_card(ctx, resident(ctx, "张伟")),
                    [recent.parcel_id], SIGNED)  # fmt: skip
    ctx.clock.advance(days=166)  # the first pickup is 366 days old, the second 166
    assert service.purge_pii(ctx) == {"parcels": 1, "releases": 1, "stored": 0}
    assert service.purge_pii(ctx) == {"parcels": 0, "releases": 0, "stored": 0}
    with ctx.database().read() as s:
        rel = s.get(Release, done.release_id)
        assert (rel.picker_name, rel.signature_strokes, rel.signature_png) == ("已匿名", [], b"")
        assert s.get(Parcel, old.parcel_id).tracking_number == "SF1000000000001"
        assert s.get(Parcel, recent.parcel_id).recipient_name == "张伟"
