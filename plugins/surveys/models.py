"""Satisfaction surveys (满意度调查): a survey and its questions, open for a period; one answer
per household (scored 1-5, an optional comment per question). Times UTC."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.db import Base
from kiosk.db.models import KioskId, Person, UnitRef


class Survey(Base):
    """One survey (满意度调查表) and the period it is open for."""

    __tablename__ = "survey"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    opens_at: Mapped[dt.datetime]
    closes_at: Mapped[dt.datetime]
    created_by: Mapped[Person]
    created_at: Mapped[dt.datetime]


class SurveyQuestion(Base):
    """A question of a survey, scored 1 (very dissatisfied) to 5 (very satisfied)."""

    __tablename__ = "survey_question"
    __table_args__ = (UniqueConstraint("survey_id", "position", name="uq_survey_question_pos"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(300))


class SurveyResponse(Base):
    """A household answered a survey: once per household (unique survey, unit)."""

    __tablename__ = "survey_response"
    __table_args__ = (UniqueConstraint("survey_id", "unit_id", name="uq_survey_response_unit"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"))
    unit_id: Mapped[UnitRef]
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    answered_at: Mapped[dt.datetime]
    kiosk: Mapped[KioskId]


class SurveyAnswer(Base):
    """The score (1-5) and comment a household gave one question."""

    __tablename__ = "survey_answer"
    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("survey_response.id"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_question.id"), index=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(String(500), default="")
