"""No database call waits without bound.

- PostgreSQL behind a link that silently drops every packet (tests/netcut.py, a private
  network namespace whose loopback is taken down): a card tap fails with an outage within
  about the configured ``tcp_user_timeout`` instead of hanging for minutes.
- A statement the server cannot finish is cancelled after ``statement_timeout``.
- SQLite: while another connection holds the write lock (``BEGIN IMMEDIATE``), a write gives
  up after ``busy_timeout`` with an outage, and interactive processes wait at most 5 s.

Every failure is one the kiosk recognises: a dead link is an outage (out-of-service screen), a
timeout on a reachable database is "busy, try again" (tests/ui/test_db_loss.py shows both).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from kiosk.config import Settings, parse_settings
from kiosk.context import KioskContext, open_context
from kiosk.db import Database
from kiosk.lobby import UnknownCardCounter, tap_card
from kiosk.ui.isolation import is_database_busy, is_database_outage
from tests.conftest import FAST, PostgresDatabases, fast_ctx, settings_for
from tests.netcut import BlackHoleLink

RESIDENT_CARD = "3C00A1B2C3"


def test_the_defaults_bound_every_wait() -> None:
    t = parse_settings({}, "<test>").database_timeouts
    assert (t.statement_timeout, t.tcp_user_timeout, t.connect_timeout) == (5, 10, 5)
    assert t.busy_timeout <= 5
    custom = parse_settings(
        {"database": {"statement_timeout": 8, "tcp_user_timeout": 20, "busy_timeout": 3}}, "<t>"
    ).database_timeouts
    assert (custom.statement_timeout, custom.tcp_user_timeout, custom.busy_timeout) == (8, 20, 3)


def test_a_postgres_connection_carries_the_limits(postgres: PostgresDatabases) -> None:
    url = postgres.fresh(seeded=False)
    ctx = open_context(settings_for(url))  # as the kiosk and the desk open it
    try:
        with ctx.database().engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "5s"
            params = conn.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
    finally:
        ctx.database().dispose()
    assert params["tcp_user_timeout"] == "10000"
    assert params["keepalives"] == "1" and int(params["keepalives_idle"]) == 5
    assert params["connect_timeout"] == "5"


def test_a_tap_over_a_black_holed_link_fails_instead_of_hanging(
    black_holed: tuple[BlackHoleLink, KioskContext],
) -> None:
    link, kiosk = black_holed
    with link.executor() as pool:
        # Through the link, as a kiosk's worker thread would: the tap works, the pool is warm.
        first = pool.submit(tap_card, kiosk, RESIDENT_CARD, UnknownCardCounter()).result(30)
        assert first.kind == "resident"
        link.blackhole()
        tap = pool.submit(tap_card, kiosk, RESIDENT_CARD, UnknownCardCounter())
        bound = 5 * FAST.tcp_user_timeout
        try:
            with pytest.raises(OperationalError) as failed:
                tap.result(timeout=bound)
        except FutureTimeout:
            pytest.fail(f"the tap still hangs {bound} s after the link went dead")
        finally:
            link.restore()  # a hung call (without the limits) finishes, and the pool exits
        assert is_database_outage(failed.value) and not is_database_busy(failed.value)
        # The link is back: the same kiosk serves again.
        again = pool.submit(tap_card, kiosk, RESIDENT_CARD, UnknownCardCounter()).result(30)
        assert again.kind == "resident"


def test_the_server_cancels_a_statement_after_the_statement_timeout(
    postgres: PostgresDatabases,
) -> None:
    url = postgres.fresh(seeded=False)
    db = Database(url, timeouts=FAST)
    try:
        with pytest.raises(OperationalError) as failed, db.read() as s:
            s.execute(text("SELECT pg_sleep(30)"))
    finally:
        db.dispose()
    assert "statement timeout" in str(failed.value)
    assert is_database_busy(failed.value)  # the kiosk says "busy, try again"


@pytest.fixture
def locked_sqlite(sqlite_demo_url: str) -> Iterator[str]:
    """The demo estate on SQLite with another connection holding its write lock."""
    holder = sqlite3.connect(sqlite_demo_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    yield sqlite_demo_url
    holder.rollback()
    holder.close()


def test_a_write_behind_a_held_sqlite_lock_gives_up_after_the_busy_timeout(
    locked_sqlite: str,
) -> None:
    from plugins.parcels import service
    from tests.core.test_crash import BUTLER

    kiosk = fast_ctx(locked_sqlite)
    try:
        # Reads are not blocked (WAL): the tap's lookup still works.
        assert tap_card(kiosk, RESIDENT_CARD, UnknownCardCounter()).kind == "resident"
        started = time.monotonic()
        with pytest.raises(OperationalError) as failed:
            service.check_in(
                kiosk, BUTLER, tracking="SF7000000000009", unit_code="1-101", recipient="张伟"
            )
        waited = time.monotonic() - started
    finally:
        kiosk.database().dispose()
    assert "locked" in str(failed.value)
    assert is_database_busy(failed.value)  # the kiosk says "busy, try again"
    assert waited < FAST.busy_timeout + 5


def test_interactive_sqlite_waits_at_most_five_seconds(tmp_path: Path) -> None:
    ctx = open_context(Settings(database_url=f"sqlite:///{tmp_path / 'k.db'}"))
    try:
        with ctx.database().engine.connect() as conn:
            busy_ms = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
    finally:
        ctx.database().dispose()
    assert busy_ms is not None and 0 < busy_ms <= 5000
    # A batch run without settings (benchmark, workload) may wait longer, but not forever.
    batch = Database(ctx.settings.database_url)
    try:
        with batch.engine.connect() as conn:
            batch_ms = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
    finally:
        batch.dispose()
    assert batch_ms is not None and busy_ms < batch_ms <= 60_000
