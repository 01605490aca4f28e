"""Retention purge (`kiosk purge`): PII of closed records past the configured days is
anonymised, open and recent records are kept, a dry run changes nothing, a second run is a
no-op, and one audit event with counts (no PII) records each run. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from kiosk.context import KioskContext
from kiosk.db import retention
from kiosk.db.models import AuditEvent, Notification, Resident, Unit
from kiosk.identity import Actor
from kiosk.notify import dispatch_outbox, queue_notification
from kiosk.pii import find_unmasked, mask_text
from plugins.parcels import service as parcels
from plugins.parcels.models import Parcel, Release, StoredItem
from plugins.repairs import service as repairs
from plugins.repairs.models import RepairTicket
from plugins.visitors import service as visitors
from plugins.visitors.models import Invite, Visit

BUTLER = Actor("staff", 1, "李管家", frozenset({"butler"}))
ENGINEER = Actor("staff", 3, "赵工程", frozenset({"engineer"}))
SIGNED = [[[2, 5], [4, 3], [6, 6], [9, 2], [12, 5]]]
OLD_PHONE, OLD_ID = "13912345678", "310101199001011234"
ANON = retention.ANONYMOUS
TABLES = (Visit, Invite, Parcel, Release, StoredItem, RepairTicket, Notification)
REPAIR_NOTE = "厨房漏水，请先打电话 138 0013 8000"


def resident(ctx: KioskContext, unit_code: str) -> Actor:
    with ctx.database().read() as s:
        r = s.scalars(
            select(Resident).join(Unit).where(Unit.code == unit_code).order_by(Resident.id)
        ).first()
        assert r is not None
        return Actor.of_resident(r)


@dataclass
class Estate:
    """Ids of the records the tests look at, by what should happen to them."""

    purged: dict[str, list[int]]
    kept: dict[str, list[int]]


def _walk_up(ctx: KioskContext, name: str, **kw: Any) -> int:
    return visitors.register_walkup(
        ctx, name=name, phone=OLD_PHONE, unit_code="1-101", purpose="探亲", **kw
    ).id


def _collect(ctx: KioskContext, tracking: str) -> tuple[int, int]:
    parcel = parcels.check_in(
        ctx, BUTLER, tracking=tracking, unit_code="1-101", recipient="张伟", shelf="A1"
    )
    pickup = parcels.start_pickup_by_card(ctx, resident(ctx, "1-101"))
    done = parcels.release(ctx, pickup, [parcel.parcel_id], SIGNED)
    return parcel.parcel_id, done.release_id


def _repair(ctx: KioskContext, host: Actor, *, done: bool) -> int:
    t = repairs.file_ticket(
        ctx,
        host,
        category="plumbing.leak",
        description=REPAIR_NOTE,
        reporter="张伟",
        contact_phone=OLD_PHONE,
    )
    if done:
        repairs.confirm(ctx, BUTLER, t.number)
        repairs.dispatch(ctx, BUTLER, t.number)
        repairs.start(ctx, ENGINEER, t.number)
        repairs.complete(ctx, ENGINEER, t.number, SIGNED)
        repairs.record_visit(ctx, BUTLER, t.number, 5, "师傅很好，电话 13912345678")
    with ctx.database().read() as s:
        return s.scalars(select(RepairTicket.id).where(RepairTicket.number == t.number)).one()


def queue_stale(ctx: KioskContext) -> None:
    """A message that was never sent (its channel was down)."""
    with ctx.database().write() as s:
        queue_notification(
            s,
            channel="sms",
            template="parcel_arrived",
            at=ctx.clock.now(),
            recipient=OLD_PHONE,
            payload={"phone": OLD_PHONE, "name": "张伟"},
        )


def populate(ctx: KioskContext) -> Estate:
    """t0: old visits, parcels and repairs, closed and open; t0+300 d: recent visits and a
    recent repair; t0+400 d: a recent pickup, a visitor inside now. The purge then runs at
    t0+400 d (visitors 180 days, parcels and repairs 365, the outbox 90)."""
    host = resident(ctx, "1-101")
    # -- t0: old visitors
    gone = _walk_up(ctx, "赵六一", id_number=OLD_ID)
    visitors.decide(ctx, host, gone, approve=True)
    ctx.clock.advance(hours=1)
    visitors.sign_out_by_desk(ctx, BUTLER, gone)
    declined = _walk_up(ctx, "钱七七")
    visitors.decide(ctx, host, declined, approve=False)
    forgotten = _walk_up(ctx, "孙八八", id_number="310101199202021234")  # nobody signed out
    visitors.decide(ctx, host, forgotten, approve=True)
    held = _walk_up(ctx, "周九九")  # its host never answered
    now = ctx.clock.now()
    invite = visitors.create_invite(
        ctx,
        host,
        visitor_name="吴十",
        visitor_phone="13800001111",
        valid_from=now,
        valid_until=now + dt.timedelta(days=2),
    )
    # -- t0: old parcels and storage
    old_parcel, old_release = _collect(ctx, "SF1000000000001")
    waiting = parcels.check_in(
        ctx, BUTLER, tracking="SF1000000000002", unit_code="1-101", recipient="张伟"
    ).parcel_id
    returned = parcels.check_in(
        ctx, BUTLER, tracking="SF1000000000003", unit_code="1-101", recipient="张伟"
    ).parcel_id
    parcels.return_to_sender(ctx, BUTLER, returned, "refused by the recipient")
    stored = parcels.store_item(
        ctx,
        BUTLER,
        unit_code="1-101",
        depositor_name="张伟",
        description="行李箱 suitcase",
        category="luggage",
        expected_pickup_at=ctx.clock.now() + dt.timedelta(hours=5),
        depositor_phone=OLD_PHONE,
    )
    parcels.release_stored(
        ctx,
        BUTLER,
        ticket=stored.ticket,
        claimant_name="张伟",
        strokes=SIGNED,
        id_last4="1234",
        condition="intact",
    )
    still_stored = parcels.store_item(
        ctx,
        BUTLER,
        unit_code="1-101",
        depositor_name="张伟",
        description="纸箱 box",
        category="box",
        expected_pickup_at=ctx.clock.now() + dt.timedelta(hours=5),
        depositor_phone=OLD_PHONE,
    )
    old_repair = _repair(ctx, host, done=True)
    open_repair = _repair(ctx, host, done=False)  # still waiting: never purged
    assert dispatch_outbox(ctx) > 0  # old messages sent; the open repair's alert stays pending
    queue_stale(ctx)
    # -- t0+300 d: a recent, closed visit and a recent repair
    ctx.clock.advance(days=300)
    recent_repair = _repair(ctx, host, done=True)
    recent = _walk_up(ctx, "郑十一")
    visitors.decide(ctx, host, recent, approve=False)
    now = ctx.clock.now()
    recent_invite = visitors.create_invite(
        ctx, host, visitor_name="王十二", valid_from=now, valid_until=now + dt.timedelta(days=2)
    )
    # -- t0+400 d: a recent pickup
    ctx.clock.advance(days=100)
    new_parcel, new_release = _collect(ctx, "SF1000000000004")
    inside = _walk_up(ctx, "冯十三")  # inside now, on a valid pass
    visitors.decide(ctx, host, inside, approve=True)
    return Estate(
        purged={
            "visitor_visit": [gone, declined, forgotten, held],
            "repair_ticket": [old_repair],
            "visitor_invite": [invite.id],
            "parcel": [old_parcel, returned],
            "parcel_release": [old_release],
            "storage_item": [stored.item_id],
        },
        kept={
            "visitor_visit": [inside, recent],
            "repair_ticket": [open_repair, recent_repair],
            "visitor_invite": [recent_invite.id],
            "parcel": [waiting, new_parcel],
            "parcel_release": [new_release],
            "storage_item": [still_stored.item_id],
        },
    )


def snapshot(ctx: KioskContext) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables the purge touches, every column."""
    out = {}
    with ctx.database().read() as s:
        for model in TABLES:
            cols = list(model.__table__.columns)
            out[model.__tablename__] = [
                tuple(r) for r in s.execute(select(*cols).order_by(model.__table__.c.id))
            ]
    return out


def purge_events(ctx: KioskContext) -> list[AuditEvent]:
    with ctx.database().read() as s:
        return list(
            s.scalars(select(AuditEvent).where(AuditEvent.action == retention.ACTION)).all()
        )


def counts(report: retention.PurgeReport) -> dict[str, int]:
    return {c.kind: c.count for c in report.counts}


def old_notifications(ctx: KioskContext) -> list[int]:
    """Outbox rows older than the 90 days of ``notification_days`` (sent or never sent)."""
    before = ctx.clock.now() - dt.timedelta(days=ctx.settings.retention.notification_days)
    with ctx.database().read() as s:
        return list(
            s.scalars(
                select(Notification.id)
                .where(Notification.created_at < before)
                .order_by(Notification.id)
            )
        )


EXPECTED = {
    "visitor_visit": 4,
    "repair_ticket": 1,
    "visitor_invite": 1,
    "parcel": 2,
    "parcel_release": 1,
    "storage_item": 1,
    "parking_rental": 0,  # the demo rentals are open: never purged
    # No passes or key handovers here: tests/plugins/releases and tests/plugins/keys purge them.
    "release_pass": 0,
    "release_signature": 0,
    "key_handover": 0,
}


def expected(ctx: KioskContext) -> dict[str, int]:
    old = len(old_notifications(ctx))
    assert old > 0
    return {**EXPECTED, "notification": old}


def test_a_dry_run_counts_and_changes_nothing(ctx: KioskContext) -> None:
    populate(ctx)
    want = expected(ctx)
    before, events = snapshot(ctx), purge_events(ctx)
    report = retention.purge(ctx, dry_run=True)
    assert report.dry_run and counts(report) == want and report.total == sum(want.values())
    assert report.audit_seq is None
    assert snapshot(ctx) == before
    assert purge_events(ctx) == events == []
    # The real run then does exactly what the dry run announced.
    assert counts(retention.purge(ctx)) == want


def test_a_purge_anonymises_only_old_closed_records_and_keeps_the_facts(
    ctx: KioskContext,
) -> None:
    estate = populate(ctx)
    want = expected(ctx)
    old_messages = old_notifications(ctx)
    before = snapshot(ctx)
    report = retention.purge(ctx)
    assert counts(report) == want and not report.dry_run
    by_kind = {c.kind: c for c in report.counts}
    assert by_kind["visitor_visit"].days == 180 and by_kind["parcel"].days == 365
    assert by_kind["parcel"].before == ctx.clock.now() - dt.timedelta(days=365)
    with ctx.database().read() as s:
        for vid in estate.purged["visitor_visit"]:
            v = s.get(Visit, vid)
            assert (v.name, v.phone, v.id_number) == (ANON, "", "")
            assert v.anonymised_at is not None and v.unit_id and v.purpose == "探亲"
        for vid in estate.kept["visitor_visit"]:
            v = s.get(Visit, vid)
            assert v.name != ANON and v.phone == OLD_PHONE and v.anonymised_at is None
        inv = s.get(Invite, estate.purged["visitor_invite"][0])
        assert (inv.visitor_name, inv.visitor_phone) == (ANON, "")
        assert s.get(Invite, estate.kept["visitor_invite"][0]).visitor_name == "王十二"
        for pid in estate.purged["parcel"]:
            p = s.get(Parcel, pid)
            assert p.recipient_name == ANON and p.status in ("released", "returned")
            assert p.tracking_number.startswith("SF1") and p.unit_id
        for pid in estate.kept["parcel"]:
            assert s.get(Parcel, pid).recipient_name == "张伟"
        rel = s.get(Release, estate.purged["parcel_release"][0])
        assert (rel.picker_name, rel.signature_strokes, rel.signature_png) == (ANON, [], b"")
        assert rel.item_count == 1 and rel.released_at is not None
        kept_rel = s.get(Release, estate.kept["parcel_release"][0])
        assert kept_rel.picker_name == "张伟" and kept_rel.signature_png
        item = s.get(StoredItem, estate.purged["storage_item"][0])
        assert (item.depositor_name, item.depositor_phone, item.released_to) == (ANON, "", ANON)
        assert item.signature_png is None and item.description == "行李箱 suitcase"
        kept_item = s.get(StoredItem, estate.kept["storage_item"][0])
        assert kept_item.depositor_phone == OLD_PHONE and kept_item.status == "stored"
        old_t = s.get(RepairTicket, estate.purged["repair_ticket"][0])
        assert (old_t.reporter, old_t.contact_phone, old_t.description) == (ANON, "", ANON)
        assert old_t.rating_comment == "" and old_t.signature is None
        assert (old_t.status, old_t.category, old_t.rating) == ("closed", "plumbing.leak", 5)
        for tid in estate.kept["repair_ticket"]:
            t = s.get(RepairTicket, tid)
            # kept as filed: the description was stored with the phone typed into it masked
            assert (t.contact_phone, t.description) == (OLD_PHONE, mask_text(REPAIR_NOTE))
        messages = s.scalars(select(Notification).order_by(Notification.id)).all()
        for n in messages:
            if n.id in old_messages:
                assert (n.recipient, n.payload) == (ANON, {}) and n.state in ("sent", "expired")
            else:
                assert n.recipient != ANON
        # The message never sent is never sent now: it would carry no body.
        assert "expired" in {n.state for n in messages if n.id in old_messages}
        assert any(
            n.id not in old_messages for n in messages
        )  # recent ones stay    # Rows are kept: the counts behind reports do not change.
    after = snapshot(ctx)
    assert {k: len(v) for k, v in after.items()} == {k: len(v) for k, v in before.items()}
    # One audit event, with counts and no personal data.
    [event] = purge_events(ctx)
    assert event.seq == report.audit_seq
    data = json.loads(event.data)
    assert data["counts"]["visitors.visitor_visit"] == 4
    assert data["counts"]["repairs.repair_ticket"] == 1
    assert data["counts"]["kiosk.notification"] == want["notification"]
    assert data["total"] == sum(want.values())
    assert not find_unmasked(event.data)
    assert not any(n in event.data for n in ("赵六一", "张伟", OLD_PHONE, OLD_ID))


def test_purged_rows_hold_no_name_phone_or_id_number(ctx: KioskContext) -> None:
    estate = populate(ctx)
    retention.purge(ctx)
    people = ("赵六一", "钱七七", "孙八八", "吴十", "张伟", OLD_PHONE, "13800001111", OLD_ID)
    models = {
        "repair_ticket": RepairTicket,
        "visitor_visit": Visit,
        "visitor_invite": Invite,
        "parcel": Parcel,
        "parcel_release": Release,
        "storage_item": StoredItem,
    }
    with ctx.database().read() as s:
        for kind, ids in estate.purged.items():
            model = models[kind]
            for row in s.execute(select(*model.__table__.columns).where(model.id.in_(ids))):
                text = " ".join(str(v) for v in row)
                assert not find_unmasked(text), (kind, text)
                assert not [p for p in people if p in text], (kind, text)


def test_a_second_run_is_a_no_op(ctx: KioskContext) -> None:
    populate(ctx)
    want = expected(ctx)
    first = retention.purge(ctx)
    assert first.total == sum(want.values())
    between = snapshot(ctx)
    second = retention.purge(ctx)
    assert counts(second) == dict.fromkeys(want, 0)
    assert snapshot(ctx) == between
    assert [json.loads(e.data)["total"] for e in purge_events(ctx)] == [first.total, 0]
    with ctx.database().read() as s:
        from kiosk import audit

        assert audit.verify(s).ok


def test_a_failing_plugin_purge_rolls_everything_back(ctx: KioskContext) -> None:
    from kiosk.hookspecs import hookimpl

    class Broken:
        @hookimpl
        def kiosk_purge(self, ctx, session, now, dry_run):
            raise RuntimeError("disk on fire")

    populate(ctx)
    before = snapshot(ctx)
    assert ctx.plugins is not None
    ctx.plugins.register(Broken(), "broken")
    with pytest.raises(retention.PurgeFailed, match="broken.*disk on fire"):
        retention.purge(ctx)
    assert snapshot(ctx) == before and purge_events(ctx) == []


def test_kiosk_purge_command_dry_run_and_json(demo_url: str, tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env["KIOSK_DATABASE_URL"] = demo_url
    cmd = [sys.executable, "-c", "from kiosk.cli import main; main()", "purge"]
    dry = subprocess.run(
        [*cmd, "--dry-run", "--json"], capture_output=True, text=True, env=env, timeout=120
    )
    assert dry.returncode == 0, dry.stderr
    doc = json.loads(dry.stdout)
    assert doc["dry_run"] is True and doc["audit_seq"] is None
    kinds = {(c["plugin"], c["kind"]) for c in doc["counts"]}
    assert {
        ("visitors", "visitor_visit"),
        ("parcels", "parcel_release"),
        ("repairs", "repair_ticket"),
        ("kiosk", "notification"),
    } <= kinds
    real = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert real.returncode == 0, real.stderr
    assert "anonymised" in real.stdout and "total:" in real.stdout
    from sqlalchemy import create_engine

    engine = create_engine(demo_url)
    with engine.connect() as conn:
        n = conn.execute(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == retention.ACTION)
        ).scalar()
    engine.dispose()
    assert n == 1  # the dry run recorded nothing, the real run one event
    help_ = subprocess.run([*cmd, "--help"], capture_output=True, text=True, env=env, timeout=120)
    assert help_.returncode == 0 and "--dry-run" in help_.stdout
