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
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from kiosk import audit, printing
from kiosk.clock import as_utc
from kiosk.db import retention
from kiosk.db.models import Resident, Unit
from kiosk.errors import Refused
from kiosk.hookspecs import PurgeCount
from kiosk.identity import SYSTEM, Actor, normalise_unit_code, require_role
from kiosk.money import format_fen
from kiosk.notify import queue_notification, raise_alert
from kiosk.pii import mask_phone, mask_text
from plugins.repairs.models import KINDS, LOCATIONS, OPEN_STATUSES, SEVERITIES, RepairTicket
from plugins.repairs.rules import Category, RepairRules, emergency_signs

if TYPE_CHECKING:
    from kiosk.context import KioskContext

DESK_ROLES = ("butler",)
WORK_ROLES = ("engineer", "butler")

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


def local_time(ctx: KioskContext, at: dt.datetime) -> str:
    return ctx.local_time(at)


def _zone(ctx: KioskContext) -> ZoneInfo:
    return ZoneInfo(ctx.settings.estate.timezone)


def _ticket(session: Session, number: str) -> RepairTicket:
    t = session.scalar(select(RepairTicket).where(RepairTicket.number == number.strip().upper()))
    if t is None:
        raise Refused("repairs.unknown", "There is no ticket {number}.", number=number.strip())
    return t


def _refuse_transition(t: RepairTicket, target: str) -> Refused:
    return Refused(
        "repairs.transition",
        "Ticket {number} is {status}; it cannot become {target}.",
        number=t.number, status=t.status, target=target,
    )  # fmt: skip


def _move(session: Session, t: RepairTicket, target: str, **values: Any) -> None:
    """The conditional update every transition goes through."""
    allowed = sources_of(target)
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
class TicketView:
    """What screens and the CLI show; the phone is masked."""

    number: str
    kind: str
    status: str
    unit_code: str
    category: str
    description: str
    emergency: bool
    paid: bool
    price_fen: int
    phone: str
    appointment: str
    created_at: dt.datetime
    reopen_count: int
    severity: str


def _view(ctx: KioskContext, session: Session, t: RepairTicket) -> TicketView:
    unit = session.get(Unit, t.unit_id) if t.unit_id else None
    return TicketView(
        t.number, t.kind, t.status, unit.code if unit else "", t.category, t.description,
        t.emergency, t.paid, t.price_fen, mask_phone(t.contact_phone) if t.contact_phone else "",
        local_time(ctx, t.appointment_at) if t.appointment_at else "", as_utc(t.created_at),
        t.reopen_count, t.severity,
    )  # fmt: skip


def get_ticket(ctx: KioskContext, number: str) -> TicketView:
    with ctx.database().read() as session:
        return _view(ctx, session, _ticket(session, number))


def tickets_of(ctx: KioskContext, actor: Actor) -> list[TicketView]:
    """A household's open or unvisited tickets (the lobby shows only the actor's own unit)."""
    with ctx.database().read() as session:
        rows = session.scalars(
            select(RepairTicket)
            .where(RepairTicket.unit_id == actor.unit_id,
                   RepairTicket.status.not_in(("closed", "canceled")))
            .order_by(RepairTicket.id)
        )  # fmt: skip
        return [_view(ctx, session, t) for t in rows]


# -- filing -----------------------------------------------------------------------------------


def appointment_slots(ctx: KioskContext, days: int = 3) -> list[dt.datetime]:
    """Bookable slots (UTC) from now on, from the configured local slot times."""
    rules = RepairRules.of(ctx)
    zone = _zone(ctx)
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
) -> TicketView:
    """Register a request (a resident at the kiosk, or the desk taking a call or a visit)."""
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
        raise Refused("repairs.severity", "Only a complaint is graded minor, important or major.")
    description = description.strip()
    if len(description) > 500:
        raise Refused("repairs.description", "Please keep the description under 500 characters.")
    phone = "".join(ch for ch in contact_phone if ch.isdigit() or ch == "+")
    if contact_phone and not 7 <= len(phone) <= 20:
        raise Refused("repairs.phone", "That is not a phone number.")
    now = ctx.clock.now()
    if appointment_at is not None and as_utc(appointment_at) < now:
        raise Refused("repairs.appointment", "Please pick an appointment time in the future.")
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
                unit = session.scalar(
                    select(Unit).where(Unit.code == normalise_unit_code(unit_code))
                )
                if unit is None:
                    raise Refused("repairs.unit", "There is no unit {unit}.", unit=unit_code)
        if unit is None and location == "in_home":
            raise Refused("repairs.no_unit", "An in-home repair needs the unit.")
        emergency = cat.emergency or urgent or bool(emergency_signs(description))
        clocks = rules.clocks(kind, severity, external)
        t = RepairTicket(
            number=f"TMP{secrets.token_hex(8)}", kind=kind, severity=severity,
            unit_id=unit.id if unit else None, location=location, floor=floor,
            category=cat.code, description=mask_text(description),
            reporter=reporter or (resident.name if resident else ""),
            reporter_id=resident.id if resident else None, received_by=received_by,
            contact_phone=phone or (resident.phone if resident else ""),
            appointment_at=appointment_at, emergency=emergency, external=external,
            paid=cat.price_fen > 0, price_fen=cat.price_fen, status="new", created_at=now,
            respond_due_at=now + dt.timedelta(minutes=clocks["respond"]),
            solve_due_at=now + dt.timedelta(minutes=clocks["solve"]) if "solve" in clocks else None,
            resolve_due_at=now + dt.timedelta(minutes=clocks["resolve"]),
            note="", assignee="", rating_comment="", clock="respond",
        )  # fmt: skip
        t.clock_due_at = t.respond_due_at
        session.add(t)
        session.flush()
        day = as_utc(now).astimezone(_zone(ctx)).strftime("%y%m%d")
        t.number = f"{PREFIX[kind]}{day}-{t.id:05d}"
        session.flush()
        where = unit.code if unit else f"common area, floor {floor}" if floor else "common area"
        if emergency:
            _call_emergency(ctx, session, t, cat.code, where, now)
        audit.record_for(ctx, session, actor, "repair.filed", f"repair:{t.number}",
                         {"kind": kind, "category": cat.code, "emergency": emergency, "unit": where})  # fmt: skip
        view = _view(ctx, session, t)
        printing.submit(session, ticket_slip(ctx, view), kind="repair_ticket", at=now,
                        kiosk_id=ctx.kiosk_id)  # fmt: skip
        return view


def _call_emergency(ctx: KioskContext, session: Session, t: RepairTicket, category: str,
                    where: str, now: dt.datetime) -> None:  # fmt: skip
    """An emergency alerts the desk and calls engineering at once."""
    message = f"EMERGENCY {t.number}: {category} at {where}"
    raise_alert(session, "repair_emergency", message, at=now, severity="urgent",
                lobby="", kiosk_id=ctx.kiosk_id)  # fmt: skip
    queue_notification(session, channel="desk", template="repair_emergency", at=now,
                       recipient="engineering",
                       payload={"number": t.number, "category": category, "where": where})  # fmt: skip
    t.notified_at = now


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
    r.row(_("Filed"), local_time(ctx, view.created_at))
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
        if severity is not None or external is not None:
            if severity is not None and (severity not in SEVERITIES[1:] or t.kind != "complaint"):
                raise Refused("repairs.severity",
                              "Only a complaint is graded minor, important or major.")  # fmt: skip
            sev = severity if severity is not None else t.severity
            ext = external if external is not None else t.external
            clocks = rules.clocks(t.kind, sev, ext)
            created = as_utc(t.created_at)
            values.update(severity=sev, external=ext,
                          respond_due_at=created + dt.timedelta(minutes=clocks["respond"]),
                          resolve_due_at=created + dt.timedelta(minutes=clocks["resolve"]))  # fmt: skip
            if sev == "major":
                raise_alert(session, "complaint_major", f"major complaint {t.number}",
                            at=now, severity="urgent", kiosk_id=ctx.kiosk_id)  # fmt: skip
        if t.kind != "repair" and t.responded_at is None:
            values["responded_at"] = now  # a complaint is answered when the desk confirms it
        _move(session, t, "confirmed", **values)
        audit.record_for(ctx, session, actor, "repair.confirmed", f"repair:{t.number}",
                         {"severity": t.severity})  # fmt: skip
        return _view(ctx, session, t)


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
        t = _ticket(session, number)
        if actor.kind == "resident":
            if actor.unit_id != t.unit_id:
                raise Refused("repairs.not_yours", "This ticket belongs to another household.")
        else:
            require_role(actor, "record consent", *DESK_ROLES)
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
        _move(session, t, "dispatched", dispatched_at=now, notified_at=now,
              assignee=assignee[:100] or t.assignee)  # fmt: skip
        queue_notification(session, channel="desk", template="repair_dispatched", at=now,
                           recipient=assignee or "engineering",
                           payload={"number": t.number, "category": t.category})  # fmt: skip
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
                           payload={"number": t.number, "until": local_time(ctx, until)})  # fmt: skip
        audit.record_for(ctx, session, actor, "repair.deferred", f"repair:{t.number}",
                         {"until": local_time(ctx, until), "reason": reason.strip()[:100]})  # fmt: skip
        return _view(ctx, session, t)


def _met(t: RepairTicket, resolved: dt.datetime, responded: dt.datetime) -> bool:
    return as_utc(responded) <= as_utc(t.respond_due_at) and as_utc(resolved) <= as_utc(
        t.resolve_due_at
    )


def signature_is_meaningful(strokes: Any) -> bool:
    """At least three points spread over more than a cell: an empty pad or a dot is no
    signature."""
    try:
        points = [(float(p[0]), float(p[1])) for stroke in strokes for p in stroke]
    except (TypeError, ValueError, IndexError):
        return False
    if len(points) < 3:
        return False
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return max(max(xs) - min(xs), max(ys) - min(ys)) >= 2


def complete(ctx: KioskContext, actor: Actor, number: str, signature: Any, *,
             charge_fen: int | None = None) -> TicketView:  # fmt: skip
    """Work done; the resident signs (kiosk or desk pad). A paid repair is charged (a bill line
    with the billing plugin, else a desk item); the return visit is due."""
    require_role(actor, "complete a ticket", *WORK_ROLES)
    if not signature_is_meaningful(signature):
        raise Refused("repairs.signature", "Please sign on the pad; a dot is not a signature.")
    now = ctx.clock.now()
    zone = _zone(ctx)
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
    billing = ctx.plugins is not None and ctx.plugins.pm.get_plugin("billing") is not None
    if billing and t.unit_id is not None:
        from plugins.billing.service import add_charge_in

        add_charge_in(session, ctx, actor, t.unit_id, "repair", fen,
                      f"paid repair {t.number} ({t.category})", source_ref=f"repair:{t.number}")  # fmt: skip
    else:
        raise_alert(session, "repair_collect",
                    f"collect {format_fen(fen)} for paid repair {t.number}",
                    at=ctx.clock.now(), kiosk_id=ctx.kiosk_id)  # fmt: skip


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
                        f"{t.number} reopened after a rating of {rating}", at=now,
                        kiosk_id=ctx.kiosk_id)  # fmt: skip
            action = "repair.reopened"
        else:
            _move(session, t, "reopened", reopen_count=t.reopen_count + 1, escalated_at=now,
                  **values)  # fmt: skip
            raise_alert(session, "complaint_escalated",
                        f"{t.number} escalated to the manager after a rating of {rating}",
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
        t = _ticket(session, number)
        if actor.kind == "resident":
            if actor.unit_id != t.unit_id:
                raise Refused("repairs.not_yours", "This ticket belongs to another household.")
        else:
            require_role(actor, "cancel a ticket", *DESK_ROLES)
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
    timers = []
    for number, kind, status, code, category, emergency, running, due, solve_due in rows:
        clock, at = running or "", as_utc(due or now)
        if clock == "resolve" and solve_due is not None and as_utc(solve_due) > now:
            clock, at = "solve", as_utc(solve_due)  # the 30-minute target comes first
        timers.append(Timer(number, kind, status, code or "", category, bool(emergency), clock,
                            at, int((at - now).total_seconds())))  # fmt: skip
    timers.sort(key=lambda t: (not t.emergency, t.due_at))
    return SlaPanel(int(open_count or 0), int(breached.get("respond", 0)),
                    int(breached.get("resolve", 0)), int(visits or 0), timers)  # fmt: skip


def renotify_unclaimed(ctx: KioskContext) -> list[str]:
    """Dispatched tickets nobody started within ``renotify_minutes`` of the last notice: notify
    engineering again (procedure: the desk urges when the slip was not collected)."""
    rules = RepairRules.of(ctx)
    now = ctx.clock.now()
    cutoff = now - dt.timedelta(minutes=rules.renotify_minutes)
    out = []
    with ctx.database().write() as session:
        RT = RepairTicket
        for t in list(session.scalars(
            select(RT).where(RT.status == "dispatched", RT.notified_at <= cutoff)
        )):  # fmt: skip
            done = session.execute(
                update(RT).where(RT.id == t.id, RT.status == "dispatched", RT.notified_at <= cutoff)
                .values(notified_at=now, renotify_count=RT.renotify_count + 1)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]  # fmt: skip
            if not done:
                continue
            queue_notification(session, channel="desk", template="repair_unclaimed", at=now,
                               recipient=t.assignee or "engineering",
                               payload={"number": t.number})  # fmt: skip
            raise_alert(session, "repair_unclaimed", f"{t.number} not taken by engineering yet",
                        at=now, kiosk_id=ctx.kiosk_id)  # fmt: skip
            audit.record_for(ctx, session, SYSTEM, "repair.renotified", f"repair:{t.number}")
            out.append(t.number)
    return out


@dataclass(frozen=True)
class DailyCheck:
    not_returned: list[str]  # slips still with engineering (not completed)
    not_visited: list[str]  # completed, return visit not done


def daily_check(ctx: KioskContext) -> DailyCheck:
    """The 17:00 check: tickets filed today or earlier that are not back, and visits not done;
    one desk alert lists them."""
    now = ctx.clock.now()
    RT = RepairTicket
    with ctx.database().write() as session:
        back = list(session.scalars(
            select(RT.number).where(RT.status.in_(("dispatched", "in_progress")),
                                    RT.created_at <= now).order_by(RT.id)
        ))  # fmt: skip
        unvisited = list(session.scalars(
            select(RT.number).where(RT.status == "completed", RT.visited_at.is_(None))
            .order_by(RT.id)
        ))  # fmt: skip
        if back or unvisited:
            raise_alert(session, "repair_daily_check",
                        f"daily check: {len(back)} not returned ({', '.join(back[:10])}), "
                        f"{len(unvisited)} return visits due ({', '.join(unvisited[:10])})",
                        at=now, kiosk_id=ctx.kiosk_id)  # fmt: skip
            audit.record_for(ctx, session, SYSTEM, "repair.daily_check", "repairs",
                             {"not_returned": len(back), "not_visited": len(unvisited)})  # fmt: skip
    return DailyCheck(back, unvisited)


# -- monthly report ---------------------------------------------------------------------------


def month_bounds(ctx: KioskContext, month: str) -> tuple[dt.datetime, dt.datetime]:
    """UTC bounds of a local calendar month ``YYYY-MM``."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", month.strip())
    try:
        if match is None or not 1900 <= int(match[1]) <= 9000:
            raise ValueError(month)
        year, mon = int(match[1]), int(match[2])
        first = dt.date(year, mon, 1)
    except ValueError:
        raise Refused("repairs.month", "A month is written YYYY-MM, not {month}.",
                      month=month) from None  # fmt: skip
    nxt = dt.date(year + (mon == 12), mon % 12 + 1, 1)
    zone = _zone(ctx)
    return (
        dt.datetime.combine(first, dt.time(), zone).astimezone(dt.UTC),
        dt.datetime.combine(nxt, dt.time(), zone).astimezone(dt.UTC),
    )


def monthly_report(ctx: KioskContext, month: str) -> dict[str, Any]:
    """Counts by category, kind and status of tickets filed in ``month``; SLA met % over the
    tickets whose clocks stopped; average rating; paid-repair charges."""
    start_at, end_at = month_bounds(ctx, month)
    RT = RepairTicket
    in_month = (RT.created_at >= start_at) & (RT.created_at < end_at)
    with ctx.database().read() as session:
        by_cat: dict[str, int] = {}
        by_status: dict[str, int] = {}
        by_kind: dict[str, int] = {}
        for cat, kind, status, n in session.execute(
            select(RT.category, RT.kind, RT.status, func.count())
            .where(in_month).group_by(RT.category, RT.kind, RT.status)
        ):  # fmt: skip
            by_cat[cat] = by_cat.get(cat, 0) + n
            by_status[status] = by_status.get(status, 0) + n
            by_kind[kind] = by_kind.get(kind, 0) + n
        measured, met, rated, rating_sum, charges, paid_n, emergencies, reopens = session.execute(
            select(
                func.count(RT.sla_met),
                func.coalesce(func.sum(case((RT.sla_met.is_(True), 1), else_=0)), 0),
                func.count(RT.rating),
                func.coalesce(func.sum(RT.rating), 0),
                func.coalesce(func.sum(RT.charge_fen), 0),
                func.coalesce(func.sum(case((RT.charge_fen > 0, 1), else_=0)), 0),
                func.coalesce(func.sum(case((RT.emergency.is_(True), 1), else_=0)), 0),
                func.coalesce(func.sum(RT.reopen_count), 0),
            ).where(in_month)
        ).one()  # fmt: skip
    total = sum(by_status.values())
    return {
        "month": month,
        "total": total,
        "by_kind": dict(sorted(by_kind.items())),
        "by_category": dict(sorted(by_category_items(by_cat))),
        "by_status": dict(sorted(by_status.items())),
        "sla_measured": int(measured),
        "sla_met": int(met),
        "sla_met_pct": round(100.0 * met / measured, 1) if measured else None,
        "rated": int(rated),
        "average_rating": round(rating_sum / rated, 2) if rated else None,
        "paid_repairs": int(paid_n),
        "paid_charges_fen": int(charges),
        "emergencies": int(emergencies),
        "reopens": int(reopens),
    }


def by_category_items(by_cat: dict[str, int]) -> list[tuple[str, int]]:
    return list(by_cat.items())


# -- retention ----------------------------------------------------------------------------------


def purge_in(
    session: Session, ctx: KioskContext, now: dt.datetime, dry_run: bool = False
) -> list[PurgeCount]:
    """Anonymise, inside ``session`` (hook ``kiosk_purge``), tickets finished (closed,
    completed or canceled) more than ``retention.repair_days`` ago: the reporter becomes 已匿名,
    the contact phone, the resident's signature and comments are erased and the description
    (free text a resident may have filled with names and numbers) is replaced. Number, unit,
    category, times, SLA results, charges and ratings stay for the monthly report; open
    tickets are never touched."""
    days = ctx.settings.retention.repair_days
    before = retention.cutoff(now, days)
    RT = RepairTicket
    count = retention.anonymise(
        session,
        RT,
        [
            RT.status.in_(("closed", "completed", "canceled")),
            func.coalesce(RT.closed_at, RT.canceled_at, RT.completed_at) < before,
            RT.reporter != retention.ANONYMOUS,
        ],
        {
            "reporter": retention.ANONYMOUS,
            "reporter_id": None,
            "contact_phone": "",
            "description": retention.ANONYMOUS,
            "rating_comment": "",
            "note": "",
            "signature": None,
        },
        dry_run,
    )
    return [PurgeCount("repairs", "repair_ticket", count, before, days)]
