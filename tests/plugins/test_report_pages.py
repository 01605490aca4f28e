"""``kiosk report parcels|parking|umbrellas|surveys --html FILE``: each plugin's page of charts, for a
manager, in the language asked for (the repairs page has its own tests, with Chromium)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

MANAGER = ["--staff", "S005", "--pin", "1470"]


def _cli(plugin: str):  # type: ignore[no-untyped-def]
    from kiosk.cli import CommandRegistry, app, report_app

    if plugin not in {c.name for c in report_app.registered_commands}:
        importlib.import_module(f"plugins.{plugin}.cli").register(
            CommandRegistry(app=app, report=report_app)
        )
    return app


@pytest.mark.parametrize(
    ("plugin", "keys", "title"),
    [
        ("parcels", ["parcels.aging", "parcels.weekly"], "待取包裹滞留天数"),
        ("parking", ["parking.active", "parking.changes"], "在租停车月卡"),
        ("umbrellas", ["umbrellas.stock", "umbrellas.weekly"], "雨伞库存"),
        ("surveys", ["surveys.average", "surveys.scores"], "各题平均分"),
    ],
)
def test_a_plugins_report_page_holds_its_charts(
    kctx, tmp_path: Path, monkeypatch, plugin: str, keys: list[str], title: str
) -> None:
    monkeypatch.setenv("KIOSK_DATABASE_URL", kctx.database().url)
    out = tmp_path / f"{plugin}.html"
    args = ["report", plugin, "--html", str(out), "--lang", "zh_CN", "--month", "2026-11"]
    result = CliRunner().invoke(_cli(plugin), [*args, *MANAGER])
    assert result.exit_code == 0, result.stderr
    page = out.read_text("utf-8")
    assert page.count('src="data:image/png;base64,') == len(keys)
    assert all(f'id="{key}"' in page for key in keys) and title in page
    cashier = CliRunner().invoke(_cli(plugin), [*args, "--staff", "S002", "--pin", "1357"])
    assert cashier.exit_code == 1 and "经理" in cashier.stderr  # the role, in the page's language
