"""The repairs panel of the butler desk: open tickets, one ticket's detail and its next steps.

The buttons offered are the steps :data:`service.TRANSITIONS` allows from the ticket's status
and the logged-in staff member's roles allow (the service checks both again). A butler sees
every open ticket and can file one taken on the phone; an engineer sees "my tickets" (the ones
assigned to them and the dispatched ones nobody took yet) and can start and complete them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.text import Text
from sqlalchemy import case, func, or_, select
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input

from kiosk.clock import as_utc
from kiosk.db.models import Staff, Unit
from kiosk.i18n import N_, _
from kiosk.money import format_fen, typed_fen
from kiosk.ui.desk_forms import DeskActions, Field
from kiosk.ui.widgets.text import Button, Label, Static
from plugins.repairs import service
from plugins.repairs.models import OPEN_STATUSES, RepairTicket
from plugins.repairs.rules import DEFAULT_CATEGORIES, RepairRules

if TYPE_CHECKING:
    from kiosk.context import KioskContext

STATUS_TITLES: dict[str, str] = {
    "new": N_("New"),
    "confirmed": N_("Confirmed"),
    "dispatched": N_("Dispatched"),
    "in_progress": N_("In progress"),
    "deferred": N_("Deferred"),
    "completed": N_("Completed"),
    "closed": N_("Closed"),
    "reopened": N_("Reopened"),
    "canceled": N_("Canceled"),
}
KIND_TITLES: dict[str, str] = {
    "repair": N_("Repair"),
    "complaint": N_("Complaint"),
    "suggestion": N_("Suggestion"),
}
SEVERITY_TITLES: dict[str, str] = {
    "minor": N_("Minor"),
    "important": N_("Important"),
    "major": N_("Major"),
}
STEP_TITLES: dict[str, str] = {
    "confirm": N_("Confirm"),
    "quote": N_("Quote a price"),
    "consent": N_("Resident's consent"),
    "dispatch": N_("Dispatch"),
    "start": N_("Start work"),
    "defer": N_("Defer"),
    "complete": N_("Complete (signature)"),
    "visit": N_("Return visit"),
    "close": N_("Close"),
    "reopen": N_("Reopen"),
    "cancel": N_("Cancel ticket"),
    "emergency": N_("Mark as emergency"),
    "not_emergency": N_("Not an emergency"),
    # Complaints (000 投诉): forwarded by whoever heard it, judged, and answered.
    "forward": N_("Forward"),
    "judge": N_("Valid or invalid"),
    "reply": N_("Reply to the complainant"),
}
LISTED = (*OPEN_STATUSES, "completed")  # completed: the return visit is still due
# Each listed status its own power of 1,000: the weighted sum tells how many tickets are in
# each (up to 999), so any step changes it (the desk's watch).
STATUS_WEIGHTS = {status: 1000**n for n, status in enumerate(LISTED)}


def category_titles(ctx: KioskContext | None = None) -> dict[str, str]:
    """Category code -> title msgid (the estate's tree when a context is given)."""
    if ctx is None:
        return {c.code: c.title for c in DEFAULT_CATEGORIES}
    return {code: c.title for code, c in RepairRules.of(ctx).categories.items()}


def status_title(status: str) -> str:
    return _(STATUS_TITLES.get(status, N_("Unknown")))


@dataclass(frozen=True)
class DeskTicket(service.TicketFacts):
    """One row of the desk's list, with what the next steps depend on."""

    consented: bool
    assignee: str
    severity: str
    due_at: dt.datetime | None
    note: str
    forwarded_to: str = ""
    judged: bool = False
    replied: bool = False


def desk_tickets(ctx: KioskContext, actor: Any, *, mine: bool = False) -> list[DeskTicket]:
    """Open tickets (and completed ones awaiting the return visit), emergencies first; with
    ``mine``, the ones of the engineer ``actor`` and the dispatched ones not yet taken."""
    RT = RepairTicket
    q = (
        select(RT, Unit.code)
        .outerjoin(Unit, Unit.id == RT.unit_id)
        .where(RT.status.in_(LISTED))
        .order_by(RT.emergency.desc(), RT.id)
        .limit(200)
    )
    if mine:
        q = q.where(
            or_(RT.assignee == actor.name, (RT.status == "dispatched") & (RT.assignee == ""))
        )
    with ctx.database().read() as s:
        return [_row(t, code) for t, code in s.execute(q)]


def desk_ticket(ctx: KioskContext, number: str) -> DeskTicket | None:
    with ctx.database().read() as s:
        row = s.execute(
            select(RepairTicket, Unit.code)
            .outerjoin(Unit, Unit.id == RepairTicket.unit_id)
            .where(RepairTicket.number == number)
        ).first()
        return _row(*row) if row else None


def _row(t: RepairTicket, code: str | None) -> DeskTicket:
    due = t.clock_due_at or (t.visit_due_at if t.status == "completed" else None)
    return DeskTicket(
        t.number, t.kind, t.status, code or "", t.category, t.description, bool(t.emergency),
        bool(t.paid), t.price_fen, t.consent_at is not None, t.assignee, t.severity,
        as_utc(due) if due else None, t.note, t.forwarded_to, t.judged_at is not None,
        t.replied_at is not None,
    )  # fmt: skip


def next_steps(t: DeskTicket, roles: frozenset[str] | set[str]) -> list[str]:
    """The steps the desk offers for ``t``: allowed from its status, and to these roles."""
    desk = bool(set(roles) & {*service.DESK_ROLES, "manager"})
    work = desk or bool(set(roles) & set(service.WORK_ROLES))
    after = service.TRANSITIONS.get(t.status, ())
    steps: list[str] = []
    if desk and "confirmed" in after:
        steps.append("confirm")
    repair = t.kind != "complaint"  # a complaint has no price and is graded, not urgent
    if repair and work and t.status in ("new", "confirmed", "deferred", "reopened", "in_progress"):
        steps.append("quote")
    if desk and t.paid and not t.consented and t.status in OPEN_STATUSES:
        steps.append("consent")
    if desk and "dispatched" in after:
        steps.append("dispatch")
    if work and "in_progress" in after:
        steps.append("start")
    if work and "completed" in after:
        steps.append("complete")
    if work and "deferred" in after:
        steps.append("defer")
    if desk and t.status == "completed":
        steps += ["visit", "close"]
    if desk and "reopened" in after:
        steps.append("reopen")
    if desk and "canceled" in after:
        steps.append("cancel")
    if repair and desk and t.status in OPEN_STATUSES:
        steps.append("not_emergency" if t.emergency else "emergency")
    if t.kind == "complaint":
        supervisor = bool(set(roles) & set(service.SUPERVISOR_ROLES))
        if t.status in OPEN_STATUSES and set(roles) & set(service.STAFF_ROLES):
            steps.append("forward")
        if supervisor and t.status in OPEN_STATUSES and not t.judged:
            steps.append("judge")
        if supervisor and not t.replied and t.status != "canceled":
            steps.append("reply")
    return steps


class RepairsDeskPanel(DeskActions, Vertical):
    """Desk: the ticket list (number, unit, category, status, due), the selected ticket and
    its next steps; "file a phoned-in request". Live through the desk's poll."""

    DEFAULT_CSS = """
    RepairsDeskPanel { height: 1fr; }
    RepairsDeskPanel #rp-table { height: 1fr; min-height: 5; }
    RepairsDeskPanel Horizontal { height: auto; }
    RepairsDeskPanel #rp-actions { height: auto; layout: grid; grid-size: 4; grid-rows: 1;
        grid-gutter: 0 1; }
    RepairsDeskPanel #rp-actions Button { width: 100%; }
    RepairsDeskPanel #rp-detail { height: auto; max-height: 6; padding: 0 1; }
    RepairsDeskPanel .message { color: $warning; text-style: bold; }
    RepairsDeskPanel #rp-summary { padding: 0 1; width: 1fr; }
    RepairsDeskPanel #rp-find { width: 18; }
    """
    MESSAGE_ID = "rp-message"

    def __init__(self, ctx: KioskContext, actor: Any = None, **kwargs: Any) -> None:
        super().__init__(ctx, actor, **kwargs)
        self.selected: str | None = None
        # One ticket shown at a time: a reload after a step and the row it highlights both
        # show the ticket; interleaved, both mounted their step buttons (DuplicateIds).
        self._showing = asyncio.Lock()

    @property
    def actor(self) -> Any:
        return self._actor or getattr(self.app, "staff", None)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(getattr(self.actor, "roles", ()) or ())

    @property
    def engineer_only(self) -> bool:
        return not (self.roles & {*service.DESK_ROLES, "manager"})

    def compose(self) -> ComposeResult:
        with Horizontal():
            if not self.engineer_only:
                new = Button(_("File a phoned-in request"), id="rp-new", variant="primary")
                new.compact = True
                yield new
            yield Label("", id="rp-summary")
            # Any ticket by its number, closed ones too (a repair that failed again reopens).
            find = Input(placeholder=_("Ticket no."), id="rp-find")
            find.compact = True
            yield find
        yield DataTable(id="rp-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="rp-detail")
        yield Horizontal(id="rp-actions")
        yield Label("", id="rp-message", classes="message")

    async def on_mount(self) -> None:
        table = self.query_one("#rp-table", DataTable)
        table.add_columns(_("No."), _("Unit"), _("Category"), _("Status"), _("Deadline"))
        await self.reload()

    def desk_commands(self) -> list[tuple[str, Any]]:
        """For the desk's command palette."""
        if self.engineer_only:
            return []
        return [(_("File a phoned-in request"), self.file_request)]

    # -- the live desk --------------------------------------------------------------------

    def desk_watch(self) -> list[Any]:
        RT = RepairTicket
        return [
            select(func.max(RT.id)),
            select(func.count(RT.id)).where(RT.status.in_(LISTED)),
            select(func.max(RT.clock_due_at)),
            select(func.count(RT.id)).where(RT.status.in_(LISTED), RT.emergency.is_(True)),
            # A step taken elsewhere (the engineer's phone, another desk) moves a ticket from
            # one status to another: a sum weighted by status changes with it.
            select(func.sum(case(STATUS_WEIGHTS, value=RT.status, else_=0))).where(
                RT.status.in_(LISTED)
            ),
        ]

    async def desk_changed(self, old: tuple[Any, ...], new: tuple[Any, ...]) -> None:
        await self.reload()

    # -- showing ----------------------------------------------------------------------------

    async def reload(self) -> None:
        if self.actor is None:
            return
        tickets = desk_tickets(self.ctx, self.actor, mine=self.engineer_only)
        titles = category_titles(self.ctx)
        app: Any = self.app
        now = self.ctx.clock.now()
        table = self.query_one("#rp-table", DataTable)
        table.clear()
        late = 0
        for t in tickets:
            overdue = t.due_at is not None and t.due_at < now
            late += overdue
            due = app.local(t.due_at).strftime("%m-%d %H:%M") if t.due_at else "-"
            table.add_row(
                Text(("⚠ " if t.emergency else "") + t.number, "bold red" if t.emergency else ""),
                Text(t.unit_code or _("common area")),
                Text(_(titles.get(t.category, N_("Other")))),
                Text(status_title(t.status)),
                Text(due, "red" if overdue else ""),
                key=t.number,
            )
        label = _("My tickets: {n}") if self.engineer_only else _("Open tickets: {n}")
        self.query_one("#rp-summary", Label).update(
            label.format(n=len(tickets)) + "  " + _("late: {n}").format(n=late)
        )
        if self.selected is None and tickets:
            self.selected = tickets[0].number
        await self.show_ticket()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "rp-find":
            return
        event.stop()
        number = event.value.strip().upper()
        if desk_ticket(self.ctx, number) is None:
            self.say(_("There is no ticket {number}.").format(number=number))
            return
        self.selected = number
        self.say("")
        await self.show_ticket()

    async def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != "rp-table" or event.row_key.value is None:
            return
        event.stop()
        if event.row_key.value != self.selected:
            self.selected = event.row_key.value
            await self.show_ticket()

    async def show_ticket(self) -> None:
        async with self._showing:
            await self._show_ticket()

    async def _show_ticket(self) -> None:
        detail = self.query_one("#rp-detail", Static)
        box = self.query_one("#rp-actions", Horizontal)
        await box.remove_children()
        t = desk_ticket(self.ctx, self.selected) if self.selected else None
        if t is None:
            detail.update(_("No ticket selected."))
            return
        titles = category_titles(self.ctx)
        parts = [
            f"{t.number} · {_(KIND_TITLES.get(t.kind, N_('Repair')))} · "
            f"{_(titles.get(t.category, N_('Other')))} · {status_title(t.status)}",
            _("Unit: {unit}").format(unit=t.unit_code or _("common area")),
        ]
        if t.severity:
            parts.append(_("Grade: {grade}").format(grade=_(SEVERITY_TITLES[t.severity])))
        if t.paid:
            parts.append(
                _("Paid repair {price}, consent: {yes}").format(
                    price=format_fen(t.price_fen), yes=_("yes") if t.consented else _("no")
                )
            )
        if t.assignee:
            parts.append(_("Engineer: {name}").format(name=t.assignee))
        text = "  ".join(parts)
        if t.description:
            text += "\n" + t.description
        detail.update(text)
        buttons = [
            Button(_(STEP_TITLES[step]), id=f"rp-{step}", variant=_variant(step))
            for step in next_steps(t, self.roles)
        ]
        for b in buttons:
            b.compact = True  # one line each, four to a row: fits 80 columns
        await box.mount_all(buttons)

    # -- acting -----------------------------------------------------------------------------

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        step = (event.button.id or "").removeprefix("rp-")
        if step == "new":
            event.stop()
            self.file_request()
            return
        if step not in STEP_TITLES or self.selected is None:
            return
        event.stop()
        t = desk_ticket(self.ctx, self.selected)
        if t is None or step not in next_steps(t, self.roles):
            self.say(_("That step is not possible for this ticket now."))
            return
        getattr(self, f"ask_{step}")(t)

    def ask_confirm(self, t: DeskTicket) -> None:
        a, n = self.actor, t.number
        if t.kind != "complaint":
            self._yes_or_no(
                t,
                _("Confirm ticket {number} with the resident?"),
                _("Ticket {number} confirmed."),
                service.confirm,
            )
            return
        grades = tuple((_(title), code) for code, title in SEVERITY_TITLES.items())
        self.desk_form(
            _("Grade complaint {number}").format(number=n),
            [Field("severity", _("Grade"), "choice", grades, t.severity or "minor"),
             Field("note", _("Note"))],
            lambda v: self.desk_run(
                _("Ticket {number} confirmed.").format(number=n),
                lambda: service.confirm(self.ctx, a, n, severity=v["severity"] or "minor",
                                        note=v["note"]),
            ),
        )  # fmt: skip

    def ask_quote(self, t: DeskTicket) -> None:
        a, n = self.actor, t.number

        def check(v: dict[str, Any]) -> str | None:
            return None if typed_fen(v["price"]) else _("Enter a price in yuan, e.g. 80.")

        self.desk_form(
            _("Quote a price for ticket {number}").format(number=n),
            [Field("price", _("Price (yuan)"))],
            lambda v: self.desk_run(
                _("Quoted; the resident's consent is needed."),
                lambda: service.quote(self.ctx, a, n, typed_fen(v["price"]) or 0),
            ),
            check,
        )

    def ask_consent(self, t: DeskTicket) -> None:
        a, n = self.actor, t.number
        answers = ((_("The resident agrees"), "yes"), (_("The resident declines (cancels)"), "no"))
        self.desk_form(
            _("Resident's answer to the price {price}").format(price=format_fen(t.price_fen)),
            [Field("answer", _("Answer"), "choice", answers)],
            lambda v: self.desk_run(
                _("The resident's answer is recorded."),
                lambda: service.consent(self.ctx, a, n, v["answer"] == "yes"),
            ),
            lambda v: None if v["answer"] else _("Choose an answer."),
        )

    def ask_dispatch(self, t: DeskTicket) -> None:
        a, n = self.actor, t.number
        with self.ctx.database().read() as s:
            staff = [(p.name, p.role_set) for p in s.scalars(select(Staff).where(Staff.active))]
        engineers = tuple((name, name) for name, roles in staff if "engineer" in roles)
        self.desk_form(
            _("Dispatch ticket {number}").format(number=n),
            [Field("assignee", _("Engineer"), "choice", engineers,
                   engineers[0][1] if engineers else "")],
            lambda v: self.desk_run(
                _("Ticket {number} dispatched.").format(number=n),
                lambda: service.dispatch(self.ctx, a, n, v["assignee"]),
            ),
        )  # fmt: skip

    def ask_start(self, t: DeskTicket) -> None:
        self._yes_or_no(
            t,
            _("Start work on ticket {number} now?"),
            _("Work on ticket {number} started."),
            service.start,
        )

    def ask_defer(self, t: DeskTicket) -> None:
        a, n = self.actor, t.number
        days = tuple((_("{n} days").format(n=d), str(d)) for d in (1, 2, 3, 7, 14))

        def go(v: dict[str, Any]) -> None:
            until = self.ctx.clock.now() + dt.timedelta(days=int(v["days"] or 1))
            self.desk_run(
                _("Ticket {number} deferred.").format(number=n),
                lambda: service.defer(self.ctx, a, n, until, v["reason"]),
            )

        self.desk_form(
            _("Defer ticket {number}").format(number=n),
            [Field("reason", _("Reason (parts, contractor …)")),
             Field("days", _("For"), "choice", days, "1")],
            go,
            lambda v: None if v["reason"].strip() else _("Say why the work is deferred."),
        )  # fmt: skip

    def ask_complete(self, t: DeskTicket) -> None:
        a, n = self.actor, t.number

        def check(v: dict[str, Any]) -> str | None:
            if service.signature_is_meaningful(v["signature"]):
                return None
            return _("Please sign on the pad; a dot is not a signature.")

        self.desk_form(
            _("Ticket {number}: the resident signs that the work is done").format(number=n),
            [Field("signature", _("Resident's signature"), "signature")],
            lambda v: self.desk_run(
                _("Ticket {number} completed.").format(number=n),
                lambda: service.complete(self.ctx, a, n, v["signature"]),
            ),
            check,
        )

    def ask_visit(self, t: DeskTicket) -> None:
        a, n = self.actor, t.number
        ratings = tuple((f"{r} ★", str(r)) for r in (5, 4, 3, 2, 1))
        self.desk_form(
            _("Return visit for ticket {number}").format(number=n),
            [Field("rating", _("Rating"), "choice", ratings, "5"), Field("comment", _("Comment"))],
            lambda v: self.desk_run(
                _("Return visit recorded."),
                lambda: service.record_visit(self.ctx, a, n, int(v["rating"] or 5), v["comment"]),
            ),
        )

    def ask_close(self, t: DeskTicket) -> None:
        self._yes_or_no(
            t,
            _("Close ticket {number} without a return visit?"),
            _("Ticket {number} closed."),
            service.close,
            danger=True,
        )

    def ask_forward(self, t: DeskTicket) -> None:
        self._reason(t, _("Forward complaint {number}"), _("Complaint {number} forwarded."),
                     service.forward, label=_("To (a person or department)"),
                     missing=_("Say who the complaint goes to."), value=t.forwarded_to)  # fmt: skip

    def ask_judge(self, t: DeskTicket) -> None:
        a, n = self.actor, t.number
        verdicts = (
            (_("Valid complaint"), "valid"),
            (_("Invalid (closes it; the complainant is told)"), "invalid"),
        )
        self.desk_form(
            _("Is complaint {number} valid?").format(number=n),
            [Field("verdict", _("Verdict"), "choice", verdicts, "valid"),
             Field("explanation", _("Explanation (needed when invalid)"))],
            lambda v: self.desk_run(
                _("Complaint {number} judged.").format(number=n),
                lambda: service.judge(self.ctx, a, n, v["verdict"] != "invalid",
                                      v["explanation"]),
            ),
            lambda v: None if v["verdict"] != "invalid" or v["explanation"].strip()
            else _("An invalid complaint needs an explanation."),
        )  # fmt: skip

    def ask_reply(self, t: DeskTicket) -> None:
        self._reason(t, _("Reply to the complainant of {number}"), _("Reply recorded and sent."),
                     service.reply, label=_("Reply (sent by SMS)"),
                     missing=_("Write the reply to the complainant."))  # fmt: skip

    def ask_reopen(self, t: DeskTicket) -> None:
        self._reason(t, _("Reopen ticket {number}"), _("Ticket {number} reopened."), service.reopen)

    def ask_cancel(self, t: DeskTicket) -> None:
        self._reason(t, _("Cancel ticket {number}"), _("Ticket {number} canceled."), service.cancel)

    def _reason(
        self, t: DeskTicket, title: str, done: str, call: Any, *, label: str = "",
        missing: str = "", value: str = "",
    ) -> None:  # fmt: skip
        """Ask for one line of text (a reason, by default) about ticket ``t``; then
        ``call(ctx, actor, number, text)`` and say ``done`` (``{number}`` in both titles)."""
        a, n = self.actor, t.number
        self.desk_form(
            title.format(number=n),
            [Field("reason", label or _("Reason"), value=value)],
            lambda v: self.desk_run(
                done.format(number=n), lambda: call(self.ctx, a, n, v["reason"])
            ),
            lambda v: None if v["reason"].strip() else missing or _("Please give a reason."),
        )

    def ask_emergency(self, t: DeskTicket) -> None:
        self._yes_or_no(
            t,
            _("Treat ticket {number} as an emergency? Engineering is called at once."),
            _("Ticket {number} is an emergency."),
            partial(service.reclassify, emergency=True),
            danger=True,
        )

    def ask_not_emergency(self, t: DeskTicket) -> None:
        self._yes_or_no(
            t,
            _("Ticket {number} is not an emergency?"),
            _("Ticket {number} is no longer an emergency."),
            partial(service.reclassify, emergency=False),
        )

    def _yes_or_no(
        self, t: DeskTicket, question: str, done: str, call: Any, *, danger: bool = False
    ) -> None:
        """Ask ``question`` about ticket ``t``; on yes, ``call(ctx, actor, number)`` and say
        ``done`` (both with ``{number}``)."""
        a, n = self.actor, t.number
        self.desk_confirm(
            question.format(number=n),
            done.format(number=n),
            lambda: call(self.ctx, a, n),
            danger=danger,
        )

    def file_request(self) -> None:
        rules = RepairRules.of(self.ctx)
        choices = tuple(
            (_(c.title), c.code)
            for c in rules.categories.values()
            if not any(o.parent == c.code for o in rules.categories.values())
        )

        def go(v: dict[str, Any]) -> None:
            def call() -> None:
                view = service.file_ticket(
                    self.ctx, self.actor, category=v["category"], unit_code=v["unit"].strip(),
                    location="in_home" if v["unit"].strip() else "common_area",
                    description=v["description"], contact_phone=v["contact"],
                    urgent=bool(v["urgent"]),
                )  # fmt: skip
                self.selected = view.number

            self.desk_run(_("Request filed."), call)

        self.desk_form(
            _("File a phoned-in request"),
            [Field("unit", _("Unit (blank: a common area)")),
             Field("category", _("What is the problem?"), "choice", choices),
             Field("description", _("Description")),
             Field("contact", _("Contact phone")),
             Field("urgent", _("Urgent"), "check")],
            go,
            lambda v: None if v["category"] else _("Please choose what the problem is."),
        )  # fmt: skip


def _variant(step: str) -> Any:
    if step in ("cancel", "emergency", "close"):
        return "error"
    if step in ("confirm", "dispatch", "start", "complete", "visit"):
        return "primary"
    return "default"


def panel(ctx: KioskContext) -> RepairsDeskPanel:
    return RepairsDeskPanel(ctx)


def household_section(ctx: KioskContext, unit_code: str) -> Any:
    """The unit's repairs and complaints (the last 10, open ones first) for the household file."""
    from kiosk.hookspecs import HouseholdSection

    titles = category_titles(ctx)
    RT = RepairTicket
    with ctx.database().read() as s:
        rows = s.execute(
            select(RT.number, RT.kind, RT.category, RT.status, RT.created_at)
            .join(Unit, Unit.id == RT.unit_id)
            .where(Unit.code == unit_code)
            .order_by(RT.status.in_(LISTED).desc(), RT.id.desc())
            .limit(10)
        ).all()
    zone = ctx.zone
    lines = tuple(
        f"{number}  {as_utc(at).astimezone(zone):%Y-%m-%d}  {_(KIND_TITLES.get(kind, N_('Repair')))}"
        f"  {_(titles.get(category, N_('Other')))}  {status_title(status)}"
        for number, kind, category, status, at in rows
    )
    return HouseholdSection(N_("Repairs and complaints"), lines or (_("none"),), order=30)
