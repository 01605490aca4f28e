"""Text on screen is data, never markup: the widgets every kiosk and desk screen shows text with.

What a person types (a unit, a tag, a name) and what the database holds comes back on screen in
refusals, greetings and desk panels. Textual parses console markup in strings by default, so
``[@click=app.suspend_process]X[/]`` typed as a unit would become a link that runs an app
action, and ``[/x]`` would raise ``MarkupError``. These drop-in :class:`Label`, :class:`Static`,
:class:`Button` and :class:`Checkbox` (same names, same CSS types) render strings as plain text
and replace terminal control characters (an ESC in a stored name must not reach the terminal).
Screens import them instead of ``textual.widgets``'; a test keeps it so.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from textual import widgets
from textual.content import Content, ContentText
from textual.visual import VisualType

# C0 controls but newline, DEL, C1 controls (CSI 0x9b is ESC [ to some terminals), and the
# bidirectional overrides/isolates that can make text read differently from what it is.
_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
REPLACEMENT = "\ufffd"


def printable(text: str) -> str:
    """``text`` safe to put on a terminal: control characters (but newline) become ``�``,
    a tab a space."""
    return _CONTROLS.sub(lambda m: " " if m.group() == "\t" else REPLACEMENT, text)


def plain(text: str) -> Content:
    """``text`` as plain content: no markup parsed, control characters replaced."""
    return Content(printable(text))


def _shown(content: Any) -> Any:
    """Strings become plain content; widgets' own Content/Rich objects pass unchanged."""
    return plain(content) if isinstance(content, str) else content


class Label(widgets.Label):
    """A label whose strings are plain text (markup off, control characters replaced)."""

    def __init__(self, content: VisualType = "", *, markup: bool = False, **kwargs: Any) -> None:
        super().__init__(_shown(content), markup=markup, **kwargs)

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        super().update(_shown(content), layout=layout)


class Static(widgets.Static):
    """A static whose strings are plain text (markup off, control characters replaced)."""

    def __init__(self, content: VisualType = "", *, markup: bool = False, **kwargs: Any) -> None:
        super().__init__(_shown(content), markup=markup, **kwargs)

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        super().update(_shown(content), layout=layout)


class Button(widgets.Button):
    """A button whose label is plain text (a tag or a time can be part of it)."""

    def validate_label(self, label: ContentText) -> Content:
        return plain(label) if isinstance(label, str) else super().validate_label(label)


class Checkbox(widgets.Checkbox):
    """A checkbox whose label is plain text."""

    def _make_label(self, label: ContentText) -> Content:
        return super()._make_label(plain(label) if isinstance(label, str) else label)


F = TypeVar("F", bound=widgets.Input)


def titled(field: F, title: str) -> F:
    """``field`` with ``title`` on its top border: a field that starts filled in ("24", "1")
    never shows its placeholder, so the title says what the value is."""
    field.border_title = plain(title)
    field.add_class("-titled")  # ShellApp's CSS makes the title readable (not border-dark)
    return field
