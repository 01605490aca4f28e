"""On-screen keypads: everything can be entered with a finger (mouse events) alone."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid
from textual.message import Message
from textual.widgets import Input

from kiosk.ui.widgets.text import Button

DIGITS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "-", "0", "⌫")


class Keypad(Grid):
    """A numeric keypad that types into a target :class:`Input` (or the focused one)."""

    DEFAULT_CSS = """
    Keypad { grid-size: 3 4; grid-gutter: 0 1; width: 32; height: auto; }
    Keypad Button { width: 100%; min-width: 8; height: 3; }
    """

    class Pressed(Message):
        """A key on the pad was pressed (``key`` is a digit, "-" or "⌫")."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, target: str | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.target = target

    def compose(self) -> ComposeResult:
        for key in DIGITS:
            name = "back" if key == "⌫" else ("dash" if key == "-" else key)
            button = Button(key, id=f"key-{name}", classes="key")
            button.can_focus = False  # the field being typed into keeps the focus
            yield button

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        key = str(event.button.label)
        target = self._target()
        if target is not None:
            if key == "⌫":
                target.value = target.value[:-1]
            else:
                target.value += key
            target.cursor_position = len(target.value)
        self.post_message(self.Pressed(key))

    def _target(self) -> Input | None:
        if self.target:
            found = self.screen.query(f"#{self.target}")
            if found:
                node = found.first()
                return node if isinstance(node, Input) else None
        focused = self.screen.focused
        return focused if isinstance(focused, Input) else None
