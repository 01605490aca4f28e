"""Visitors (访客), headless.

Procedure (000 "访客"): verify with the host before the visitor goes in, and record the visit
in 来访人员登记表. The kiosk:

- walk-up (:func:`register_walkup`): name, phone, unit, purpose, party size -> the host is asked
  (notification outbox + the desk's pending list) and approves or declines (:func:`decide`)
  within ``host_timeout_minutes``; only an approved visit gets a pass (slip with masked name,
  unit, valid-until and a QR holding the HMAC-signed pass id);
- invites (:func:`create_invite`, :func:`redeem_invite`): a code/QR valid in a time window gives
  the pass at once; expired, not-yet-valid, used or revoked codes are refused with the reason;
- sign-out by scanning the pass (:func:`sign_out`), by the desk, or automatically at the end of
  the window (:func:`close_ended_visits`); :func:`inside_now`; :func:`daily_log_csv`;
- the block list: a listed visitor's visit waits, silently, for the desk's approval;
- retention: :func:`purge_in` (hook ``kiosk_purge``, ``kiosk purge``) anonymises visits and
  invites closed more than ``retention.visitor_days`` ago.

Lobbies: a visit belongs to the lobby where the visitor registered or redeemed the invite
(``ctx.lobby``); a desk's pending list, "inside now" and log show its own lobby's visits
(:func:`desk_lobby`; staff of no lobby see every lobby's). Invites are estate-wide: valid at any
lobby. Passes, sign-out and the host's answer work estate-wide (a visitor may leave by another
gate). Lobby "" (visits from before the lobby column) belongs to every desk. Only the desk of
the visitor's lobby answers a walk-up or marks an ID as checked: its butler sees the visitor.
Staff of no lobby may do both anywhere.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from kiosk import audit, printing, throttle
from kiosk.clock import as_utc
from kiosk.db.models import Unit
from kiosk.errors import Refused
from kiosk.i18n import N_
from kiosk.identity import Actor, require_role, unit_by_code
from kiosk.lobby import desk_lobby, in_lobby
from kiosk.notify import queue_notification, raise_alert, raise_kiosk_alert
from kiosk.notify_links import code_digest, secret_key
from kiosk.pii import mask_name, mask_phone, mask_text
from kiosk.plugin_settings import PluginRules
from kiosk.writes import change_once
from plugins.visitors import passes
from plugins.visitors.models import BlockEntry, Invite, Visit
from plugins.visitors.records import (
    ANONYMOUS,
    DESK_ROLES,
    LOG_COLUMNS,
    block,
    block_list,
    daily_log,
    daily_log_csv,
    purge_in,
    purge_pii,
    unblock,
)

if TYPE_CHECKING:
    from sqlalchemy.sql import ColumnElement

    from devices.printer import Receipt
    from kiosk.context import KioskContext

__all__ = [
    "ANONYMOUS",
    "DESK_ROLES",
    "LOG_COLUMNS",
    "block",
    "block_list",
    "daily_log",
    "daily_log_csv",
    "desk_lobby",
    "in_lobby",
    "purge_in",
    "purge_pii",
    "unblock",
]

_MOBILE = re.compile(r"1[3-9]\d{9}")


@dataclass(frozen=True)
class VisitorRules(PluginRules):
    """``[plugins.visitors]`` settings with defaults."""

    PLUGIN = "visitors"

    host_timeout_minutes: int = 5
    pass_hours: int = 4
    max_party: int = 10
    max_invite_days: int = 7
    # Typed invite codes: wrong ones one kiosk may see before each next try waits (1 s, 2 s ...
    # up to the window), and wrong ones the estate accepts per window before typed codes are
    # closed (QR invites still work: they are signed).
    invite_kiosk_failures: int = 5
    invite_kiosk_window_minutes: int = 15
    invite_failure_budget: int = 30
    invite_budget_minutes: int = 60


@dataclass(frozen=True)
class VisitView:
    """What a screen may show about a visit (PII masked)."""

    id: int
    status: str
    kind: str
    name: str  # masked
    unit: str
    party_size: int
    purpose: str
    valid_until: dt.datetime | None
    qr: str
    signed_out: bool
    held_for_desk: bool
    print_job_id: int | None


def _at_this_desk(ctx: KioskContext, actor: Actor, v: Visit) -> None:
    """A desk answers and checks the visitors standing at its own lobby: it cannot see the
    others. Staff of no lobby (the manager) act for every lobby."""
    lobby = desk_lobby(ctx, actor)
    if lobby is not None and v.lobby not in (lobby, ""):
        raise Refused(
            "visitors.other_lobby",
            "This visitor is at lobby {lobby}; the desk there answers.",
            lobby=v.lobby,
        )


def _view(ctx: KioskContext, session: Session, v: Visit) -> VisitView:
    unit = session.get(Unit, v.unit_id)
    qr = passes.sign(passes.pass_key(ctx), "pass", v.pass_id) if v.pass_id else ""
    # A held visit looks like any pending one to the visitor (the block list is silent).
    return VisitView(
        v.id,
        v.status,
        v.kind,
        mask_name(v.name),
        unit.code if unit else "",
        v.party_size,
        v.purpose,
        as_utc(v.valid_until) if v.valid_until else None,
        qr,
        v.signed_out_at is not None,
        v.held_for_desk,
        v.print_job_id,
    )


def _blocked(session: Session, name: str, phone: str, id_number: str) -> BlockEntry | None:
    conditions = []
    if phone:
        conditions.append(BlockEntry.phone == phone)
    if id_number:
        conditions.append(BlockEntry.id_number == id_number.upper())
    for entry in session.scalars(select(BlockEntry).where(BlockEntry.active.is_(True))):
        if entry.name and not entry.phone and not entry.id_number and entry.name == name:
            return entry
    if not conditions:
        return None
    return session.scalars(
        select(BlockEntry).where(BlockEntry.active.is_(True), or_(*conditions)).limit(1)
    ).first()


def pass_slip(ctx: KioskContext, v: Visit, unit_code: str) -> Receipt:
    """The visitor pass: masked name, unit, valid-until, QR with the signed pass id."""
    from devices.printer import Receipt

    assert v.pass_id and v.valid_until
    return (
        Receipt()
        .title("访客通行证 Visitor pass")
        .row("访客 Visitor", mask_name(v.name))
        .row("人数 Party", str(v.party_size))
        .row("到访 Unit", unit_code)
        .row("有效至 Valid until", ctx.local_time(v.valid_until))
        .qr(passes.sign(passes.pass_key(ctx), "pass", v.pass_id))
        .text("离开时请在自助机扫码登出 Scan at the kiosk when you leave")
        .cut()
    )


def invite_digest(ctx: KioskContext, code: str) -> str:
    """What ``Invite.code`` stores: a keyed digest of the 6-digit code (64 bits of an
    HMAC-SHA256 with the estate's secret), so the table does not give the codes away."""
    return code_digest(secret_key(ctx.settings), "invite", code)[:16]


def _issue_pass(
    ctx: KioskContext, session: Session, v: Visit, valid_until: dt.datetime, now: dt.datetime
) -> None:
    v.pass_id = secrets.token_hex(8)
    v.valid_until = valid_until
    unit = session.get(Unit, v.unit_id)
    assert unit is not None
    job = printing.submit(
        session,
        pass_slip(ctx, v, unit.code),
        kind="visitor-pass",
        at=now,
        kiosk_id=v.kiosk_id or ctx.kiosk_id,
    )
    v.print_job_id = job.id


# -- walk-up ----------------------------------------------------------------------------------


def _check_party(party_size: int, rules: VisitorRules) -> None:
    if not 1 <= party_size <= rules.max_party:
        raise Refused(
            "visitors.party_size",
            "Party size must be 1 to {max}; larger groups see the desk.",
            max=rules.max_party,
        )


def _check_visitor(name: str, phone: str, party_size: int, rules: VisitorRules) -> tuple[str, str]:
    clean_name = " ".join(name.split())
    if not clean_name or len(clean_name) > 50:
        raise Refused("visitors.name", "Enter the visitor's name.")
    clean_phone = re.sub(r"[\s-]", "", phone)
    if not _MOBILE.fullmatch(clean_phone):
        raise Refused("visitors.phone", "Enter an 11-digit mobile number.")
    _check_party(party_size, rules)
    return clean_name, clean_phone


def _tell_desk(
    session: Session,
    v: Visit,
    template: str,
    message: str,
    params: dict[str, Any],
    now: dt.datetime,
) -> None:
    """Tell the desk of the visit's lobby about visit ``v``: ``message`` (an ``N_`` message
    id, translated at the desk) with ``params``."""
    queue_notification(
        session,
        channel="desk",
        template=template,
        at=now,
        unit_id=v.unit_id,
        payload={"visit": v.id, "lobby": v.lobby, "message": message, "params": params},
    )


def register_walkup(
    ctx: KioskContext,
    *,
    name: str,
    phone: str,
    unit_code: str,
    purpose: str,
    party_size: int = 1,
    id_number: str = "",
) -> VisitView:
    """A visitor registers at the kiosk; the host is asked (or, for a blocked visitor, only the
    desk, silently). The visitor waits for :func:`visit_status` to turn ``approved``."""
    rules = VisitorRules.of(ctx)
    clean_name, clean_phone = _check_visitor(name, phone, party_size, rules)
    if not purpose.strip():
        raise Refused("visitors.purpose", "Say what the visit is for.")
    now = ctx.clock.now()
    with ctx.database().write() as session:
        unit = unit_by_code(session, unit_code)
        blocked = _blocked(session, clean_name, clean_phone, id_number.strip())
        v = Visit(
            kind="walkup",
            name=clean_name,
            phone=clean_phone,
            id_number=id_number.strip().upper(),
            unit_id=unit.id,
            purpose=mask_text(purpose.strip())[:100],
            party_size=party_size,
            status="pending",
            held_for_desk=blocked is not None,
            kiosk_id=ctx.kiosk_id,
            lobby=ctx.lobby,
            created_at=now,
        )
        session.add(v)
        session.flush()
        if blocked is None:
            queue_notification(
                session,
                channel="wechat",
                template="visitor.ask_host",
                at=now,
                unit_id=unit.id,
                payload={
                    "visit": v.id,
                    "visitor": mask_name(clean_name),
                    "party_size": party_size,
                    "purpose": v.purpose,
                    "answer_within_minutes": rules.host_timeout_minutes,
                },
            )
        _tell_desk(
            session,
            v,
            "visitor.held" if blocked is not None else "visitor.waiting",
            (
                N_(
                    "visitor {visitor} for {unit} is on the block list: approve or decline "
                    "at the desk"
                )
                if blocked is not None
                else N_("visitor {visitor} for {unit} waits for the host")
            ),
            {"visitor": mask_name(clean_name), "unit": unit.code},
            now,
        )
        audit.record_for(
            ctx,
            session,
            "kiosk",
            "visitor.registered",
            f"visitor_visit:{v.id}",
            {
                "unit": unit.code,
                "name": mask_name(clean_name),
                "phone": clean_phone,
                "party_size": party_size,
                "held": blocked is not None,
            },
        )
        return _view(ctx, session, v)


def _time_out(ctx: KioskContext, session: Session, v: Visit, now: dt.datetime) -> bool:
    """Mark a pending visit timed out when the host did not answer in time."""
    rules = VisitorRules.of(ctx)
    if v.status != "pending" or v.held_for_desk:
        return False
    if now < as_utc(v.created_at) + dt.timedelta(minutes=rules.host_timeout_minutes):
        return False
    return _mark_timed_out(ctx, session, v, now, "timeout", "system", None)


def _mark_timed_out(
    ctx: KioskContext,
    session: Session,
    v: Visit,
    now: dt.datetime,
    by: str,
    actor: str,
    data: dict[str, Any] | None,
) -> bool:
    """Store a visit still pending as timed out (``by`` the host's timeout or the kiosk), once
    even when two kiosks race: True when this call did it."""
    changed = session.execute(
        update(Visit)
        .where(Visit.id == v.id, Visit.status == "pending")
        .values(status="timed_out", decided_at=now, decided_by=by)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    audit.record_for(
        ctx, session, actor, "visitor.timed_out", f"visitor_visit:{v.id}", data, at=now
    )
    session.refresh(v)
    return True


def visit_status(ctx: KioskContext, visit_id: int) -> VisitView:
    """The visit as the waiting visitor's screen sees it (a host who never answers times out)."""
    now = ctx.clock.now()
    with ctx.database().write() as session:
        v = session.get(Visit, visit_id)
        if v is None:
            raise Refused("visitors.unknown_visit", "This visit is not known. Please see the desk.")
        _time_out(ctx, session, v, now)
        return _view(ctx, session, v)


def stop_waiting(ctx: KioskContext, visit_id: int) -> VisitView:
    """The kiosk gives up waiting for the host (the visitor left the waiting screen): a walk-up
    still pending is stored as ``timed_out`` at once, so a late answer cannot issue a pass that
    nobody collects. A visit held for the desk stays with the desk."""
    now = ctx.clock.now()
    with ctx.database().write() as session:
        v = session.get(Visit, visit_id)
        if v is None:
            raise Refused("visitors.unknown_visit", "This visit is not known. Please see the desk.")
        if not _time_out(ctx, session, v, now) and v.status == "pending" and not v.held_for_desk:
            _mark_timed_out(ctx, session, v, now, "kiosk", "kiosk", {"by": "kiosk"})
        return _view(ctx, session, v)


def expire_pending(ctx: KioskContext) -> int:
    """Time out every visit whose host did not answer (the desk panel runs this)."""
    now = ctx.clock.now()
    rules = VisitorRules.of(ctx)
    cutoff = now - dt.timedelta(minutes=rules.host_timeout_minutes)
    count = 0
    with ctx.database().write() as session:
        for v in session.scalars(
            select(Visit).where(
                Visit.status == "pending",
                Visit.held_for_desk.is_(False),
                Visit.created_at <= cutoff,
            )
        ).all():
            count += _time_out(ctx, session, v, now)
    return count


def decide(
    ctx: KioskContext, actor: Actor, visit_id: int, approve: bool, note: str = ""
) -> VisitView:
    """The host (a resident of the unit) or the desk approves or declines a waiting visit.
    Approval issues the pass and queues its slip at the visitor's kiosk.

    An answer that comes after ``host_timeout_minutes`` is refused, and the visit is stored as
    ``timed_out`` in the same step (committed before the refusal), never left ``pending`` or
    turned into ``declined``."""
    rules = VisitorRules.of(ctx)
    now = ctx.clock.now()
    with ctx.database().write() as session:
        v = session.get(Visit, visit_id)
        if v is None:
            raise Refused("visitors.unknown_visit", "This visit is not known. Please see the desk.")
        is_host = actor.kind == "resident" and actor.unit_id == v.unit_id and not v.held_for_desk
        if not is_host:
            require_role(actor, "visitor.decide", *DESK_ROLES)
            _at_this_desk(ctx, actor, v)
        timed_out = _time_out(ctx, session, v, now) or v.status == "timed_out"
        if not timed_out:
            return _decide_in(ctx, session, v, actor, approve, note, rules, now)
    # Outside the transaction: the timeout above is committed, then the answer is refused.
    raise Refused(
        "visitors.visit_timed_out",
        "The visitor waited too long and was told to see the desk.",
    )


def _decide_in(
    ctx: KioskContext,
    session: Session,
    v: Visit,
    actor: Actor,
    approve: bool,
    note: str,
    rules: VisitorRules,
    now: dt.datetime,
) -> VisitView:
    """Record the answer to a visit still pending (the caller checked the timeout)."""
    change_once(
        session,
        update(Visit)
        .where(Visit.id == v.id, Visit.status == "pending")
        .values(
            status="approved" if approve else "declined",
            decided_at=now,
            decided_by=actor.label,
        ),
        Refused(
            "visitors.visit_decided", "This visit was already answered ({status}).", status=v.status
        ),
    )
    session.refresh(v)
    if approve:
        _issue_pass(ctx, session, v, now + dt.timedelta(hours=rules.pass_hours), now)
    audit.record_for(
        ctx, session, actor, "visitor.approved" if approve else "visitor.declined",
        f"visitor_visit:{v.id}", {"note": note[:200], "held": v.held_for_desk}, at=now,
    )  # fmt: skip
    return _view(ctx, session, v)


def pending_visits(ctx: KioskContext, lobby: str | None = None) -> list[dict[str, Any]]:
    """Visits waiting for an answer (the desk panel), held ones marked for the desk: of one
    lobby (with visits tied to none), or of every lobby when ``lobby`` is None."""
    with ctx.database().read() as session:
        rows = session.execute(
            select(Visit, Unit.code)
            .join(Unit, Unit.id == Visit.unit_id)
            .where(Visit.status == "pending", *in_lobby(Visit.lobby, lobby))
            .order_by(Visit.created_at)
        ).all()
    return [
        _visitor_row(v, code)
        | {
            "purpose": v.purpose,
            "since": ctx.local_time(v.created_at),
            "blocked": v.held_for_desk,
        }
        for v, code in rows
    ]


def _visitor_row(v: Visit, unit_code: str) -> dict[str, Any]:
    """A visit as the desk's lists show it: who (masked), for which unit, through which lobby."""
    return {
        "id": v.id,
        "lobby": v.lobby,
        "unit": unit_code,
        "visitor": mask_name(v.name),
        "phone": mask_phone(v.phone),
        "party_size": v.party_size,
    }


# -- invites ----------------------------------------------------------------------------------


INVITE_DIGITS = 10  # 10^10 codes: digits only, typeable on the kiosk's numeric keypad


def new_invite_code() -> str:
    return f"{secrets.randbelow(10**INVITE_DIGITS):0{INVITE_DIGITS}d}"


def group_code(code: str) -> str:
    """How a code is shown to people: ``123 456 7890`` (typed with or without the spaces)."""
    if len(code) != INVITE_DIGITS:
        return code
    return f"{code[:3]} {code[3:6]} {code[6:]}"


@dataclass(frozen=True)
class InviteCreated:
    id: int
    code: str
    qr: str


def create_invite(
    ctx: KioskContext,
    actor: Actor,
    *,
    unit_code: str = "",
    visitor_name: str,
    valid_from: dt.datetime,
    valid_until: dt.datetime,
    visitor_phone: str = "",
    party_size: int = 1,
    purpose: str = "",
) -> InviteCreated:
    """A resident (for their unit; ``unit_code`` may be left out) or the desk invites someone
    for a time window."""
    rules = VisitorRules.of(ctx)
    start, end = as_utc(valid_from), as_utc(valid_until)
    now = ctx.clock.now()
    if end <= start or end <= now or end - start > dt.timedelta(days=rules.max_invite_days):
        raise Refused(
            "visitors.invite_window",
            "The invite must end after it starts, in the future, within {days} days.",
            days=rules.max_invite_days,
        )
    name = " ".join(visitor_name.split())
    if not name:
        raise Refused("visitors.name", "Enter the visitor's name.")
    phone = re.sub(r"[\s-]", "", visitor_phone)
    if phone and not _MOBILE.fullmatch(phone):
        raise Refused("visitors.phone", "Enter an 11-digit mobile number.")
    _check_party(party_size, rules)
    key = passes.pass_key(ctx)
    with ctx.database().write() as session:
        if not unit_code and actor.kind == "resident" and actor.unit_id is not None:
            own = session.get(Unit, actor.unit_id)
            assert own is not None
            unit_code = own.code
        unit = unit_by_code(session, unit_code)
        if not (actor.kind == "resident" and actor.unit_id == unit.id):
            require_role(actor, "visitor.invite", *DESK_ROLES)
        active = set(session.scalars(select(Invite.code).where(Invite.status == "active")))
        code = new_invite_code()
        while invite_digest(ctx, code) in active or code in active:
            code = new_invite_code()
        invite = Invite(
            code=invite_digest(ctx, code),
            unit_id=unit.id,
            visitor_name=name,
            visitor_phone=phone,
            purpose=mask_text(purpose.strip())[:100],
            party_size=party_size,
            valid_from=start,
            valid_until=end,
            status="active",
            created_by=actor.label,
            created_at=now,
        )
        session.add(invite)
        session.flush()
        qr = passes.sign(key, "invite", code)
        if phone:
            queue_notification(
                session,
                channel="sms",
                template="visitor.invited",
                at=now,
                unit_id=unit.id,
                recipient=phone,
                payload={
                    "code": code,
                    "qr": qr,
                    "unit": unit.code,
                    "from": ctx.local_time(start),
                    "until": ctx.local_time(end),
                },
            )
        audit.record_for(
            ctx,
            session,
            actor.label,
            "visitor.invited",
            f"visitor_invite:{invite.id}",
            {
                "unit": unit.code,
                "name": mask_name(name),
                "phone": phone,
                "from": start.isoformat(),
                "until": end.isoformat(),
            },
        )
        return InviteCreated(invite.id, code, qr)


def _invite_refusal(ctx: KioskContext, invite: Invite | None, now: dt.datetime) -> Refused | None:
    if invite is None:
        return Refused(
            "visitors.invite_unknown", "No invite has this code. Check it or see the desk."
        )
    if invite.status == "revoked":
        return Refused("visitors.invite_revoked", "This invite was cancelled by the host.")
    if invite.status == "used":
        return Refused(
            "visitors.invite_used",
            "This invite was already used ({time}).",
            time=ctx.local_time(invite.used_at or invite.created_at),
        )
    if now < as_utc(invite.valid_from):
        return Refused(
            "visitors.invite_early",
            "This invite is valid from {time}.",
            time=ctx.local_time(invite.valid_from),
        )
    if now >= as_utc(invite.valid_until):
        return Refused(
            "visitors.invite_expired",
            "This invite expired at {time}.",
            time=ctx.local_time(invite.valid_until),
        )
    return None


def _typing_closed(ctx: KioskContext, session: Session, now: dt.datetime) -> Refused | None:
    """Typed codes wait at a kiosk that saw too many wrong ones, and are closed estate-wide
    when the estate's budget of wrong codes for the window is used up."""
    estate = throttle.peek(session, "invite_space", "")
    if estate is not None and throttle.locked_until(estate, now) is not None:
        return Refused(
            "visitors.invite_closed",
            "Invite codes cannot be typed in just now. Scan the invite's QR code or see the desk.",
        )
    here = throttle.peek(session, "invite", ctx.kiosk_id)
    until = throttle.locked_until(here, now) if here is not None else None
    if until is not None:
        return Refused(
            "visitors.invite_throttled",
            "Too many wrong invite codes at this kiosk. Please wait {seconds} seconds, "
            "or see the desk.",
            seconds=max(1, math.ceil((until - now).total_seconds())),
        )
    return None


def _wrong_code(ctx: KioskContext, session: Session, now: dt.datetime, how: str) -> None:
    """Count a wrong (or forged) code at this kiosk and against the estate's budget; tell the
    desk when a kiosk starts backing off and when typed codes close."""
    rules = VisitorRules.of(ctx)
    here = throttle.keypad_failed(
        throttle.guard(session, "invite", ctx.kiosk_id),
        now,
        "invite",
        free=rules.invite_kiosk_failures,
        window_minutes=rules.invite_kiosk_window_minutes,
        spray_accounts=10**9,
    )
    if here.alert:
        raise_kiosk_alert(
            ctx,
            session,
            "invite_guessing",
            N_(
                "{failures} wrong invite codes at kiosk {kiosk} within {minutes} min: "
                "someone may be guessing codes"
            ),
            {
                "failures": here.failures,
                "kiosk": ctx.kiosk_id,
                "minutes": rules.invite_kiosk_window_minutes,
            },
            at=now,
            severity="urgent",
        )
    estate = throttle.guard(session, "invite_space", "")
    closed = throttle.budget_failed(
        estate, now, rules.invite_failure_budget, rules.invite_budget_minutes
    )
    if closed:
        raise_alert(
            session,
            "invite_codes_closed",
            N_(
                "{failures} wrong invite codes across the estate within {minutes} min: typed "
                "codes are closed until {until} (QR invites still work)"
            ),
            params={
                "failures": rules.invite_failure_budget,
                "minutes": rules.invite_budget_minutes,
                "until": ctx.local_time(as_utc(estate.locked_until or now)),
            },  # fmt: skip
            at=now,
            severity="urgent",
            kiosk_id=ctx.kiosk_id,
        )
        audit.record_for(
            ctx, session, "kiosk", "visitor.invite_codes_closed", "invite_space",
            {"failures": estate.failures},
        )  # fmt: skip
    data: dict[str, Any] = {"how": how, "kiosk_failures": here.failures}
    if here.wait_until is not None:
        data["wait_until"] = here.wait_until.isoformat()
    audit.record_for(ctx, session, "kiosk", "visitor.invite_refused", "invite:?", data)


def redeem_invite(ctx: KioskContext, entered: str) -> VisitView:
    """The visitor types the code or shows the QR: the pass at once, or the reason why not.

    Typed codes are guarded against guessing (:func:`_typing_closed`, :func:`_wrong_code`);
    every refusal is audited. A signed QR is not guessable and skips the typed-code limits.
    """
    text = entered.strip()
    now = ctx.clock.now()
    signed = text.upper().startswith(passes.PREFIX["invite"] + ".")
    code = passes.verify(passes.pass_key(ctx), "invite", text) if signed else None
    refusal: Refused | None = None
    with ctx.database().write() as session:
        if signed and code is None:
            refusal = Refused(
                "visitors.invite_forged", "This QR code is not one of ours. Please see the desk."
            )
            _wrong_code(ctx, session, now, "forged_qr")
        if not signed:
            code = re.sub(r"[\s-]", "", text)
            if not code:
                raise Refused("visitors.invite_empty", "Enter the invite code, or scan its QR.")
            refusal = _typing_closed(ctx, session, now)
            if refusal is not None:
                audit.record_for(
                    ctx, session, "kiosk", "visitor.invite_refused", "invite:?",
                    {"how": refusal.code},
                )  # fmt: skip
        invite = None
        if refusal is None:
            # Codes are digits: anything else (a NUL breaks PostgreSQL) matches no invite.
            if code is not None and code.isascii() and code.isalnum():
                invite = session.scalars(
                    # Digests since codes were keyed; the plain code of an invite made before.
                    select(Invite)
                    .where(Invite.code.in_((invite_digest(ctx, code), code)))
                    .order_by(Invite.id.desc())
                    .limit(1)
                ).first()
            refusal = _invite_refusal(ctx, invite, now)
            if invite is None:
                _wrong_code(ctx, session, now, "unknown_code")
            elif refusal is not None:
                audit.record_for(
                    ctx, session, "kiosk", "visitor.invite_refused",
                    f"visitor_invite:{invite.id}", {"how": refusal.code},
                )  # fmt: skip
        if refusal is None and invite is not None:
            change_once(
                session,
                update(Invite)
                .where(Invite.id == invite.id, Invite.status == "active")
                .values(status="used", used_at=now),
                Refused(
                    "visitors.invite_used",
                    "This invite was already used ({time}).",
                    time=ctx.local_time(now),
                ),
            )
            return _redeemed(ctx, session, invite, now)
    assert refusal is not None
    raise refusal


def _redeemed(ctx: KioskContext, session: Session, invite: Invite, now: dt.datetime) -> VisitView:
    """The invite becomes a visit: approved with its pass, or held for the desk."""
    blocked = _blocked(session, invite.visitor_name, invite.visitor_phone, "")
    v = Visit(
        kind="invite",
        name=invite.visitor_name,
        phone=invite.visitor_phone,
        unit_id=invite.unit_id,
        purpose=invite.purpose,
        party_size=invite.party_size,
        status="pending" if blocked else "approved",
        held_for_desk=blocked is not None,
        invite_id=invite.id,
        kiosk_id=ctx.kiosk_id,
        lobby=ctx.lobby,
        created_at=now,
        decided_at=None if blocked else now,
        decided_by="" if blocked else "invite",
    )
    session.add(v)
    session.flush()
    if blocked is None:
        _issue_pass(ctx, session, v, as_utc(invite.valid_until), now)
    else:
        _tell_desk(
            session,
            v,
            "visitor.held",
            N_("invited visitor {visitor} is on the block list: approve or decline at the desk"),
            {"visitor": mask_name(v.name)},
            now,
        )
    audit.record_for(
        ctx, session, "kiosk", "visitor.invite_redeemed", f"visitor_visit:{v.id}",
        {"invite": invite.id, "held": blocked is not None}, at=now,
    )  # fmt: skip
    return _view(ctx, session, v)


def revoke_invite(ctx: KioskContext, actor: Actor, invite_id: int) -> None:
    """The host or the desk cancels an unused invite."""
    now = ctx.clock.now()
    with ctx.database().write() as session:
        invite = session.get(Invite, invite_id)
        if invite is None:
            raise Refused(
                "visitors.invite_unknown", "No invite has this code. Check it or see the desk."
            )
        if not (actor.kind == "resident" and actor.unit_id == invite.unit_id):
            require_role(actor, "visitor.revoke", *DESK_ROLES)
        change_once(
            session,
            update(Invite)
            .where(Invite.id == invite_id, Invite.status == "active")
            .values(status="revoked", revoked_at=now),
            Refused(
                "visitors.invite_not_active",
                "This invite can no longer be cancelled ({status}).",
                status=invite.status,
            ),
        )
        audit.record_for(
            ctx, session, actor.label, "visitor.invite_revoked", f"visitor_invite:{invite_id}"
        )


# -- passes, sign-out ---------------------------------------------------------------------------


def _visit_of_pass(ctx: KioskContext, session: Session, payload: str) -> Visit:
    pass_id = passes.verify(passes.pass_key(ctx), "pass", payload)
    if pass_id is None:
        raise Refused(
            "visitors.pass_invalid", "This is not a valid visitor pass. Please see the desk."
        )
    v = session.scalar(select(Visit).where(Visit.pass_id == pass_id))
    if v is None:
        raise Refused(
            "visitors.pass_invalid", "This is not a valid visitor pass. Please see the desk."
        )
    return v


def check_pass(ctx: KioskContext, payload: str) -> VisitView:
    """Is this pass good right now? Refused with the reason: revoked, signed out, expired."""
    now = ctx.clock.now()
    with ctx.database().read() as session:
        v = _visit_of_pass(ctx, session, payload)
        if v.revoked_at is not None:
            raise Refused("visitors.pass_revoked", "This pass was cancelled. Please see the desk.")
        if v.signed_out_at is not None:
            raise Refused(
                "visitors.pass_used",
                "This pass was already used to sign out ({time}).",
                time=ctx.local_time(v.signed_out_at),
            )
        if v.valid_until is None or now >= as_utc(v.valid_until):
            raise Refused(
                "visitors.pass_expired",
                "This pass expired at {time}.",
                time=ctx.local_time(v.valid_until or now),
            )
        return _view(ctx, session, v)


def sign_out(ctx: KioskContext, payload: str) -> VisitView:
    """The visitor scans the pass at the kiosk on the way out."""
    now = ctx.clock.now()
    with ctx.database().write() as session:
        v = _visit_of_pass(ctx, session, payload)
        change_once(
            session,
            update(Visit)
            .where(Visit.id == v.id, Visit.signed_out_at.is_(None))
            .values(signed_out_at=now, sign_out_by="kiosk"),
            Refused(
                "visitors.pass_used",
                "This pass was already used to sign out ({time}).",
                time=ctx.local_time(v.signed_out_at or now),
            ),
        )
        audit.record_for(
            ctx, session, "kiosk", "visitor.signed_out", f"visitor_visit:{v.id}", {"by": "kiosk"}
        )
        session.refresh(v)
        return _view(ctx, session, v)


def _desk_changes_visit(
    ctx: KioskContext,
    actor: Actor,
    visit_id: int,
    still: tuple[ColumnElement[bool], ...],
    values: dict[str, Any],
    refusal: Refused,
    action: str,
    data: dict[str, Any],
) -> None:
    """The desk's change of visit ``visit_id``, made once while the visit is ``still`` so (else
    ``refusal``), in its own transaction, audited as ``action`` with ``data``."""
    with ctx.database().write() as session:
        change_once(
            session, update(Visit).where(Visit.id == visit_id, *still).values(**values), refusal
        )
        audit.record_for(ctx, session, actor.label, action, f"visitor_visit:{visit_id}", data)


def sign_out_by_desk(ctx: KioskContext, actor: Actor, visit_id: int) -> None:
    """The desk signs a visitor out (left without scanning)."""
    require_role(actor, "visitor.sign_out", *DESK_ROLES)
    _desk_changes_visit(
        ctx, actor, visit_id,
        (Visit.status == "approved", Visit.signed_out_at.is_(None)),
        {"signed_out_at": ctx.clock.now(), "sign_out_by": "desk"},
        Refused("visitors.not_inside", "This visitor is not signed in."),
        "visitor.signed_out", {"by": "desk"},
    )  # fmt: skip


def revoke_pass(ctx: KioskContext, actor: Actor, visit_id: int, reason: str = "") -> None:
    """The desk cancels a pass (the visitor must leave or come back to the desk)."""
    require_role(actor, "visitor.revoke", *DESK_ROLES)
    _desk_changes_visit(
        ctx, actor, visit_id,
        (Visit.pass_id.is_not(None), Visit.revoked_at.is_(None)),
        {"revoked_at": ctx.clock.now()},
        Refused("visitors.pass_revoked", "This pass was cancelled. Please see the desk."),
        "visitor.pass_revoked", {"reason": reason[:200]},
    )  # fmt: skip


def close_ended_visits(ctx: KioskContext) -> int:
    """Sign out, at the end of their window, visitors who left without scanning."""
    now = ctx.clock.now()
    count = 0
    with ctx.database().write() as session:
        ended = session.execute(
            select(Visit.id, Visit.valid_until).where(
                Visit.status == "approved",
                Visit.signed_out_at.is_(None),
                Visit.valid_until <= now,
            )
        ).all()
        for visit_id, until in ended:
            changed = session.execute(
                update(Visit)
                .where(Visit.id == visit_id, Visit.signed_out_at.is_(None))
                .values(signed_out_at=until, sign_out_by="auto")
            )
            if changed.rowcount == 1:  # type: ignore[attr-defined]
                audit.record_for(
                    ctx,
                    session,
                    "system",
                    "visitor.signed_out",
                    f"visitor_visit:{visit_id}",
                    {"by": "auto"},
                )
                count += 1
    return count


def inside_now(ctx: KioskContext, lobby: str | None = None) -> list[dict[str, Any]]:
    """Visitors with a live pass who have not signed out (masked): who came in through
    ``lobby`` (with visits tied to none), or through any lobby when ``lobby`` is None."""
    now = ctx.clock.now()
    with ctx.database().read() as session:
        rows = session.execute(
            select(Visit, Unit.code)
            .join(Unit, Unit.id == Visit.unit_id)
            .where(
                Visit.status == "approved",
                Visit.signed_out_at.is_(None),
                Visit.revoked_at.is_(None),
                Visit.valid_until > now,
                *in_lobby(Visit.lobby, lobby),
            )
            .order_by(Visit.decided_at)
        ).all()
    return [
        _visitor_row(v, code)
        | {
            "since": ctx.local_time(v.decided_at or v.created_at),
            "until": ctx.local_time(v.valid_until) if v.valid_until else "",
            "id_checked": v.id_checked,
        }
        for v, code in rows
    ]


def mark_id_checked(ctx: KioskContext, actor: Actor, visit_id: int) -> None:
    """The desk saw the visitor's ID (必要时请出示身份证)."""
    require_role(actor, "visitor.id_check", *DESK_ROLES)
    with ctx.database().write() as session:
        v = session.get(Visit, visit_id)
        if v is None:
            raise Refused("visitors.unknown_visit", "This visit is not known. Please see the desk.")
        _at_this_desk(ctx, actor, v)
        change_once(
            session,
            update(Visit)
            .where(Visit.id == visit_id, Visit.id_checked.is_(False))
            .values(id_checked=True, id_checked_by=actor.label),
            Refused("visitors.id_checked", "This visitor's ID is already marked as checked."),
        )
        audit.record_for(
            ctx, session, actor.label, "visitor.id_checked", f"visitor_visit:{visit_id}"
        )
