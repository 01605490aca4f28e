"""Satisfaction surveys as the procedures describe them (000 "满意度调查", 004): the manager sets
the form and the period; households answer once; coverage against 60 % of the households;
statistics per question; low scores followed up through a desk alert."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select

from kiosk.context import KioskContext
from kiosk.db.models import DeskAlert
from kiosk.errors import PermissionDenied, Refused
from plugins.surveys import service
from tests.plugins.demo_people import BUTLER, MANAGER, resident

QUESTIONS = ["前台服务态度", "环境卫生"]


def _survey(ctx: KioskContext, days: int = 7) -> service.SurveyView:
    survey_id = service.create(ctx, MANAGER, title="年度满意度调查", questions=QUESTIONS,
                               opens_on=ctx.today(), closes_on=ctx.today() + dt.timedelta(days=days))  # fmt: skip
    return next(s for s in service.open_surveys(ctx) if s.id == survey_id)


def _scores(survey: service.SurveyView, *values: int) -> dict[int, int]:
    return {q.id: v for q, v in zip(survey.questions, values, strict=True)}


def _alerts(ctx: KioskContext) -> list[str]:
    with ctx.database().read() as s:
        return list(
            s.scalars(select(DeskAlert.message).where(DeskAlert.kind == "survey_low_score"))
        )


def test_only_the_manager_sets_a_survey_for_a_period_it_closes_by_itself(ctx) -> None:
    with pytest.raises(PermissionDenied):
        service.create(ctx, BUTLER, title="x", questions=["q"], opens_on=ctx.today(),
                       closes_on=ctx.today())  # fmt: skip
    survey = _survey(ctx, days=0)  # open today only
    assert [q.text for q in survey.questions] == QUESTIONS
    end = dt.datetime.combine(ctx.today() + dt.timedelta(days=1), dt.time(), tzinfo=ctx.zone)
    ctx.clock.advance(seconds=(end - ctx.clock.now()).total_seconds())
    assert survey.id not in {s.id for s in service.open_surveys(ctx)}
    with pytest.raises(Refused, match="closed"):
        service.answer(ctx, resident(ctx, "张伟"), survey.id, _scores(survey, 5, 5))


def test_a_household_answers_once_and_a_second_attempt_is_refused_politely(ctx) -> None:
    survey = _survey(ctx)
    wang, emily = resident(ctx, "王小明"), resident(ctx, "Emily Wang")  # both of 3-1205
    assert service.answer(ctx, wang, survey.id, _scores(survey, 4, 5)) == 0
    with pytest.raises(Refused, match="already answered this survey. Thank you!"):
        service.answer(ctx, emily, survey.id, _scores(survey, 1, 1))
    assert service.has_answered(ctx, emily, survey.id)
    assert service.results(ctx, survey.id).answered == 1


def test_every_question_needs_a_score_from_1_to_5(ctx) -> None:
    survey = _survey(ctx)
    with pytest.raises(Refused, match="question 2 a score from 1 to 5"):
        service.answer(ctx, resident(ctx, "张伟"), survey.id, _scores(survey, 3, 6))
    with pytest.raises(Refused, match="Tap your card first"):
        service.answer(ctx, BUTLER, survey.id, _scores(survey, 3, 3))


def test_coverage_counts_households_of_the_estate_against_the_60_percent_target(ctx) -> None:
    survey = _survey(ctx)
    for name in ("张伟", "刘芳", "王小明"):
        service.answer(ctx, resident(ctx, name), survey.id, _scores(survey, 5, 3))
    r = service.results(ctx, survey.id)
    assert (r.answered, r.households, r.target_pct, r.reached) == (3, 216, 60, False)
    assert r.coverage_pct == round(100 * 3 / 216, 1)
    first, second = r.questions
    assert first.average == 5.0 and first.scores[5] == 3 and second.average == 3.0


def test_a_low_score_becomes_a_desk_alert_to_follow_up_with_the_comment(ctx) -> None:
    survey = _survey(ctx)
    low = service.answer(ctx, resident(ctx, "刘芳"), survey.id, _scores(survey, 2, 4),
                         {survey.questions[0].id: "前台电话 13812345678 总没人接"})  # fmt: skip
    assert low == 1
    (alert,) = _alerts(ctx)
    assert "2-803" in alert and "前台服务态度" in alert and "2/5" in alert
    assert "13812345678" not in alert  # personal data masked
    r = service.results(ctx, survey.id)
    assert r.questions[0].low == 1 and r.questions[0].comments


def test_the_statistics_table_is_csv_and_formula_safe(ctx) -> None:
    survey_id = service.create(ctx, MANAGER, title="t", questions=["=1+1"], opens_on=ctx.today(),
                               closes_on=ctx.today())  # fmt: skip
    survey = next(s for s in service.open_surveys(ctx) if s.id == survey_id)
    service.answer(ctx, resident(ctx, "张伟"), survey_id, _scores(survey, 1))
    rows = list(csv.reader(io.StringIO(service.results_csv(ctx, survey_id))))
    assert rows[0] == service.RESULTS_HEADER
    assert rows[1][1] == "'=1+1" and rows[1][3] == "1.0" and rows[1][-1] == "1"
    assert rows[-1][:2] == ["覆盖率", "1/216"]


def test_the_manager_closes_a_survey_early(ctx) -> None:
    survey = _survey(ctx)
    with pytest.raises(PermissionDenied):
        service.close(ctx, BUTLER, survey.id)
    service.close(ctx, MANAGER, survey.id)
    assert service.open_surveys(ctx) == [] or survey.id not in {
        s.id for s in service.open_surveys(ctx)
    }
    with pytest.raises(Refused, match="closed"):
        service.close(ctx, MANAGER, survey.id)
    with pytest.raises(Refused) as err:
        service.close(ctx, MANAGER, 999_999)
    assert err.value.code == "surveys.unknown"


def test_the_manager_closes_a_survey_older_than_the_list_shows(ctx, tmp_path) -> None:
    """``kiosk surveys close`` found its survey in the newest 20 only: an older one was closed
    and then the command fell over."""
    from typer.testing import CliRunner

    from tests.plugins.demo_people import config_for
    from tests.plugins.surveys.test_surveys_cli import cli

    old = _survey(ctx, days=30)
    for _n in range(20):
        _survey(ctx)
    assert old.id not in {s.id for s in service.surveys(ctx)}
    args = ["surveys", "close", str(old.id), "--json", "-c", config_for(ctx, tmp_path)]
    out = CliRunner().invoke(cli(), [*args, "--staff", "S005", "--pin", "1470"])
    assert out.exit_code == 0, out.output
    assert service.survey(ctx, old.id).closes_at < old.closes_at  # closed now, not in 30 days
