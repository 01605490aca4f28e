"""``kiosk simulate`` scenario for satisfaction surveys, driving the real screen headless."""

from __future__ import annotations

from typing import Any

from kiosk.hookspecs import Scenario
from kiosk.ui.scenarios import laid_out, open_as_resident, until

RESIDENT_CARD = "04A1B2C3"  # 张伟, owner of 1-101 (demo estate)


async def _open(run: Any) -> Any:
    import datetime as dt

    from kiosk.identity import Actor
    from plugins.surveys import service
    from plugins.surveys.screens import SurveyScreen

    ctx = run.ctx
    if not service.open_surveys(ctx):  # an estate without the demo survey: set one
        manager = Actor("staff", 5, "周经理", frozenset({"manager"}))
        service.create(ctx, manager, title="满意度调查", questions=["服务态度", "环境卫生"],
                       opens_on=ctx.today(), closes_on=ctx.today() + dt.timedelta(days=7))  # fmt: skip
    await open_as_resident(run, RESIDENT_CARD, "surveys", SurveyScreen)
    return service.open_surveys(ctx)[0]


async def answer_once(run: Any) -> None:
    """Card tap -> the survey, one question at a time; a 2 with a comment on the first question
    raises a desk alert; the household is counted once and a second attempt is thanked."""
    from sqlalchemy import select

    from kiosk.db.models import DeskAlert
    from plugins.surveys import service
    from plugins.surveys.screens import SurveyScreen

    survey = await _open(run)
    for n, _q in enumerate(survey.questions):
        score = 2 if n == 0 else 5
        await until(
            run, lambda s=score: laid_out(run, f"#score-{s}", enabled=True), f"question {n + 1}"
        )
        await run.click(f"#score-{score}")
        if n == 0:
            await until(run, lambda: laid_out(run, "#comment", enabled=True), "the comment field")
            await run.click("#comment")
            await run.press(*"slow")
        last = n == len(survey.questions) - 1
        button = "#send" if last else "#next"
        await until(run, lambda b=button: laid_out(run, b, enabled=True), button)
        await run.click(button)
    await until(run, lambda: bool(run.app.screen.query("#done")), "the thanks")
    r = service.results(run.ctx, survey.id)
    assert r.answered == 1 and r.questions[0].low == 1, r
    with run.ctx.database().read() as session:
        alerts = list(
            session.scalars(select(DeskAlert.message).where(DeskAlert.kind == "survey_low_score"))
        )
    assert len(alerts) == 1 and "1-101" in alerts[0] and "slow" in alerts[0], alerts
    run.note(f"answered: coverage {r.answered}/{r.households}; low score alert: {alerts[0]}")
    run.app.pop_screen()
    await run.app.push_screen(SurveyScreen(run.ctx))
    await until(run, lambda: bool(run.app.screen.query("#done")), "already answered")
    run.note("a second attempt is thanked, not asked again")


def scenarios() -> list[Scenario]:
    return [
        Scenario(
            "surveys-answer",
            "card tap, score every question once, a low score alerts the desk",
            answer_once,
        ),  # fmt: skip
    ]
