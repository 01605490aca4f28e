"""``kiosk surveys ...`` and ``kiosk report surveys`` as the manager and the desk use them."""

from __future__ import annotations

import csv
import io
import json

from typer.testing import CliRunner

from kiosk.context import KioskContext
from plugins.surveys import service
from tests.plugins.demo_people import cli_with, config_for, resident


def cli():  # type: ignore[no-untyped-def]
    from plugins.surveys.cli import register

    return cli_with("surveys", register)


def test_the_manager_sets_a_survey_and_the_report_shows_coverage(
    ctx: KioskContext, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    cfg = ["-c", config_for(ctx, tmp_path)]
    today = ctx.today().isoformat()
    args = ["surveys", "create", "--title", "秋季调查", "--question", "保洁", "--question", "保安",
            "--opens", today, "--closes", today, "--json"]  # fmt: skip
    out = CliRunner().invoke(cli(), [*args, "--staff", "S001", "--pin", "2580", *cfg])
    assert out.exit_code == 1 and "needs the role manager" in out.output
    out = CliRunner().invoke(cli(), [*args, "--staff", "S005", "--pin", "1470", *cfg])
    assert out.exit_code == 0, out.output
    created = json.loads(out.output)
    assert [q["text"] for q in created["questions"]] == ["保洁", "保安"]
    survey = next(s for s in service.surveys(ctx) if s.id == created["id"])
    service.answer(ctx, resident(ctx, "张伟"), survey.id, {q.id: 1 for q in survey.questions})

    report = ["report", "surveys", "--survey", str(survey.id)]
    out = CliRunner().invoke(cli(), [*report, "--json", *cfg])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["answered"] == 1 and data["households"] == 216 and data["target_pct"] == 60
    assert [q["low"] for q in data["questions"]] == [1, 1]
    out = CliRunner().invoke(cli(), [*report, "--csv", *cfg])
    rows = list(csv.reader(io.StringIO(out.output)))
    assert rows[0] == service.RESULTS_HEADER and rows[1][1] == "保洁"
    out = CliRunner().invoke(cli(), [*report, *cfg])
    assert "answered by 1 of 216 households" in out.output and "not reached" in out.output
    out = CliRunner().invoke(cli(), [*report, "--json", "--csv", *cfg])
    assert out.exit_code == 2
    out = CliRunner().invoke(cli(), ["report", "surveys", "--survey", "999", *cfg])
    assert out.exit_code == 1 and "There is no survey 999" in out.output


def test_the_report_draws_the_latest_survey_for_the_manager(ctx: KioskContext, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (survey,) = service.open_surveys(ctx)  # the demo survey
    service.answer(ctx, resident(ctx, "刘芳"), survey.id, {q.id: 2 for q in survey.questions})
    page = tmp_path / "surveys.html"
    args = ["report", "surveys", "--html", str(page), "--json", "-c", config_for(ctx, tmp_path)]
    out = CliRunner().invoke(cli(), [*args, "--staff", "S005", "--pin", "1470"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["figures"] == ["surveys.average", "surveys.scores"]
    text = page.read_text("utf-8")
    assert "年度物业服务满意度调查" in text and "data:image/png;base64," in text
