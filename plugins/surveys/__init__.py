"""Satisfaction surveys (满意度调查): set by the manager, answered once per household at the
kiosk, coverage and results at the desk and in ``kiosk report surveys``; low scores become desk
alerts to follow up.

Hook implementations only; the service and screens are imported inside the hooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.hookspecs import hookimpl

HERE = Path(__file__).parent


@hookimpl
def kiosk_models() -> list[str]:
    return ["plugins.surveys.models"]


@hookimpl
def kiosk_migrations() -> list[str]:
    return [str(HERE / "migrations" / "versions")]


@hookimpl
def kiosk_startup(ctx: Any) -> None:
    from kiosk.i18n import register_catalog

    register_catalog(HERE / "locale", "surveys")


@hookimpl
def kiosk_register_commands(cli: Any) -> None:
    from plugins.surveys.cli import register

    register(cli)


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


def _screen(ctx: Any) -> Any:
    from plugins.surveys.screens import SurveyScreen

    return SurveyScreen(ctx)


@hookimpl
def kiosk_tiles(ctx: Any) -> list[Any]:
    from kiosk.hookspecs import Tile
    from kiosk.i18n import N_

    return [
        Tile(id="surveys", title=N_("Satisfaction survey"), screen=_screen, order=95,
             audience="resident", icon="评", needs_resident=True)
    ]  # fmt: skip


@hookimpl
def kiosk_scenarios() -> list[Any]:
    from plugins.surveys.scenarios import scenarios

    return scenarios()


def _desk_panel(ctx: Any) -> Any:
    from plugins.surveys.screens import SurveysDeskPanel

    return SurveysDeskPanel(ctx)


@hookimpl
def kiosk_report_figures(ctx: Any, period: Any) -> list[Any]:
    """The latest survey's average per question and its scores, with the coverage."""
    from kiosk.i18n import register_catalog
    from plugins.surveys.figures import report_figures

    register_catalog(HERE / "locale", "surveys")  # a report run from the command line
    return report_figures(ctx, period)


@hookimpl
def kiosk_alert_kinds() -> dict[str, str]:
    """A low score (1-2) to follow up."""
    from kiosk.i18n import N_

    return {"survey_low_score": N_("Low satisfaction score")}


@hookimpl
def kiosk_desk_panels(ctx: Any) -> list[Any]:
    from kiosk.hookspecs import DeskPanel
    from kiosk.i18n import N_

    return [
        DeskPanel(id="surveys", title=N_("Surveys"), widget=_desk_panel, order=85,
                  roles=("butler",))
    ]  # fmt: skip
