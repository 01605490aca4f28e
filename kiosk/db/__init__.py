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

import datetime as dt
import select
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, DateTime, Engine, MetaData, Select, create_engine, event
from sqlalchemy import exc as exc_mod
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from kiosk.config import DatabaseTimeouts

if TYPE_CHECKING:
    from kiosk.context import KioskContext

Row = TypeVar("Row")
View = TypeVar("View")

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
    # Every time is stored with its zone (as UTC): a ``Mapped[dt.datetime]`` needs no type.
    type_annotation_map = {dt.datetime: DateTime(timezone=True)}


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
# Back from use this recently (but not in the last PING_AFTER_IDLE_S): its socket is polled,
# and pinged only when something arrived while it was idle.
POLL_UNTIL_IDLE_S = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection on checkout when it sat idle for over
    :data:`PING_AFTER_IDLE_S` (a server restart or a cut link shows there, and the pool takes
    a fresh connection instead), not when it was checked in a moment ago by the same
    operation: an operation's second and later sessions cost no extra round trip.

    Idle for up to :data:`POLL_UNTIL_IDLE_S` (a person's next step at the kiosk), the check is
    a poll of the socket rather than a round trip: a server that restarts or ends the session
    says so and closes the connection, and the socket reads as ready; only then is it pinged.
    Idle for longer (the link's keepalives may not have probed it yet), it is pinged."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["kiosk.idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("kiosk.idle_since")
        if since is None:
            return  # a new connection
        idle = time.monotonic() - since
        if idle <= PING_AFTER_IDLE_S:
            return  # in use a moment ago
        if idle <= POLL_UNTIL_IDLE_S and not _has_input(dbapi_conn):
            return  # nothing came from the server while it sat idle
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool discards this connection and checks out another (as pool_pre_ping).
            raise exc_mod.DisconnectionError(str(exc)) from exc


def _has_input(dbapi_conn: Any) -> bool:
    """Whether the idle connection's socket has something to read (a notice, an error, its
    end), without waiting."""
    try:
        poller = select.poll()
        poller.register(dbapi_conn.pgconn.socket, select.POLLIN)
        return bool(poller.poll(0))
    except Exception:  # noqa: BLE001 - no socket to poll: let the ping find out
        return True


def _connection_of(session: Session) -> Any:
    """The DBAPI connection of the session's transaction (checked out now if not yet)."""
    return session.connection().connection.dbapi_connection


def _end_autocommit(dbapi_conn: Any, record: Any) -> None:
    """A connection back in the pool is in transactions again (whoever takes it next)."""
    if dbapi_conn is None or not dbapi_conn.autocommit:
        return
    try:
        dbapi_conn.autocommit = False
    except Exception:  # noqa: BLE001 - a broken connection: the pool opens another
        record.invalidate()


def _read_only(session: Session, _context: Any, _instances: Any) -> None:
    raise RuntimeError("a read session flushed changes: make them in Database.write()")


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
        info = {"kiosk.audit.key": audit_key} if audit_key is not None else {}
        self._write_engine = self.engine.execution_options(kiosk_write=True)
        self._write = sessionmaker(self._write_engine, expire_on_commit=False, info=info)
        self._read = sessionmaker(self.engine, expire_on_commit=False, info=info)
        # PostgreSQL in READ COMMITTED (its default, the kiosk's) gives every statement of a
        # transaction a snapshot of its own: a read's transaction adds nothing but its BEGIN
        # and ROLLBACK, two round trips, so a read runs each statement on its own (psycopg's
        # autocommit, set on the session's connection and ended when the pool takes it back).
        # SQLite's BEGIN and COMMIT are no round trips; a write there must take the write
        # lock (BEGIN IMMEDIATE) before it reads.
        self._autocommit = not self.is_sqlite
        if self._autocommit:
            self._read_only = sessionmaker(self.engine, expire_on_commit=False, info=info)
            event.listen(self._read_only, "before_flush", _read_only)
            if not event.contains(self.engine, "checkin", _end_autocommit):
                event.listen(self.engine, "checkin", _end_autocommit)
        else:
            self._read_only = self._read

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
    def single(self) -> Iterator[Connection]:
        """A connection for a change that is one statement (a conditional ``UPDATE``, an
        ``INSERT``), off the ORM: on PostgreSQL the statement commits as it runs, one round
        trip instead of three (``BEGIN``, the statement, ``COMMIT``), and several statements
        each commit on their own. An audit event needs a :meth:`write` session (the chain
        head's lock is held until the commit). On SQLite, a write transaction."""
        if not self._autocommit:
            with self._write_engine.begin() as conn:
                yield conn
            return
        with self.engine.connect() as conn:
            conn.connection.dbapi_connection.autocommit = True  # type: ignore[union-attr]
            yield conn

    @contextmanager
    def read(self, transaction: bool = False) -> Iterator[Session]:
        """A session for lookups; nothing is committed.

        On PostgreSQL each statement runs on its own (see ``__init__``): as in a transaction
        at READ COMMITTED, each sees what was committed when it started, and flushing a
        changed object raises. ``transaction=True`` for a read that needs its transaction
        (``SET LOCAL``, a dry run that writes and rolls back)."""
        autocommit = self._autocommit and not transaction
        session = (self._read_only if autocommit else self._read)()
        try:
            if autocommit:
                _connection_of(session).autocommit = True
            yield session
        finally:
            # close() ends the transaction without expiring loaded objects, so callers may
            # still read what they fetched.
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def read_views(
    ctx: KioskContext,
    query: Select[Row],
    view: Callable[[KioskContext, Session, Row], View],
) -> list[View]:
    """``view(ctx, session, row)`` of every row ``query`` selects, in ``query``'s order, all in
    one read session (a view may look up more, e.g. the row's unit)."""
    with ctx.database().read() as session:
        return [view(ctx, session, row) for row in session.scalars(query)]
