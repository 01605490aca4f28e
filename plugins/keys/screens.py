"""The desk's key custody panel: the keys in their boxes (and who holds the ones out, overdue
marked), *Take keys into custody* (a form: the vacant unit, its keys, the box and slot, the
owner's authorisation), and a handover form: key number, person, ID, the accompanying staff
member for a viewing, the signature; *Out for a viewing*, *Out (contractor)*, *Key returned*.
Refusals translated."""

from __future__ import annotations

import re
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input

from kiosk.errors import Refused
from kiosk.i18n import _
from kiosk.ui.desk_forms import Field
from kiosk.ui.widgets.panel import DeskPanelWidget
from kiosk.ui.widgets.signature import SignaturePad
from kiosk.ui.widgets.text import Button, Label
from plugins.keys import service


class KeysDeskPanel(DeskPanelWidget):
    """Key custody at the desk; alerts for keys out too long are raised when it is shown."""

    DEFAULT_CSS = """
    KeysDeskPanel { height: auto; }
    KeysDeskPanel Horizontal { height: auto; }
    KeysDeskPanel #count { margin-right: 2; }
    KeysDeskPanel Input { width: 1fr; }
    KeysDeskPanel SignaturePad { height: 6; }
    KeysDeskPanel .message { color: $warning; }
    """

    def compose(self) -> ComposeResult:
        held = service.keys(self.ctx)
        late = sum(1 for k in held if k.overdue)
        count = _("Keys in custody: {count}, overdue: {late}").format(count=len(held), late=late)
        with Horizontal():
            yield Label(count, id="count")
            yield Button(_("Take keys into custody"), id="take", compact=True)
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

    def ask_take(self) -> None:
        """A vacant unit's keys into custody on the owner's authorisation: the form asks for the
        unit, the keys (comma separated), the box and slot, the owner and the authorisation, and
        that the butler confirms the unit is vacant. The service is called when OK is pressed,
        before the form closes: a refusal is said in the form, which keeps what was typed."""
        a = self.actor
        taken: list[str] = []

        def take(v: dict[str, Any]) -> str | None:
            try:
                taken[:] = service.take_into_custody(
                    self.ctx, a, unit_code=v["unit"], labels=key_labels(v["labels"]),
                    box=v["box"], slot=v["slot"], owner=v["owner"],
                    authorisation=v["authorisation"], vacant=bool(v["vacant"]),
                )  # fmt: skip
            except Refused as exc:
                return exc.render(_)
            return None

        def done(v: dict[str, Any]) -> None:
            self.run_worker(self.show(taken_line(self.ctx, v["unit"], taken)), group="desk-action")

        self.desk_form(
            _("Take keys into custody"),
            [Field("unit", _("Vacant unit, e.g. 1-101")),
             Field("labels", _("Keys, separated by commas, e.g. entrance door, mailbox")),
             Field("box", _("Locked key box")), Field("slot", _("Slot in the box")),
             Field("owner", _("Owner who authorises")),
             Field("authorisation", _("Owner's authorisation (form, date)")),
             Field("vacant", _("The unit is vacant"), "check")],
            done,
            take,
        )  # fmt: skip

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        if bid == "take":
            event.stop()
            if self.logged_in():
                self.ask_take()
            return
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


def key_labels(text: str) -> list[str]:
    """The keys typed in one field, one per comma (``,``, ``，`` or ``、``)."""
    return [label.strip() for label in re.split("[,，、]", text) if label.strip()]


def taken_line(ctx: Any, unit_code: str, numbers: list[str]) -> str:
    """What the desk says after keys were taken: their numbers, the unit, the box and slot as
    the register holds them."""
    k = next(k for k in service.keys(ctx, unit_code) if k.number == numbers[0])
    text = _("Key {numbers} of {unit} taken into box {box} slot {slot}.") if len(numbers) == 1 \
        else _("Keys {numbers} of {unit} taken into box {box} slot {slot}.")  # fmt: skip
    return text.format(numbers=", ".join(numbers), unit=k.unit_code, box=k.box, slot=k.slot)
