"""The billing branch of the migrations creates exactly the tables the models describe."""

from __future__ import annotations

from kiosk.db import make_engine
from kiosk.db.migrate import status
from kiosk.plugins import load_plugins


def test_the_billing_migration_is_applied(db_url: str) -> None:
    # The migrated schema equals the models' (billing's tables included):
    # tests/core/test_migrations.py.
    engine = make_engine(db_url)
    current, _ = status(engine, load_plugins())
    engine.dispose()
    assert "b0001_billing" in current


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
