"""The audit log is append-only and hash-chained; tampering with any row is detected."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select, update

from kiosk import audit
from kiosk.db import Database
from kiosk.db.models import AuditEvent

T0 = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)


def _fill(db: Database, n: int) -> None:
    for i in range(n):
        with db.write() as s:
            audit.record(
                s,
                actor="staff:1",
                action="test.step",
                subject=f"x:{i}",
                data={"i": i},
                at=T0 + dt.timedelta(seconds=i),
            )


def test_chain_verifies_and_links(db_url: str) -> None:
    db = Database(db_url)
    _fill(db, 5)
    with db.read() as s:
        result = audit.verify(s)
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert result.ok and result.events == 5
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
    db.dispose()


def test_a_corrupted_row_is_detected_at_its_seq(db_url: str) -> None:
    db = Database(db_url)
    _fill(db, 6)
    with db.write() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 4).values(data=json.dumps({"i": 99})))
    with db.read() as s:
        result = audit.verify(s)
    assert not result.ok
    assert result.broken_seq == 4
    assert result.events == 3
    assert "does not match its hash" in result.reason
    db.dispose()


def test_a_deleted_row_is_detected(db_url: str) -> None:
    db = Database(db_url)
    _fill(db, 4)
    with db.write() as s:
        s.query(AuditEvent).filter(AuditEvent.seq == 2).delete()
    with db.read() as s:
        result = audit.verify(s)
    assert not result.ok and result.broken_seq == 3 and "missing" in result.reason
    db.dispose()


def test_pii_in_event_data_is_masked(db_url: str) -> None:
    db = Database(db_url)
    with db.write() as s:
        audit.record(
            s,
            actor="system",
            action="resident.added",
            data={"phone": "13812345678", "note": "ID 310101199001011234"},
            at=T0,
        )
    with db.read() as s:
        row = s.scalars(select(AuditEvent)).one()
    assert "13812345678" not in row.data and "138****5678" in row.data
    assert "310101199001011234" not in row.data
    db.dispose()


def test_events_are_chained_at_commit_in_order_and_seq_can_be_read_before(db_url: str) -> None:
    db = Database(db_url)
    _fill(db, 2)
    with db.write() as s:
        first = audit.record(s, actor="system", action="test.a", at=T0)
        second = audit.record(s, actor="system", action="test.b", at=T0)
        assert first.seq == 3  # reading seq chains the transaction's events now
        third = audit.record(s, actor="system", action="test.c", at=T0)
    assert (second.seq, third.seq) == (4, 5)  # the rest were chained by the commit
    with db.read() as s:
        assert audit.verify(s).events == 5
        actions = s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert actions[2:] == ["test.a", "test.b", "test.c"]
    db.dispose()


def test_a_rolled_back_transaction_leaves_no_event_and_no_gap(db_url: str) -> None:
    db = Database(db_url)
    _fill(db, 1)
    try:
        with db.write() as s:
            audit.record(s, actor="system", action="test.lost", at=T0)
            raise RuntimeError("the change failed")
    except RuntimeError:
        pass
    _fill(db, 1)
    with db.read() as s:
        result = audit.verify(s)
        actions = s.scalars(select(AuditEvent.action)).all()
    assert result.ok and result.events == 2 and "test.lost" not in actions
    db.dispose()
