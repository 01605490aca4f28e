"""Headless lobby services behind the shells: card taps, unit + PIN, staff login, desk call,
household file. Screens call these; so do the CLI, scenarios and tests.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk import audit
from kiosk.context import KioskContext
from kiosk.db.models import Building, Card, Resident, Staff, Unit
from kiosk.errors import Refused
from kiosk.hookspecs import CardOutcome
from kiosk.i18n import N_
from kiosk.identity import (
    Actor,
    AmbiguousCard,
    CardTapResult,
    LoginResult,
    identify_card,
    login_staff,
    login_unit,
    require_role,
    set_pin,
    unit_by_code,
)
from kiosk.notify import raise_kiosk_alert
from kiosk.pii import mask_id_number, mask_phone

log = logging.getLogger(__name__)


@dataclass
class TapOutcome:
    """What the kiosk should do after a tap. ``kind``: resident, staff, plugin, refused."""

    kind: str
    message: str = ""
    actor: Actor | None = None
    tap: CardTapResult | None = None
    plugin: CardOutcome | None = None
    alerted: bool = False


@dataclass
class UnknownCardCounter:
    """Unknown taps in a row at this kiosk; the desk is alerted when it reaches the limit."""

    count: int = 0


def tap_card(ctx: KioskContext, uid: str, counter: UnknownCardCounter | None = None) -> TapOutcome:
    """A card was presented at this kiosk: a plugin may claim it, else resident or staff.

    The lookup is a plain read; a write transaction is opened only to alert the desk, so taps
    never queue behind other kiosks' writes.
    """
    db = ctx.database()
    counter = counter if counter is not None else UnknownCardCounter()
    try:
        with db.read() as session:
            tap = identify_card(session, uid)
    except AmbiguousCard as amb:
        _ambiguous_card_alert(ctx, amb)
        return TapOutcome("refused", amb.message, alerted=True)
    claimed = ctx.plugins.first("kiosk_card_presented", card=tap, ctx=ctx) if ctx.plugins else None
    if claimed is not None:
        counter.count = 0
        return TapOutcome("plugin", claimed.message, tap=tap, plugin=claimed)
    if not tap.known:
        counter.count += 1
        log.info("unknown card %s at %s (%d in a row)", uid, ctx.kiosk_id, counter.count)
        alerted = counter.count >= ctx.settings.unknown_card_alert_after
        if alerted:
            _alert(
                ctx,
                "unknown_card",
                N_("{count} unknown card taps at kiosk {kiosk} (last UID {uid})"),
                {"count": counter.count, "kiosk": ctx.kiosk_id, "uid": uid},
            )
            counter.count = 0
        return TapOutcome(
            "refused", "Card not recognised. Please see the desk.", tap=tap, alerted=alerted
        )
    counter.count = 0
    if tap.status != "active":
        if tap.status in ("blocked", "lost"):
            _alert(
                ctx,
                "blocked_card",
                N_("a {status} card ({uid}) was tapped at kiosk {kiosk}"),
                {"status": tap.status, "uid": tap.uid, "kiosk": ctx.kiosk_id},
            )
        return TapOutcome("refused", "This card is {status}. Please see the desk.", tap=tap)
    actor = tap.actor()
    if actor is not None:
        return TapOutcome(actor.kind, "", actor=actor, tap=tap)
    return TapOutcome("refused", "Card not recognised. Please see the desk.", tap=tap)


def _ambiguous_card_alert(ctx: KioskContext, amb: AmbiguousCard) -> None:
    """Tell the desk that a typed/printed card number matched several cards (and was refused)."""
    log.warning("ambiguous card number %r at %s: cards %s", amb.text, ctx.kiosk_id, amb.card_ids)
    ids = ", ".join(str(i) for i in amb.card_ids)
    _alert(
        ctx,
        "ambiguous_card",
        N_(
            "card number {number} at kiosk {kiosk} matches several cards (ids {ids}): "
            "refused; check the cards' registered numbers"
        ),
        {"number": repr(amb.text), "kiosk": ctx.kiosk_id, "ids": ids},
    )


def _alert(
    ctx: KioskContext, kind: str, message: str, params: dict[str, Any], severity: str = "warning"
) -> None:
    with ctx.database().write() as session:
        raise_kiosk_alert(ctx, session, kind, message, params, severity=severity)


def _login_message(result: LoginResult, staff: bool = False) -> str:
    if result.reason == "wrong_pin":
        if staff:
            return "Wrong PIN or staff number. {remaining} tries left."
        return "Wrong PIN. {remaining} tries left."
    if result.reason == "locked":
        return "Too many wrong PINs. Try again after {until}, or see the desk."
    if result.reason == "throttled":
        return "Too many wrong PINs at this kiosk. Please wait {seconds} seconds, or see the desk."
    return "Unknown unit or staff number. Please check and try again."


def _refusal(ctx: KioskContext, result: LoginResult, staff: bool = False) -> Refused:
    wait = 0
    if result.reason == "throttled" and result.locked_until is not None:
        wait = max(1, math.ceil((result.locked_until - ctx.clock.now()).total_seconds()))
    return Refused(
        f"login.{result.reason}",
        _login_message(result, staff),
        remaining=result.remaining,
        until=_local_time(ctx, result),
        seconds=wait,
    )


def _by_this_kiosk(
    ctx: KioskContext,
    session: Session,
    action: str,
    subject: str,
    data: dict[str, Any],
    at: dt.datetime,
) -> None:
    """An audit event whose actor is this kiosk itself (nobody is signed in yet)."""
    audit.record(session, actor=f"kiosk:{ctx.kiosk_id}", action=action, subject=subject,
                 data=data, at=at, kiosk_id=ctx.kiosk_id)  # fmt: skip


def _record_lock(
    ctx: KioskContext, session: Session, result: LoginResult, action: str, at: dt.datetime
) -> None:
    """The account that wrong PINs just locked, and until when."""
    until = result.locked_until.isoformat() if result.locked_until else ""
    _by_this_kiosk(ctx, session, action, result.account, {"until": until}, at)


def _record_failure(
    ctx: KioskContext, session: Session, result: LoginResult, action: str, subject: str
) -> None:
    """Audit a refused login (every one) and tell the desk when this kiosk sees guessing."""
    now = ctx.clock.now()
    data: dict[str, Any] = {"reason": result.reason}
    if result.detail and result.detail != result.reason:
        data["detail"] = result.detail
    if result.locked_until is not None:
        data["until"] = result.locked_until.isoformat()
    if result.keypad is not None:
        data["kiosk_failures"] = result.keypad.failures
    _by_this_kiosk(ctx, session, action, subject, data, now)
    kf = result.keypad
    if kf is not None and kf.alert:
        policy = ctx.settings.staff
        raise_kiosk_alert(
            ctx,
            session,
            "pin_guessing",
            N_(
                "{failures} wrong PINs for {accounts} units/staff at kiosk {kiosk} "
                "within {minutes} min: someone may be guessing PINs"
            ),
            {
                "failures": kf.failures,
                "accounts": kf.accounts,
                "kiosk": ctx.kiosk_id,
                "minutes": policy.kiosk_window_minutes,
            },
            at=now,
            severity="urgent",
        )
        _by_this_kiosk(
            ctx, session, "kiosk.pin_guessing", f"kiosk:{ctx.kiosk_id}",
            {"failures": kf.failures, "accounts": kf.accounts}, now,
        )  # fmt: skip


def unit_login(ctx: KioskContext, unit_code: str, pin: str) -> Actor:
    """Resident identification by unit + PIN; raises :class:`Refused` with remaining tries.

    Every refusal is audited; locking a unit alerts the desk, and so does a kiosk where PINs
    of several units fail (spraying).
    """
    db = ctx.database()
    now = ctx.clock.now()
    with db.write() as session:
        result = login_unit(session, unit_code, pin, now, ctx.settings.staff, kiosk_id=ctx.kiosk_id)
        if result.ok and result.resident is not None:
            return Actor.of_resident(result.resident)
        _record_failure(ctx, session, result, "resident.pin_failed", result.account)
        if result.just_locked:
            _record_lock(ctx, session, result, "resident.pin_locked", now)
            raise_kiosk_alert(
                ctx,
                session,
                "unit_pin_locked",
                N_("{unit}: unit PIN login locked until {until} after wrong PINs at kiosk {kiosk}"),
                {
                    "unit": result.account.removeprefix("unit:"),
                    "until": _local_time(ctx, result),
                    "kiosk": ctx.kiosk_id,
                },
                at=now,
            )
    raise _refusal(ctx, result)


def staff_login(ctx: KioskContext, who: str, pin: str) -> Actor:
    """Staff login by number or card + PIN (desk, kiosk exit); raises :class:`Refused`.

    Unknown numbers get the answer a wrong PIN gets; every refusal is audited.
    """
    db = ctx.database()
    now = ctx.clock.now()
    try:
        with db.write() as session:
            result = login_staff(session, who, pin, now, ctx.settings.staff, kiosk_id=ctx.kiosk_id)
            if result.ok and result.staff is not None:
                actor = Actor.of_staff(result.staff)
                audit.record(
                    session,
                    actor=actor.label,
                    action="staff.login",
                    subject=f"staff:{result.staff.number}",
                    at=now,
                    kiosk_id=ctx.kiosk_id,
                )
                return actor
            _record_failure(ctx, session, result, "staff.login_failed", result.account)
            if result.just_locked:
                _record_lock(ctx, session, result, "staff.pin_locked", now)
                if result.staff is not None:
                    raise_kiosk_alert(
                        ctx,
                        session,
                        "staff_locked",
                        N_("staff {number} locked after wrong PINs at {kiosk}"),
                        {"number": result.staff.number, "kiosk": ctx.kiosk_id},
                        at=now,
                    )
    except AmbiguousCard as amb:
        _ambiguous_card_alert(ctx, amb)
        raise
    raise _refusal(ctx, result, staff=True)


def change_pin(ctx: KioskContext, actor: Actor, current: str, new: str) -> None:
    """A member of staff or a resident changes their own PIN (the current one first).

    A new PIN shorter than ``pin_min_length`` (or not digits) is refused; a wrong current PIN
    counts like a failed login.
    """
    if actor.kind == "staff" and actor.id is not None:
        with ctx.database().read() as session:
            staff = session.get(Staff, actor.id)
            number = staff.number if staff is not None else ""
        staff_login(ctx, number, current)
    elif actor.kind == "resident" and actor.unit_id is not None:
        with ctx.database().read() as session:
            unit = session.get(Unit, actor.unit_id)
            code = unit.code if unit is not None else ""
        if unit_login(ctx, code, current).id != actor.id:
            raise Refused("pin.wrong", "Enter your own current PIN.")
    else:
        raise Refused("pin.owner", "Only staff and residents have PINs.")
    with ctx.database().write() as session:
        holder: Staff | Resident | None = (
            session.get(Staff, actor.id)
            if actor.kind == "staff"
            else session.get(Resident, actor.id)
        )
        assert holder is not None
        set_pin(holder, new, ctx.settings.staff)
        audit.record_for(ctx, session, actor, "pin.changed", actor.label)


def _local_time(ctx: KioskContext, result: LoginResult) -> str:
    return "" if result.locked_until is None else ctx.local_time(result.locked_until)[-5:]


def call_desk(ctx: KioskContext, actor: Actor | None = None, note: str = "") -> None:
    """ "Call the desk" from any screen: an urgent alert at this lobby's desk."""
    with ctx.database().write() as session:
        audit.record(
            session,
            actor=actor.label if actor else f"kiosk:{ctx.kiosk_id}",
            action="desk.called",
            subject=f"kiosk:{ctx.kiosk_id}",
            data={"note": note} if note else {},
            at=ctx.clock.now(),
            kiosk_id=ctx.kiosk_id,
        )
        raise_kiosk_alert(
            ctx,
            session,
            "desk_call",
            N_("kiosk {kiosk} asks for help by {who}: {note}")
            if actor and note
            else N_("kiosk {kiosk} asks for help by {who}")
            if actor
            else N_("kiosk {kiosk} asks for help: {note}")
            if note
            else N_("kiosk {kiosk} asks for help"),
            {"kiosk": ctx.kiosk_id, "who": actor.label if actor else "", "note": note},
            severity="urgent",
        )


@dataclass
class HouseholdFile:
    """One household, one file: what the desk may see of a unit (PII masked)."""

    unit_code: str
    building: str
    floor: int
    area_m2: str
    residents: list[dict[str, Any]] = field(default_factory=list)
    cards: list[dict[str, Any]] = field(default_factory=list)


def household_file(ctx: KioskContext, actor: Actor, unit_code: str) -> HouseholdFile:
    """The household file of a unit, for desk staff only (checked here, not only in the UI)."""
    require_role(actor, "view household file", "butler", "cashier", "security")
    with ctx.database().read() as session:
        unit = unit_by_code(session, unit_code)
        hf = HouseholdFile(
            unit_code=unit.code,
            building=unit.building.code,
            floor=unit.floor,
            area_m2=f"{unit.area_dm2 // 100}.{unit.area_dm2 % 100:02d}",
        )
        for r in unit.residents:
            hf.residents.append(
                {
                    "name": r.name,
                    "role": r.role,
                    "phone": mask_phone(r.phone),
                    "id_number": mask_id_number(r.id_number),
                    "language": r.language,
                    "active": r.active,
                }
            )
            for c in session.scalars(select(Card).where(Card.resident_id == r.id)):
                hf.cards.append(
                    {
                        "holder": r.name,
                        "number": c.printed_number,
                        "kind": c.kind,
                        "status": c.status,
                    }
                )
        return hf


# -- lobby scope ------------------------------------------------------------------------------


def desk_lobby(ctx: KioskContext, actor: Actor | None) -> str | None:
    """The lobby a desk's lists show: the desk's own, or None (every lobby, each row with its
    lobby shown) for staff of no lobby (``Staff.lobby`` "", e.g. the manager), the system, or
    a desk configured without a lobby."""
    if actor is not None and actor.kind in ("staff", "system") and not actor.lobby:
        return None
    return ctx.lobby or None


def in_lobby(column: Any, lobby: str | None) -> list[Any]:
    """Conditions for rows of ``lobby`` (with the ones tied to no lobby, lobby ""); none for
    None (every lobby)."""
    return [] if lobby is None else [column.in_((lobby, ""))]


def require_lobbies(session: Session, lobbies: Iterable[str]) -> None:
    """Refuse the first of ``lobbies`` the estate does not have (every building names its
    lobby)."""
    known = set(session.scalars(select(Building.lobby).distinct()))
    for lobby in lobbies:
        if lobby not in known:
            raise Refused("lobby.unknown", "There is no lobby {lobby}.", lobby=lobby)


def named_lobby(ctx: KioskContext, text: str) -> str | None:
    """A lobby as typed for a ``--lobby`` filter (``a`` is lobby A); None for nothing typed
    (every lobby). A lobby the estate does not have is refused: a filter that silently
    matches nothing would read as "nothing there"."""
    lobby = text.strip().upper()
    if not lobby:
        return None
    with ctx.database().read() as session:
        require_lobbies(session, [lobby])
    return lobby
