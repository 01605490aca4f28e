"""Kiosk screens for visitors: walk-up registration -> waiting for the host -> pass; invite code
-> pass at once; sign-out by scanning the pass. And the desk panel (answer, who is inside).

Thin: each screen collects input, calls one service function, shows the result. A scanner is
a keyboard wedge, so "scan the pass" is an Input that receives the QR text and an Enter.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Input

from kiosk.errors import Refused
from kiosk.i18n import _
from kiosk.ui.desk_forms import ConfirmDialog, DeskActions, Field
from kiosk.ui.screens import ServiceScreen
from kiosk.ui.widgets.qr import FittedQR
from kiosk.ui.widgets.text import Button, Label, Static
from plugins.visitors import service

if TYPE_CHECKING:
    from kiosk.context import KioskContext

POLL_SECONDS = 1.0
log = logging.getLogger(__name__)


class PassQR(FittedQR):
    """The pass QR as half-block rows, black on white; fitted to the screen."""


class VisitorScreen(ServiceScreen):
    DEFAULT_CSS = """
    VisitorScreen { align: center top; }
    VisitorScreen .title { text-style: bold; padding: 1 2 0 2; }
    VisitorScreen .hint { padding: 0 2; }
    VisitorScreen .field { padding: 0 2; height: auto; }
    VisitorScreen .field Label { width: 24; height: 3; content-align: left middle; }
    VisitorScreen .field Input { width: 1fr; max-width: 44; }
    VisitorScreen Input { width: 40; max-width: 100%; }
    VisitorScreen Button { margin: 0 1; }
    """


def field_row(label: str, field: Input) -> Horizontal:
    """A labelled field: the label says what a pre-filled value ("1", "3") is."""
    return Horizontal(Label(label), field, classes="field")


class WalkupScreen(VisitorScreen):
    """Register a visit: name, mobile, unit, purpose, party size."""

    def body(self) -> ComposeResult:
        with VerticalScroll():
            yield Label(_("Visitor registration"), classes="title")
            yield field_row(
                _("Your name"), Input(placeholder=_("Your name"), id="name", classes="keys-name")
            )
            yield field_row(
                _("Mobile number"),
                Input(placeholder=_("Mobile number"), id="phone", classes="keys-123"),
            )
            yield field_row(
                _("Unit to visit"),
                Input(placeholder=_("Unit to visit, e.g. 3-1205"), id="unit", classes="keys-123"),
            )
            yield field_row(
                _("Purpose of the visit"),
                Input(placeholder=_("Purpose of the visit"), id="purpose"),
            )
            yield field_row(
                _("Number of people"),
                Input(value="1", placeholder=_("Number of people"), id="party", classes="keys-123"),
            )

    def actions(self) -> Iterable[Button]:
        return [Button(_("Ask the host"), id="submit", variant="primary")]

    def phrases_for(self, field: Input) -> list[str]:
        """A visit's usual purposes, one tap each on the on-screen keyboard."""
        if field.id != "purpose":
            return []
        return [_("Visiting family or friends"), _("Delivery"), _("Repair or installation"),
                _("Meeting")]  # fmt: skip

    @on(Button.Pressed, "#submit")
    async def submit(self) -> None:
        value = {i.id: i.value for i in self.query(Input)}
        try:
            party = int(value["party"] or "1")
        except ValueError:
            party = 0
        visit = await self.attempt(
            lambda: service.register_walkup(
                self.ctx,
                name=value["name"],
                phone=value["phone"],
                unit_code=value["unit"],
                purpose=value["purpose"],
                party_size=party,
            )
        )
        if visit is not None:
            self.app.switch_screen(WaitingScreen(self.ctx, visit))


class WaitingScreen(VisitorScreen):
    """Waiting for the host's answer (polled); the pass appears once approved. The kiosk waits
    as long as the host may answer (not the shorter idle time); a visitor who leaves, or is
    sent home by the idle reset, stops the wait, so a late answer prints no pass."""

    def __init__(self, ctx: KioskContext, visit: service.VisitView) -> None:
        super().__init__(ctx)
        self.visit = visit
        # The host has host_timeout_minutes to answer: the idle reset waits that long too.
        self.IDLE_AT_LEAST = service.VisitorRules.of(ctx).host_timeout_minutes * 60 + 15

    def idle_note(self) -> str:
        return _("Starting over stops waiting for the host's answer.")

    def on_unmount(self) -> None:
        """Left before an answer (Back, Home, the idle reset): the visit stops waiting, off the
        UI thread; an answer that came first stands."""
        import threading

        def stop() -> None:
            try:
                service.stop_waiting(self.ctx, self.visit.id)
            except Exception:  # noqa: BLE001 - the host's time runs out by itself anyway
                log.warning("stopping the wait of visit %s", self.visit.id, exc_info=True)

        threading.Thread(target=stop, name="stop-waiting", daemon=True).start()

    def body(self) -> ComposeResult:
        yield Label(_("Visitor registration"), classes="title")
        yield Label(
            _("We are asking {unit}. Please wait a moment.").format(unit=self.visit.unit),
            id="status",
            classes="hint",
        )

    def on_mount(self) -> None:
        self.set_interval(POLL_SECONDS, self.check)

    async def check(self) -> None:
        visit = await self.call(service.visit_status, self.ctx, self.visit.id)
        if visit is None or not self.is_current:
            return
        if visit.status == "approved":
            self.app.switch_screen(PassScreen(self.ctx, visit))
        elif visit.status in ("declined", "timed_out"):
            self.query_one("#status", Label).update(
                _("The host could not confirm your visit. Please see the desk.")
            )


class QRFactsScreen(VisitorScreen):
    """A QR beside its facts (a pass, an invite), and Done."""

    DEFAULT_CSS = """
    QRFactsScreen #pass-row { height: auto; }
    QRFactsScreen #pass-facts { width: 1fr; height: auto; }
    """

    def actions(self) -> Iterable[Button]:
        return [Button(_("Done"), id="done", variant="primary")]

    @on(Button.Pressed, "#done")
    def _done(self) -> None:
        self.app.pop_screen()


class PassScreen(QRFactsScreen):
    """The pass: printed, and shown on screen (so a printer fault never strands a visitor)."""

    def __init__(self, ctx: KioskContext, visit: service.VisitView) -> None:
        super().__init__(ctx)
        self.visit = visit

    def body(self) -> ComposeResult:
        v = self.visit
        until = self.ctx.local_time(v.valid_until) if v.valid_until else ""
        with VerticalScroll():
            with Horizontal(id="pass-row"):
                yield PassQR(v.qr, id="qr")
                with Vertical(id="pass-facts"):
                    yield Label(_("Welcome! Your visitor pass"), classes="title")
                    yield Label(v.name, classes="hint", id="pass")
                    yield Label(v.unit, classes="hint")
                    yield Label(f"{_('valid until')} {until}", classes="hint")
                    yield Label(_("Scan it at the kiosk when you leave."), classes="hint")
                    yield Label("", id="printed", classes="hint")

    def on_mount(self) -> None:
        queue = self.ctx.printing
        if queue is not None and self.visit.print_job_id is not None:
            state = queue.print_now(self.visit.print_job_id).state
            if state == "printed":
                self.query_one("#printed", Label).update(_("Please take your pass slip."))
                return
        self.query_one("#printed", Label).update(
            _("The printer cannot print now: show this screen at the gate or photograph the QR.")
        )


class InviteScreen(VisitorScreen):
    """Type the invite code or scan its QR: the pass at once."""

    AUTO_FOCUS = "#code"  # a scanned QR lands in the field without a tap first

    def body(self) -> ComposeResult:
        yield Label(_("I have an invite"), classes="title")
        yield Label(_("Type the invite code, or scan its QR."), classes="hint")
        yield Input(placeholder=_("Invite code, or scan the QR"), id="code", classes="keys-123")

    def actions(self) -> Iterable[Button]:
        return [Button(_("Get my pass"), id="redeem", variant="primary")]

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        await self.redeem()

    @on(Button.Pressed, "#redeem")
    async def redeem(self) -> None:
        code = self.query_one("#code", Input)
        typed, code.value = code.value, ""
        visit = await self.attempt(service.redeem_invite, self.ctx, typed)
        if visit is None:
            return
        if visit.status == "approved":
            self.app.switch_screen(PassScreen(self.ctx, visit))
        else:
            self.app.switch_screen(WaitingScreen(self.ctx, visit))


class CreateInviteScreen(VisitorScreen):
    """A resident (identified by card or unit + PIN) invites a guest: code and QR to send."""

    def body(self) -> ComposeResult:
        with VerticalScroll():
            yield Label(_("Invite a visitor"), classes="title")
            yield field_row(
                _("Guest's name"),
                Input(placeholder=_("Guest's name"), id="guest", classes="keys-name"),
            )
            yield field_row(_("Guest's mobile"), Input(
                placeholder=_("Mobile to send the code to (optional)"),
                id="guest-phone", classes="keys-123"))  # fmt: skip
            yield field_row(
                _("Valid for (hours)"),
                Input(
                    value="3",
                    placeholder=_("Valid for how many hours"),
                    id="hours",
                    classes="keys-123",
                ),
            )

    def actions(self) -> Iterable[Button]:
        return [Button(_("Create invite"), id="create", variant="primary")]

    @on(Button.Pressed, "#create")
    async def create(self) -> None:
        actor = getattr(self.app, "actor", None)
        if actor is None:
            self.say(_("Please tap your card or enter your unit and PIN first."))
            return
        value = {i.id: i.value for i in self.query(Input)}
        try:
            hours = max(1, int(value["hours"] or "3"))
        except ValueError:
            hours = 0
        now = self.ctx.clock.now()

        invite = await self.attempt(
            lambda: service.create_invite(
                self.ctx,
                actor,
                visitor_name=value["guest"],
                visitor_phone=value["guest-phone"],
                valid_from=now,
                valid_until=now + dt.timedelta(hours=hours),
            )
        )
        if invite is None:
            return
        until = self.ctx.local_time(now + dt.timedelta(hours=hours))
        # On a screen of its own, beside its facts as a pass is: whole at 80x24 (under the
        # form it was cut off), and one tap makes one invite.
        self.app.switch_screen(InviteCreatedScreen(self.ctx, invite, until))


class InviteCreatedScreen(QRFactsScreen):
    """The invite just made: its QR beside the code and until when it is valid (laid out as
    the pass is; nothing printed: the guest is not here)."""

    def __init__(self, ctx: KioskContext, invite: service.InviteCreated, until: str) -> None:
        super().__init__(ctx)
        self.invite, self.until = invite, until

    def body(self) -> ComposeResult:
        with VerticalScroll():
            with Horizontal(id="pass-row"):
                yield PassQR(self.invite.qr, id="qr")
                with Vertical(id="pass-facts"):
                    yield Label(_("Invite created"), classes="title")
                    yield Label(_("Invite code {code}").format(
                        code=service.group_code(self.invite.code)), classes="hint", id="code")  # fmt: skip
                    yield Label(f"{_('valid until')} {self.until}", classes="hint")
                    yield Label(_("Give your guest the code, or let them photograph the QR."),
                                classes="hint")  # fmt: skip


class SignOutScreen(VisitorScreen):
    """A visitor leaving scans the pass (a scanner types its text and Enter)."""

    # The scanner types wherever the focus is: in the pass field from the start, not in the
    # language button (whose Enter switched the language and lost the pass).
    AUTO_FOCUS = "#pass"

    def body(self) -> ComposeResult:
        yield Label(_("Visitor sign-out"), classes="title")
        yield Label(_("Hold your visitor pass QR under the scanner."), classes="hint")
        yield Input(placeholder=_("Scan your pass"), id="pass")

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.input.value = ""
        done = await self.attempt(service.sign_out, self.ctx, event.value)
        if done is not None:
            self.say(_("Goodbye, thank you for visiting."), ok=True)


class VisitorsDeskPanel(DeskActions, Static):
    """Desk: visits waiting for an answer (approve / decline), who is inside now, and the block
    list (add someone; remove an entry)."""

    DEFAULT_CSS = """
    VisitorsDeskPanel { height: auto; }
    VisitorsDeskPanel VerticalScroll { height: auto; max-height: 12; }
    VisitorsDeskPanel Horizontal { height: auto; }
    VisitorsDeskPanel Horizontal Label { padding: 1 1 0 0; }
    """

    def compose(self) -> ComposeResult:
        yield Label(_("Visitors waiting for an answer"), classes="title")
        yield VerticalScroll(id="pending")
        yield Label(_("Inside now"), classes="title")
        yield Static("", id="inside")
        yield VerticalScroll(id="inside-actions")
        yield Label(_("Block list"), classes="title")
        add = Button(_("Add to block list"), id="block-add")
        add.compact = True
        yield add
        yield VerticalScroll(id="blocks")
        yield Label("", id="message", classes="message")

    async def on_mount(self) -> None:
        await self.reload()

    def desk_watch(self) -> list[Any]:
        """For the desk's live poll: the newest visit and how many wait for an answer."""
        from sqlalchemy import func, select

        from plugins.visitors.models import Visit

        return [
            select(func.max(Visit.id)),
            select(func.count(Visit.id)).where(Visit.status == "pending"),
            select(func.count(Visit.id)).where(Visit.signed_out_at.is_(None)),
        ]

    async def desk_changed(self, old: tuple[Any, ...], new: tuple[Any, ...]) -> None:
        """A walk-up registered at a kiosk (or a visit answered elsewhere): show it now; a new
        visitor waiting for an answer rings and says so."""
        await self.reload()
        since = old[0] or 0
        scope = service.desk_lobby(self.ctx, self.actor)
        waiting = [p for p in service.pending_visits(self.ctx, scope) if p["id"] > since]
        if waiting:
            first = waiting[0]
            self.app.bell()
            self.app.notify(
                _("{visitor} is waiting to visit {unit}: approve or decline.").format(
                    visitor=first["visitor"], unit=first["unit"]
                ),
                title=_("New visitor"),
                severity="warning",
                timeout=30,
            )

    async def reload(self) -> None:
        service.expire_pending(self.ctx)
        # This desk's lobby; staff of no lobby (the manager) see every lobby, with the lobby.
        scope = service.desk_lobby(self.ctx, self.actor)

        def where(row: dict[str, Any]) -> str:
            return "" if scope is not None else f"({row['lobby'] or '-'}) "

        box = self.query_one("#pending", VerticalScroll)
        # Awaited: the new rows reuse the ids of the ones being removed.
        await box.remove_children()
        for p in service.pending_visits(self.ctx, scope):
            mark = " [!]" if p["blocked"] else ""
            box.mount(
                Horizontal(
                    Label(
                        f"{p['since'][-5:]} {where(p)}{p['unit']} {p['visitor']} "
                        f"x{p['party_size']}{mark}"
                    ),
                    Button(_("Approve"), id=f"approve-{p['id']}", variant="success"),
                    Button(_("Decline"), id=f"decline-{p['id']}", variant="error"),
                )
            )
        inside = service.inside_now(self.ctx, scope)
        self.query_one("#inside", Static).update(
            "\n".join(
                f"{where(i)}{i['unit']} {i['visitor']} x{i['party_size']} → {i['until'][-5:]}"
                + (" ✓" + _("ID checked") if i["id_checked"] else "")
                for i in inside
            )
            or _("Nobody is visiting now.")
        )
        actions = self.query_one("#inside-actions", VerticalScroll)
        await actions.remove_children()
        for i in inside:
            buttons: list[Widget] = [Label(f"{where(i)}{i['unit']} {i['visitor']}")]
            if not i["id_checked"]:
                buttons.append(Button(_("ID checked"), id=f"idcheck-{i['id']}"))
            buttons.append(Button(_("Sign out"), id=f"signout-{i['id']}"))
            actions.mount(Horizontal(*buttons))
        blocks = self.query_one("#blocks", VerticalScroll)
        await blocks.remove_children()
        if self.actor is not None:
            for b in service.block_list(self.ctx, self.actor):
                who = " ".join(x for x in (b["name"], b["phone"], b["id_number"]) if x)
                remove = Button(_("Remove"), id=f"unblock-{b['id']}")
                remove.compact = True
                blocks.mount(Horizontal(Label(f"{who} ({b['reason'] or '-'}) "), remove))

    def desk_commands(self) -> list[tuple[str, Any]]:
        """For the desk's command palette."""
        return [(_("Add to block list"), self.ask_block)]

    def ask_block(self) -> None:
        """Someone whose visits must wait for the desk (the visitor is not told)."""
        a = self.actor
        self.desk_form(
            _("Add to block list"),
            [Field("name", _("Name")), Field("phone", _("Phone")),
             Field("id_number", _("ID number")), Field("reason", _("Reason"))],
            lambda v: self.desk_run(
                _("Added to the block list: their visits now wait for the desk."),
                lambda: service.block(self.ctx, a, name=v["name"], phone=v["phone"],
                                      id_number=v["id_number"], reason=v["reason"]),
            ),
        )  # fmt: skip

    def ask_unblock(self, entry_id: int) -> None:
        a = self.actor
        self.desk_confirm(
            _("Remove this entry from the block list?"),
            _("Removed from the block list."),
            lambda: service.unblock(self.ctx, a, entry_id),
            danger=True,
        )

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        action, _sep, visit_id = (event.button.id or "").partition("-")
        if action not in ("approve", "decline", "idcheck", "signout", "block", "unblock"):
            return
        event.stop()
        if not self.logged_in():
            return
        if action == "block":
            self.ask_block()
            return
        if action == "unblock":
            self.ask_unblock(int(visit_id))
            return
        if action == "idcheck":
            await self._act(action, int(visit_id))
            return
        if action == "decline":  # why, kept on the visit's record (the host said no, ...)
            self.desk_form(
                _("Decline this visit? The visitor is told at the kiosk."),
                [Field("note", _("Why (kept on the record)"))],
                lambda v: self.run_worker(self._act(action, int(visit_id), v["note"])),
            )
            return
        question = {
            "approve": _("Let this visitor in?"),
            "signout": _("Sign this visitor out?"),
        }[action]

        async def answered(yes: bool | None) -> None:
            if yes:
                await self._act(action, int(visit_id))

        self.app.push_screen(ConfirmDialog(question, yes=str(event.button.label)), answered)

    async def _act(self, action: str, visit_id: int, note: str = "") -> None:
        try:
            if action == "idcheck":
                service.mark_id_checked(self.ctx, self.actor, visit_id)
            elif action == "signout":
                service.sign_out_by_desk(self.ctx, self.actor, visit_id)
            else:
                service.decide(self.ctx, self.actor, visit_id, approve=action == "approve",
                               note=note)  # fmt: skip
        except Refused as exc:
            self.query_one("#message", Label).update(exc.render(_))
        await self.reload()
