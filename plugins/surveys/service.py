"""Satisfaction surveys (000 "满意度调查", 003 yearly, 004 "客户满意度调查管理程序"), headless.

Procedure: the manager (管理者代表) sets the survey form (满意度调查表) and opens it for a
period; households answer -- at the kiosk, after a card tap, once per household; at least 60 %
of the households should be reached (发放率不少于60%); the statistics per question
(满意度调查统计表) go to the manager and are posted; what residents are dissatisfied with is
followed up (对不合格、不满意項之整改).

Low scores (1-2) become complaints to follow up through the core, not through another plugin:
each raises a desk alert (``survey_low_score``, :func:`kiosk.notify.raise_alert`) in the
answer's own transaction, with the unit, the question, the score and the comment (masked).
The butler takes it from the desk's alerts (and files a complaint in repairs if it is one).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from kiosk import audit
from kiosk.clock import as_utc
from kiosk.db.models import Unit
from kiosk.errors import Refused
from kiosk.export import csv_text
from kiosk.households import household_done, household_has, household_of
from kiosk.i18n import N_
from kiosk.identity import Actor, require_role
from kiosk.notify import raise_alert
from kiosk.pii import mask_text
from kiosk.writes import change_once
from plugins.surveys.models import Survey, SurveyAnswer, SurveyQuestion, SurveyResponse

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from kiosk.context import KioskContext

SET_ROLES = ("manager",)  # 管理者代表: sets the form, opens and closes it
READ_ROLES = ("butler",)
SCORES = (1, 2, 3, 4, 5)
LOW = 2  # a score at or under this is followed up
TARGET_PCT = 60  # 发放率不少于60%
COMMENT_MAX = 500


@dataclass(frozen=True)
class QuestionView:
    id: int
    position: int
    text: str


@dataclass(frozen=True)
class SurveyView:
    """A survey with its questions (times UTC)."""

    id: int
    title: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    questions: tuple[QuestionView, ...]


def _survey_view(session: object, s: Survey) -> SurveyView:
    questions = session.scalars(  # type: ignore[attr-defined]
        select(SurveyQuestion)
        .where(SurveyQuestion.survey_id == s.id)
        .order_by(SurveyQuestion.position)
    ).all()
    return SurveyView(
        s.id, s.title, as_utc(s.opens_at), as_utc(s.closes_at),
        tuple(QuestionView(q.id, q.position, q.text) for q in questions),
    )  # fmt: skip


def _day_start(ctx: KioskContext, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=ctx.zone).astimezone(dt.UTC)


# -- setting a survey up ---------------------------------------------------------------------


def create(
    ctx: KioskContext, actor: Actor, *, title: str, questions: list[str], opens_on: dt.date,
    closes_on: dt.date,
) -> int:  # fmt: skip
    """The manager sets a survey: its questions (each scored 1-5) and the days it is open
    (from the start of ``opens_on`` to the end of ``closes_on``, the estate's dates)."""
    require_role(actor, "set a survey", *SET_ROLES)
    title = title.strip()
    texts = [q.strip() for q in questions if q.strip()]
    if not title or len(title) > 200:
        raise Refused("surveys.title", "A survey needs a title of at most 200 characters.")
    if not texts or len(texts) > 20 or any(len(q) > 300 for q in texts):
        raise Refused(
            "surveys.questions", "A survey has 1 to 20 questions of at most 300 characters."
        )
    if closes_on < opens_on or closes_on < ctx.today():
        raise Refused(
            "surveys.period",
            "The survey must close on or after the day it opens, and not in the past.",
        )
    with ctx.database().write() as session:
        row = Survey(title=title, opens_at=_day_start(ctx, opens_on),
                     closes_at=_day_start(ctx, closes_on + dt.timedelta(days=1)),
                     created_by=actor.name or actor.label, created_at=ctx.clock.now())  # fmt: skip
        session.add(row)
        session.flush()
        for n, text in enumerate(texts, 1):
            session.add(SurveyQuestion(survey_id=row.id, position=n, text=text))
        audit.record_for(ctx, session, actor, "survey.created", f"survey:{row.id}",
                         {"title": title, "questions": len(texts)})  # fmt: skip
        return row.id


def close(ctx: KioskContext, actor: Actor, survey_id: int) -> None:
    """Close an open survey now (the manager), before the end of its period."""
    require_role(actor, "close a survey", *SET_ROLES)
    now = ctx.clock.now()
    with ctx.database().write() as session:
        _row(session, survey_id)  # an unknown id is not "closed"
        change_once(
            session,
            update(Survey)
            .where(Survey.id == survey_id, Survey.closes_at > now)
            .values(closes_at=now),
            Refused("surveys.closed", "This survey is closed."),
        )
        audit.record_for(ctx, session, actor, "survey.closed", f"survey:{survey_id}")


def open_surveys(ctx: KioskContext) -> list[SurveyView]:
    """The surveys open now, oldest first (by their period: no job opens or closes them)."""
    now = ctx.clock.now()
    with ctx.database().read() as session:
        rows = session.scalars(
            select(Survey).where(Survey.opens_at <= now, Survey.closes_at > now).order_by(Survey.id)
        ).all()
        return [_survey_view(session, s) for s in rows]


def _row(session: Session, survey_id: int) -> Survey:
    """The survey ``survey_id``; refused when there is none."""
    row = session.get(Survey, survey_id)
    if row is None:
        raise Refused("surveys.unknown", "There is no survey {id}.", id=survey_id)
    return row


def survey(ctx: KioskContext, survey_id: int) -> SurveyView:
    """One survey, however old (``surveys`` lists the newest)."""
    with ctx.database().read() as session:
        return _survey_view(session, _row(session, survey_id))


def surveys(ctx: KioskContext, limit: int = 20) -> list[SurveyView]:
    """Every survey, newest first."""
    with ctx.database().read() as session:
        rows = session.scalars(select(Survey).order_by(Survey.id.desc()).limit(limit)).all()
        return [_survey_view(session, s) for s in rows]


# -- answering at the kiosk ------------------------------------------------------------------


def has_answered(ctx: KioskContext, actor: Actor | None, survey_id: int) -> bool:
    """Whether the household of ``actor`` has answered the survey."""
    return household_done(ctx, actor, SurveyResponse, survey_id=survey_id)


def _already() -> Refused:
    return Refused("surveys.already", "Your household has already answered this survey. Thank you!")


def answer(
    ctx: KioskContext, actor: Actor, survey_id: int, scores: dict[int, int],
    comments: dict[int, str] | None = None,
) -> int:  # fmt: skip
    """A resident (card tap or unit + PIN) answers for the household: a score 1-5 for every
    question and an optional comment. Once per household; a low score (1-2) raises a desk
    alert to follow up. Returns the number of low scores."""
    unit_id = household_of(actor, "surveys")
    comments = comments or {}
    now = ctx.clock.now()
    try:
        with ctx.database().write() as session:
            survey = _row(session, survey_id)
            if not as_utc(survey.opens_at) <= now < as_utc(survey.closes_at):
                raise Refused("surveys.closed", "This survey is closed.")
            if household_has(session, SurveyResponse, unit_id, survey_id=survey_id):
                raise _already()
            questions = session.scalars(
                select(SurveyQuestion).where(SurveyQuestion.survey_id == survey_id)
                .order_by(SurveyQuestion.position)
            ).all()  # fmt: skip
            missing = [q.position for q in questions if scores.get(q.id) not in SCORES]
            if missing:
                raise Refused("surveys.score", "Please give question {n} a score from 1 to 5.",
                              n=missing[0])  # fmt: skip
            response = SurveyResponse(survey_id=survey_id, unit_id=unit_id,
                                      resident_id=actor.id, answered_at=now, kiosk=ctx.kiosk_id)  # fmt: skip
            session.add(response)
            session.flush()
            unit = session.get(Unit, unit_id)
            low = 0
            for q in questions:
                note = mask_text(comments.get(q.id, "").strip())[:COMMENT_MAX]
                session.add(SurveyAnswer(response_id=response.id, question_id=q.id,
                                         score=scores[q.id], comment=note))  # fmt: skip
                if scores[q.id] <= LOW:
                    low += 1
                    raise_alert(
                        session, "survey_low_score",
                        N_("{unit} scored question {n} of {survey} ({question}) {score}/5: "
                           "{comment}"),
                        params={"unit": unit.code if unit else "?", "n": q.position,
                                "survey": survey.title, "question": q.text,
                                "score": scores[q.id], "comment": note or "-"},
                        at=now, kiosk_id=ctx.kiosk_id,
                    )  # fmt: skip
            audit.record_for(ctx, session, actor, "survey.answered", f"survey:{survey_id}",
                             {"unit_id": unit_id, "low": low})  # fmt: skip
            return low
    except IntegrityError:
        # Someone else of the household answered at another kiosk at the same moment.
        raise _already() from None


# -- statistics (满意度调查统计表) -------------------------------------------------------------


@dataclass(frozen=True)
class QuestionResult:
    position: int
    text: str
    answers: int
    average: float | None
    scores: dict[int, int]  # score -> how many
    low: int
    comments: tuple[str, ...] = ()


@dataclass(frozen=True)
class SurveyResults:
    """Coverage and results of a survey: households that answered of the estate's households."""

    survey_id: int
    title: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    households: int
    answered: int
    coverage_pct: float
    target_pct: int
    reached: bool
    questions: list[QuestionResult] = field(default_factory=list)


def results(ctx: KioskContext, survey_id: int) -> SurveyResults:
    """The statistics per question and the coverage (target: 60 % of the households)."""
    with ctx.database().read() as session:
        survey = _row(session, survey_id)
        view = _survey_view(session, survey)
        households = int(session.scalar(select(func.count()).select_from(Unit)) or 0)
        answered = int(session.scalar(
            select(func.count()).select_from(SurveyResponse).where(SurveyResponse.survey_id == survey_id)
        ) or 0)  # fmt: skip
        out = []
        for q in view.questions:
            counts = {
                int(s): int(n)
                for s, n in session.execute(
                    select(SurveyAnswer.score, func.count()).where(SurveyAnswer.question_id == q.id)
                    .group_by(SurveyAnswer.score)
                )
            }  # fmt: skip
            comments = tuple(session.scalars(
                select(SurveyAnswer.comment).where(SurveyAnswer.question_id == q.id,
                                                   SurveyAnswer.comment != "")
                .order_by(SurveyAnswer.id)
            ))  # fmt: skip
            total = sum(counts.values())
            average = round(sum(s * n for s, n in counts.items()) / total, 2) if total else None
            out.append(QuestionResult(q.position, q.text, total, average,
                                      {s: counts.get(s, 0) for s in SCORES},
                                      sum(counts.get(s, 0) for s in SCORES if s <= LOW), comments))  # fmt: skip
        pct = round(100 * answered / households, 1) if households else 0.0
        return SurveyResults(survey_id, view.title, view.opens_at, view.closes_at, households,
                             answered, pct, TARGET_PCT, pct >= TARGET_PCT, out)  # fmt: skip


RESULTS_HEADER = ["题号", "问题", "答卷数", "平均分", "1分", "2分", "3分", "4分", "5分", "低分"]


def results_csv(ctx: KioskContext, survey_id: int) -> str:
    """The statistics table as CSV (formula-safe): one line per question, then the coverage."""
    r = results(ctx, survey_id)
    rows: list[list[Any]] = [
        [q.position, q.text, q.answers, "" if q.average is None else q.average,
         *(q.scores[s] for s in SCORES), q.low]
        for q in r.questions
    ]  # fmt: skip
    rows.append([])
    rows.append(["覆盖率", f"{r.answered}/{r.households}", f"{r.coverage_pct}%",
                 f"目标 {r.target_pct}%", "达到" if r.reached else "未达到"])  # fmt: skip
    return csv_text(RESULTS_HEADER, rows)
