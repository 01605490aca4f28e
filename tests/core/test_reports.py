"""The manager's reports in the core (kiosk/reports.py): the month and its weeks, the figures
every plugin gives, the HTML page drawn from them (escaped, self-contained), the manager role,
and matplotlib kept off every path but drawing."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kiosk.clock import FixedClock
from kiosk.errors import PermissionDenied, Refused
from kiosk.hookspecs import ReportFigure, ReportSeries
from kiosk.identity import Actor
from kiosk.reports import (
    collect_figures,
    figure_png,
    figure_table,
    format_value,
    render_html,
    report_period,
)

MANAGER = Actor("staff", 5, "周经理", frozenset({"manager"}))
BUTLER = Actor("staff", 1, "李管家", frozenset({"butler"}))
PNG = b"\x89PNG\r\n\x1a\n"


def test_a_month_runs_from_its_first_local_midnight_and_is_cut_into_weeks(ctx) -> None:
    """November 2026 in Shanghai: 1 November 00:00 local is 31 October 16:00 UTC; the weeks
    start on Mondays, the first and last clipped to the month."""
    period = report_period(ctx, "2026-11")
    assert period.start == dt.datetime(2026, 10, 31, 16, 0, tzinfo=dt.UTC)
    assert period.end == dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.UTC)
    assert (period.first_day, period.last_day) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    weeks = period.weeks()
    assert [w[0] for w in weeks] == ["11-01", "11-02", "11-09", "11-16", "11-23", "11-30"]
    assert weeks[0][1] == period.start and weeks[-1][2] == period.end
    assert all(a[2] == b[1] for a, b in zip(weeks, weeks[1:], strict=False))
    assert [m[0] for m in period.months_back(3)] == ["2026-09", "2026-10", "2026-11"]
    assert [m[0] for m in report_period(ctx, "2027-01").months_back(2)] == ["2026-12", "2027-01"]


def test_the_default_month_is_this_month_by_the_estate_clock(ctx) -> None:
    # 31 December 17:00 UTC is already 1 January in Shanghai: the report is January's, and its
    # "as of" is the clock's time, not the month's end.
    ctx.clock = FixedClock(dt.datetime(2026, 12, 31, 17, 0, tzinfo=dt.UTC))
    period = report_period(ctx)
    assert period.month == "2027-01" and period.as_of == ctx.clock.now()
    assert report_period(ctx, "2026-11").as_of == report_period(ctx, "2026-11").end


@pytest.mark.parametrize("month", ["2026-13", "November", "26-11", "2026-1", ""])
def test_a_month_is_read_strictly(ctx, month: str) -> None:
    if month == "":
        assert report_period(ctx, month).month == ctx.today().strftime("%Y-%m")
        return
    with pytest.raises(Refused) as refused:
        report_period(ctx, month)
    assert refused.value.code == "report.month"


def test_every_builtin_plugin_gives_its_figures_to_a_manager_only(ctx) -> None:
    period = report_period(ctx)
    figures = collect_figures(ctx, MANAGER, period)
    keys = {f.key for f in figures}
    assert {
        "repairs.timeliness_weekly", "repairs.timeliness_monthly", "repairs.rework_monthly",
        "repairs.complaints_by_grade", "parcels.aging", "umbrellas.stock", "parking.active",
        "parking.changes",
    } <= keys  # fmt: skip
    for f in figures:  # every series has one value per category
        assert all(len(s.values) == len(f.categories) for s in f.series), f.key
    # The demo's six umbrellas stand in lobby A.
    stock = next(f for f in figures if f.key == "umbrellas.stock")
    assert sum(stock.series[0].values) == 6 and stock.series[0].values[0] == 6
    only = collect_figures(ctx, MANAGER, period, ["parcels"])
    assert only and {f.report for f in only} == {"parcels"}
    with pytest.raises(PermissionDenied):
        collect_figures(ctx, BUTLER, period)


def _figure(**changes) -> ReportFigure:
    base = {
        "key": "test.figure", "report": "test", "title": "Tickets", "kind": "bar",
        "categories": ("a", "b"), "series": (ReportSeries("n", (1.0, None)),), "unit": "",
    }  # fmt: skip
    base.update(changes)
    return ReportFigure(**base)


def test_numbers_read_as_people_read_them() -> None:
    assert [format_value(v, "%") for v in (75.0, 33.3, None, 0.0)] == ["75%", "33.3%", "-", "0%"]
    assert format_value(3.0, "tickets") == "3"
    header, rows = figure_table(_figure())
    assert header == ["", "n"] and rows == [["a", "1"], ["b", "-"]]


@pytest.mark.parametrize("kind", ["bar", "line", "stacked"])
def test_every_kind_draws_a_png_even_without_a_cjk_font(kind: str, monkeypatch) -> None:
    import kiosk.reports as reports

    figure = _figure(kind=kind, title="维修 $x^2$", unit="%")
    assert figure_png(figure).startswith(PNG)
    monkeypatch.setattr(reports, "cjk_font", lambda: None)  # a machine without fonts-noto-cjk
    assert figure_png(_figure(kind=kind, series=())).startswith(PNG)


def test_the_page_escapes_every_text_from_the_data(ctx) -> None:
    evil = "<script>alert(1)</script>"
    figure = _figure(title=evil, categories=(evil, "b"), note=evil,
                     series=(ReportSeries(evil, (1.0, 2.0)),))  # fmt: skip
    page = render_html([figure], report_period(ctx, "2026-11"), "阳光花园", evil, evil)
    assert "<script>" not in page and page.count("&lt;script&gt;") >= 6
    assert page.count('src="data:image/png;base64,') == 1
    assert "http" not in page.replace("http-equiv", "")  # nothing fetched from anywhere


def test_report_month_writes_every_plugins_figures(ctx, tmp_path: Path, monkeypatch) -> None:
    from kiosk.cli import app

    monkeypatch.setenv("KIOSK_DATABASE_URL", ctx.database().url)
    out = tmp_path / "month.html"
    runner = CliRunner()
    args = ["report", "month", "--html", str(out), "--staff", "S005", "--pin", "1470"]
    result = runner.invoke(app, [*args, "--month", "2026-11", "--lang", "en", "--json"])
    assert result.exit_code == 0, result.stderr
    assert "repairs.timeliness_weekly" in result.stdout and "parking.changes" in result.stdout
    page = out.read_text("utf-8")
    assert "Manager&#x27;s monthly report" in page and "Umbrella stock" in page
    bad = runner.invoke(app, [*args, "--month", "2026-13"])
    assert bad.exit_code == 1 and "YYYY-MM" in bad.stderr
    assert runner.invoke(app, [*args, "--lang", "xx"]).exit_code == 2
    butler = ["report", "month", "--html", str(tmp_path / "b.html"), "--staff", "S001"]
    refused = runner.invoke(app, [*butler, "--pin", "2580"])
    assert refused.exit_code == 1 and "经理" in refused.stderr


def test_matplotlib_is_imported_only_to_draw(sqlite_demo_url: str) -> None:
    """The kiosk's start-up, the CLI's mounting of every plugin's commands and the collecting
    of figures never import matplotlib; drawing one does."""
    code = f"""
import sys
import kiosk.cli
kiosk.cli._mount_optional()
from tests.conftest import make_ctx
from kiosk.identity import Actor
from kiosk.reports import collect_figures, figure_png, report_period
ctx = make_ctx({sqlite_demo_url!r})
figures = collect_figures(ctx, Actor("staff", 5, "m", frozenset({{"manager"}})), report_period(ctx))
assert figures and "matplotlib" not in sys.modules, "matplotlib imported before drawing"
figure_png(figures[0])
assert "matplotlib" in sys.modules
"""
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
