"""The monthly statistics (000: 每月月底统计) on a seeded month, and the CLI contract."""

from __future__ import annotations

import datetime as dt
import json

from repairs_helpers import seed_october
from typer.testing import CliRunner

from plugins.repairs import service


def test_the_monthly_report_counts_categories_statuses_sla_ratings_and_charges(ctx) -> None:
    seed_october(ctx)
    r = service.monthly_report(ctx, "2026-10")
    assert r["total"] == 5
    assert r["by_kind"] == {"complaint": 1, "repair": 4}
    assert r["by_category"] == {"plumbing.leak": 2, "doors.lock": 1, "electrical.no_power": 1,
                                "complaint.noise": 1}  # fmt: skip
    assert r["by_status"] == {"closed": 3, "in_progress": 1, "reopened": 1}
    assert (r["sla_measured"], r["sla_met"], r["sla_met_pct"]) == (4, 3, 75.0)
    assert (r["rated"], r["average_rating"]) == (4, 3.5)
    assert (r["paid_repairs"], r["paid_charges_fen"]) == (1, 12000)
    assert (r["emergencies"], r["reopens"]) == (1, 1)
    assert service.monthly_report(ctx, "2026-11")["total"] == 1


def _cli():
    from kiosk.cli import CommandRegistry, app, report_app
    from plugins.repairs.cli import register

    if not any(g.name == "repairs" for g in app.registered_groups):
        register(CommandRegistry(app=app, report=report_app))
    return app


def test_kiosk_report_repairs_prints_the_figures(ctx, monkeypatch) -> None:
    seed_october(ctx)
    monkeypatch.setenv("KIOSK_DATABASE_URL", ctx.database().url)
    runner = CliRunner()
    out = runner.invoke(_cli(), ["report", "repairs", "--month", "2026-10", "--json"])
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["sla_met_pct"] == 75.0
    text = runner.invoke(_cli(), ["report", "repairs", "--month", "2026-10"])
    assert "SLA met: 75.0% (3 of 4)" in text.stdout and "￥120.00" in text.stdout
    csv_out = runner.invoke(_cli(), ["report", "repairs", "--month", "2026-10", "--csv"])
    assert "category,plumbing.leak,2" in csv_out.stdout
    assert "summary,paid_charges_fen,12000" in csv_out.stdout
    bad = runner.invoke(_cli(), ["report", "repairs", "--month", "October"])
    assert bad.exit_code == 1 and "YYYY-MM" in bad.stderr
    assert runner.invoke(_cli(), ["report", "repairs"]).exit_code == 2
    both = ["report", "repairs", "--month", "2026-10", "--csv", "--json"]
    assert runner.invoke(_cli(), both).exit_code == 2


def test_a_month_is_read_strictly() -> None:
    from hypothesis import given
    from hypothesis import strategies as st

    from kiosk.config import Settings
    from kiosk.context import KioskContext
    from kiosk.errors import Refused

    ctx = KioskContext(settings=Settings(source="<test>"))

    @given(st.one_of(st.text(max_size=10),
                     st.builds("{}-{:02d}".format, st.integers(1, 9999), st.integers(1, 12))))  # fmt: skip
    def check(month: str) -> None:
        try:
            start, end = service.month_bounds(ctx, month)
        except Refused as exc:
            assert exc.code == "repairs.month"
            return
        assert dt.timedelta(days=28) <= end - start <= dt.timedelta(days=31)

    check()
