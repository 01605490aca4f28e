"""The manager's repairs report as pictures (issue 14): timeliness (及时率) computed from the
seeded October tickets, the HTML page ``kiosk report repairs --html`` writes, and that page
opened in headless Chromium, whose screenshot must show the charts.

Uses Debian's chromium (``/usr/bin/chromium``, installed by ``make venv`` as root) through
playwright; without it the browser test skips, except under ``CI=true`` where it fails.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from repairs_helpers import seed_october
from sqlalchemy import select
from typer.testing import CliRunner

from kiosk.clock import FixedClock
from kiosk.identity import Actor
from kiosk.reports import collect_figures, report_period
from plugins.repairs.models import RepairTicket
from tests.conftest import CHROMIUM, need_chromium

MANAGER = Actor("staff", 5, "周经理", frozenset({"manager", "butler", "cashier"}))
NOVEMBER = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)  # the report is read a month later


def october_timeliness(ctx) -> float:
    """及时率 straight from the tickets: on time among those whose clocks stopped."""
    start, end = report_period(ctx, "2026-10").start, report_period(ctx, "2026-10").end
    with ctx.database().read() as session:
        met = session.scalars(
            select(RepairTicket.sla_met).where(
                RepairTicket.created_at >= start,
                RepairTicket.created_at < end,
                RepairTicket.sla_met.is_not(None),
            )
        ).all()
    return round(100.0 * sum(met) / len(met), 1)


def _cli():
    from kiosk.cli import CommandRegistry, app, report_app
    from plugins.repairs.cli import register

    if not any(g.name == "repairs" for g in app.registered_groups):
        register(CommandRegistry(app=app, report=report_app))
    return app


def test_the_timeliness_figures_match_the_tickets(ctx, english) -> None:
    """Three of the four October tickets whose clocks stopped were on time: 75% in the week of
    5 October (all were filed that Monday) and in October's point of the monthly line; the
    other weeks measured nothing (a gap, not 0%). The one complaint was graded minor."""
    seed_october(ctx)
    ctx.clock = FixedClock(NOVEMBER)
    expected = october_timeliness(ctx)
    assert expected == 75.0
    figures = {
        f.key: f for f in collect_figures(ctx, MANAGER, report_period(ctx, "2026-10"), ["repairs"])
    }
    weekly = figures["repairs.timeliness_weekly"]
    assert weekly.categories == ("10-01", "10-05", "10-12", "10-19", "10-26")
    assert weekly.series[0].values == (None, expected, None, None, None)
    assert "3 of 4" in weekly.note
    monthly = figures["repairs.timeliness_monthly"]
    assert monthly.categories[-1] == "2026-10" and monthly.series[0].values[-1] == expected
    assert monthly.series[0].values[:-1] == (None,) * 5
    # Three repairs completed, none came back; the reopened ticket is the complaint.
    assert figures["repairs.rework_monthly"].series[0].values[-1] == 0.0
    grades = figures["repairs.complaints_by_grade"].series[0].values
    assert grades == (1.0, 0.0, 0.0, 0.0)  # minor, important, major, not graded


def test_only_a_manager_draws_the_report(ctx, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KIOSK_DATABASE_URL", ctx.database().url)
    out = tmp_path / "r.html"
    runner = CliRunner()
    butler = ["report", "repairs", "--html", str(out), "--staff", "S001", "--pin", "2580"]
    refused = runner.invoke(_cli(), butler)
    assert refused.exit_code == 1 and "经理" in refused.stderr and not out.exists()
    nobody = runner.invoke(_cli(), ["report", "repairs", "--html", str(out)])
    assert nobody.exit_code == 2 and "--staff" in nobody.stderr


def _page_shot(page_file: Path, shot: Path) -> dict[str, int]:
    """Open ``page_file`` in headless Chromium, screenshot it whole, and say how many images
    loaded and how many there are."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(page_file.resolve().as_uri())
            page.wait_for_load_state("load")
            counts = page.evaluate(
                "() => ({images: document.images.length, loaded: Array.from(document.images)"
                ".filter(i => i.complete && i.naturalWidth > 300).length})"
            )
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    return counts


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_html_report_opens_in_chromium_with_its_charts(
    kctx, tmp_path: Path, monkeypatch, lang: str
) -> None:
    """``kiosk report repairs --month 2026-10 --html FILE`` as the manager: the page holds the
    four charts (base64 PNGs) with their tables, the weekly table says 75%, and Chromium
    shows it: a screenshot with the charts' colours, not a blank page."""
    need_chromium()
    from PIL import Image

    seed_october(kctx)
    monkeypatch.setenv("KIOSK_DATABASE_URL", kctx.database().url)
    monkeypatch.setenv("KIOSK_NOW", NOVEMBER.isoformat())
    out = tmp_path / f"repairs-{lang}.html"
    args = ["report", "repairs", "--month", "2026-10", "--html", str(out), "--lang", lang]
    result = CliRunner().invoke(_cli(), [*args, "--staff", "S005", "--pin", "1470"])
    assert result.exit_code == 0, result.stderr
    assert f"report written: {out} (4 figures)" in result.stdout
    page = out.read_text("utf-8")
    assert page.count('src="data:image/png;base64,') == 4
    weekly = page[page.index('id="repairs.timeliness_weekly"') :]
    weekly = weekly[: weekly.index("</section>")]
    assert re.search(r"<td>10-05</td><td>75%</td>", weekly), weekly[-600:]
    assert ("及时率" if lang == "zh_CN" else "Timeliness") in weekly

    shot = tmp_path / f"repairs-{lang}.png"
    counts = _page_shot(out, shot)
    assert counts == {"images": 4, "loaded": 4}
    image = Image.open(shot).convert("RGB")
    small = image.resize((image.width // 4, image.height // 4))
    colours = small.getcolors(maxcolors=1 << 24)  # (count, (r, g, b)) per distinct colour
    total = small.width * small.height
    not_white = sum(n for n, rgb in colours if min(rgb) < 235)
    blue_bars = sum(n for n, (r, g, b) in colours if b > 150 and r < 90 and g < 140)  # bars
    assert len(colours) > 200, f"{len(colours)} colours: a blank page"
    assert not_white > total // 50, f"{not_white} of {total} pixels drawn"
    assert blue_bars > 50, "no chart bar or line in the screenshot"
    print(f"screenshot: {shot}")
