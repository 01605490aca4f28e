"""Kiosk and desk screens for notices.

Kiosk: the notices on show in this lobby (a tap opens one: number, date, text); a notice to
households has "I have read it" for the identified resident (card tap), once per household.
Desk: draft a notice, approve it (the manager), publish or withdraw it, see how many households
read it. Thin: one service call per action, off the UI thread; refusals shown translated.
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
from kiosk.ui.widgets.text import Button, Checkbox, Label
from plugins.notices import service

if TYPE_CHECKING:
    from kiosk.context import KioskContext


def issued_on(ctx: KioskContext, view: service.NoticeView) -> str:
    """The notice's date (its approval) in the estate's zone."""
    return ctx.local_time(view.approved_at)[:10] if view.approved_at else ""


def until_text(ctx: KioskContext, view: service.NoticeView) -> str:
    if view.expires_at is None:
        return ""
    import datetime as dt

    from kiosk.clock import as_utc

    last = as_utc(view.expires_at) - dt.timedelta(seconds=1)
    return _("On show until {date}").format(date=ctx.local_time(last)[:10])


class NoticesScreen(ServiceScreen):
    """The notices on show in this lobby; ``notice_id`` opens one directly (the home strip)."""

    DEFAULT_CSS = """
    NoticesScreen .title { text-style: bold; padding: 0 2; }
    NoticesScreen .hint, NoticesScreen .line { padding: 0 2; }
    NoticesScreen .open { width: 100%; margin: 0 2; }
    NoticesScreen #notice-body { padding: 1 2; }
    """

    def __init__(self, ctx: KioskContext, notice_id: int | None = None) -> None:
        super().__init__(ctx)
        self.notice_id = notice_id
        self.shown: list[service.NoticeView] = []
        self.view: service.NoticeView | None = None
        self.read = False

    @property
    def actor(self) -> Any:
        return getattr(self.app, "actor", None)

    def load(self, notice_id: int | None, actor: Any) -> tuple[Any, Any, bool]:
        shown = service.current(self.ctx, self.ctx.lobby or None)
        view = next((n for n in shown if n.id == notice_id), None)
        read = view is not None and view.households and service.has_read(self.ctx, actor, view.id)
        return shown, view, read

    async def reload(self) -> None:
        loaded = await self.call(self.load, self.notice_id, self.actor)
        if loaded is not None:
            self.shown, self.view, self.read = loaded
        await self.recompose()

    async def on_mount(self) -> None:
        await self.reload()

    def actions(self) -> list[Button]:
        view = self.view
        if view is None or not view.households:
            return []
        if self.read:
            return [Button(_("Signed for"), id="signed", disabled=True)]
        if self.actor is None:
            return [Button(_("Tap your card to sign"), id="identify-sign", variant="primary")]
        return [Button(_("I have read it"), id="sign", variant="primary")]

    def body(self) -> ComposeResult:
        with VerticalScroll():
            if self.view is not None:
                yield from self._detail(self.view)
            else:
                yield from self._list()

    def _list(self) -> ComposeResult:
        yield Label(_("Notices"), classes="title")
        if not self.shown:
            yield Label(_("No notices right now."), classes="hint", id="empty")
        for n in self.shown:
            yield Button(f"{n.number}  {n.title}", id=f"open-{n.id}", classes="open")

    def _detail(self, view: service.NoticeView) -> ComposeResult:
        yield Label(view.title, classes="title", id="notice-title")
        yield Label(f"{view.number}  {issued_on(self.ctx, view)}  {view.department}",
                    classes="line")  # fmt: skip
        yield Label(view.body, id="notice-body")
        until = until_text(self.ctx, view)
        if until:
            yield Label(until, classes="hint")
        if view.households:
            yield Label(
                _("Your household has read this notice.")
                if self.read
                else _(
                    "This notice is addressed to every household: please sign that you read it."
                ),
                classes="hint",
                id="sign-hint",
            )

    async def action_back(self) -> None:
        """From a notice back to the list; from the list, back home."""
        if self.view is not None and len(self.shown) > 1:
            self.notice_id, self.view = None, None
            await self.recompose()
            return
        self.app.pop_screen()

    @on(Button.Pressed, ".open")
    async def _open(self, event: Button.Pressed) -> None:
        self.notice_id = int((event.button.id or "").removeprefix("open-"))
        await self.reload()

    @on(Button.Pressed, "#identify-sign")
    def _identify(self) -> None:
        from kiosk.ui.screens import IdentifyScreen

        # Identified by card or unit + PIN, the resident comes back to the notices.
        self.app.push_screen(IdentifyScreen(then="notices"))

    @on(Button.Pressed, "#sign")
    async def _sign(self) -> None:
        if self.view is None:
            return
        done = await self.attempt(service.mark_read, self.ctx, self.actor, self.view.id)
        if done is None:
            return
        await self.reload()
        self.say(
            _("Thank you: your household has signed for this notice.")
            if done
            else _("Your household had already signed for this notice."),
            ok=True,
        )


class NoticesDeskPanel(DeskStaff, Widget):
    """Desk: draft a notice; approve (manager), publish, withdraw; households that read it."""

    DEFAULT_CSS = """
    NoticesDeskPanel { height: auto; }
    NoticesDeskPanel Horizontal { height: auto; }
    NoticesDeskPanel #n-title { width: 1fr; }
    NoticesDeskPanel #n-body { width: 1fr; }
    NoticesDeskPanel #n-days { width: 20; }
    NoticesDeskPanel .row Label { width: 1fr; height: 3; content-align: left middle; }
    NoticesDeskPanel .message { color: $warning; }
    """

    message = ""  # the outcome of the last action, shown above the list

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Input(placeholder=_("Notice title"), id="n-title")
            yield Input(placeholder=_("Days on show"), id="n-days", type="integer")
        with Horizontal():
            yield Input(placeholder=_("Text of the notice"), id="n-body")
            yield Checkbox(_("Households sign"), id="n-households")
            yield Button(_("Draft notice"), id="n-draft", variant="primary")
        yield Label(self.message, id="message", classes="message")
        for n in service.notices(self.ctx, limit=10):
            with Horizontal(classes="row"):
                signed = f"  {_('read by {count}').format(count=n.read)}" if n.households else ""
                yield Label(f"{n.number or '#' + str(n.id)} {_(n.status)} {n.title}{signed}")
                if n.status == "draft":
                    yield Button(_("Approve notice"), id=f"approve-{n.id}", classes="step")
                elif n.status == "approved":
                    yield Button(_("Publish"), id=f"publish-{n.id}", classes="step")
                elif n.status == "published":
                    yield Button(_("Withdraw"), id=f"withdraw-{n.id}", classes="step")
                    if n.households:  # to hand it over in person: who has not signed
                        yield Button(_("Not signed"), id=f"unread-{n.id}", classes="unread")

    async def _done(self, text: str) -> None:
        self.message = text
        await self.recompose()

    @on(Button.Pressed, "#n-draft")
    async def _draft(self) -> None:
        import datetime as dt

        title = self.query_one("#n-title", Input).value
        body = self.query_one("#n-body", Input).value
        days = self.query_one("#n-days", Input).value.strip()
        households = self.query_one("#n-households", Checkbox).value
        try:
            expires = self.ctx.today() + dt.timedelta(days=int(days)) if days else None
            notice_id = service.draft(self.ctx, self.actor, title=title, body=body,
                                      households=households, expires_on=expires)  # fmt: skip
        except (Refused, ValueError, OverflowError) as exc:
            await self._done(exc.render(_) if isinstance(exc, Refused) else _("Days on show"))
            return
        await self._done(_("Notice {id} drafted: the manager approves it.").format(id=notice_id))

    @on(Button.Pressed, ".unread")
    async def _unread(self, event: Button.Pressed) -> None:
        """The households still to sign, to take the notice to them (如单独向某个客户发文送到
        客户手中，并请客户签收)."""
        count = service.read_count(self.ctx, int((event.button.id or "").removeprefix("unread-")))
        units = count.unread_units
        if not units:
            await self._done(_("Every household has signed {number}.").format(number=count.number))
            return
        shown = " ".join(units[:40]) + (" …" if len(units) > 40 else "")
        await self._done(
            _("{number}: {left} of {households} households have not signed: {units}").format(
                number=count.number, left=len(units), households=count.households, units=shown
            )
        )

    @on(Button.Pressed, ".step")
    async def _step(self, event: Button.Pressed) -> None:
        what, notice_id = (event.button.id or "").split("-", 1)
        step = {"approve": service.approve, "publish": service.publish,
                "withdraw": service.withdraw}[what]  # fmt: skip
        try:
            step(self.ctx, self.actor, int(notice_id))
        except Refused as exc:
            await self._done(exc.render(_))
            return
        await self._done(
            {
                "approve": _("Notice {id} approved and numbered."),
                "publish": _("Notice {id} is on the kiosks."),
                "withdraw": _("Notice {id} taken down."),
            }[what].format(id=notice_id)
        )
