"""The billing branch of the migrations creates exactly the tables the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from kiosk.db import Base, make_engine
from kiosk.db.migrate import status
from kiosk.plugins import load_plugins


def _ours(diff_item: object) -> bool:
    return "billing_" in repr(diff_item)


def test_the_billing_migration_matches_the_models(db_url: str) -> None:
    plugins = load_plugins()
    engine = make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    current, _ = status(engine, plugins)
    engine.dispose()
    assert "b0001_billing" in current
    assert [d for d in diff if _ours(d)] == []


def test_the_billing_service_runs_headless_without_textual() -> None:
    import subprocess
    import sys

    code = (
        "import sys, plugins.billing, plugins.billing.service, plugins.billing.cli, "
        "plugins.billing.providers, plugins.billing.gateway, plugins.billing.notify_server; "
        "print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
