"""The visitors report CLI prints 来访人员登记表 with the exit-code contract (every message
is checked for a translation in tests/plugins/test_plugin_translations.py)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from plugins.visitors import service


def _cli():
    from kiosk.cli import CommandRegistry, app, report_app
    from plugins.visitors.cli import register

    if not any(g.name == "visitors" for g in app.registered_groups):
        register(CommandRegistry(app=app, report=report_app))
    return app


def test_kiosk_report_visitors(ctx, monkeypatch) -> None:
    service.register_walkup(
        ctx, name="赵六一", phone="13912345678", unit_code="3-1205", purpose="探亲"
    )
    day = ctx.clock.now().date().isoformat()
    monkeypatch.setenv("KIOSK_DATABASE_URL", ctx.database().url)
    runner = CliRunner()
    out = runner.invoke(_cli(), ["report", "visitors", "--day", day, "--json"])
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)[0]["访客姓名"] == "赵*一"
    out = runner.invoke(_cli(), ["report", "visitors", "--day", day, "--csv"])
    assert out.exit_code == 0 and "139****5678" in out.stdout and "13912345678" not in out.stdout
    assert runner.invoke(_cli(), ["report", "visitors", "--day", "yesterday"]).exit_code == 2
    assert runner.invoke(_cli(), ["visitors", "purge"]).exit_code == 0
