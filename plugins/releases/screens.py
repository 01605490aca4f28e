"""Screens for item release passes: the resident's request at the kiosk (card tap identifies
the unit; who carries, what, why, which day; sign), the butler's approvals at the desk (owner's
word by phone, fees, approve and sign, or refuse) and the guard's gate exit (scan or type the
code, check the items, sign). Thin: one service call per action; refusals shown translated."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input

from kiosk.errors import Refused
from kiosk.i18n import _
from kiosk.ui.desk_forms import Field
from kiosk.ui.screens import ServiceScreen
from kiosk.ui.widgets.panel import DeskPanelWidget
from kiosk.ui.widgets.signature import SignaturePad
from kiosk.ui.widgets.text import Button, Checkbox, Label, titled
from plugins.releases import service

if TYPE_CHECKING:
    from kiosk.context import KioskContext


def describe(view: Any) -> str:
    """One line for a pass: number, unit, reason and status in the reader's language."""
    return (f"{view.number} {view.unit_code} {_(service.reason_label(view.reason))} "
            f"{_(service.status_label(view.status))}")  # fmt: skip


class ReleaseRequestScreen(ServiceScreen):
    """A resident asks for a pass for items leaving the estate, and signs."""

    DEFAULT_CSS = """
    ReleaseRequestScreen .title { text-style: bold; padding: 0 2; }
    ReleaseRequestScreen .hint { padding: 0 2; }
    ReleaseRequestScreen Input { margin: 0 2; width: 1fr; }
    ReleaseRequestScreen Horizontal { height: auto; padding: 0 2; }
    ReleaseRequestScreen SignaturePad { height: 6; margin: 0 2; }
    """

    def __init__(self, ctx: KioskContext) -> None:
        super().__init__(ctx)
        self.reason = "temporary"
        self.mine: list[Any] = []
        self.last: Any = None

    @property
    def actor(self) -> Any:
        return getattr(self.app, "actor", None)

    async def on_mount(self) -> None:
        if self.actor is not None:
            mine = await self.call(service.passes_of, self.ctx, self.actor)
            self.mine = mine or []
            await self.recompose()

    def body(self) -> ComposeResult:
        with VerticalScroll():
            yield Label(_("Item release pass"), classes="title")
            for view in self.mine[:2]:
                yield Label(describe(view), classes="hint")
            yield Input(placeholder=_("Who carries the items"), id="carrier", classes="keys-name")
            yield Input(placeholder=_("What leaves, e.g. sofa, 3 boxes"), id="items")
            with Horizontal():
                for reason in ("temporary", "move_out"):
                    yield Button(_(service.reason_label(reason)), id=f"reason-{reason}",
                                 classes="reason",
                                 variant="primary" if reason == self.reason else "default")  # fmt: skip
            yield titled(Input(value=self.ctx.today().isoformat(),
                               placeholder=_("Day, YYYY-MM-DD"), id="leave-on", classes="keys-123"),
                         _("Leaving on"))  # fmt: skip
            yield Label(_("Sign below with your finger"), classes="hint")
            yield SignaturePad(id="pad")

    def actions(self) -> Iterable[Button]:
        return [Button(_("Ask for the pass"), id="submit", variant="primary")]

    @on(Button.Pressed, ".reason")
    def _reason(self, event: Button.Pressed) -> None:
        self.reason = (event.button.id or "").removeprefix("reason-")
        for button in self.query(".reason").results(Button):
            button.variant = "primary" if button.id == f"reason-{self.reason}" else "default"

    @on(Button.Pressed, "#submit")
    async def _submit(self) -> None:
        if self.actor is None:
            self.say(_("Release passes are for residents. Please tap your card first."))
            return
        value = {i.id: i.value for i in self.query(Input)}
        strokes = self.query_one(SignaturePad).to_json()
        try:
            day = dt.date.fromisoformat(value["leave-on"].strip())
        except ValueError:
            self.say(_("Write the leaving day as YYYY-MM-DD."))
            return
        view = await self.attempt(
            lambda: service.request_pass(
                self.ctx, self.actor, carrier=value["carrier"], items=value["items"],
                reason=self.reason, leave_on=day, signature=strokes,
            )
        )  # fmt: skip
        if view is None:
            return
        self.last = view
        self.query_one(SignaturePad).clear()
        for field in ("#carrier", "#items"):  # asked for: a second tap must not ask again
            self.query_one(field, Input).value = ""
        self.say(
            _("Pass {number} is asked for. The desk checks it and prints it for you.").format(
                number=view.number
            ),
            ok=True,
        )


# The butler's and the guard's panels: a short form under each pass, a small pad to sign.
DESK_CSS = """
{name} {{ height: auto; }}
{name} Horizontal {{ height: auto; }}
{name} SignaturePad {{ height: 6; }}
{name} .message {{ color: $warning; }}
"""


class ReleasesDeskPanel(DeskPanelWidget):
    """The butler's approvals: each waiting request with its owner's word and fee check."""

    DEFAULT_CSS = DESK_CSS.format(name="ReleasesDeskPanel")

    def compose(self) -> ComposeResult:
        waiting = service.waiting(self.ctx)
        with Horizontal():
            yield Label(_("Waiting for approval: {count}").format(count=len(waiting)), id="count")
            yield Button(_("File a pass at the counter"), id="counter", compact=True)
        for v in waiting[:5]:
            owner = _("owner agreed") if v.owner_confirmed else _("owner not asked yet")
            yield Label(f"{describe(v)} · {v.carrier} · {owner}")
            yield Label(f"  {v.items}")
            yield Horizontal(
                Button(_("Owner agreed"), id=f"owner-{v.id}"),
                Button(_("Approve"), id=f"approve-{v.id}", variant="primary"),
                Button(_("Refuse"), id=f"refuse-{v.id}"),
            )
        yield Input(placeholder=_("What the owner said, or why refused"), id="note")
        if not service.billing.available(self.ctx):
            yield Checkbox(_("Move-out: the cashier says nothing is owed"), id="fees")
        yield Label(_("Butler: sign below, then Approve"))
        yield SignaturePad(id="pad")
        yield Label("", id="message", classes="message")

    def desk_watch(self) -> list[Any]:
        """For the desk's live poll: the newest pass and how many wait for the butler."""
        from sqlalchemy import func, select

        from plugins.releases.models import ReleasePass

        return [
            select(func.max(ReleasePass.id)),
            select(func.count(ReleasePass.id)).where(ReleasePass.status == "requested"),
        ]

    async def desk_changed(self, old: tuple[Any, ...], new: tuple[Any, ...]) -> None:
        """A resident asked at a kiosk (ring), or another desk decided: read the list again,
        keeping what the butler typed and drew."""
        if (new[0] or 0) > (old[0] or 0):
            self.app.bell()
        note = self.query_one("#note", Input).value
        strokes = self.query_one(SignaturePad).strokes
        await self.recompose()
        self.query_one("#note", Input).value = note
        self.query_one(SignaturePad).strokes = strokes

    def ask_counter(self) -> None:
        """A resident at the counter asks for a pass: the desk types it in, the resident signs
        on the desk's pad; it then waits for approval like one asked at a kiosk."""
        a = self.actor
        reasons = tuple((_(service.reason_label(r)), r) for r in ("temporary", "move_out"))

        def filed(v: dict[str, Any]) -> None:
            day = dt.date.fromisoformat(v["leave_on"].strip())
            self.desk_run(
                _("The pass is filed and waits for approval."),
                lambda: service.request_pass(
                    self.ctx, a, unit_code=v["unit"], applicant=v["applicant"],
                    carrier=v["carrier"], items=v["items"], reason=v["reason"], leave_on=day,
                    signature=v["signature"],
                ),
            )  # fmt: skip

        def check(v: dict[str, Any]) -> str | None:
            from kiosk.signatures import is_meaningful

            try:
                dt.date.fromisoformat(v["leave_on"].strip())
            except ValueError:
                return _("Write the leaving day as YYYY-MM-DD.")
            if not is_meaningful(v["signature"] or []):
                return _("Please sign on the pad; a dot is not a signature.")
            return None

        self.desk_form(
            _("File a pass at the counter"),
            [Field("unit", _("Unit, e.g. 3-1205")), Field("applicant", _("Resident asking")),
             Field("carrier", _("Who carries the items")),
             Field("items", _("What leaves, e.g. sofa, 3 boxes")),
             Field("reason", _("Reason"), "choice", reasons, "temporary"),
             Field("leave_on", _("Leaving on"), value=self.ctx.today().isoformat()),
             Field("signature", _("The resident signs"), "signature")],
            filed,
            check,
        )  # fmt: skip

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "counter":
            event.stop()
            if self.logged_in():
                self.ask_counter()
            return
        what, _sep, ident = (event.button.id or "").partition("-")
        if not ident.isdigit():
            return
        pass_id = int(ident)
        note = self.query_one("#note", Input).value
        try:
            if what == "owner":
                view = service.confirm_owner(self.ctx, self.actor, pass_id, note)
                text = _("Pass {number}: the owner's word is recorded.")
            elif what == "approve":
                fees = [c.value for c in self.query("#fees").results(Checkbox)]
                strokes = self.query_one(SignaturePad).to_json()
                view = service.approve(self.ctx, self.actor, pass_id, strokes,
                                       fees_cleared_by_hand=any(fees))  # fmt: skip
                text = _("Pass {number} approved and printed.")
            elif what == "refuse":
                view = service.refuse(self.ctx, self.actor, pass_id, note)
                text = _("Pass {number} refused.")
            else:
                return
            text = text.format(number=view.number)
        except Refused as exc:
            text = exc.render(_)
        await self.show(text)


class GateExitPanel(DeskPanelWidget):
    """The guard's gate: scan or type the code, check the items, sign, record the exit."""

    DEFAULT_CSS = DESK_CSS.format(name="GateExitPanel")

    def __init__(self, ctx: KioskContext, actor: Any = None, **kwargs: Any) -> None:
        super().__init__(ctx, actor, **kwargs)
        self.checked: Any = None

    def compose(self) -> ComposeResult:
        yield Label(_("Scan or type the pass code:"))
        yield Input(placeholder="KR1....", id="code")
        if self.checked is not None:
            v = self.checked
            yield Label(f"{describe(v)} · {v.carrier}", id="checked")
            yield Label(_("Items: {items}").format(items=v.items))
        yield Horizontal(
            Button(_("Check"), id="check"),
            Button(_("Record exit"), id="exit", variant="primary"),
        )
        yield Label(_("Guard: check the items, sign below, then Record exit"))
        yield SignaturePad(id="pad")
        yield Label("", id="message", classes="message")

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "code":
            await self._act("check")

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id in ("check", "exit"):
            await self._act(event.button.id)

    async def _act(self, what: str) -> None:
        code = self.query_one("#code", Input).value
        try:
            if what == "check":
                self.checked = service.check_pass(self.ctx, self.actor, code)
                text = _("Pass {number} is valid: check the items, sign, record the exit.")
            else:
                strokes = self.query_one(SignaturePad).to_json()
                view = service.record_exit(self.ctx, self.actor, code, strokes)
                self.checked = None
                text = _("Pass {number}: exit recorded.")
                text = text.format(number=view.number)
                await self.show(text)
                return
            text = text.format(number=self.checked.number)
        except Refused as exc:
            self.checked = None
            text = exc.render(_)
        await self.show(text)
        self.query_one("#code", Input).value = code
