"""Headless lobby services behind the shells: card taps, unit + PIN, staff login, desk call,
household file. Screens call these; so do the CLI, scenarios and tests.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from kiosk import audit
from kiosk.context import KioskContext
from kiosk.db.models import Card, Resident, Staff, Unit
from kiosk.errors import Refused
from kiosk.hookspecs import CardOutcome
from kiosk.identity import (
    Actor,
    CardTapResult,
    LoginResult,
    identify_card,
    login_staff,
    login_unit,
    normalise_unit_code,
    require_role,
)
from kiosk.notify import raise_alert
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
    with db.read() as session:
        tap = identify_card(session, uid)
        staff = session.get(Staff, tap.staff_id) if tap.staff_id is not None else None
        resident = session.get(Resident, tap.resident_id) if tap.resident_id is not None else None
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
                f"{counter.count} unknown card taps at kiosk {ctx.kiosk_id} (last UID {uid})",
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
                f"a {tap.status} card ({tap.uid}) was tapped at kiosk {ctx.kiosk_id}",
            )
        return TapOutcome("refused", "This card is {status}. Please see the desk.", tap=tap)
    if staff is not None and staff.active:
        return TapOutcome("staff", "", actor=Actor.of_staff(staff), tap=tap)
    if resident is not None and resident.active:
        return TapOutcome("resident", "", actor=Actor.of_resident(resident), tap=tap)
    return TapOutcome("refused", "Card not recognised. Please see the desk.", tap=tap)


def _alert(ctx: KioskContext, kind: str, message: str, severity: str = "warning") -> None:
    with ctx.database().write() as session:
        raise_alert(
            session,
            kind,
            message,
            at=ctx.clock.now(),
            severity=severity,
            lobby=ctx.lobby,
            kiosk_id=ctx.kiosk_id,
        )


def _login_message(result: LoginResult) -> str:
    if result.reason == "wrong_pin":
        return "Wrong PIN. {remaining} tries left."
    if result.reason == "locked":
        return "Too many wrong PINs. Try again after {until}, or see the desk."
    return "Unknown unit or staff number. Please check and try again."


def unit_login(ctx: KioskContext, unit_code: str, pin: str) -> Actor:
    """Resident identification by unit + PIN; raises :class:`Refused` with remaining tries."""
    db = ctx.database()
    with db.write() as session:
        result = login_unit(session, unit_code, pin, ctx.clock.now(), ctx.settings.staff)
        if result.ok and result.resident is not None:
            return Actor.of_resident(result.resident)
        if result.just_locked and result.resident is not None:
            audit.record(
                session,
                actor=f"kiosk:{ctx.kiosk_id}",
                action="resident.pin_locked",
                subject=f"unit:{normalise_unit_code(unit_code)}",
                at=ctx.clock.now(),
                kiosk_id=ctx.kiosk_id,
            )
    raise Refused(
        result.reason,
        _login_message(result),
        remaining=result.remaining,
        until=_local_time(ctx, result),
    )


def staff_login(ctx: KioskContext, who: str, pin: str) -> Actor:
    """Staff login by number or card + PIN (desk, kiosk exit); raises :class:`Refused`."""
    db = ctx.database()
    with db.write() as session:
        result = login_staff(session, who, pin, ctx.clock.now(), ctx.settings.staff)
        if result.ok and result.staff is not None:
            actor = Actor.of_staff(result.staff)
            audit.record(
                session,
                actor=actor.label,
                action="staff.login",
                subject=f"staff:{result.staff.number}",
                at=ctx.clock.now(),
                kiosk_id=ctx.kiosk_id,
            )
            return actor
        if result.just_locked and result.staff is not None:
            raise_alert(
                session,
                "staff_locked",
                f"staff {result.staff.number} locked after wrong PINs at {ctx.kiosk_id}",
                at=ctx.clock.now(),
                lobby=ctx.lobby,
                kiosk_id=ctx.kiosk_id,
            )
    raise Refused(
        result.reason,
        _login_message(result),
        remaining=result.remaining,
        until=_local_time(ctx, result),
    )


def _local_time(ctx: KioskContext, result: LoginResult) -> str:
    if result.locked_until is None:
        return ""
    from zoneinfo import ZoneInfo

    return result.locked_until.astimezone(ZoneInfo(ctx.settings.estate.timezone)).strftime("%H:%M")


def call_desk(ctx: KioskContext, actor: Actor | None = None, note: str = "") -> None:
    """ "Call the desk" from any screen: an urgent alert at this lobby's desk."""
    who = f" by {actor.label}" if actor else ""
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
        raise_alert(
            session,
            "desk_call",
            f"kiosk {ctx.kiosk_id} asks for help{who}" + (f": {note}" if note else ""),
            at=ctx.clock.now(),
            severity="urgent",
            lobby=ctx.lobby,
            kiosk_id=ctx.kiosk_id,
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
    code = normalise_unit_code(unit_code)
    with ctx.database().read() as session:
        unit = session.scalar(select(Unit).where(Unit.code == code))
        if unit is None:
            raise Refused("unknown_unit", "No unit {unit} in this estate.", unit=code)
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
