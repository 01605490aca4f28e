"""The on-screen keyboard of the lobby's text fields: a kiosk has a touch screen and often no
keyboard, so a finger that taps a field (a visitor's name, a unit, an invite code) gets keys
to type with, as a phone's keyboard comes up.

It opens when a field is *tapped* (a mouse click), never when a field is focused by the
program or filled by a barcode scanner (a keyboard wedge); keys typed on a real keyboard close
it for that screen, as whoever types on one does not need it. It sits in the screen's foot,
above the message line and the Back and Home buttons, so those stay where they are; the field
being typed into scrolls into view above it.

Layouts: letters (``abc``), digits and signs (``123``), and in Chinese the commonest surnames
with 先生 / 女士 (``姓``), so that a name can be given as a register writes one, 王先生, without an
input method. A field says which layout it starts on with a class: ``keys-123`` for a phone, a
unit or a code, ``keys-name`` for a person's name. A screen may offer whole phrases for a field
(a visit's purpose) through ``phrases_for(field)``, shown as a row above the keys.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input

from kiosk.i18n import _, language
from kiosk.ui.widgets.text import Button

BACK, SPACE, SWITCH, NEXT = "⌫", "␣", "⇄", "✓"

# The 26 commonest surnames in China (about 60% of people) and the forms of address a register
# uses with them; anyone else spells the name with the letter keys.
SURNAMES = (
    "王李张刘陈杨黄赵吴周",
    "徐孙马朱胡郭何高林",
    "罗郑梁谢宋唐",
)
TITLES = ("先生", "女士")

LAYOUTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "abc": (
        tuple("QWERTYUIOP"),
        (*"ASDFGHJKL", BACK),
        (*"ZXCVBNM", SPACE, SWITCH, NEXT),
    ),
    "123": (
        tuple("1234567890"),
        (*"-./@+#(),", BACK),
        (*"*:'!?", SPACE, SWITCH, NEXT),
    ),
    "姓": (
        tuple(SURNAMES[0]),
        (*SURNAMES[1], BACK),
        (*SURNAMES[2], *TITLES, SWITCH, NEXT),
    ),
}


def layouts_now() -> tuple[str, ...]:
    """The layouts the switch key goes through, in the kiosk's language now: the surnames only
    in Chinese."""
    return ("abc", "123", "姓") if language().startswith("zh") else ("abc", "123")


def first_layout(field: Input) -> str:
    """The layout a field starts on: its ``keys-…`` class, digits for a number field."""
    if field.has_class("keys-123") or field.type in ("integer", "number"):
        return "123"
    if field.has_class("keys-name") and "姓" in layouts_now():
        return "姓"
    return "abc"


def key_id(key: str) -> str:
    """A key's widget id: its code point (the keys are letters, signs and Chinese)."""
    return "softkey-" + "-".join(f"{ord(c):x}" for c in key)


class SoftKeyboard(Vertical):
    """Keys that type into ``field`` (the Input last tapped); the keys never take the focus,
    so the field keeps its cursor and a real keyboard still types into it."""

    DEFAULT_CSS = """
    SoftKeyboard { height: auto; width: 100%; background: $boost; }
    SoftKeyboard Horizontal { height: 3; width: 100%; }
    SoftKeyboard Button { width: 1fr; min-width: 5; height: 3; margin: 0; }
    SoftKeyboard .phrase { width: auto; min-width: 8; margin: 0 1 0 0; }
    """

    def __init__(self, field: Input, phrases: Sequence[str] = ()) -> None:
        super().__init__(id="softkeys")
        self.field = field
        self.phrases = tuple(phrases)
        self.layout_name = first_layout(field)
        # What the keys last left in the field: any other change is a real keyboard's (or a
        # scanner's) typing, and then this screen needs no on-screen keys.
        self.wrote = field.value

    def compose(self) -> ComposeResult:
        if self.phrases:
            with Horizontal(id="softkeys-phrases"):
                for n, phrase in enumerate(self.phrases):
                    yield self._key(phrase, f"softkeys-phrase-{n}", classes="phrase")
        for row in LAYOUTS[self.layout_name]:
            with Horizontal(classes="softkeys-row"):
                for key in row:
                    yield self._key(self._label(key), key_id(key))

    def _key(self, label: str, id: str, classes: str = "") -> Button:
        button = Button(label, id=id, classes=classes)
        button.can_focus = False
        return button

    def _label(self, key: str) -> str:
        if key == SWITCH:
            order = layouts_now()
            after = order[(order.index(self.layout_name) + 1) % len(order)]
            return {"abc": "ABC", "123": "123", "姓": "姓"}[after]
        if key == NEXT:
            return _("Next") if self.next_field() is not None else _("Done")
        if key == SPACE:
            return _("Space")
        return key

    def next_field(self) -> Input | None:
        """The field after this one on the screen, if any (the ✓ key goes on to it)."""
        fields = [f for f in self.screen.query(Input) if not f.disabled and f.display]
        if self.field in fields:
            at = fields.index(self.field)
            if at + 1 < len(fields):
                return fields[at + 1]
        return None

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button_id = event.button.id or ""
        if button_id.startswith("softkeys-phrase-"):
            self._write(self.phrases[int(button_id.rsplit("-", 1)[1])])
            return
        key = next((k for row in LAYOUTS[self.layout_name] for k in row
                    if key_id(k) == button_id), None)  # fmt: skip
        if key is None:
            return
        if not self.field.is_attached:  # the screen composed its fields again
            await self.remove()
            return
        if key == SWITCH:
            order = layouts_now()
            self.layout_name = order[(order.index(self.layout_name) + 1) % len(order)]
            await self.recompose()
        elif key == NEXT:
            following = self.next_field()
            if following is None:
                await self.remove()
            else:
                await self.retarget(following)
        elif key == BACK:
            self.field.action_delete_left()
            self.wrote = self.field.value
        else:
            self._type(" " if key == SPACE else key)

    def _type(self, key: str) -> None:
        """Insert a key at the cursor: letters in lower case, but the first of the field and
        of each word (a name, a sentence)."""
        if key.isascii() and key.isalpha():
            before = self.field.value[: self.field.cursor_position]
            key = key.upper() if not before or before.endswith(" ") else key.lower()
        self.field.insert_text_at_cursor(key)
        self.wrote = self.field.value

    def _write(self, text: str) -> None:
        """A phrase replaces what the field holds."""
        self.field.value = text
        self.field.cursor_position = len(text)
        self.wrote = text

    def typed_elsewhere(self, value: str) -> bool:
        """Whether the field's new ``value`` was typed on a real keyboard or by a scanner: not
        what the keys left, and not the field emptied by its screen (after a refusal)."""
        elsewhere = bool(value) and value != self.wrote and self.field.has_focus
        self.wrote = value
        return elsewhere

    async def retarget(self, field: Input) -> None:
        """Type into ``field`` from now on, on its own first layout and phrases."""
        phrases_for = getattr(self.screen, "phrases_for", None)
        phrases = phrases_for(field) if phrases_for is not None else ()
        self.field, self.phrases, self.wrote = field, tuple(phrases), field.value
        self.layout_name = first_layout(field)
        field.focus()
        await self.recompose()
        self.call_after_refresh(field.scroll_visible)
