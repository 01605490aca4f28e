"""Shared fixtures: databases on SQLite and PostgreSQL, contexts, the demo estate.

PostgreSQL: ``KIOSK_TEST_DATABASE_URL`` (default postgres@127.0.0.1:5432/test). When it is
unreachable the PostgreSQL variants skip with the reason, except under ``CI=true`` where they
fail: CI must run the suite on both databases.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kiosk.clock import NOW_ENV, SCENARIO_START, FixedClock
from kiosk.config import DatabaseTimeouts, Settings
from kiosk.context import KioskContext
from kiosk.db import Database
from kiosk.plugins import KioskPlugins, load_plugins

PG_URL = os.environ.get(
    "KIOSK_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = Path("/usr/bin/chromium")


def missing(message: str) -> NoReturn:
    """Something a test needs is not on this machine: the test is skipped with ``message``,
    except under ``CI=true``, where everything the suite needs must be there: it fails."""
    if IN_CI:
        pytest.fail(message + " -- required under CI=true")
    pytest.skip(message)


def need_chromium() -> None:
    """Debian's Chromium, for the tests that look at a page in a real browser."""
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is missing (apt-get install chromium; `make venv` does as root)")


# Kiosks the suite starts (``kiosk run`` on a pty) remember their tiles under the cache
# folder (kiosk/ui/tile_memory.py): one of the suite's own, never the user's.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="kiosk-tests-cache-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], True)


@pytest.fixture(autouse=True)
def _one_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command a test runs, in process or as a subprocess, reads the same time as the
    fixtures' FixedClock: a test never mixes the fixed clock with the wall clock, so the suite
    passes on any date. A test that moves ``ctx.clock`` and then runs a command passes the
    moved time itself (``now_env(ctx)``)."""
    monkeypatch.setenv(NOW_ENV, SCENARIO_START.isoformat())


@pytest.fixture(autouse=True)
def _steady_cursor(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a snapshot, a focused field's cursor is shown and stays: Textual blinks it every half
    second, and on a loaded machine the picture was taken in the other half."""
    if "snap_compare" in request.fixturenames:
        from textual.widgets import Input

        monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


def now_env(ctx: KioskContext) -> dict[str, str]:
    """The environment that makes a command see ``ctx``'s clock (for ``CliRunner.invoke``)."""
    return {NOW_ENV: ctx.clock.now().isoformat()}


def settings_for(url: str, **overrides: object) -> Settings:
    base = dict(database_url=url, kiosk_id="test-kiosk", lobby="A", source="<tests>")
    base.update(overrides)
    return Settings(**base)  # type: ignore[arg-type]


def make_ctx(
    url: str, plugins: KioskPlugins | None = None, clock: FixedClock | None = None
) -> KioskContext:
    return KioskContext(
        settings=settings_for(url),
        clock=clock or FixedClock(),
        db=Database(url),
        plugins=plugins if plugins is not None else load_plugins(),
    )


# Short database limits, so the tests of waits that must end are quick; the code path is the one
# the defaults take.
FAST = DatabaseTimeouts(
    connect_timeout=2, statement_timeout=1, tcp_user_timeout=2, keepalives_idle=1, busy_timeout=1
)


def fast_ctx(url: str) -> KioskContext:
    """A kiosk on ``url`` with the :data:`FAST` database limits."""
    return KioskContext(
        settings=settings_for(url, database_timeouts=FAST),
        clock=FixedClock(),
        db=Database(url, timeouts=FAST),
        plugins=load_plugins(),
    )


@pytest.fixture
def black_holed(postgres: PostgresDatabases) -> Iterator[tuple[Any, KioskContext]]:
    """A kiosk (:func:`fast_ctx`) on a fresh demo estate in PostgreSQL, reached through a
    :class:`tests.netcut.BlackHoleLink`, which the test may black-hole and restore."""
    from tests.netcut import BlackHoleLink, PrivateNetworkUnavailable

    url = postgres.fresh(seeded=True)
    try:
        link, through = BlackHoleLink.to(url)
    except PrivateNetworkUnavailable as exc:
        missing(f"cannot make a private network for the black-hole link (needs root): {exc}")
    kiosk = fast_ctx(through)
    yield link, kiosk
    link.restore()
    kiosk.database().dispose()
    link.close()


def _migrate_and_maybe_seed(url: str, seed: bool) -> None:
    from kiosk.demo import build_demo_database

    build_demo_database(make_ctx(url), seed=seed)


class PostgresDatabases:
    """Creates throw-away databases from migrated (and seeded) templates."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.prefix = f"kiosk_t{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []
        self.templates: dict[bool, str] = {}

    def _url(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def _create(self, name: str, template: str | None = None) -> str:
        with self.admin.connect() as conn:
            clause = f" TEMPLATE {template}" if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        self.created.append(name)
        return self._url(name)

    def fresh(self, seeded: bool) -> str:
        if seeded not in self.templates:
            name = f"{self.prefix}_tpl{int(seeded)}"
            _migrate_and_maybe_seed(self._create(name), seeded)
            self.templates[seeded] = name
        return self._create(f"{self.prefix}_{len(self.created)}", self.templates[seeded])

    def close(self) -> None:
        with self.admin.connect() as conn:
            for name in reversed(self.created):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001
        missing(
            f"PostgreSQL at {PG_URL} is unreachable ({type(exc).__name__}); "
            "set KIOSK_TEST_DATABASE_URL"
        )
    dbs = PostgresDatabases(PG_URL)
    yield dbs
    dbs.close()


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    root = tmp_path_factory.mktemp("templates")
    out = {}
    for seeded in (False, True):
        path = root / f"tpl{int(seeded)}.db"
        _migrate_and_maybe_seed(f"sqlite:///{path}", seeded)
        out[seeded] = path
    return out


def _database_url(request: pytest.FixtureRequest, tmp_path: Path, seeded: bool) -> str:
    if request.param == "postgresql":
        return request.getfixturevalue("postgres").fresh(seeded)
    templates = request.getfixturevalue("sqlite_templates")
    target = tmp_path / "kiosk.db"
    shutil.copyfile(templates[seeded], target)
    return f"sqlite:///{target}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database on each backend."""
    return _database_url(request, tmp_path, seeded=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def demo_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database holding the demo estate, on each backend."""
    return _database_url(request, tmp_path, seeded=True)


@pytest.fixture
def sqlite_demo_url(sqlite_templates: dict[bool, Path], tmp_path: Path) -> str:
    """The demo estate on SQLite only (UI and device-flow tests)."""
    target = tmp_path / "kiosk.db"
    shutil.copyfile(sqlite_templates[True], target)
    return f"sqlite:///{target}"


@pytest.fixture
def ctx(demo_url: str) -> Iterator[KioskContext]:
    """A context over the demo estate, on each backend, with a fixed clock."""
    context = make_ctx(demo_url)
    yield context
    context.database().dispose()
