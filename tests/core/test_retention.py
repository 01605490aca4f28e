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
from kiosk.db.models import AuditEvent, Resident, Unit
from kiosk.identity import Actor
from kiosk.pii import find_unmasked
from plugins.parcels import service as parcels
from plugins.parcels.models import Parcel, Release, StoredItem
from plugins.visitors import service as visitors
from plugins.visitors.models import Invite, Visit

BUTLER = Actor("staff", 1, "李管家", frozenset({"butler"}))
SIGNED = [[[2, 5], [4, 3], [6, 6], [9, 2], [12, 5]]]
OLD_PHONE, OLD_ID = "13912345678", "310101199001011234"
ANON = retention.ANONYMOUS
TABLES = (Visit, Invite, Parcel, Release, StoredItem)


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


def populate(ctx: KioskContext) -> Estate:
    """t0: old visits and parcels, closed and open; t0+300 d: recent visits; t0+400 d: a
    recent pickup. The purge then runs at t0+400 d (visitors 180 days, parcels 365)."""
    host = resident(ctx, "1-101")
    # -- t0: old visitors
    gone = _walk_up(ctx, "赵六一", id_number=OLD_ID)
    visitors.decide(ctx, host, gone, approve=True)
    ctx.clock.advance(hours=1)
    visitors.sign_out_by_desk(ctx, BUTLER, gone)
    declined = _walk_up(ctx, "钱七七")
    visitors.decide(ctx, host, declined, approve=False)
    inside = _walk_up(ctx, "孙八八", id_number="310101199202021234")  # approved, never left
    visitors.decide(ctx, host, inside, approve=True)
    held = _walk_up(ctx, "周九九")  # still waiting for its host
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
    stored = parcels.deposit(
        ctx,
        BUTLER,
        unit_code="1-101",
        depositor_name="张伟",
        description="行李箱 suitcase",
        category="luggage",
        expected_pickup_at=ctx.clock.now() + dt.timedelta(hours=5),
        depositor_phone=OLD_PHONE,
    )
    parcels.release_stored(ctx, BUTLER, ticket=stored.ticket, claimant_name="张伟", strokes=SIGNED)
    still_stored = parcels.deposit(
        ctx,
        BUTLER,
        unit_code="1-101",
        depositor_name="张伟",
        description="纸箱 box",
        category="box",
        expected_pickup_at=ctx.clock.now() + dt.timedelta(hours=5),
        depositor_phone=OLD_PHONE,
    )
    # -- t0+300 d: a recent, closed visit
    ctx.clock.advance(days=300)
    recent = _walk_up(ctx, "郑十一")
    visitors.decide(ctx, host, recent, approve=False)
    now = ctx.clock.now()
    recent_invite = visitors.create_invite(
        ctx, host, visitor_name="王十二", valid_from=now, valid_until=now + dt.timedelta(days=2)
    )
    # -- t0+400 d: a recent pickup
    ctx.clock.advance(days=100)
    new_parcel, new_release = _collect(ctx, "SF1000000000004")
    return Estate(
        purged={
            "visitor_visit": [gone, declined],
            "visitor_invite": [invite.id],
            "parcel": [old_parcel, returned],
            "parcel_release": [old_release],
            "storage_item": [stored.item_id],
        },
        kept={
            "visitor_visit": [inside, held, recent],
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


EXPECTED = {
    "visitor_visit": 2,
    "visitor_invite": 1,
    "parcel": 2,
    "parcel_release": 1,
    "storage_item": 1,
    "parking_rental": 0,  # the demo rentals are open: never purged
}


def test_a_dry_run_counts_and_changes_nothing(ctx: KioskContext) -> None:
    populate(ctx)
    before, events = snapshot(ctx), purge_events(ctx)
    report = retention.purge(ctx, dry_run=True)
    assert report.dry_run and counts(report) == EXPECTED and report.total == 7
    assert report.audit_seq is None
    assert snapshot(ctx) == before
    assert purge_events(ctx) == events == []
    # The real run then does exactly what the dry run announced.
    assert counts(retention.purge(ctx)) == EXPECTED


def test_a_purge_anonymises_only_old_closed_records_and_keeps_the_facts(
    ctx: KioskContext,
) -> None:
    estate = populate(ctx)
    before = snapshot(ctx)
    report = retention.purge(ctx)
    assert counts(report) == EXPECTED and not report.dry_run
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
    # Rows are kept: the counts behind reports do not change.
    after = snapshot(ctx)
    assert {k: len(v) for k, v in after.items()} == {k: len(v) for k, v in before.items()}
    # One audit event, with counts and no personal data.
    [event] = purge_events(ctx)
    assert event.seq == report.audit_seq
    data = json.loads(event.data)
    assert data["counts"]["visitors.visitor_visit"] == 2 and data["total"] == 7
    assert not find_unmasked(event.data)
    assert not any(n in event.data for n in ("赵六一", "张伟", OLD_PHONE, OLD_ID))


def test_purged_rows_hold_no_name_phone_or_id_number(ctx: KioskContext) -> None:
    estate = populate(ctx)
    retention.purge(ctx)
    people = ("赵六一", "钱七七", "吴十", "张伟", OLD_PHONE, "13800001111", OLD_ID)
    models = {
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
    first = retention.purge(ctx)
    assert first.total == 7
    between = snapshot(ctx)
    second = retention.purge(ctx)
    assert counts(second) == dict.fromkeys(EXPECTED, 0)
    assert snapshot(ctx) == between
    assert [json.loads(e.data)["total"] for e in purge_events(ctx)] == [7, 0]
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
    assert {("visitors", "visitor_visit"), ("parcels", "parcel_release")} <= kinds
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
