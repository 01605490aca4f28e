"""The survey screen headless under Pilot: a resident scores each question by touch and sends;
a household that answered is thanked, not asked again; the desk panel shows the coverage; the
``kiosk simulate`` scenario against a stand-in runner; snapshots in Chinese and English."""

from __future__ import annotations

import pytest

from kiosk.ui.scenarios import click
from plugins.surveys import service
from plugins.surveys.scenarios import scenarios
from plugins.surveys.screens import SurveyScreen, SurveysDeskPanel
from tests.plugins.demo_people import MANAGER, resident
from tests.screens import DeskHarness, Harness, Run, screen_ctx, screen_text, wait_until


def _ready(app, selector: str) -> bool:  # type: ignore[no-untyped-def]
    found = app.screen.query(selector)
    return bool(found) and found.first().region.width > 0 and not found.first().disabled


async def test_a_resident_scores_every_question_by_touch_and_sends(kctx) -> None:
    (survey,) = service.open_surveys(kctx)  # the demo survey, four questions
    zhang = resident(kctx, "张伟")
    app = Harness(kctx, SurveyScreen(kctx), zhang)
    async with app.run_test(size=(80, 24)) as pilot:
        for n in range(len(survey.questions)):
            await wait_until(pilot, lambda: _ready(app, "#score-4"), f"question {n + 1}")
            assert f"Question {n + 1} of 4" in screen_text(app)
            button = "#send" if n == len(survey.questions) - 1 else "#next"
            if n == 0:  # no score yet: nothing to go on with, and the resident is told so
                await click(app, pilot, button)
                await wait_until(pilot, lambda: "Choose a score" in screen_text(app), "told")
                assert "Question 1 of 4" in screen_text(app)
            await click(app, pilot, "#score-4")
            await wait_until(pilot, lambda b=button: _ready(app, b), button)
            await click(app, pilot, button)
        await wait_until(pilot, lambda: bool(app.screen.query("#done")), "the thanks")
        assert "answers were received" in screen_text(app)
    r = service.results(kctx, survey.id)
    assert r.answered == 1 and all(q.average == 4.0 for q in r.questions)


async def test_a_household_that_answered_is_thanked_not_asked_again(kctx) -> None:
    (survey,) = service.open_surveys(kctx)
    service.answer(kctx, resident(kctx, "王小明"), survey.id, {q.id: 5 for q in survey.questions})
    app = Harness(kctx, SurveyScreen(kctx), resident(kctx, "Emily Wang"))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: bool(app.screen.query("#done")), "the thanks")
        assert "already answered this survey" in screen_text(app)
        assert not app.screen.query("#score-1")


async def test_the_desk_panel_shows_coverage_and_the_manager_closes_it(kctx) -> None:
    (survey,) = service.open_surveys(kctx)
    service.answer(kctx, resident(kctx, "刘芳"), survey.id, {q.id: 2 for q in survey.questions})

    app = DeskHarness(lambda: SurveysDeskPanel(kctx, MANAGER))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        text = "\n".join(str(w.render()) for w in app.query("Label"))
        assert "Answered by 1 of 216 households (0.5%); target 60%: not reached" in text
        assert "low scores: 1" in text
        await click(app, pilot, f"#close-{survey.id}")
        await wait_until(pilot, lambda: "Survey closed." in "\n".join(
            str(w.render()) for w in app.query("Label")))  # fmt: skip
    assert service.open_surveys(kctx) == []


async def test_the_simulate_scenario_passes(kctx) -> None:
    (scenario,) = [s for s in scenarios() if s.name == "surveys-answer"]
    app = Harness(kctx, None)
    async with app.run_test(size=(120, 40)) as pilot:
        run = Run(app, pilot, kctx)
        await scenario.run(run)
        assert any("low score alert" in line for line in run.transcript)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_snapshot(snap_compare, sqlite_demo_url, size, lang) -> None:
    with screen_ctx(sqlite_demo_url, lang) as ctx:
        app = Harness(ctx, SurveyScreen(ctx), resident(ctx, "张伟"))
        assert snap_compare(app, terminal_size=size)
