"""Migrations: the migrated schema is exactly the models', on both databases, and several kiosks
starting at once against one PostgreSQL database create it once."""

from __future__ import annotations

import threading

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from kiosk.db import Base, make_engine
from kiosk.db.migrate import status, upgrade
from kiosk.plugins import load_plugins


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    plugins = load_plugins()
    engine = make_engine(db_url)
    upgrade(engine, plugins)  # already at head: a no-op
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_status_reports_current_heads(db_url: str) -> None:
    engine = make_engine(db_url)
    applied, pending = status(engine, load_plugins())
    engine.dispose()
    assert pending == [] and "0001_core" in applied


def test_a_new_database_upgrades_from_nothing(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'fresh.db'}")
    plugins = load_plugins()
    upgrade(engine, plugins)
    applied, pending = status(engine, plugins)
    assert "0001_core" in applied and pending == []
    assert {"estate", "unit", "resident", "card", "staff", "audit_event", "print_job"} <= set(
        inspect(engine).get_table_names()
    )
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_kiosks_starting_together_migrate_once(postgres) -> None:
    url = postgres._create(f"{postgres.prefix}_race")
    errors: list[BaseException] = []
    plugins = load_plugins()

    def start_kiosk() -> None:
        engine = make_engine(url)
        try:
            upgrade(engine, plugins)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=start_kiosk) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    engine = create_engine(url)
    with engine.connect() as conn:
        versions = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    engine.dispose()
    assert len(versions) == len(set(versions))
    applied, pending = status(make_engine(url), plugins)
    assert "0001_core" in applied and pending == []


def test_a_kiosk_is_told_when_its_database_was_never_set_up(db_url: str, tmp_path) -> None:
    from kiosk.db import Database
    from kiosk.db.migrate import not_set_up
    from kiosk.plugins import load_plugins

    plugins = load_plugins()
    current = Database(db_url)
    assert not_set_up(current.engine, plugins) is None
    current.dispose()
    empty = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    said = not_set_up(empty.engine, plugins)
    empty.dispose()
    assert said is not None and "is not set up" in said and "kiosk init" in said
    assert "0001_core" in said


def test_the_quick_start_check_reads_the_versions_as_alembic_does(tmp_path) -> None:
    """A kiosk checks its schema without importing Alembic: the same missing revisions as
    Alembic's own reading, on a database behind by a migration and on a current one."""
    from sqlalchemy import text

    from kiosk.db.migrate import _missing_fast

    plugins = load_plugins()
    engine = make_engine(f"sqlite:///{tmp_path / 'k.db'}")
    assert _missing_fast(engine, plugins) == status(engine, plugins)[1] != []
    upgrade(engine, plugins)
    assert _missing_fast(engine, plugins) == status(engine, plugins)[1] == []
    with engine.begin() as conn:  # as if the core's last migration had not run yet
        conn.execute(
            text("UPDATE alembic_version SET version_num = '0004_alert_text' "
                 "WHERE version_num = '0005_audit_head'")
        )  # fmt: skip
    missing = _missing_fast(engine, plugins)
    assert missing == status(engine, plugins)[1] == ["0005_audit_head"]
    engine.dispose()
