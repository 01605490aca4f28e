"""Engine and session factory: the one way to reach the database.

SQLite (embedded default) runs in WAL mode with foreign keys on and a busy timeout; write
transactions start with ``BEGIN IMMEDIATE`` so two kiosk processes never deadlock-retry on a
read-then-write. PostgreSQL (psycopg 3) is the multi-kiosk database.

No call waits without bound (:class:`~kiosk.config.DatabaseTimeouts`): a SQLite write gives up
after ``busy_timeout``; on PostgreSQL the server cancels a statement after
``statement_timeout``, and a link that silently drops packets is detected by the client's
``tcp_user_timeout`` and keepalives (the server's own timeout cannot help when its answer never
arrives). The failure is an ``OperationalError``: the kiosk's out-of-service path.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy import exc as exc_mod
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from kiosk.config import DatabaseTimeouts

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every model, core and plugins alike."""

    metadata = MetaData(naming_convention=NAMING)


class DatabaseUnavailable(Exception):
    """The database cannot be reached; the kiosk shows its out-of-service screen and retries."""


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (not psycopg2)."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


# Engines made without settings (benchmarks, workload and soak runs, tools): the same dead-link
# detection, but the waits of a batch job rather than of a person at a screen.
BATCH_TIMEOUTS = DatabaseTimeouts(statement_timeout=60, busy_timeout=15)


def postgres_connect_args(timeouts: DatabaseTimeouts) -> dict[str, Any]:
    """libpq parameters bounding every wait on a PostgreSQL connection."""
    return {
        "connect_timeout": timeouts.connect_timeout,
        "keepalives": 1,
        "keepalives_idle": timeouts.keepalives_idle,
        "keepalives_interval": max(1, min(timeouts.keepalives_idle, 2)),
        "keepalives_count": 3,
        # Unacknowledged data (or keepalive probes) for this long closes the connection.
        "tcp_user_timeout": timeouts.tcp_user_timeout * 1000,
        "options": f"-c statement_timeout={timeouts.statement_timeout * 1000}",
    }


def make_engine(url: str, timeouts: DatabaseTimeouts | None = None, **kwargs: Any) -> Engine:
    """Create an engine with the pragmas and transaction behaviour the kiosk relies on.

    ``timeouts`` come from the settings (``[database]``, sized for a person waiting at a
    kiosk or desk); without them, :data:`BATCH_TIMEOUTS`.
    """
    timeouts = timeouts or BATCH_TIMEOUTS
    busy_ms = timeouts.busy_timeout * 1000
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            # A fresh kiosk creates its database folder rather than failing on first start.
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": timeouts.busy_timeout}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy emit BEGIN itself (see _sqlite_begin) instead of pysqlite's
            # implicit, deferred transactions.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            immediate = conn.get_execution_options().get("kiosk_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    engine = create_engine(url, connect_args=postgres_connect_args(timeouts), **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    return engine


# A pooled connection back from use this recently is taken again without a ping.
PING_AFTER_IDLE_S = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection on checkout when it sat idle for over
    :data:`PING_AFTER_IDLE_S` (a server restart or a cut link shows there, and the pool takes
    a fresh connection instead), not when it was checked in a moment ago by the same
    operation: an operation's second and later sessions cost no extra round trip."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["kiosk.idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("kiosk.idle_since")
        if since is None or time.monotonic() - since <= PING_AFTER_IDLE_S:
            return  # a new connection, or one in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool discards this connection and checks out another (as pool_pre_ping).
            raise exc_mod.DisconnectionError(str(exc)) from exc


class Database:
    """Sessions for one database. ``write()`` for state changes, ``read()`` for lookups."""

    def __init__(
        self,
        url: str,
        engine: Engine | None = None,
        timeouts: DatabaseTimeouts | None = None,
        audit_key: Any = None,
    ) -> None:
        self.url = normalise_url(url)
        self.engine = engine or make_engine(self.url, timeouts)
        # The audit key (kiosk.audit.AuditKey) rides in every session's info: sealing and
        # verifying the chain find it there. None: an unkeyed chain.
        self.audit_key = audit_key
        info = {"kiosk.audit.key": audit_key} if audit_key is not None else None
        self._read = sessionmaker(self.engine, expire_on_commit=False, info=info)
        self._write = sessionmaker(
            self.engine.execution_options(kiosk_write=True), expire_on_commit=False, info=info
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any error."""
        session = self._write()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for lookups; nothing is committed."""
        session = self._read()
        try:
            yield session
        finally:
            # close() ends the transaction without expiring loaded objects, so callers may
            # still read what they fetched.
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
