"""Hot statements on the driver's cursor (kiosk.db.direct) give what SQLAlchemy's path gives:
the same rows, defaults, JSON, errors; and a lost connection is invalidated as SQLAlchemy's
path invalidates it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import bindparam, exc, insert, select, update

from kiosk.db import Database, direct
from kiosk.db.models import DeskAlert, PrintJob, Unit

_UNIT = select(Unit.id, Unit.code.label("unit_code")).where(Unit.code == bindparam("code"))
_JOB = insert(PrintJob.__table__).returning(PrintJob.id)  # type: ignore[arg-type]
_ACK = (
    update(DeskAlert.__table__)  # type: ignore[arg-type]
    .where(DeskAlert.id == bindparam("alert_id"), DeskAlert.acknowledged_at.is_(None))
    .values(acknowledged_at=bindparam("at"))
)
_MANY = select(Unit.code).where(Unit.code.in_(bindparam("codes", expanding=True)))
_NOT_MANY = select(Unit.code).where(Unit.code.not_in(bindparam("codes", expanding=True)))
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def _job(**columns: Any) -> dict[str, Any]:
    """A print job's columns, but for those the columns' defaults fill in."""
    job = {"printer": "printer", "kiosk_id": "k1", "kind": "t", "document": {},
           "state": "queued", "created_at": NOW, "updated_at": NOW, "next_attempt_at": NOW}  # fmt: skip
    return job | columns


def test_rows_match_sqlalchemys(demo_url: str) -> None:
    db = Database(demo_url)
    try:
        with db.read() as s:
            conn = s.connection()
            ours = direct.execute(conn, _UNIT, {"code": "3-1205"}).first()
            theirs = conn.execute(_UNIT, {"code": "3-1205"}).first()
            assert ours is not None and theirs is not None
            assert tuple(ours) == tuple(theirs)
            assert ours._mapping == dict(theirs._mapping)
            assert ours.unit_code == "3-1205" and ours[1] == "3-1205"
            assert direct.execute(conn, _UNIT, {"code": "no-such"}).first() is None
            assert direct.execute(conn, _UNIT, {"code": "3-1205"}).scalar() == theirs[0]
            # An expanding IN list: one array parameter on PostgreSQL, the same answers as
            # SQLAlchemy's (which renders the list) for any length, the empty one, NOT IN.
            longer = "3-1205" + "x" * 40  # never cut down to a code that exists
            for codes in (["3-1205", "2-502"], ("3-1205",), [], ["no-such"], [longer]):
                for stmt in (_MANY, _NOT_MANY):
                    ours_rows = direct.execute(conn, stmt, {"codes": codes}).all()
                    theirs_rows = conn.execute(stmt, {"codes": list(codes)}).all()
                    assert sorted(r[0] for r in ours_rows) == sorted(r[0] for r in theirs_rows)
            two = direct.execute(conn, _MANY, {"codes": ["3-1205", "2-502"]}).all()
            assert sorted(r[0] for r in two) == ["2-502", "3-1205"]
            if conn.dialect.name == "postgresql":
                sql = direct._prepare(_MANY, conn.dialect, ("codes",)).sql
                assert "= ANY (%(codes)s::VARCHAR[])" in sql, sql
                assert not direct._prepare(_MANY, conn.dialect, ("codes",)).ordinary
    finally:
        db.dispose()


def test_insert_fills_defaults_and_json_and_update_counts(demo_url: str) -> None:
    db = Database(demo_url)

    try:
        with db.write() as s:
            document = {"lines": ["甲", "[b]x[/b]"]}
            job_id = direct.execute(s.connection(), _JOB, _job(document=document)).scalar_one()
        with db.read() as s:
            job = s.get(PrintJob, job_id)
            assert job is not None
            assert job.document == {"lines": ["甲", "[b]x[/b]"]}
            # Left out, the columns' own defaults were filled in.
            assert job.reason == "" and job.attempts == 0
        with db.write() as s:
            alert = DeskAlert(
                kind="t", message="m", created_at=NOW, kiosk_id="k1", acknowledged_by=""
            )
            s.add(alert)
            s.flush()
            first = direct.execute(s.connection(), _ACK, {"alert_id": alert.id, "at": NOW})
            again = direct.execute(s.connection(), _ACK, {"alert_id": alert.id, "at": NOW})
            assert (first.rowcount, again.rowcount) == (1, 0)
    finally:
        db.dispose()


def test_errors_are_sqlalchemys_and_roll_back(demo_url: str) -> None:
    db = Database(demo_url)
    try:
        with pytest.raises(exc.IntegrityError), db.write() as s:
            direct.execute(s.connection(), _JOB, _job(printer=None))
        with db.read() as s:
            assert s.scalar(select(PrintJob.id).where(PrintJob.kind == "t")) is None
    finally:
        db.dispose()


def test_lost_connection_is_invalidated(postgres: Any) -> None:
    db = Database(postgres.fresh(seeded=True))
    try:
        with db.read() as s:
            conn = s.connection()
            conn.connection.dbapi_connection.close()  # type: ignore[union-attr]
            with pytest.raises(exc.DBAPIError) as raised:
                direct.execute(conn, _UNIT, {"code": "1-101"})
            assert raised.value.connection_invalidated
        # The pool opens another: the next statement works.
        with db.read() as s:
            direct.execute(s.connection(), _UNIT, {"code": "1-101"}).first()
    finally:
        db.dispose()


def test_detached_objects_work_in_a_fresh_process() -> None:
    """The constructor configures the mappers on first use; a detached object must too (a
    kiosk's first pickup builds one before any constructor ran)."""
    import subprocess
    import sys

    code = (
        "from kiosk.db import direct\n"
        "from kiosk.db.models import PrintJob\n"
        "job = direct.detached(PrintJob, {'id': 7, 'kind': 'slip'})\n"
        "job.state = 'queued'\n"
        "print(job.id, job.kind, job.state)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["7", "slip", "queued"]


def test_cursor_listeners_still_see_every_statement(demo_url: str) -> None:
    from sqlalchemy import event

    db = Database(demo_url)
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        with db.read() as s:
            row = direct.execute(s.connection(), _UNIT, {"code": "3-1205"}).first()
        assert row is not None and row._mapping["unit_code"] == "3-1205"
        assert any("FROM unit" in statement for statement in seen)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
        db.dispose()
