"""The desk's key custody panel: the keys in their boxes (and who holds the ones out, overdue
marked), and a handover form: key number, person, ID, the accompanying staff member for a
viewing, the signature; *Out for a viewing*, *Out (contractor)*, *Key returned*. Refusals
translated."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input

from kiosk.errors import Refused
from kiosk.i18n import _
from kiosk.ui.widgets.panel import DeskPanelWidget
from kiosk.ui.widgets.signature import SignaturePad
from kiosk.ui.widgets.text import Button, Label
from plugins.keys import service


class KeysDeskPanel(DeskPanelWidget):
    """Key custody at the desk; alerts for keys out too long are raised when it is shown."""

    DEFAULT_CSS = """
    KeysDeskPanel { height: auto; }
    KeysDeskPanel Horizontal { height: auto; }
    KeysDeskPanel Input { width: 1fr; }
    KeysDeskPanel SignaturePad { height: 6; }
    KeysDeskPanel .message { color: $warning; }
    """

    def compose(self) -> ComposeResult:
        held = service.keys(self.ctx)
        late = sum(1 for k in held if k.overdue)
        yield Label(_("Keys in custody: {count}, overdue: {late}").format(count=len(held),
                                                                         late=late))  # fmt: skip
        for k in held[:6]:
            yield Label(service.key_line(k))
        with Horizontal():
            yield Input(placeholder=_("Key, e.g. K0001"), id="key")
            yield Input(placeholder=_("Staff going along"), id="with")
        with Horizontal():
            yield Input(placeholder=_("Who takes it"), id="person")
            yield Input(placeholder=_("ID number (kept masked)"), id="idno")
        yield Horizontal(
            Button(_("Out for a viewing"), id="out-viewing", variant="primary"),
            Button(_("Out (contractor)"), id="out-contractor"),
            Button(_("Out (owner)"), id="out-owner"),
            Button(_("Key returned"), id="back-key"),
        )
        yield Label(_("The person taking or returning the key signs below"))
        yield SignaturePad(id="pad")
        yield Label("", id="message", classes="message")

    def on_mount(self) -> None:
        if self.actor is not None:
            service.alert_overdue(self.ctx, self.actor)

    def desk_watch(self) -> list[Any]:
        """For the desk's live poll: the last handover, and how many keys are out too long."""
        from sqlalchemy import func, select

        from plugins.keys.models import KeyHandover

        now = self.ctx.clock.now()
        return [
            select(func.max(KeyHandover.id)),
            select(func.count(KeyHandover.id)).where(
                KeyHandover.back_at.is_(None), KeyHandover.due_back_at < now
            ),
        ]

    async def desk_changed(self, old: tuple[Any, ...], new: tuple[Any, ...]) -> None:
        """A key went over its time: raise the desk alert and ring; read the list again."""
        if (new[1] or 0) > (old[1] or 0):
            service.alert_overdue(self.ctx, self.actor)
            self.app.bell()
        await self.recompose()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        value = {i.id: i.value for i in self.query(Input)}
        strokes = self.query_one(SignaturePad).to_json()
        try:
            if bid.startswith("out-"):
                k = service.hand_out(
                    self.ctx, self.actor, value["key"], person=value["person"],
                    id_number=value["idno"], purpose=bid.removeprefix("out-"),
                    signature=strokes, accompanied_by=value["with"],
                )  # fmt: skip
                text = _("Key {number} handed over.").format(number=k.number)
            elif bid == "back-key":
                k = service.hand_back(self.ctx, self.actor, value["key"], strokes)
                text = _("Key {number} is back in box {box}.").format(number=k.number, box=k.box)
            else:
                return
        except Refused as exc:
            text = exc.render(_)
        await self.show(text)
