"""Repair requests, complaints and suggestions (000 "维修服务", "投诉"; 004 flowchart), headless.

Flow (004): register -> confirm -> solve -> feedback -> close.

1. :func:`file_ticket` registers the request (unit, location, category, description, reporter,
   receiver, contact phone, appointment). Emergencies (burst pipe, smoking appliance, sudden loss
   of water or power, or the resident says it is urgent) alert the desk and engineering at once.
2. :func:`confirm` (the desk responds; a complaint is graded minor / important / major),
   :func:`quote` + :func:`consent` for paid repairs (the price list is explained and the
   resident agrees before dispatch), :func:`dispatch` to engineering; :func:`renotify_unclaimed`
   reminds engineering of tickets nobody took.
3. :func:`start` (on site), :func:`defer`, :func:`complete` with the resident's signature.
4. :func:`record_visit`: the return visit (same day for repairs, within 1 day for complaints)
   with a 1-5 rating; a low rating reopens a repair or escalates a complaint, else the ticket
   closes.

Every transition is a conditional update on the ticket's status (``WHERE status IN (...)``);
a transition the lifecycle does not allow is refused.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from kiosk import audit, charges, printing, signatures
from kiosk.clock import as_utc
from kiosk.db import read_views
from kiosk.db.models import Building, Resident, Unit
from kiosk.errors import Refused
from kiosk.i18n import N_
from kiosk.identity import SYSTEM, Actor, require_role, unit_by_code
from kiosk.money import format_fen
from kiosk.notify import queue_notification, raise_alert
from kiosk.pii import mask_phone, mask_text
from plugins.repairs.models import KINDS, LOCATIONS, OPEN_STATUSES, SEVERITIES, RepairTicket
from plugins.repairs.records import by_category_items, month_bounds, monthly_report, purge_in
from plugins.repairs.rules import (
    OUTAGE_CATEGORIES,
    OUTAGE_SIGNS,
    Category,
    RepairRules,
    emergency_signs,
)

if TYPE_CHECKING:
    from kiosk.context import KioskContext

__all__ = ["by_category_items", "month_bounds", "monthly_report", "purge_in"]

DESK_ROLES = ("butler",)
WORK_ROLES = ("engineer", "butler")
SUPERVISOR_ROLES = ("butler", "manager")  # judge, grade and answer complaints
STAFF_ROLES = ("butler", "engineer", "security", "cashier", "manager")

# status -> statuses it may move to
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("confirmed", "deferred", "canceled"),
    "confirmed": ("dispatched", "deferred", "canceled"),
    "dispatched": ("in_progress", "deferred", "canceled"),
    "in_progress": ("completed", "deferred"),
    "deferred": ("confirmed", "dispatched", "in_progress", "canceled"),
    "completed": ("closed", "reopened"),
    "closed": ("reopened",),
    "reopened": ("confirmed", "dispatched", "in_progress", "canceled"),
    "canceled": (),
}
PREFIX = {"repair": "R", "complaint": "C", "suggestion": "S"}


def sources_of(target: str) -> tuple[str, ...]:
    return tuple(s for s, targets in TRANSITIONS.items() if target in targets)


def _ticket(session: Session, number: str) -> RepairTicket:
    t = session.scalar(select(RepairTicket).where(RepairTicket.number == number.strip().upper()))
    if t is None:
        raise Refused("repairs.unknown", "There is no ticket {number}.", number=number.strip())
    return t


def _own_ticket(session: Session, actor: Actor, number: str, action: str) -> RepairTicket:
    """The ticket ``number`` for its own household, or for the desk doing ``action``."""
    t = _ticket(session, number)
    if actor.kind == "resident":
        if actor.unit_id != t.unit_id:
            raise Refused("repairs.not_yours", "This ticket belongs to another household.")
    else:
        require_role(actor, action, *DESK_ROLES)
    return t


def _not_gradable() -> Refused:
    return Refused("repairs.severity", "Only a complaint is graded minor, important or major.")


def _open_complaint(
    session: Session, number: str, target: str, refusal: Callable[[], Refused] | None = None
) -> RepairTicket:
    """The complaint ``number``, still open so that it can become ``target``; another kind of
    ticket is refused with ``refusal()`` (else: not a complaint)."""
    t = _ticket(session, number)
    if t.kind != "complaint":
        if refusal is not None:
            raise refusal()
        raise Refused("repairs.not_complaint", "Ticket {number} is not a complaint.",
                      number=t.number)  # fmt: skip
    if t.status not in OPEN_STATUSES:
        raise _refuse_transition(t, target)
    return t


def _refuse_transition(t: RepairTicket, target: str) -> Refused:
    return Refused(
        "repairs.transition",
        "Ticket {number} is {status}; it cannot become {target}.",
        number=t.number, status=t.status, target=target,
    )  # fmt: skip


def _move(session: Session, t: RepairTicket, target: str, *,
          sources: tuple[str, ...] | None = None, **values: Any) -> None:  # fmt: skip
    """The conditional update every transition goes through."""
    allowed = sources_of(target) if sources is None else sources
    if t.status not in allowed:
        raise _refuse_transition(t, target)
    values.update(_running_clock(t, target, values))
    done = session.execute(
        update(RepairTicket)
        .where(RepairTicket.id == t.id, RepairTicket.status == t.status)
        .values(status=target, **values)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not done:  # another desk moved it a moment ago
        session.refresh(t)
        raise _refuse_transition(t, target)
    session.refresh(t)


def _running_clock(t: RepairTicket, target: str, values: dict[str, Any]) -> dict[str, Any]:
    """Which SLA clock runs after moving ``t`` to ``target`` with ``values``, and its deadline."""
    if target in ("completed", "closed", "canceled"):
        return {"clock": None, "clock_due_at": None}

    def now_value(name: str) -> Any:
        return values[name] if name in values else getattr(t, name)

    if target == "reopened":  # the work starts over with the ticket's resolve allowance
        allowance = as_utc(t.resolve_due_at) - as_utc(t.created_at)
        return {"clock": "resolve", "clock_due_at": (now_value("visited_at") or as_utc(
            t.completed_at or t.created_at)) + allowance}  # fmt: skip
    if t.reopen_count and t.clock == "resolve":
        return {}
    if now_value("resolved_at") is not None:  # external work committed: wait for the date
        return {"clock": "committed", "clock_due_at": now_value("deferred_until")}
    if now_value("responded_at") is None:
        return {"clock": "respond", "clock_due_at": now_value("respond_due_at")}
    return {"clock": "resolve", "clock_due_at": now_value("resolve_due_at")}


# -- views ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketFacts:
    """What every view of a ticket starts with: which one, whose, what, and what it costs."""

    number: str
    kind: str
    status: str
    unit_code: str
    category: str
    description: str
    emergency: bool
    paid: bool
    price_fen: int


@dataclass(frozen=True)
class TicketView(TicketFacts):
    """What screens and the CLI show; the phone is masked."""

    phone: str
    appointment: str
    created_at: dt.datetime
    reopen_count: int
    severity: str
    major_reason: str = ""
    valid: bool | None = None
    explanation: str = ""


def _view(ctx: KioskContext, session: Session, t: RepairTicket) -> TicketView:
    unit = session.get(Unit, t.unit_id) if t.unit_id else None
    return TicketView(
        t.number, t.kind, t.status, unit.code if unit else "", t.category, t.description,
        t.emergency, t.paid, t.price_fen, mask_phone(t.contact_phone) if t.contact_phone else "",
        ctx.local_time(t.appointment_at) if t.appointment_at else "", as_utc(t.created_at),
        t.reopen_count, t.severity, t.major_reason, t.valid, t.explanation,
    )  # fmt: skip


def get_ticket(ctx: KioskContext, number: str) -> TicketView:
    with ctx.database().read() as session:
        return _view(ctx, session, _ticket(session, number))


def tickets_of(ctx: KioskContext, actor: Actor) -> list[TicketView]:
    """A household's open or unvisited tickets (the lobby shows only the actor's own unit)."""
    unfinished = (
        select(RepairTicket)
        .where(RepairTicket.unit_id == actor.unit_id,
               RepairTicket.status.not_in(("closed", "canceled")))
        .order_by(RepairTicket.id)
    )  # fmt: skip
    return read_views(ctx, unfinished, _view)


# -- filing -----------------------------------------------------------------------------------


def appointment_slots(ctx: KioskContext, days: int = 3) -> list[dt.datetime]:
    """Bookable slots (UTC) from now on, from the configured local slot times."""
    rules = RepairRules.of(ctx)
    zone = ctx.zone
    now = ctx.clock.now()
    today = as_utc(now).astimezone(zone).date()
    out = []
    for d in range(days):
        day = today + dt.timedelta(days=d)
        for slot in rules.slots:
            h, m = (int(x) for x in slot.split(":"))
            at = dt.datetime.combine(day, dt.time(h, m), zone).astimezone(dt.UTC)
            if at > now:
                out.append(at)
    return out


def file_ticket(
    ctx: KioskContext,
    actor: Actor,
    *,
    category: str,
    kind: str | None = None,
    unit_code: str = "",
    description: str = "",
    location: str = "in_home",
    floor: int | None = None,
    reporter: str = "",
    contact_phone: str = "",
    appointment_at: dt.datetime | None = None,
    urgent: bool = False,
    external: bool = False,
    severity: str = "",
    building: str = "",
) -> TicketView:
    """Register a request (a resident at the kiosk, or the desk taking a call or a visit).

    A booked appointment starts the repair clocks at the slot: the resident is not home
    before it. A complaint's 10-minute forward clock starts now; one filed at the kiosk goes
    to the desk at once. ``building`` names the building of a common area."""
    rules = RepairRules.of(ctx)
    cat: Category | None = rules.categories.get(category)
    if cat is None:
        raise Refused("repairs.category", "Please choose what the problem is.")
    kind = kind or cat.kind
    if kind not in KINDS:
        raise Refused("repairs.kind", "A ticket is a repair, a complaint or a suggestion.")
    if location not in LOCATIONS:
        raise Refused("repairs.location", "Say whether it is in the home or in a common area.")
    if severity not in SEVERITIES or (severity and kind != "complaint"):
        raise _not_gradable()
    description = description.strip()
    if kind == "suggestion" and not description:  # its words are the whole of it
        raise Refused("repairs.suggestion_empty", "Please write your suggestion.")
    if len(description) > 500:
        raise Refused("repairs.description", "Please keep the description under 500 characters.")
    phone = "".join(ch for ch in contact_phone if ch.isdigit() or ch == "+")
    if contact_phone and not 7 <= len(phone) <= 20:
        raise Refused("repairs.phone", "That is not a phone number.")
    now = ctx.clock.now()
    if appointment_at is not None and as_utc(appointment_at) < now:
        raise Refused("repairs.appointment", "Please pick an appointment time in the future.")
    if severity and actor.kind == "resident":
        # Grading is the supervisor's: an important or major grade alerts the manager.
        raise Refused("repairs.grade_staff", "The desk grades a complaint.")
    with ctx.database().write() as session:
        resident = None
        if actor.kind == "resident":
            resident = session.get(Resident, actor.id)
            unit = session.get(Unit, actor.unit_id) if actor.unit_id else None
            received_by = f"kiosk:{ctx.kiosk_id}"
        else:
            require_role(actor, "register a ticket", "butler", "engineer", "security")
            received_by = actor.name or actor.label
            unit = None
            if unit_code:
                unit = unit_by_code(session, unit_code)
        if unit is None and location == "in_home":
            raise Refused("repairs.no_unit", "An in-home repair needs the unit.")
        building_id = unit.building_id if unit else None
        if building_id is None and building.strip():
            building_id = session.scalar(
                select(Building.id).where(Building.code == building.strip())
            )
            if building_id is None:
                raise Refused("repairs.building", "There is no building {building}.",
                              building=building.strip())  # fmt: skip
        signs = emergency_signs(description)
        emergency = cat.emergency or urgent or bool(signs)
        outage = kind == "repair" and (
            cat.code in OUTAGE_CATEGORIES or any(s in OUTAGE_SIGNS for s in signs)
        )
        clocks = rules.clocks(kind, severity, external)
        # A booked slot: the respond clock (and the ones after it) run from the slot; an
        # emergency does not wait for one.
        booked = appointment_at is not None and kind != "complaint" and not emergency
        base = as_utc(appointment_at) if booked and appointment_at is not None else now
        kiosk_filed = actor.kind == "resident"
        t = RepairTicket(
            number=f"TMP{secrets.token_hex(8)}", kind=kind, severity=severity,
            unit_id=unit.id if unit else None, location=location, floor=floor,
            category=cat.code, description=mask_text(description),
            reporter=reporter or (resident.name if resident else ""),
            reporter_id=resident.id if resident else None, received_by=received_by,
            contact_phone=phone or (resident.phone if resident else ""),
            appointment_at=appointment_at, emergency=emergency, external=external,
            paid=cat.price_fen > 0, price_fen=cat.price_fen, status="new", created_at=now,
            respond_due_at=base + dt.timedelta(minutes=clocks["respond"]),
            solve_due_at=base + dt.timedelta(minutes=clocks["solve"]) if "solve" in clocks else None,
            resolve_due_at=base + dt.timedelta(minutes=clocks["resolve"]),
            note="", assignee="", rating_comment="", clock="respond",
            building_id=building_id, outage=outage, forwarded_to="", judged_by="",
            explanation="", major_reason="", reply_text="",
        )  # fmt: skip
        if kind == "complaint":
            t.forward_due_at = now + dt.timedelta(minutes=rules.complaints.forward_minutes)
            if kiosk_filed:  # the kiosk cannot settle it: the desk has it at once
                t.forwarded_at, t.forwarded_to = now, "desk"
        t.clock_due_at = t.respond_due_at
        session.add(t)
        session.flush()
        day = as_utc(now).astimezone(ctx.zone).strftime("%y%m%d")
        t.number = f"{PREFIX[kind]}{day}-{t.id:05d}"
        session.flush()
        where = unit.code if unit else f"common area, floor {floor}" if floor else "common area"
        if emergency:
            _call_emergency(ctx, session, t, cat.code, where, now)
        audit.record_for(ctx, session, actor, "repair.filed", f"repair:{t.number}",
                         {"kind": kind, "category": cat.code, "emergency": emergency, "unit": where})  # fmt: skip
        if kind == "complaint" and kiosk_filed:
            # Nobody at the kiosk can settle it: the desk hears of it now, inside the
            # 10-minute forward rule, not when someone next looks at the repairs list.
            raise_alert(session, "complaint_new", N_("New complaint {number} from {where}: {category}"),
                        params={"number": t.number, "where": unit.code if unit else N_("common area"),
                                "category": _category_title(ctx, cat.code)},
                        at=now, lobby=ctx.lobby, kiosk_id=ctx.kiosk_id)  # fmt: skip
        if severity in ("important", "major"):
            _report_up(ctx, session, [t], "graded", now, rules)
        if kind == "complaint":
            _escalate_event(ctx, session, t, now, rules)
        if kind == "complaint" or outage:
            _escalate_outage(ctx, session, t.building_id, now, rules)
        session.flush()
        view = _view(ctx, session, t)
        printing.queue(
            session, ticket_slip(ctx, view), kind="repair_ticket", at=now, kiosk_id=ctx.kiosk_id
        )
        return view


def _call_emergency(ctx: KioskContext, session: Session, t: RepairTicket, category: str,
                    where: str, now: dt.datetime) -> None:  # fmt: skip
    """An emergency alerts the desk and calls engineering at once."""
    message = N_("EMERGENCY {number}: {category} at {where}")
    params = {"number": t.number, "category": _category_title(ctx, category), "where": where}
    raise_alert(session, "repair_emergency", message, params=params, at=now, severity="urgent",
                lobby="", kiosk_id=ctx.kiosk_id)  # fmt: skip
    queue_notification(session, channel="desk", template="repair_emergency", at=now,
                       recipient="engineering",
                       payload={"number": t.number, "category": category, "where": where,
                                "category_title": params["category"],
                                "message": message, "params": params, "alert": False})  # fmt: skip
    t.notified_at = now


def _category_title(ctx: KioskContext, code: str) -> str:
    """A category code's title (an English message id the desk translates)."""
    found = RepairRules.of(ctx).categories.get(code)
    return found.title if found is not None else code


def reclassify(ctx: KioskContext, actor: Actor, number: str, *, emergency: bool,
               note: str = "") -> TicketView:  # fmt: skip
    """The desk corrects the classification of an open ticket: an emergency the kiosk missed
    calls engineering at once; an ordinary request filed as urgent stops being one."""
    require_role(actor, "reclassify a ticket", *DESK_ROLES)
    now = ctx.clock.now()
    with ctx.database().write() as session:
        t = _ticket(session, number)
        if t.status not in OPEN_STATUSES:
            raise _refuse_transition(t, "reclassified")
        if t.emergency == emergency:
            return _view(ctx, session, t)
        t.emergency = emergency
        if note:
            t.note = note[:300]
        if emergency:
            unit = session.get(Unit, t.unit_id) if t.unit_id else None
            where = unit.code if unit else "common area"
            _call_emergency(ctx, session, t, t.category, where, now)
        audit.record_for(ctx, session, actor, "repair.reclassified", f"repair:{t.number}",
                         {"emergency": emergency})  # fmt: skip
        return _view(ctx, session, t)


def ticket_slip(ctx: KioskContext, view: TicketView) -> Any:
    from devices.printer import Receipt
    from kiosk.i18n import _

    rules = RepairRules.of(ctx)
    cat = rules.categories.get(view.category)
    r = Receipt().title(_("Repair request") if view.kind == "repair" else _("Feedback received"))
    r.row(_("Ticket"), view.number)
    if view.unit_code:
        r.row(_("Unit"), view.unit_code)
    r.row(_("What"), _(cat.title) if cat else view.category)
    r.row(_("Filed"), ctx.local_time(view.created_at))
    if view.appointment:
        r.row(_("Appointment"), view.appointment)
    if view.phone:
        r.row(_("Phone"), view.phone)
    if view.emergency:
        r.text(_("Emergency: engineering has been called."), bold=True)
    if view.paid:
        r.row(_("Paid repair"), format_fen(view.price_fen))
    return r.qr(f"ticket:{view.number}").cut()


# -- lifecycle --------------------------------------------------------------------------------


def confirm(ctx: KioskContext, actor: Actor, number: str, *, severity: str | None = None,
            external: bool | None = None, note: str = "") -> TicketView:  # fmt: skip
    """The desk confirms the request with the resident (a complaint is graded here)."""
    require_role(actor, "confirm a ticket", *DESK_ROLES)
    now = ctx.clock.now()
    rules = RepairRules.of(ctx)
    with ctx.database().write() as session:
        t = _ticket(session, number)
        values: dict[str, Any] = {"confirmed_at": now}
        if note:
            values["note"] = note[:300]
        if severity is not None and (severity not in SEVERITIES[1:] or t.kind != "complaint"):
            raise _not_gradable()
        if t.status not in sources_of("confirmed"):
            raise _refuse_transition(t, "confirmed")
        if external is not None and external != t.external:
            t.external = external
            _set_clocks(t, rules)
        if severity is not None:
            _set_severity(ctx, session, t, severity, "graded", now, rules)
        session.flush()
        if t.kind != "repair" and t.responded_at is None:
            values["responded_at"] = now  # a complaint is answered when the desk confirms it
        _move(session, t, "confirmed", **values)
        audit.record_for(ctx, session, actor, "repair.confirmed", f"repair:{t.number}",
                         {"severity": t.severity})  # fmt: skip
        return _view(ctx, session, t)


def _clock_base(t: RepairTicket) -> dt.datetime:
    """When the clocks start: the booked slot of a repair, else the filing."""
    if t.appointment_at is not None and t.kind != "complaint" and not t.emergency:
        return max(as_utc(t.appointment_at), as_utc(t.created_at))
    return as_utc(t.created_at)


def _set_clocks(t: RepairTicket, rules: RepairRules) -> None:
    """Deadlines after a change of grade or of external work; the running clock follows."""
    clocks = rules.clocks(t.kind, t.severity, t.external)
    base = _clock_base(t)
    t.respond_due_at = base + dt.timedelta(minutes=clocks["respond"])
    t.resolve_due_at = base + dt.timedelta(minutes=clocks["resolve"])
    if t.clock == "respond":
        t.clock_due_at = t.respond_due_at
    elif t.clock == "resolve" and not t.reopen_count:
        t.clock_due_at = t.resolve_due_at


def _set_severity(ctx: KioskContext, session: Session, t: RepairTicket, severity: str,
                  reason: str, now: dt.datetime, rules: RepairRules, *,
                  report: bool = True) -> bool:  # fmt: skip
    """Grade a complaint; important and major are reported to the superior at once (000).
    Returns whether the grade changed."""
    if severity == t.severity:
        return False
    rank = {"": 0, "minor": 1, "important": 2, "major": 3}
    raised = rank[severity] > rank[t.severity]
    t.severity = severity
    t.major_reason = reason if severity == "major" else ""
    _set_clocks(t, rules)
    if report and raised and severity in ("important", "major"):
        _report_up(ctx, session, [t], reason, now, rules)
    return True


def _report_up(ctx: KioskContext, session: Session, tickets: list[RepairTicket], reason: str,
               now: dt.datetime, rules: RepairRules) -> None:  # fmt: skip
    """Important and major complaints go to the superior at once: a desk alert and a notice."""
    if not tickets:
        return
    superior = rules.complaints.superior
    numbers = [t.number for t in tickets]
    grade = "major" if any(t.severity == "major" for t in tickets) else "important"
    why = {"graded": N_("graded"), "event": N_("customers about one event"),
           "outage": N_("wide outage"), "unresolved": N_("unresolved after a week")
           }.get(reason, reason)  # fmt: skip
    message = (N_("major complaint {numbers} ({why}): reported to the {superior}")
               if grade == "major" else
               N_("important complaint {numbers} ({why}): reported to the {superior}"))  # fmt: skip
    params = {"numbers": ", ".join(numbers[:10]), "why": why, "superior": superior}
    raise_alert(session, f"complaint_{grade}", message, params=params, at=now,
                severity="urgent", kiosk_id=ctx.kiosk_id)  # fmt: skip
    # Desk notifications carry their own text: ``message`` (a message id) with ``params``.
    queue_notification(session, channel="desk", template="complaint_reported_up", at=now,
                       recipient=superior,
                       payload={"numbers": numbers, "severity": grade, "reason": reason,
                                "message": message, "params": params, "alert": False})  # fmt: skip
    for t in tickets:
        t.reported_up_at = now
    audit.record_for(ctx, session, SYSTEM, "complaint.reported_up", "repairs",
                     {"numbers": numbers, "severity": grade, "reason": reason})  # fmt: skip


def _make_major(ctx: KioskContext, session: Session, tickets: list[RepairTicket], reason: str,
                now: dt.datetime, rules: RepairRules) -> list[str]:  # fmt: skip
    changed = [t for t in tickets
               if t.severity != "major" and _set_severity(ctx, session, t, "major", reason, now,
                                                          rules, report=False)]  # fmt: skip
    if changed:
        session.flush()
        _report_up(ctx, session, changed, reason, now, rules)
    return [t.number for t in changed]


def _counts(RT: type[RepairTicket]) -> Any:
    """A complaint that still counts: not withdrawn, not judged invalid."""
    return (RT.status != "canceled") & or_(RT.valid.is_(None), RT.valid.is_(True))


def _escalate_event(ctx: KioskContext, session: Session, t: RepairTicket, now: dt.datetime,
                    rules: RepairRules) -> list[str]:  # fmt: skip
    """Five or more customers about one event (same category, same area, within the window):
    every complaint about it becomes major."""
    RT = RepairTicket
    cr = rules.complaints
    if t.building_id is not None:
        area = RT.building_id == t.building_id
    elif t.location == "common_area" and t.floor is not None:
        area = RT.building_id.is_(None) & (RT.location == "common_area") & (RT.floor == t.floor)
    else:
        return []
    since = now - dt.timedelta(minutes=cr.event_window_minutes)
    group = list(session.scalars(
        select(RT).where(RT.kind == "complaint", RT.category == t.category, area,
                         RT.created_at >= since, _counts(RT)).order_by(RT.id)
    ))  # fmt: skip
    customers = {c.reporter_id or c.contact_phone or f"ticket:{c.id}" for c in group}
    if len(customers) < cr.event_threshold:
        return []
    return _make_major(ctx, session, [c for c in group if c.status in OPEN_STATUSES], "event",
                       now, rules)  # fmt: skip


def _escalate_outage(ctx: KioskContext, session: Session, building_id: int | None,
                     now: dt.datetime, rules: RepairRules) -> list[str]:  # fmt: skip
    """A sudden wide outage (``outage_threshold`` no-water / no-power repairs in one building
    within ``outage_window_minutes``) makes the building's open complaints major."""
    if building_id is None:
        return []
    RT = RepairTicket
    cr = rules.complaints
    window = dt.timedelta(minutes=cr.outage_window_minutes)
    starts = list(session.scalars(
        select(RT.created_at).where(RT.outage.is_(True), RT.building_id == building_id,
                                    RT.status != "canceled", RT.created_at >= now - window)
    ))  # fmt: skip
    if len(starts) < cr.outage_threshold:
        return []
    since = min(as_utc(x) for x in starts) - window
    related = list(session.scalars(
        select(RT).where(RT.kind == "complaint", RT.building_id == building_id,
                         RT.status.in_(OPEN_STATUSES), RT.created_at >= since, _counts(RT))
        .order_by(RT.id)
    ))  # fmt: skip
    return _make_major(ctx, session, related, "outage", now, rules)


def grade(ctx: KioskContext, actor: Actor, number: str, severity: str) -> TicketView:
    """The supervisor grades a complaint minor / important / major (the clocks follow the
    grade); important and major are reported to the superior at once."""
    require_role(actor, "grade a complaint", *SUPERVISOR_ROLES)
    if severity not in SEVERITIES[1:]:
        raise _not_gradable()
    rules = RepairRules.of(ctx)
    now = ctx.clock.now()
    with ctx.database().write() as session:
        t = _open_complaint(session, number, "graded", _not_gradable)
        before = t.severity
        _set_severity(ctx, session, t, severity, "graded", now, rules)
        audit.record_for(ctx, session, actor, "complaint.graded", f"repair:{t.number}",
                         {"from": before, "severity": severity})  # fmt: skip
        session.flush()
        return _view(ctx, session, t)


def judge(ctx: KioskContext, actor: Actor, number: str, valid: bool,
          explanation: str) -> TicketView:  # fmt: skip
    """The supervisor judges a complaint valid or invalid. An invalid one needs the
    explanation: it closes with it, and the complainant is told."""
    require_role(actor, "judge a complaint", *SUPERVISOR_ROLES)
    explanation = explanation.strip()
    if not valid and not explanation:
        raise Refused("repairs.explanation", "An invalid complaint needs an explanation.")
    if len(explanation) > 300:
        raise Refused(
            "repairs.explanation_long", "Please keep the explanation under 300 characters."
        )
    now = ctx.clock.now()
    with ctx.database().write() as session:
        t = _open_complaint(session, number, "judged")
        text = mask_text(explanation)
        t.valid, t.judged_at, t.judged_by, t.explanation = (
            valid,
            now,
            actor.name or actor.label,
            text,
        )
        session.flush()
        if not valid:
            _move(session, t, "closed", sources=OPEN_STATUSES, closed_at=now, resolved_at=now,
                  reply_due_at=_end_of_day(ctx, now), replied_at=now, reply_text=text,
                  responded_at=t.responded_at or now)  # fmt: skip
            _tell_complainant(session, t, "complaint_invalid", text, now)
        audit.record_for(ctx, session, actor, "complaint.judged", f"repair:{t.number}",
                         {"valid": valid, "explanation": text[:100]})  # fmt: skip
        return _view(ctx, session, t)


def _end_of_day(ctx: KioskContext, at: dt.datetime) -> dt.datetime:
    zone = ctx.zone
    day = as_utc(at).astimezone(zone).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC) - dt.timedelta(seconds=1)


def _tell_complainant(session: Session, t: RepairTicket, template: str, text: str,
                      at: dt.datetime) -> None:  # fmt: skip
    # To the complainant's own phone when known (not every resident of the unit).
    queue_notification(session, channel="sms", template=template, at=at, unit_id=t.unit_id,
                       recipient=t.contact_phone,
                       payload={"number": t.number, "text": text,
                                "message": f"[{t.number}] {text}"})  # fmt: skip


def forward(ctx: KioskContext, actor: Actor, number: str, to: str) -> TicketView:
    """Whoever heard a complaint and cannot settle it forwards it (within 10 minutes of
    filing; a later forward is recorded as late)."""
    require_role(actor, "forward a complaint", *STAFF_ROLES)
    to = to.strip()
    if not to or len(to) > 100:
        raise Refused("repairs.forward_to", "Say who the complaint goes to.")
    now = ctx.clock.now()
    with ctx.database().write() as session:
        t = _open_complaint(session, number, "forwarded")
        first = t.forwarded_at is None
        if first:
            t.forwarded_at = now
        t.forwarded_to = to
        late = t.forward_due_at is not None and as_utc(t.forwarded_at or now) > as_utc(
            t.forward_due_at
        )
        queue_notification(session, channel="desk", template="complaint_forwarded", at=now,
                           recipient=to, payload={
                               "number": t.number, "category": t.category,
                               "message": N_("complaint {number} ({category}) for {to}"),
                               "params": {"number": t.number, "to": to,
                                          "category": _category_title(ctx, t.category)},
                           })  # fmt: skip
        audit.record_for(ctx, session, actor, "complaint.forwarded", f"repair:{t.number}",
                         {"to": to, "late": late, "first": first})  # fmt: skip
        session.flush()
        return _view(ctx, session, t)


def reply(ctx: KioskContext, actor: Actor, number: str, text: str) -> TicketView:
    """The complainant hears the result (the same day it is handled): the reply is recorded
    with its time and sent to the complainant."""
    require_role(actor, "reply to a complaint", *SUPERVISOR_ROLES)
    text = text.strip()
    if not text:
        raise Refused("repairs.reply_empty", "Write the reply to the complainant.")
    if len(text) > 500:
        raise Refused("repairs.reply_long", "Please keep the reply under 500 characters.")
    now = ctx.clock.now()
    with ctx.database().write() as session:
        t = _ticket(session, number)
        if t.status == "canceled":
            raise _refuse_transition(t, "replied")
        t.replied_at, t.reply_text = now, mask_text(text)
        late = t.reply_due_at is not None and now > as_utc(t.reply_due_at)
        _tell_complainant(session, t, "complaint_reply", t.reply_text, now)
        audit.record_for(ctx, session, actor, "complaint.replied", f"repair:{t.number}",
                         {"late": late})  # fmt: skip
        session.flush()
        return _view(ctx, session, t)


def escalation_sweep(ctx: KioskContext) -> list[str]:
    """Complaints not judged invalid and still unresolved ``major_after_days`` after filing
    become major (with an alert to the superior). Run by ``kiosk repairs sweep`` and the
    daily check."""
    rules = RepairRules.of(ctx)
    now = ctx.clock.now()
    RT = RepairTicket
    before = now - dt.timedelta(days=rules.complaints.major_after_days)
    with ctx.database().write() as session:
        stale = list(session.scalars(
            select(RT).where(RT.kind == "complaint", RT.status.in_(OPEN_STATUSES),
                             RT.resolved_at.is_(None), RT.severity != "major",
                             RT.created_at <= before, _counts(RT)).order_by(RT.id)
        ))  # fmt: skip
        return _make_major(ctx, session, stale, "unresolved", now, rules)


def list_tickets(ctx: KioskContext, actor: Actor, *, status: str = "", kind: str = "",
                 limit: int = 100) -> list[TicketView]:  # fmt: skip
    """The desk's list, newest first (phones masked)."""
    require_role(actor, "list tickets", *STAFF_ROLES)
    RT = RepairTicket
    q = select(RT).order_by(RT.id.desc()).limit(max(1, min(limit, 1000)))
    if status:
        q = q.where(RT.status == status)
    if kind:
        q = q.where(RT.kind == kind)
    return read_views(ctx, q, _view)


def price_list(ctx: KioskContext) -> list[tuple[str, str, int]]:
    """(code, title msgid, price in fen) of the paid repairs the resident is shown."""
    return [(c.code, c.title, c.price_fen) for c in RepairRules.of(ctx).price_list()]


def quote(ctx: KioskContext, actor: Actor, number: str, price_fen: int) -> TicketView:
    """Mark a ticket as a paid repair at ``price_fen`` (materials, outside the free service)."""
    require_role(actor, "quote a paid repair", *WORK_ROLES)
    if isinstance(price_fen, bool) or not isinstance(price_fen, int) or price_fen <= 0:
        raise Refused("repairs.price", "A paid repair needs a positive price.")
    with ctx.database().write() as session:
        t = _ticket(session, number)
        if t.status not in ("new", "confirmed", "deferred", "reopened", "in_progress"):
            raise _refuse_transition(t, "paid")
        t.paid, t.price_fen, t.consent_at = True, price_fen, None
        audit.record_for(ctx, session, actor, "repair.quoted", f"repair:{t.number}",
                         {"price_fen": price_fen})  # fmt: skip
        return _view(ctx, session, t)


def consent(ctx: KioskContext, actor: Actor, number: str, accepted: bool) -> TicketView:
    """The resident agrees to the price (at the kiosk, or the butler records it from a call);
    declining cancels the ticket."""
    now = ctx.clock.now()
    with ctx.database().write() as session:
        t = _own_ticket(session, actor, number, "record consent")
        if not t.paid:
            raise Refused("repairs.not_paid", "Ticket {number} is free of charge.", number=t.number)
        if accepted:
            t.consent_at = now
        else:
            _move(session, t, "canceled", canceled_at=now, note="price declined")
        audit.record_for(ctx, session, actor, "repair.consent", f"repair:{t.number}",
                         {"accepted": accepted, "price_fen": t.price_fen})  # fmt: skip
        return _view(ctx, session, t)


def dispatch(ctx: KioskContext, actor: Actor, number: str, assignee: str = "") -> TicketView:
    """Hand the ticket to engineering (or, for a complaint, the department concerned)."""
    require_role(actor, "dispatch a ticket", *DESK_ROLES)
    now = ctx.clock.now()
    with ctx.database().write() as session:
        t = _ticket(session, number)
        if t.paid and t.consent_at is None:
            raise Refused(
                "repairs.no_consent",
                "Ticket {number} is a paid repair ({price}): the resident must agree first.",
                number=t.number, price=format_fen(t.price_fen),
            )  # fmt: skip
        extra: dict[str, Any] = {}
        if t.kind == "complaint" and t.forwarded_at is None:  # handed on: that is the forward
            extra = {"forwarded_at": now, "forwarded_to": assignee[:100] or "engineering"}
        _move(session, t, "dispatched", dispatched_at=now, notified_at=now,
              assignee=assignee[:100] or t.assignee, **extra)  # fmt: skip
        queue_notification(session, channel="desk", template="repair_dispatched", at=now,
                           recipient=assignee or "engineering",
                           payload={"number": t.number, "category": t.category,
                                    "category_title": _category_title(ctx, t.category),
                                    "message": N_("{number} dispatched: {category}"),
                                    "params": {"number": t.number,
                                               "category": _category_title(ctx, t.category)}})  # fmt: skip
        audit.record_for(ctx, session, actor, "repair.dispatched", f"repair:{t.number}",
                         {"assignee": assignee})  # fmt: skip
        return _view(ctx, session, t)


def start(ctx: KioskContext, actor: Actor, number: str) -> TicketView:
    """The engineer takes the ticket and is on site (stops the 5-minute respond clock)."""
    require_role(actor, "start work", *WORK_ROLES)
    now = ctx.clock.now()
    with ctx.database().write() as session:
        t = _ticket(session, number)
        values: dict[str, Any] = {"started_at": now, "assignee": t.assignee or actor.name}
        if t.responded_at is None:
            values["responded_at"] = now
        _move(session, t, "in_progress", **values)
        audit.record_for(ctx, session, actor, "repair.started", f"repair:{t.number}")
        return _view(ctx, session, t)


def defer(ctx: KioskContext, actor: Actor, number: str, until: dt.datetime,
          reason: str) -> TicketView:  # fmt: skip
    """Postpone (parts, an outside contractor): the resident is told when it will be done; for
    external work this commitment is what the 1-day clock waits for."""
    require_role(actor, "defer a ticket", *WORK_ROLES)
    now = ctx.clock.now()
    if as_utc(until) <= now:
        raise Refused("repairs.defer_until", "Deferred work needs a date in the future.")
    if not reason.strip():
        raise Refused("repairs.defer_reason", "Say why the work is deferred.")
    with ctx.database().write() as session:
        t = _ticket(session, number)
        values: dict[str, Any] = {"deferred_at": now, "deferred_until": until,
                                  "note": reason.strip()[:300]}  # fmt: skip
        if t.external and t.resolved_at is None:
            values["resolved_at"] = now
            values["sla_met"] = _met(t, now, responded=t.responded_at or now)
        _move(session, t, "deferred", **values)
        queue_notification(session, channel="sms", template="repair_deferred", at=now,
                           unit_id=t.unit_id,
                           payload={"number": t.number, "until": ctx.local_time(until)})  # fmt: skip
        audit.record_for(ctx, session, actor, "repair.deferred", f"repair:{t.number}",
                         {"until": ctx.local_time(until), "reason": reason.strip()[:100]})  # fmt: skip
        return _view(ctx, session, t)


def _met(t: RepairTicket, resolved: dt.datetime, responded: dt.datetime) -> bool:
    return as_utc(responded) <= as_utc(t.respond_due_at) and as_utc(resolved) <= as_utc(
        t.resolve_due_at
    )


def signature_is_meaningful(strokes: Any) -> bool:
    """The core's rule (:func:`kiosk.signatures.is_meaningful`): an empty pad, a dot or
    anything that is not strokes of points is no signature."""
    try:
        return signatures.is_meaningful(signatures.clean_strokes(strokes, "repairs"))
    except Refused:
        return False


def complete(ctx: KioskContext, actor: Actor, number: str, signature: Any, *,
             charge_fen: int | None = None) -> TicketView:  # fmt: skip
    """Work done; the resident signs (kiosk or desk pad). A paid repair is charged (a bill line
    with the billing plugin, else a desk item); the return visit is due."""
    require_role(actor, "complete a ticket", *WORK_ROLES)
    if not signature_is_meaningful(signature):
        raise Refused("repairs.signature", "Please sign on the pad; a dot is not a signature.")
    now = ctx.clock.now()
    zone = ctx.zone
    with ctx.database().write() as session:
        t = _ticket(session, number)
        charge = (charge_fen if charge_fen is not None else t.price_fen) if t.paid else 0
        if isinstance(charge, bool) or not isinstance(charge, int) or charge < 0:
            raise Refused("repairs.price", "A paid repair needs a positive price.")
        if charge and t.consent_at is None:
            # A quote made on site clears the consent: the resident agrees to the new price first.
            raise Refused(
                "repairs.no_consent",
                "Ticket {number} is a paid repair ({price}): the resident must agree first.",
                number=t.number, price=format_fen(t.price_fen),
            )  # fmt: skip
        if charge > t.price_fen:
            # The resident agreed to price_fen, no more: a higher charge needs a new quote.
            raise Refused(
                "repairs.over_consent",
                "The resident agreed to {price} for ticket {number}: charging {charge} needs "
                "a new quote and the resident's consent.",
                number=t.number, price=format_fen(t.price_fen), charge=format_fen(charge),
            )  # fmt: skip
        if t.kind == "repair":
            local = as_utc(now).astimezone(zone)
            visit_due = dt.datetime.combine(local.date(), dt.time(23, 59), zone).astimezone(dt.UTC)
        else:
            visit_due = now + dt.timedelta(days=1)
        values: dict[str, Any] = {"completed_at": now, "signature": [list(s) for s in signature],
                                  "signed_at": now, "visit_due_at": visit_due,
                                  "charge_fen": charge}  # fmt: skip
        if t.kind == "complaint":  # handled: the complainant hears the result today
            values["reply_due_at"] = _end_of_day(ctx, now)
        if t.resolved_at is None:
            values["resolved_at"] = now
            values["sla_met"] = _met(t, now, t.responded_at or now)
        _move(session, t, "completed", **values)
        if charge:
            _charge(ctx, session, actor, t, charge)
        audit.record_for(ctx, session, actor, "repair.completed", f"repair:{t.number}",
                         {"charge_fen": charge})  # fmt: skip
        return _view(ctx, session, t)


def _charge(ctx: KioskContext, session: Session, actor: Actor, t: RepairTicket, fen: int) -> None:
    """A paid repair goes on the unit's account (the desk collects it when nothing takes
    charges, or the repair has no unit)."""
    message = N_("collect {amount} for paid repair {number}")
    params = {"amount": format_fen(fen), "number": t.number}
    if t.unit_id is not None:
        charges.charge(ctx, session, actor, t.unit_id, "repair", fen, f"repair:{t.number}",
                       f"paid repair {t.number} ({t.category})", collect_message=message,
                       collect_params=params)  # fmt: skip
    else:
        raise_alert(session, "repair_collect", message, params=params, at=ctx.clock.now(),
                    kiosk_id=ctx.kiosk_id)  # fmt: skip


def record_visit(ctx: KioskContext, actor: Actor, number: str, rating: int,
                 comment: str = "") -> TicketView:  # fmt: skip
    """The return visit (回访): rating 1-5. A low rating reopens a repair and escalates a
    complaint to the manager; otherwise the ticket closes."""
    require_role(actor, "record a return visit", *DESK_ROLES)
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise Refused("repairs.rating", "A rating is from 1 to 5.")
    rules = RepairRules.of(ctx)
    now = ctx.clock.now()
    with ctx.database().write() as session:
        t = _ticket(session, number)
        if t.status != "completed":
            raise _refuse_transition(t, "visited")
        values: dict[str, Any] = {"visited_at": now, "rating": rating,
                                  "rating_comment": comment.strip()[:300]}  # fmt: skip
        if rating > rules.low_rating:
            _move(session, t, "closed", closed_at=now, **values)
            action = "repair.closed"
        elif t.kind == "repair":
            _move(session, t, "reopened", reopen_count=t.reopen_count + 1, **values)
            raise_alert(session, "repair_reopened",
                        N_("{number} reopened after a rating of {rating}"),
                        params={"number": t.number, "rating": rating}, at=now,
                        kiosk_id=ctx.kiosk_id)  # fmt: skip
            action = "repair.reopened"
        else:
            _move(session, t, "reopened", reopen_count=t.reopen_count + 1, escalated_at=now,
                  **values)  # fmt: skip
            raise_alert(session, "complaint_escalated",
                        N_("{number} escalated to the manager after a rating of {rating}"),
                        params={"number": t.number, "rating": rating},
                        at=now, severity="urgent", kiosk_id=ctx.kiosk_id)  # fmt: skip
            action = "repair.escalated"
        audit.record_for(ctx, session, actor, action, f"repair:{t.number}", {"rating": rating})
        return _view(ctx, session, t)


def close(ctx: KioskContext, actor: Actor, number: str) -> TicketView:
    """Close a completed ticket without a visit answer (the resident could not be reached)."""
    require_role(actor, "close a ticket", *DESK_ROLES)
    with ctx.database().write() as session:
        t = _ticket(session, number)
        _move(session, t, "closed", closed_at=ctx.clock.now())
        audit.record_for(ctx, session, actor, "repair.closed", f"repair:{t.number}")
        return _view(ctx, session, t)


def reopen(ctx: KioskContext, actor: Actor, number: str, reason: str) -> TicketView:
    """The problem came back: reopen a completed or closed ticket (counts reopens)."""
    require_role(actor, "reopen a ticket", *DESK_ROLES)
    with ctx.database().write() as session:
        t = _ticket(session, number)
        _move(session, t, "reopened", reopen_count=t.reopen_count + 1, note=reason[:300])
        audit.record_for(ctx, session, actor, "repair.reopened", f"repair:{t.number}")
        return _view(ctx, session, t)


def cancel(ctx: KioskContext, actor: Actor, number: str, reason: str) -> TicketView:
    """Withdraw a ticket (the resident's own, or by the desk)."""
    with ctx.database().write() as session:
        t = _own_ticket(session, actor, number, "cancel a ticket")
        _move(session, t, "canceled", canceled_at=ctx.clock.now(), note=reason[:300])
        audit.record_for(ctx, session, actor, "repair.canceled", f"repair:{t.number}")
        return _view(ctx, session, t)


# -- desk timers, re-notification, the 17:00 check -------------------------------------------


@dataclass(frozen=True)
class Timer:
    number: str
    kind: str
    status: str
    unit_code: str
    category: str
    emergency: bool
    clock: str  # the running clock: respond / solve / resolve / visit
    due_at: dt.datetime
    seconds_left: int  # negative = breached


@dataclass(frozen=True)
class SlaPanel:
    open_count: int
    breached_respond: int
    breached_resolve: int
    visits_due: int
    timers: list[Timer]
    visits_late: list[str] = field(default_factory=list)  # return visit past its deadline
    forwards_late: list[str] = field(default_factory=list)  # complaint not forwarded in 10 min
    replies_late: list[str] = field(default_factory=list)  # complainant not told the same day


LATE_DAYS = 7  # how far back the desk's lists of missed deadlines reach


def _late(session: Session, now: dt.datetime, limit: int = 50) -> dict[str, list[str]]:
    """Deadlines of the procedure missed in the last week (due then, and not done, or done
    after the deadline): return visits, complaint forwards, replies to the complainant. Each
    is a range on an indexed deadline column, so the panel stays fast with a long history."""
    RT = RepairTicket
    since = now - dt.timedelta(days=LATE_DAYS)

    def numbers(due: Any, done: Any, pending: Any) -> list[str]:
        return list(session.scalars(
            select(RT.number)
            .where(due >= since, due < now, or_(done.is_(None) & pending, done > due))
            .order_by(due).limit(limit)
        ))  # fmt: skip

    return {
        "visits_late": numbers(RT.visit_due_at, RT.visited_at, RT.status == "completed"),
        "forwards_late": numbers(
            RT.forward_due_at, RT.forwarded_at, RT.status.in_(OPEN_STATUSES)
        ),  # fmt: skip
        "replies_late": numbers(RT.reply_due_at, RT.replied_at, RT.status != "canceled"),
    }


def sla_panel(ctx: KioskContext, limit: int = 50) -> SlaPanel:
    """What the desk's SLA panel shows: counts of breaches and the ``limit`` running clocks
    nearest their deadline (emergencies first among them). Reads the running-clock index only,
    so it stays fast with a long history."""
    now = ctx.clock.now()
    RT = RepairTicket
    with ctx.database().read() as session:
        open_count = session.scalar(select(func.count()).where(RT.status.in_(OPEN_STATUSES)))
        breached: dict[str, int] = {}
        for clock, n in session.execute(
            select(RT.clock, func.count())
            .where(RT.clock.in_(("respond", "resolve")), RT.clock_due_at < now)
            .group_by(RT.clock)
        ):
            breached[clock or ""] = n
        visits = session.scalar(
            select(func.count()).where(RT.status == "completed", RT.visited_at.is_(None))
        )
        rows = session.execute(
            select(RT.number, RT.kind, RT.status, Unit.code, RT.category, RT.emergency, RT.clock,
                   RT.clock_due_at, RT.solve_due_at)
            .outerjoin(Unit, Unit.id == RT.unit_id)
            .where(RT.clock_due_at.is_not(None))
            .order_by(RT.clock_due_at).limit(limit)
        ).all()  # fmt: skip
        late = _late(session, now)
    timers = []
    for number, kind, status, code, category, emergency, running, due, solve_due in rows:
        clock, at = running or "", as_utc(due or now)
        if clock == "resolve" and solve_due is not None and as_utc(solve_due) > now:
            clock, at = "solve", as_utc(solve_due)  # the 30-minute target comes first
        timers.append(Timer(number, kind, status, code or "", category, bool(emergency), clock,
                            at, int((at - now).total_seconds())))  # fmt: skip
    timers.sort(key=lambda t: (not t.emergency, t.due_at))
    return SlaPanel(int(open_count or 0), int(breached.get("respond", 0)),
                    int(breached.get("resolve", 0)), int(visits or 0), timers, **late)  # fmt: skip


def renotify_unclaimed(ctx: KioskContext) -> list[str]:
    """Dispatched tickets nobody started within ``renotify_minutes`` of the last notice: notify
    engineering again (procedure: the desk urges when the slip was not collected). A booked
    ticket is not urged while its slot is in the future."""
    rules = RepairRules.of(ctx)
    now = ctx.clock.now()
    cutoff = now - dt.timedelta(minutes=rules.renotify_minutes)
    out = []
    RT = RepairTicket
    # A booked slot: nobody is expected before it, so no reminder until it has passed by the
    # same grace a dispatch gets.
    booked_passed = or_(RT.appointment_at.is_(None), RT.appointment_at <= cutoff,
                        RT.emergency.is_(True))  # fmt: skip
    with ctx.database().write() as session:
        for t in list(session.scalars(
            select(RT).where(RT.status == "dispatched", RT.notified_at <= cutoff, booked_passed)
        )):  # fmt: skip
            done = session.execute(
                update(RT).where(RT.id == t.id, RT.status == "dispatched", RT.notified_at <= cutoff,
                                 booked_passed)
                .values(notified_at=now, renotify_count=RT.renotify_count + 1)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]  # fmt: skip
            if not done:
                continue
            message = N_("{number} not taken by engineering yet")
            queue_notification(session, channel="desk", template="repair_unclaimed", at=now,
                               recipient=t.assignee or "engineering",
                               payload={"number": t.number, "message": message,
                                        "params": {"number": t.number}, "alert": False})  # fmt: skip
            raise_alert(session, "repair_unclaimed", message, params={"number": t.number},
                        at=now, kiosk_id=ctx.kiosk_id)  # fmt: skip
            audit.record_for(ctx, session, SYSTEM, "repair.renotified", f"repair:{t.number}")
            out.append(t.number)
    return out


@dataclass(frozen=True)
class DailyCheck:
    not_returned: list[str]  # slips still with engineering (not completed)
    not_visited: list[str]  # completed, return visit not done
    visits_late: list[str] = field(default_factory=list)
    forwards_late: list[str] = field(default_factory=list)
    replies_late: list[str] = field(default_factory=list)
    made_major: list[str] = field(default_factory=list)  # complaints unresolved after a week


def daily_check(ctx: KioskContext) -> DailyCheck:
    """The 17:00 check: tickets filed today or earlier that are not back, visits not done,
    the procedure's deadlines missed (return visits, complaint forwards and replies); stale
    complaints become major. One desk alert lists them."""
    made_major = escalation_sweep(ctx)
    now = ctx.clock.now()
    RT = RepairTicket
    with ctx.database().write() as session:
        late = _late(session, now)
        back = list(session.scalars(
            select(RT.number).where(RT.status.in_(("dispatched", "in_progress")),
                                    RT.created_at <= now).order_by(RT.id)
        ))  # fmt: skip
        unvisited = list(session.scalars(
            select(RT.number).where(RT.status == "completed", RT.visited_at.is_(None))
            .order_by(RT.id)
        ))  # fmt: skip
        if back or unvisited or any(late.values()):
            raise_alert(session, "repair_daily_check",
                        N_("daily check: {back} not returned ({back_list}), {due} return visits "
                           "due ({due_list}); late this week: {visits} visits ({visits_list}), "
                           "{forwards} forwards ({forwards_list}), {replies} replies "
                           "({replies_list})"),
                        params={"back": len(back), "back_list": ", ".join(back[:10]) or "-",
                                "due": len(unvisited),
                                "due_list": ", ".join(unvisited[:10]) or "-",
                                **{k.removesuffix("s_late") + "s": len(v) for k, v in late.items()},
                                **{k.removesuffix("s_late") + "s_list": ", ".join(v[:10]) or "-"
                                   for k, v in late.items()}},
                        at=now, kiosk_id=ctx.kiosk_id)  # fmt: skip
            audit.record_for(ctx, session, SYSTEM, "repair.daily_check", "repairs",
                             {"not_returned": len(back), "not_visited": len(unvisited),
                              **{k: len(v) for k, v in late.items()}})  # fmt: skip
    return DailyCheck(back, unvisited, made_major=made_major, **late)


def sweep(ctx: KioskContext) -> dict[str, Any]:
    """The SLA sweep (``kiosk repairs sweep``, every few minutes from cron): remind engineering
    of unclaimed tickets, make stale complaints major, and list the deadlines missed."""
    renotified = renotify_unclaimed(ctx)
    made_major = escalation_sweep(ctx)
    with ctx.database().read() as session:
        late = _late(session, ctx.clock.now())
    return {"renotified": renotified, "made_major": made_major, **late}
