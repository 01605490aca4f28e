"""Engine and session factory: the one way to reach the database.

SQLite (embedded default) runs in WAL mode with foreign keys on and a busy timeout; write
transactions start with ``BEGIN IMMEDIATE`` so two kiosk processes never deadlock-retry on a
read-then-write. PostgreSQL (psycopg 3) is the multi-kiosk database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

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


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the pragmas and transaction behaviour the kiosk relies on."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            # A fresh kiosk creates its database folder rather than failing on first start.
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 15}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy emit BEGIN itself (see _sqlite_begin) instead of pysqlite's
            # implicit, deferred transactions.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=15000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            immediate = conn.get_execution_options().get("kiosk_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, connect_args={"connect_timeout": 5}, **kwargs)


class Database:
    """Sessions for one database. ``write()`` for state changes, ``read()`` for lookups."""

    def __init__(self, url: str, engine: Engine | None = None, audit_key: Any = None) -> None:
        self.url = normalise_url(url)
        self.engine = engine or make_engine(self.url)
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
