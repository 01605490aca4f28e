"""Kiosk and desk screens for satisfaction surveys.

Kiosk: the open survey, one question at a time -- five score buttons (1 very dissatisfied ...
5 very satisfied) and an optional comment -- then Send; a household that already answered is
thanked, not asked again. Desk: each survey's coverage against the 60 % target and the average
score per question, with Close for an open one. Thin: one service call per action, off the UI
thread; refusals shown translated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Input

from kiosk.errors import Refused
from kiosk.i18n import _
from kiosk.ui.desk_forms import DeskStaff
from kiosk.ui.screens import ServiceScreen
from kiosk.ui.widgets.text import Button, Label
from plugins.surveys import service

if TYPE_CHECKING:
    from kiosk.context import KioskContext


def score_word(score: int) -> str:
    return {
        1: _("Very dissatisfied"),
        2: _("Dissatisfied"),
        3: _("Neutral"),
        4: _("Satisfied"),
        5: _("Very satisfied"),
    }[score]


class SurveyScreen(ServiceScreen):
    """Answer the open survey for the household (the resident was identified)."""

    DEFAULT_CSS = """
    SurveyScreen .title { text-style: bold; padding: 0 2; }
    SurveyScreen .hint { padding: 0 2; }
    SurveyScreen #scores { height: auto; padding: 0 1; }
    SurveyScreen .score { width: 1fr; min-width: 5; margin: 0 1; }
    SurveyScreen #comment { margin: 0 2; width: 1fr; }
    """

    def __init__(self, ctx: KioskContext) -> None:
        super().__init__(ctx)
        self.survey: service.SurveyView | None = None
        self.answered = False
        self.loaded = False
        self.step = 0
        self.scores: dict[int, int] = {}
        self.comments: dict[int, str] = {}
        self.sent = False

    @property
    def actor(self) -> Any:
        return getattr(self.app, "actor", None)

    def load(self, actor: Any) -> tuple[Any, bool]:
        found = service.open_surveys(self.ctx)
        survey = found[0] if found else None
        return survey, survey is not None and service.has_answered(self.ctx, actor, survey.id)

    async def on_mount(self) -> None:
        loaded = await self.call(self.load, self.actor)
        if loaded is not None:
            self.survey, self.answered = loaded
            self.loaded = True
        await self.recompose()

    def _question(self) -> service.QuestionView | None:
        if self.survey is None or self.step >= len(self.survey.questions):
            return None
        return self.survey.questions[self.step]

    def actions(self) -> list[Button]:
        q = self._question()
        if q is None or self.answered or self.sent:
            return []
        last = self.survey is not None and self.step == len(self.survey.questions) - 1
        return [
            Button(
                _("Send answers") if last else _("Next question"),
                id="send" if last else "next",
                variant="primary",
            )
        ]

    def _scored(self) -> bool:
        """Whether this question has its score; if not, the resident is told what to do (a
        button that only stays grey says nothing)."""
        q = self._question()
        if q is not None and q.id not in self.scores:
            self.say(_("Choose a score from 1 to 5 first."))
            return False
        return True

    def body(self) -> ComposeResult:
        with VerticalScroll():
            if not self.loaded:
                return
            if self.survey is None:
                yield Label(_("Satisfaction survey"), classes="title")
                yield Label(_("There is no survey open right now."), classes="hint", id="none")
                return
            yield Label(self.survey.title, classes="title")
            if self.answered or self.sent:
                yield Label(
                    _("Thank you! Your household's answers were received.")
                    if self.sent
                    else _("Your household has already answered this survey. Thank you!"),
                    classes="hint",
                    id="done",
                )
                return
            q = self._question()
            assert q is not None
            yield Label(
                _("Question {n} of {total}").format(n=q.position, total=len(self.survey.questions)),
                classes="hint",
            )
            yield Label(q.text, classes="title", id="question")
            yield Label(
                _("1 = {low} … 5 = {high}").format(low=score_word(1), high=score_word(5)),
                classes="hint",
            )
            with Horizontal(id="scores"):
                for s in service.SCORES:
                    yield Button(
                        str(s),
                        id=f"score-{s}",
                        classes="score",
                        variant="primary" if self.scores.get(q.id) == s else "default",
                    )
            yield Input(
                value=self.comments.get(q.id, ""),
                placeholder=_("Comment (optional)"),
                id="comment",
                max_length=service.COMMENT_MAX,
            )

    def _keep_comment(self) -> None:
        q = self._question()
        found = self.query("#comment").results(Input)
        field = next(found, None)
        if q is not None and field is not None:
            self.comments[q.id] = field.value

    async def action_back(self) -> None:
        """Back one question; from the first, back home."""
        if self.step > 0 and not (self.sent or self.answered):
            self._keep_comment()
            self.step -= 1
            await self.recompose()
            return
        self.app.pop_screen()

    @on(Button.Pressed, ".score")
    async def _score(self, event: Button.Pressed) -> None:
        q = self._question()
        if q is None:
            return
        self._keep_comment()
        self.scores[q.id] = int((event.button.id or "").removeprefix("score-"))
        await self.recompose()

    @on(Button.Pressed, "#next")
    async def _next(self) -> None:
        self._keep_comment()
        if not self._scored():
            return
        self.step += 1
        await self.recompose()

    @on(Button.Pressed, "#send")
    async def _send(self) -> None:
        self._keep_comment()
        if self.survey is None or not self._scored():
            return
        low = await self.attempt(service.answer, self.ctx, self.actor, self.survey.id,
                                 self.scores, self.comments)  # fmt: skip
        if low is None:
            return
        self.sent = True
        await self.recompose()
        if low:
            self.say(_("We are sorry. The desk will follow up what you were not satisfied with."),
                     ok=True)  # fmt: skip


def survey_screen(ctx: KioskContext) -> SurveyScreen:
    return SurveyScreen(ctx)


class SurveysDeskPanel(DeskStaff, Widget):
    """Desk: coverage against the target and the average per question of recent surveys."""

    DEFAULT_CSS = """
    SurveysDeskPanel { height: auto; }
    SurveysDeskPanel Horizontal { height: auto; }
    SurveysDeskPanel .title { text-style: bold; }
    SurveysDeskPanel Horizontal .title { width: 1fr; }
    SurveysDeskPanel .message { color: $warning; }
    """

    message = ""  # the outcome of the last action, shown above the surveys

    def compose(self) -> ComposeResult:
        now = self.ctx.clock.now()
        yield Label(self.message, id="message", classes="message")
        for s in service.surveys(self.ctx, limit=3):
            r = service.results(self.ctx, s.id)
            is_open = s.opens_at <= now < s.closes_at
            period = (
                f"{self.ctx.local_time(s.opens_at)[:10]} – {self.ctx.local_time(s.closes_at)[:10]}"
            )
            with Horizontal():
                yield Label(f"{s.title}  {period}  {_('open for answers') if is_open else _('closed for answers')}",
                            classes="title")  # fmt: skip
                if is_open:
                    yield Button(_("Close now"), id=f"close-{s.id}", classes="close")
            yield Label(
                _("Answered by {answered} of {households} households ({pct}%); target {target}%: {state}").format(
                    answered=r.answered, households=r.households, pct=r.coverage_pct,
                    target=r.target_pct, state=_("reached") if r.reached else _("not reached"),
                ),
                id=f"coverage-{s.id}",
            )  # fmt: skip
            for q in r.questions:
                avg = "-" if q.average is None else f"{q.average:.2f}"
                low = f"  {_('low scores: {count}').format(count=q.low)}" if q.low else ""
                yield Label(f"  {q.position}. {q.text}  {avg}/5{low}")

    @on(Button.Pressed, ".close")
    async def _close(self, event: Button.Pressed) -> None:
        survey_id = int((event.button.id or "").removeprefix("close-"))
        try:
            service.close(self.ctx, self.actor, survey_id)
            self.message = _("Survey closed.")
        except Refused as exc:
            self.message = exc.render(_)
        await self.recompose()
