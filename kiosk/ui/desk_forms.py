"""Desk dialogs: a yes/no confirmation and a small form (inputs, choices, a signature pad).

Every destructive desk action asks first (:class:`ConfirmDialog`); a step that needs data
(a price, a reason, the resident's signature) asks in a :class:`FormDialog`. Both are modal:
the answer comes back through ``push_screen(dialog, callback)``; Escape or Cancel is ``None``
/ ``False``, so nothing is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Select

from kiosk.errors import Refused
from kiosk.i18n import _
from kiosk.ui.widgets.signature import SignaturePad
from kiosk.ui.widgets.text import Button, Checkbox, Label

T = TypeVar("T")

DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 70; max-width: 100%; height: auto; max-height: 100%;
    border: thick $primary; background: $surface; padding: 0 1; }}
{name} .question {{ text-style: bold; margin-bottom: 1; width: 100%; }}
{name} .message {{ color: $error; text-style: bold; width: 100%; }}
{name} Horizontal {{ height: auto; }}
{name} Button {{ margin-right: 1; }}
{name} SignaturePad {{ height: 8; border: round $accent; }}
"""


class DeskDialog(ModalScreen[T]):
    """The frame of a desk dialog: its question (or title) in bold, what it asks
    (:meth:`content`, nothing for a plain question), then its buttons in a row
    (:meth:`buttons`). Each dialog styles itself with ``DIALOG_CSS`` under its own name."""

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def content(self) -> ComposeResult:
        yield from ()

    def buttons(self) -> ComposeResult:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, classes="question")
            yield from self.content()
            with Horizontal():
                yield from self.buttons()


class ConfirmDialog(DeskDialog[bool]):
    """Ask before acting: Yes (``#confirm-yes``) or No (``#confirm-no``, Escape)."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmDialog")
    BINDINGS = [Binding("escape", "dismiss(False)", show=False)]

    def __init__(self, question: str, yes: str = "", danger: bool = False) -> None:
        super().__init__(question)
        self.yes = yes
        self.danger = danger

    def buttons(self) -> ComposeResult:
        yield Button(
            self.yes or _("Yes"),
            id="confirm-yes",
            variant="error" if self.danger else "primary",
        )
        yield Button(_("No"), id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()  # Enter on a stray key does nothing harmful

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm-yes")


@dataclass(frozen=True)
class Field:
    """One entry of a form: ``kind`` is text, secret (shown masked), choice, check or
    signature; ``options`` are (label, value) pairs of a choice."""

    id: str
    label: str
    kind: str = "text"
    options: tuple[tuple[str, str], ...] = field(default=())
    value: str = ""


class FormDialog(DeskDialog[dict[str, Any] | None]):
    """A short form; OK (``#form-ok``) returns ``{field id: value}``; a signature is its strokes.

    ``check`` (optional) looks at the answers and returns a message to show instead of
    closing: an empty pad or field caught early, or the service's own refusal where ``check``
    does the step itself (a quick write: the form then keeps what was typed to mend it)."""

    DEFAULT_CSS = DIALOG_CSS.format(name="FormDialog")
    BINDINGS = [Binding("escape", "dismiss(None)", show=False)]

    def __init__(self, title: str, fields: list[Field], ok: str = "", check: Any = None) -> None:
        super().__init__(title)
        self.fields = fields
        self.ok = ok
        self.check = check

    def content(self) -> ComposeResult:
        with VerticalScroll():
            for f in self.fields:
                if f.kind == "check":
                    yield Checkbox(f.label, value=f.value == "1", id=f"field-{f.id}")
                    continue
                yield Label(f.label)
                if f.kind == "choice":
                    yield Select(
                        list(f.options),
                        value=f.value if f.value else Select.NULL,
                        id=f"field-{f.id}",
                        prompt=_("Choose"),
                    )
                elif f.kind == "signature":
                    yield SignaturePad(id=f"field-{f.id}")
                else:
                    yield Input(value=f.value, password=f.kind == "secret", id=f"field-{f.id}")
        yield Label("", id="form-message", classes="message")

    def buttons(self) -> ComposeResult:
        yield Button(self.ok or _("OK"), id="form-ok", variant="primary")
        yield Button(_("Cancel"), id="form-cancel")

    def answers(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.fields:
            widget = self.query_one(f"#field-{f.id}")
            if isinstance(widget, SignaturePad):
                out[f.id] = widget.to_json()
            elif isinstance(widget, Select):
                out[f.id] = "" if widget.value is Select.NULL else str(widget.value)
            elif isinstance(widget, Checkbox):
                out[f.id] = bool(widget.value)
            elif isinstance(widget, Input):
                out[f.id] = widget.value
        return out

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._ok()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "form-ok":
            self._ok()
        elif event.button.id == "form-cancel":
            self.dismiss(None)

    def _ok(self) -> None:
        answers = self.answers()
        problem = self.check(answers) if self.check is not None else None
        if problem:
            self.query_one("#form-message", Label).update(problem)
            return
        self.dismiss(answers)


class DeskStaff:
    """A desk panel's context and the staff member it acts for: the one it was given, else the
    desk app's (``actor``, or ``staff``). Mixed in before the Textual widget class."""

    def __init__(self, ctx: Any, actor: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ctx = ctx
        self._actor = actor

    @property
    def actor(self) -> Any:
        """The staff member logged in at the desk (given, or the desk app's)."""
        app = getattr(self, "app", None)
        return self._actor or getattr(app, "actor", None) or getattr(app, "staff", None)


class DeskActions(DeskStaff):
    """What a desk panel needs to act: say a line, ask first, fill a form, call the service.

    Mixed into a panel (a Textual widget with ``app``, ``run_worker`` and ``query_one``). The
    panel's message line is the :class:`Label` with id ``MESSAGE_ID``; after an action the
    panel's ``reload()`` runs (or, without one, the panel is composed again) so that what the
    butler sees is what the database holds. A refusal is said in the desk's language; nothing
    else is caught (a bug is logged by Textual, not hidden)."""

    MESSAGE_ID = "message"
    last_said = ""  # what the message line says now (see :meth:`say`)

    def say(self, text: str, where: str = "") -> None:
        """``text`` in the panel's message line (or the line ``where``, a form's own), scrolled
        into view (at 80x24 a long panel's line can sit below the fold, and the butler must
        see what happened)."""
        panel: Any = self
        line = panel.query_one(f"#{where or self.MESSAGE_ID}", Label)
        line.update(text)
        if not where:
            self.last_said = text  # said again when the panel is composed afresh
        if text:
            line.scroll_visible(animate=False)

    async def after_action(self) -> None:
        panel: Any = self
        reload = getattr(panel, "reload", None)
        if reload is not None:
            await reload()
        else:
            await panel.recompose()

    def desk_run(
        self, done: str | Callable[[Any], str], call: Any, *, off_thread: bool = False
    ) -> None:
        """Call the service in a worker, or with ``off_thread`` in a thread of its own (a call
        that writes and touches no widget: the desk stays live meanwhile); say ``done`` (a
        callable: ``done(result)``) or the refusal; show the new state."""
        panel: Any = self

        async def go() -> None:
            try:
                result = await asyncio.to_thread(call) if off_thread else call()
            except Refused as exc:
                text = exc.render(_)
            else:
                text = done if isinstance(done, str) else done(result)
            await self.after_action()
            self.say(text)

        panel.run_worker(go(), group="desk-action")

    def desk_confirm(self, question: str, done: str, call: Any, danger: bool = False) -> None:
        """Ask first (No has the focus); on Yes, :meth:`desk_run`."""
        panel: Any = self

        def answered(yes: bool | None) -> None:
            if yes:
                self.desk_run(done, call)

        panel.app.push_screen(ConfirmDialog(question, danger=danger), answered)

    def desk_form(self, title: str, fields: list[Field], then: Any, check: Any = None) -> None:
        """Ask for the fields; on OK, ``then(answers)``."""
        panel: Any = self

        def answered(values: dict[str, Any] | None) -> None:
            if values is not None:
                then(values)

        panel.app.push_screen(FormDialog(title, fields, check=check), answered)

    def logged_in(self) -> bool:
        """False (and says so) when nobody is logged in at the desk."""
        if getattr(self, "actor", None) is None:
            self.say(_("Log in at the desk first."))
            return False
        return True

    async def show(self, text: str) -> None:
        """The panel composed again from the database, then ``text`` in its message line."""
        panel: Any = self
        await panel.recompose()
        self.say(text)
