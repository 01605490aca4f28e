"""Demo survey: the yearly satisfaction survey, open for 30 days from today."""

from __future__ import annotations

import datetime as dt
from typing import Any

from plugins.surveys.models import Survey, SurveyQuestion

DEMO_QUESTIONS = (
    "前台接待与服务态度",
    "报修响应与维修质量",
    "环境卫生与绿化",
    "安全秩序与停车管理",
)


def seed(session: Any, ctx: Any) -> list[str]:
    today = ctx.today()

    def start(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), tzinfo=ctx.zone).astimezone(dt.UTC)

    survey = Survey(title="年度物业服务满意度调查", opens_at=start(today),
                    closes_at=start(today + dt.timedelta(days=31)), created_by="周经理",
                    created_at=ctx.clock.now())  # fmt: skip
    session.add(survey)
    session.flush()
    for n, text in enumerate(DEMO_QUESTIONS, 1):
        session.add(SurveyQuestion(survey_id=survey.id, position=n, text=text))
    session.flush()
    return ["surveys: the yearly satisfaction survey is open for 30 days"]
