"""What each kind of session of :class:`kiosk.db.Database` costs and guarantees on PostgreSQL.

- ``read()`` runs each statement on its own (no BEGIN, no ROLLBACK) and refuses to write;
  ``read(transaction=True)`` is a transaction that rolls back (a dry run, ``SET LOCAL``).
- ``single()`` is a connection whose statements commit as they run (one round trip each).
- A pooled connection whose server session ended while it sat idle is replaced on checkout.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select, text, update

from kiosk.db import Database
from kiosk.db.models import DeskAlert
from kiosk.notify import raise_alert
from tests.conftest import PostgresDatabases

AT = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def db(postgres: PostgresDatabases) -> Iterator[Database]:
    database = Database(postgres.fresh(seeded=False))
    yield database
    database.dispose()


def _in_transaction(session: object) -> bool:
    dbapi = session.connection().connection.dbapi_connection  # type: ignore[attr-defined]
    return not dbapi.autocommit


def test_a_read_runs_each_statement_on_its_own_and_a_write_in_a_transaction(db: Database) -> None:
    with db.read() as s:
        assert not _in_transaction(s)
        assert s.scalar(text("SELECT 1")) == 1
    with db.write() as s:
        assert _in_transaction(s)
    with db.read(transaction=True) as s:
        assert _in_transaction(s)
        s.execute(text("SET LOCAL statement_timeout = 0"))
        assert s.scalar(text("SHOW statement_timeout")) == "0"
    # The pool's connection went back to transactions after the read.
    with db.engine.connect() as conn:
        assert not conn.connection.dbapi_connection.autocommit  # type: ignore[union-attr]


def test_a_read_session_refuses_to_write_an_object(db: Database) -> None:
    with db.write() as s:
        alert = raise_alert(s, "desk_call", "help", at=AT)
    with pytest.raises(RuntimeError, match="read session"), db.read() as s:
        loaded = s.get(DeskAlert, alert.id)
        assert loaded is not None
        loaded.acknowledged_by = "staff:1"
        s.flush()
    with db.read() as s:
        assert s.scalar(select(DeskAlert.acknowledged_by).where(DeskAlert.id == alert.id)) == ""


def test_a_single_statement_commits_as_it_runs(db: Database) -> None:
    with db.write() as s:
        alert = raise_alert(s, "desk_call", "help", at=AT)
    acknowledge = (
        update(DeskAlert).where(DeskAlert.id == alert.id).values(acknowledged_by="staff:2")
    )
    with pytest.raises(LookupError), db.single() as conn:
        assert conn.connection.dbapi_connection.autocommit  # type: ignore[union-attr]
        assert conn.execute(acknowledge).rowcount == 1
        raise LookupError("what comes after the statement does not undo it")
    with db.read() as s:
        by = s.scalar(select(DeskAlert.acknowledged_by).where(DeskAlert.id == alert.id))
    assert by == "staff:2"
    with db.engine.connect() as conn:  # the pool's connection is back in transactions
        assert not conn.connection.dbapi_connection.autocommit  # type: ignore[union-attr]


def test_a_connection_ended_while_idle_is_replaced_on_checkout(db: Database) -> None:
    with db.read() as s:
        first_pid = s.scalar(text("SELECT pg_backend_pid()"))
    other = Database(db.url)
    try:
        with other.read() as s:
            assert s.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": first_pid})
    finally:
        other.dispose()
    time.sleep(1.2)  # idle for longer than a moment: the checkout looks at the connection
    with db.read() as s:
        assert s.scalar(text("SELECT pg_backend_pid()")) != first_pid
