"""Satisfaction surveys (满意度调查): set by the manager, answered once per household at the
kiosk, coverage and results at the desk and in ``kiosk report surveys``; low scores become desk
alerts to follow up.

Hook implementations only; the service and screens are imported inside the hooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.hookspecs import hookimpl
from kiosk.i18n import N_
from kiosk.plugins import PluginPanel, PluginTile, plugin_hooks

HERE = Path(__file__).parent
globals().update(
    plugin_hooks(
        __name__,
        ("commands", "scenarios", "figures"),
        tiles=[PluginTile(N_("Satisfaction survey"), "screens:SurveyScreen", order=95, icon="评")],
        desk_panels=[
            PluginPanel(N_("Surveys"), "screens:SurveysDeskPanel", order=85, roles=("butler",)),
        ],
        # A low score (1-2) to follow up.
        alert_kinds={"survey_low_score": N_("Low satisfaction score")},
    )
)  # fmt: skip


@hookimpl
def kiosk_seed_demo(session: Any, ctx: Any) -> list[str] | None:
    """The yearly satisfaction survey, open for 30 days from today."""
    import datetime as dt

    from plugins.surveys.models import Survey, SurveyQuestion

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


DEMO_QUESTIONS = (
    "前台接待与服务态度",
    "报修响应与维修质量",
    "环境卫生与绿化",
    "安全秩序与停车管理",
)
