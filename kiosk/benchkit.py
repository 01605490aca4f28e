"""What the benchmarks (``bench/*.py``, loaded by path) and the soak share: percentile
summaries, throw-away databases (empty or holding the demo estate) on either backend, and bulk
loading below the ORM.

PostgreSQL databases are created next to ``KIOSK_BENCH_DATABASE_URL``, else
``KIOSK_TEST_DATABASE_URL``, else 127.0.0.1:5432/test, and dropped afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import os
import shutil
import statistics
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kiosk.clock import Clock, clock_from_env
from kiosk.config import Settings
from kiosk.context import KioskContext
from kiosk.db import Database
from kiosk.plugins import KioskPlugins, load_plugins

PG_ADMIN = os.environ.get(
    "KIOSK_BENCH_DATABASE_URL",
    os.environ.get("KIOSK_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)
BACKENDS = ("sqlite", "postgresql", "both")


class ScratchUnavailable(RuntimeError):
    """The throw-away database could not be created (PostgreSQL unreachable, say)."""


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(ms: list[float]) -> dict[str, float]:
    """p50 / p95 / p99 / mean of timings in milliseconds."""
    return {
        "p50_ms": round(percentile(ms, 0.50), 3),
        "p95_ms": round(percentile(ms, 0.95), 3),
        "p99_ms": round(percentile(ms, 0.99), 3),
        "mean_ms": round(statistics.fmean(ms), 3) if ms else 0.0,
    }


@contextlib.contextmanager
def scratch_database(backend: str, name: str = "bench") -> Iterator[str]:
    """An empty database for one run, gone afterwards: a file in a temporary folder, or a
    PostgreSQL database beside :data:`PG_ADMIN` (:class:`ScratchUnavailable` if it can't be
    made). Yields its URL."""
    if backend == "sqlite":
        folder = tempfile.mkdtemp(prefix=f"kiosk-{name}-")
        try:
            yield f"sqlite:///{folder}/{name}.db"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    db_name = f"kiosk_{name}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    except Exception as exc:
        admin.dispose()
        raise ScratchUnavailable(f"{type(exc).__name__}: {exc}"[:200]) from exc
    try:
        yield make_url(PG_ADMIN).set(database=db_name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def demo_database(
    backend: str, plugins: KioskPlugins, name: str = "bench", clock: Clock | None = None
) -> Iterator[str]:
    """A scratch database holding the migrated demo estate (seeded at ``clock``'s time)."""
    from kiosk.demo import build_demo_database

    with scratch_database(backend, name) as url:
        build_demo_database(bench_context(url, plugins, clock, name=name, kiosk_id=None))
        yield url


def bench_context(
    url: str,
    plugins: KioskPlugins,
    clock: Clock | None = None,
    *,
    name: str = "bench",
    kiosk_id: str | None = "bench",
    demo: bool = False,
) -> KioskContext:
    """A context on the scratch database ``url`` (settings from ``<name>``, acting as kiosk
    ``kiosk_id``, or the default kiosk) at ``clock``'s time, else the environment's; with
    ``demo`` the database is migrated and seeded with the demo estate first."""
    settings = Settings(source=f"<{name}>", database_url=url)
    if kiosk_id is not None:
        settings = dataclasses.replace(settings, kiosk_id=kiosk_id)
    ctx = KioskContext(
        settings=settings, clock=clock or clock_from_env(), db=Database(url), plugins=plugins
    )
    if demo:
        from kiosk.demo import build_demo_database

        build_demo_database(ctx)
    return ctx


def on_backends(
    choice: str, name: str, measure: Callable[[str, KioskPlugins], dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """``measure(url, plugins)`` on a scratch database of each backend ``choice`` names
    (``sqlite``, ``postgresql`` or ``both``), with the kiosk's plugins (loaded once, for every
    backend). An unreachable PostgreSQL is reported as skipped: the SQLite figures still stand."""
    plugins = load_plugins()
    results: dict[str, dict[str, Any]] = {}
    for backend in ("sqlite", "postgresql"):
        if choice not in (backend, "both"):
            continue
        try:
            with scratch_database(backend, name) as url:
                results[backend] = measure(url, plugins)
        except ScratchUnavailable as exc:
            results[backend] = {"skipped": str(exc)}
    return results


def backend_options(name: str, argv: list[str] | None, **sizes: int) -> argparse.Namespace:
    """The options of ``kiosk bench <name>`` measured by :func:`on_backends`: one whole-number
    option a keyword (``panel_tickets=100_000`` is ``--panel-tickets``, default 100,000), in
    that order, then ``--backend``."""
    parser = argparse.ArgumentParser(prog=f"kiosk bench {name}")
    for size, default in sizes.items():
        parser.add_argument("--" + size.replace("_", "-"), type=int, default=default)
    parser.add_argument("--backend", choices=BACKENDS, default="both")
    return parser.parse_args(argv or [])


def _sqlite_value(v: Any) -> Any:
    # As SQLAlchemy stores them in SQLite.
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def bulk_load(
    db: Database, table: str, cols: tuple[str, ...], rows: Iterable[tuple[Any, ...]]
) -> None:
    """Insert many rows below the ORM: COPY on PostgreSQL, ``executemany`` in chunks of
    50,000 in one transaction on SQLite."""
    raw = db.engine.raw_connection()
    try:
        cur: Any = raw.cursor()
        if db.is_sqlite:
            sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            chunk: list[tuple[Any, ...]] = []
            cur.execute("BEGIN")
            for row in rows:
                chunk.append(tuple(_sqlite_value(v) for v in row))
                if len(chunk) == 50_000:
                    cur.executemany(sql, chunk)
                    chunk.clear()
            if chunk:
                cur.executemany(sql, chunk)
            cur.execute("COMMIT")
        else:
            with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            raw.commit()
    finally:
        raw.close()
