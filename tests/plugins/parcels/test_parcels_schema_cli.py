"""The parcels CLI's report and carrier commands keep the exit-code contract (the migrated
tables are checked against the models with every other plugin's in tests/core/test_migrations.py)."""

from __future__ import annotations

import json

from parcels_helpers import BUTLER
from typer.testing import CliRunner

from plugins.parcels import service


def _cli():
    from kiosk.cli import CommandRegistry, app, report_app
    from plugins.parcels.cli import register

    if not any(g.name == "parcels" for g in app.registered_groups):
        register(CommandRegistry(app=app, report=report_app))
    return app


def test_kiosk_parcels_carrier(monkeypatch) -> None:
    runner = CliRunner()
    ok = runner.invoke(_cli(), ["parcels", "carrier", "SF1234567890123", "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["carrier"] == "SF"
    bad = runner.invoke(_cli(), ["parcels", "carrier", "12"])
    assert bad.exit_code == 1 and "not a tracking number" in bad.stderr


def test_kiosk_report_parcels_aging(ctx, monkeypatch, tmp_path) -> None:
    service.check_in(ctx, BUTLER, tracking="SF1000000000001", unit_code="1-101")
    monkeypatch.setenv("KIOSK_DATABASE_URL", ctx.database().url)
    runner = CliRunner()
    out = runner.invoke(_cli(), ["report", "parcels", "--aging", "--json"])
    assert out.exit_code == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["waiting"] == 3 and sum(report["buckets"].values()) == 3
    csv_out = runner.invoke(_cli(), ["report", "parcels", "--aging", "--csv"])
    assert csv_out.exit_code == 0 and csv_out.stdout.splitlines()[0].startswith("unit,tracking")
    assert runner.invoke(_cli(), ["report", "parcels"]).exit_code == 2
    assert runner.invoke(_cli(), ["report", "parcels", "--aging", "--json", "--csv"]).exit_code == 2


def test_the_service_layers_never_import_textual() -> None:
    import subprocess
    import sys

    code = (
        "import sys, plugins.parcels.service, plugins.visitors.service, plugins.parcels.cli, "
        "plugins.visitors.cli; assert 'textual' not in sys.modules, 'textual imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
