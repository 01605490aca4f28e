"""Parcels and mail (邮件签收) and item storage (物品寄存), headless.

Procedure (000 "邮件签收"): every item is logged at the desk; the person collecting must be the
recipient (a resident of the unit) or someone the household named, and must sign. The kiosk:

1. desk check-in (:func:`check_in`) -> the unit gets a one-time pickup code (outbox);
2. card tap (:func:`start_pickup_by_card`) or unit + code (:func:`start_pickup_by_code`) lists
   the unit's waiting items; wrong or reused codes count, 5 lock the unit's code for 10 minutes;
3. the picker says who they are (:func:`identify_picker`): a resident or a named proxy;
4. :func:`release` signs out every chosen item in ONE transaction: a conditional update
   ``WHERE status='waiting'`` whose row count must equal the number chosen (else all rolls
   back), the release row with the signature, the audit event and the slip's print job.

Who may take what (:func:`may_collect`, 000 "确认邮件收件人与领取人一致"): an item naming its
addressee goes to the addressee, or to a proxy named for them (or for the whole household);
an item naming nobody goes to any resident of the unit or its proxies. The kiosk refuses the
rest, and every ID-check item, and tells the desk; :func:`release_at_desk` hands them out
with the last 4 characters of the ID seen (never the whole number), and a butler may
override the addressee rule with a reason (audited, alerted, in the register). Every pickup,
kiosk or desk, is signed (so "signature required" holds for every item). Proxies
(:func:`add_proxy`) collect at the kiosk with the unit's pickup code (the household forwarded
it) and their name, or at the desk with an ID; a card opens only its holder's own unit.

Aging (:func:`run_aging`): reminders at 3 and 7 days, desk escalation at 15, then
:func:`return_to_sender` (state ``returned``, the household told). The 邮件签收登记表 is
:func:`parcel_register`. Item storage: :func:`deposit`, :func:`handover_checklist`,
:func:`record_handover_check`, :func:`release_stored` (the claimant's ID, last 4, and the
item's condition required), :func:`storage_register`.

Lobbies: a parcel (and a stored item) waits on the shelf of the lobby whose desk took it in
(``ctx.lobby``). A kiosk releases only its own lobby's items and tells the resident where the
others wait; a desk lists its own lobby's (:func:`desk_lobby`). Codes, proxies and residents
are per unit, estate-wide. Lobby "" (rows from before the lobby column) belongs everywhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kiosk import audit, printing
from kiosk.clock import as_utc
from kiosk.db import retention
from kiosk.db.models import Resident, Unit
from kiosk.errors import Refused
from kiosk.hookspecs import PurgeCount
from kiosk.identity import SYSTEM, Actor, normalise_unit_code, require_role
from kiosk.notify import queue_notification, raise_alert
from kiosk.notify_links import code_digest, secret_key
from kiosk.pii import mask_name, mask_phone, mask_text
from plugins.parcels import signature
from plugins.parcels.carriers import detect_carrier, is_valid_tracking, normalise_tracking
from plugins.parcels.models import (
    CodeGuard,
    Parcel,
    PickupCode,
    Proxy,
    Release,
    StorageCheck,
    StoredItem,
)
from plugins.parcels.storage_rules import (
    ALLOWED_CATEGORIES,
    PROHIBITED_CATEGORIES,
    storage_refusal,
)

if TYPE_CHECKING:
    from devices.printer import Receipt
    from kiosk.context import KioskContext

DESK_ROLES = ("butler", "security")
CODE_DIGITS = 6


@dataclass(frozen=True)
class ParcelRules:
    """``[plugins.parcels]`` settings with the procedure's defaults."""

    reminder_days: tuple[int, ...] = (3, 7)
    escalate_days: int = 15
    max_code_failures: int = 5
    code_lock_minutes: int = 10
    storage_max_days: int = 7

    @classmethod
    def of(cls, ctx: KioskContext) -> ParcelRules:
        raw = ctx.settings.plugin("parcels")
        return cls(
            reminder_days=tuple(int(d) for d in raw.get("reminder_days", (3, 7))),
            escalate_days=int(raw.get("escalate_days", 15)),
            max_code_failures=int(raw.get("max_code_failures", 5)),
            code_lock_minutes=int(raw.get("code_lock_minutes", 10)),
            storage_max_days=int(raw.get("storage_max_days", 7)),
        )


# -- helpers ----------------------------------------------------------------------------------


def _unit(session: Session, unit_code: str) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.code == normalise_unit_code(unit_code)))
    if unit is None:
        raise Refused("unknown_unit", "There is no unit {unit}.", unit=unit_code.strip())
    return unit


def desk_lobby(ctx: KioskContext, actor: Actor | None) -> str | None:
    """The lobby a desk's lists show: the desk's own, or None (every lobby, each item with its
    lobby shown) for staff of no lobby (``Staff.lobby`` "", e.g. the manager), the system, or
    a desk configured without a lobby."""
    if actor is not None and actor.kind in ("staff", "system") and not actor.lobby:
        return None
    return ctx.lobby or None


def in_lobby(column: Any, lobby: str | None) -> list[Any]:
    """Conditions for rows of ``lobby`` (with the ones tied to no lobby); none for None."""
    return [] if lobby is None else [column.in_((lobby, ""))]


def _here(ctx: KioskContext, lobby: str) -> bool:
    """May this kiosk or desk hand out an item of ``lobby``?"""
    return not ctx.lobby or lobby in (ctx.lobby, "")


def _digest(ctx: KioskContext, unit_id: int, code: str) -> str:
    """Keyed digest of a pickup code: a copy of the database alone does not give the codes
    back (an unkeyed hash of a 6-digit code is undone by trying all million)."""
    return code_digest(secret_key(ctx.settings), f"parcel:{unit_id}", code)


def _legacy_digest(unit_id: int, code: str) -> str:
    """Unkeyed digests of codes sent before they were keyed; still accepted until used."""
    return hashlib.sha256(f"{unit_id}:{code.strip()}".encode()).hexdigest()


def local_time(ctx: KioskContext, at: dt.datetime) -> str:
    """``at`` in the estate's zone, as people read it on a slip."""
    return ctx.local_time(at)


def _new_code(ctx: KioskContext, session: Session, unit_id: int) -> tuple[PickupCode, str]:
    """A fresh code, different from the unit's other active codes."""
    taken = set(
        session.scalars(
            select(PickupCode.digest).where(
                PickupCode.unit_id == unit_id, PickupCode.status == "active"
            )
        )
    )
    while True:
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        if _digest(ctx, unit_id, code) not in taken:
            break
    row = PickupCode(unit_id=unit_id, digest=_digest(ctx, unit_id, code), status="active")
    return row, code


# -- check-in ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckInResult:
    """``code`` goes to the resident through the outbox; the desk screen does not show it."""

    parcel_id: int
    tracking_number: str
    carrier: str
    carrier_candidates: tuple[str, ...]
    unit_code: str
    code: str
    notification_id: int


def check_in(
    ctx: KioskContext,
    actor: Actor,
    *,
    tracking: str,
    unit_code: str,
    recipient: str = "",
    shelf: str = "",
    carrier: str = "",
    perishable: bool = False,
    signature_required: bool = False,
    oversize: bool = False,
    id_check: bool = False,
) -> CheckInResult:
    """Log one item at the desk (a row of 邮件签收登记表) and send the unit a pickup code.

    ``recipient`` names the addressee: then only they (or a proxy named for them) collect it.
    ``id_check``: only the desk releases it, after seeing the picker's ID."""
    require_role(actor, "parcel.check_in", *DESK_ROLES)
    number = normalise_tracking(tracking)
    if not is_valid_tracking(number):
        raise Refused(
            "bad_tracking",
            "{number} is not a tracking number (8-30 letters and digits). Scan it again.",
            number=tracking.strip()[:40],
        )
    guess = detect_carrier(number)
    now = ctx.clock.now()
    try:
        with ctx.database().write() as session:
            unit = _unit(session, unit_code)
            existing = session.scalar(select(Parcel).where(Parcel.tracking_number == number))
            if existing is not None:
                raise Refused(
                    "duplicate_tracking",
                    "Tracking number {number} is already logged ({status}, {at}).",
                    number=number,
                    status=existing.status,
                    at=local_time(ctx, existing.checked_in_at),
                )
            parcel = Parcel(
                tracking_number=number,
                lobby=ctx.lobby,
                carrier=(carrier.strip().upper() or guess.carrier or "OTHER")[:16],
                unit_id=unit.id,
                recipient_name=recipient.strip()[:100],
                shelf=shelf.strip().upper()[:16],
                perishable=perishable,
                signature_required=signature_required,
                oversize=oversize,
                id_check=id_check,
                status="waiting",
                checked_in_at=now,
                checked_in_by=actor.label,
            )
            session.add(parcel)
            code_row, code = _new_code(ctx, session, unit.id)
            code_row.created_at = now
            session.add(code_row)
            session.flush()
            note = queue_notification(
                session,
                channel="sms",
                template="parcel.arrived",
                at=now,
                unit_id=unit.id,
                payload={
                    "unit": unit.code,
                    "code": code,
                    "carrier": parcel.carrier,
                    "shelf": parcel.shelf,
                    "lobby": parcel.lobby,
                    "perishable": perishable,
                    "oversize": oversize,
                    "id_check": id_check,
                },
            )
            audit.record(
                session,
                actor=actor.label,
                action="parcel.checked_in",
                subject=f"parcel:{parcel.id}",
                data={
                    "tracking": number,
                    "carrier": parcel.carrier,
                    "unit": unit.code,
                    "shelf": parcel.shelf,
                    "lobby": parcel.lobby,
                    "flags": _flags(parcel),
                },
                at=now,
                kiosk_id=ctx.kiosk_id,
            )
            result = CheckInResult(
                parcel.id,
                number,
                parcel.carrier,
                guess.candidates,
                unit.code,
                code,
                note.id,
            )
    except IntegrityError:
        # Two desks scanned the same item at once: the unique index decided.
        raise Refused(
            "duplicate_tracking",
            "Tracking number {number} is already logged ({status}, {at}).",
            number=number,
            status="waiting",
            at=local_time(ctx, now),
        ) from None
    return result


def _flags(p: Parcel) -> list[str]:
    return [
        name
        for name, on in (
            ("perishable", p.perishable),
            ("signature", p.signature_required),
            ("oversize", p.oversize),
            ("id_check", p.id_check),
        )
        if on
    ]


# -- pickup -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitingParcel:
    id: int
    tracking_number: str
    carrier: str
    shelf: str
    flags: tuple[str, ...]
    checked_in_at: dt.datetime
    lobby: str = ""  # whose shelf; "" = any lobby
    recipient: str = field(default="", repr=False)  # the addressee, never shown at the kiosk

    @property
    def tracking_tail(self) -> str:
        return self.tracking_number[-6:]


@dataclass(frozen=True)
class Picker:
    """Who collects: a resident of the unit or one of its named proxies."""

    kind: str  # resident / proxy
    name: str
    resident_id: int | None = None
    proxy_id: int | None = None


@dataclass(frozen=True)
class Pickup:
    """A pickup in progress at one kiosk (the screen holds it until release or idle reset).
    ``parcels`` may be collected here; ``elsewhere`` wait at another lobby (shown, with the
    lobby, never released here)."""

    unit_id: int
    unit_code: str
    via: str  # card / code
    parcels: tuple[WaitingParcel, ...]
    code_id: int | None = None
    picker: Picker | None = None
    elsewhere: tuple[WaitingParcel, ...] = ()


def waiting_parcels(session: Session, unit_id: int) -> tuple[WaitingParcel, ...]:
    """The unit's items waiting at any lobby's desk, oldest first (the lookup the bench
    measures)."""
    rows = session.scalars(
        select(Parcel)
        .where(Parcel.unit_id == unit_id, Parcel.status == "waiting")
        .order_by(Parcel.checked_in_at, Parcel.id)
    )
    return tuple(
        WaitingParcel(
            p.id,
            p.tracking_number,
            p.carrier,
            p.shelf,
            tuple(_flags(p)),
            p.checked_in_at,
            p.lobby,
            p.recipient_name,
        )
        for p in rows
    )


def _split(
    ctx: KioskContext, items: tuple[WaitingParcel, ...]
) -> tuple[tuple[WaitingParcel, ...], tuple[WaitingParcel, ...]]:
    """(collectable at this kiosk's lobby, waiting at another lobby)."""
    here = tuple(p for p in items if _here(ctx, p.lobby))
    return here, tuple(p for p in items if not _here(ctx, p.lobby))


def waiting_here(ctx: KioskContext, unit_code: str) -> tuple[str, tuple[WaitingParcel, ...]]:
    """(the unit's code, its items this desk or kiosk may hand out)."""
    with ctx.database().read() as session:
        unit = _unit(session, unit_code)
        here, _elsewhere = _split(ctx, waiting_parcels(session, unit.id))
    return unit.code, here


def start_pickup_by_card(ctx: KioskContext, actor: Actor) -> Pickup:
    """A resident tapped their card: their unit's waiting items; they are the picker."""
    if actor.kind != "resident" or actor.unit_id is None:
        raise Refused("not_resident", "Please tap a resident card, or enter unit and code.")
    with ctx.database().read() as session:
        unit = session.get(Unit, actor.unit_id)
        assert unit is not None
        parcels, elsewhere = _split(ctx, waiting_parcels(session, unit.id))
    picker = Picker("resident", actor.name, resident_id=actor.id)
    return Pickup(unit.id, unit.code, "card", parcels, picker=picker, elsewhere=elsewhere)


def start_pickup_by_code(ctx: KioskContext, unit_code: str, code: str) -> Pickup:
    """Unit + one-time code. A wrong or used code is refused with the reason and counted;
    ``max_code_failures`` in a row lock the unit's codes and alert the desk."""
    rules = ParcelRules.of(ctx)
    now = ctx.clock.now()
    refusal: Refused | None = None
    with ctx.database().write() as session:
        unit = _unit(session, unit_code)
        guard = session.get(CodeGuard, unit.id, with_for_update=True)
        if guard is None:
            guard = CodeGuard(unit_id=unit.id, failures=0)
            session.add(guard)
        if guard.locked_until is not None and as_utc(guard.locked_until) > now:
            raise Refused(
                "code_locked",
                "Too many wrong codes for {unit}. Try again after {time} or see the desk.",
                unit=unit.code,
                time=local_time(ctx, guard.locked_until)[-5:],
            )
        rows = session.scalars(
            select(PickupCode)
            .where(
                PickupCode.unit_id == unit.id,
                PickupCode.digest.in_((_digest(ctx, unit.id, code), _legacy_digest(unit.id, code))),
            )
            .order_by(PickupCode.id.desc())
        ).all()
        active = next((r for r in rows if r.status == "active"), None)
        if active is not None:
            guard.failures = 0
            parcels, elsewhere = _split(ctx, waiting_parcels(session, unit.id))
            return Pickup(unit.id, unit.code, "code", parcels, active.id, elsewhere=elsewhere)
        if rows:
            used = rows[0]
            refusal = Refused(
                "code_used",
                "This code was already used ({time}). Each code works once; see the desk.",
                time=local_time(ctx, used.used_at or used.created_at),
            )
        else:
            refusal = Refused("code_wrong", "Wrong pickup code for {unit}.", unit=unit.code)
        guard.failures = (guard.failures or 0) + 1
        data: dict[str, Any] = {"reason": refusal.code, "failures": guard.failures}
        if guard.failures >= rules.max_code_failures:
            guard.failures = 0
            guard.locked_until = now + dt.timedelta(minutes=rules.code_lock_minutes)
            raise_alert(
                session,
                "parcel_code_locked",
                f"{rules.max_code_failures} wrong pickup codes for {unit.code} at kiosk "
                f"{ctx.kiosk_id}; codes locked for {rules.code_lock_minutes} min",
                at=now,
                lobby=ctx.lobby,
                kiosk_id=ctx.kiosk_id,
            )
            data["locked_until"] = guard.locked_until.isoformat()
            refusal = Refused(
                "code_locked",
                "Too many wrong codes for {unit}. Try again after {time} or see the desk.",
                unit=unit.code,
                time=local_time(ctx, guard.locked_until)[-5:],
            )
        audit.record(
            session,
            actor="kiosk",
            action="parcel.code_refused",
            subject=f"unit:{unit.id}",
            data=data,
            at=now,
            kiosk_id=ctx.kiosk_id,
        )
    raise refusal


def identify_picker(ctx: KioskContext, pickup: Pickup, name: str) -> Pickup:
    """The person at the kiosk says who they are: a resident of the unit or a named proxy.
    Anyone else is sent to the desk (and the desk is told)."""
    wanted = " ".join(name.split()).casefold()
    with ctx.database().read() as session:
        resident = next(
            (
                r
                for r in session.scalars(
                    select(Resident).where(
                        Resident.unit_id == pickup.unit_id, Resident.active.is_(True)
                    )
                )
                if " ".join(r.name.split()).casefold() == wanted
            ),
            None,
        )
        proxy = None
        if resident is None and wanted:
            proxy = next(
                (
                    p
                    for p in session.scalars(
                        select(Proxy)
                        .where(Proxy.unit_id == pickup.unit_id, *proxy_valid(ctx.clock.now()))
                        .order_by(Proxy.id)
                    )
                    if " ".join(p.name.split()).casefold() == wanted
                ),
                None,
            )
    if resident is not None:
        picker = Picker("resident", resident.name, resident_id=resident.id)
    elif proxy is not None:
        picker = Picker("proxy", proxy.name, proxy_id=proxy.id)
    else:
        with ctx.database().write() as session:
            raise_alert(
                session,
                "parcel_picker_unknown",
                f"someone not named for {pickup.unit_code} tried to collect parcels at kiosk "
                f"{ctx.kiosk_id}",
                at=ctx.clock.now(),
                severity="info",
                lobby=ctx.lobby,
                kiosk_id=ctx.kiosk_id,
            )
        raise Refused(
            "not_recipient",
            "Only a resident of {unit} or a proxy they named may collect. Please see the desk.",
            unit=pickup.unit_code,
        )
    return Pickup(
        pickup.unit_id, pickup.unit_code, pickup.via, pickup.parcels, pickup.code_id, picker,
        pickup.elsewhere,
    )  # fmt: skip


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


def proxy_valid(now: dt.datetime) -> list[Any]:
    """Conditions for a proxy that may collect now: not removed, not expired."""
    return [Proxy.active.is_(True), (Proxy.until.is_(None)) | (Proxy.until > now)]


def may_collect(session: Session, unit_id: int, picker: Picker, recipient: str) -> bool:
    """000 "确认邮件收件人与领取人一致": an item naming its addressee goes to the addressee or
    a proxy named for them (or for the whole household, when the addressee lives in the
    unit); an item naming nobody goes to any resident of the unit or its proxies."""
    wanted = _norm(recipient)
    if not wanted:
        return picker.kind in ("resident", "proxy")
    if picker.kind == "resident":
        return _norm(picker.name) == wanted
    if picker.kind != "proxy" or picker.proxy_id is None:
        return False
    proxy = session.get(Proxy, picker.proxy_id)
    if proxy is None or proxy.unit_id != unit_id:
        return False
    residents = session.scalars(
        select(Resident).where(Resident.unit_id == unit_id, Resident.active.is_(True))
    ).all()
    addressees = {r.id for r in residents if _norm(r.name) == wanted}
    if proxy.resident_id is None:
        return bool(addressees)
    return proxy.resident_id in addressees


def _kiosk_refusal(
    ctx: KioskContext, pickup: Pickup, picker: Picker, chosen: tuple[int, ...]
) -> Refused | None:
    """Why the kiosk may not hand out these items to this picker (then the desk is told)."""
    with ctx.database().read() as session:
        rows = session.execute(
            select(Parcel.id, Parcel.tracking_number, Parcel.recipient_name, Parcel.id_check)
            .where(Parcel.id.in_(chosen), Parcel.unit_id == pickup.unit_id)
            .order_by(Parcel.id)
        ).all()
        for row in rows:
            tail = row.tracking_number[-6:]
            if row.id_check:
                return Refused(
                    "id_check_desk",
                    "Item …{tail} needs an ID check: please collect it at the desk with your ID. "
                    "Nothing was released.",
                    tail=tail,
                )
            if not may_collect(session, pickup.unit_id, picker, row.recipient_name):
                return Refused(
                    "not_addressee",
                    "Item …{tail} is addressed to someone else in {unit}: only the addressee or "
                    "a proxy named for them may collect it. Please see the desk. "
                    "Nothing was released.",
                    tail=tail,
                    unit=pickup.unit_code,
                )
    return None


def desk_only(ctx: KioskContext, pickup: Pickup) -> frozenset[int]:
    """The listed items this picker cannot take at the kiosk (ID check, or addressed to
    someone else): the screen leaves them unticked and says to see the desk."""
    if pickup.picker is None:
        return frozenset(p.id for p in pickup.parcels if "id_check" in p.flags)
    picker = pickup.picker
    with ctx.database().read() as session:
        return frozenset(
            p.id
            for p in pickup.parcels
            if "id_check" in p.flags
            or not may_collect(session, pickup.unit_id, picker, p.recipient)
        )


@dataclass(frozen=True)
class ReleaseResult:
    release_id: int
    parcel_ids: tuple[int, ...]
    print_job_id: int
    receipt: Receipt = field(repr=False)


def pickup_slip(
    ctx: KioskContext,
    unit_code: str,
    picker: Picker,
    items: Sequence[Any],
    at: dt.datetime,
    desk: bool = False,
) -> Receipt:
    """The pickup slip: items, time, the picker (masked)."""
    from devices.printer import Receipt

    who = mask_name(picker.name) + (" (代取 proxy)" if picker.kind == "proxy" else "")
    receipt = (
        Receipt()
        .title("包裹取件凭条 Parcel pickup")
        .row("单元 Unit", unit_code)
        .row("时间 Time", local_time(ctx, at))
        .row("取件人 Picker", who)
        .rule()
        .table(
            ["单号 No.", "快递", "货架"],
            [["…" + p.tracking_number[-6:], p.carrier, p.shelf or "-"] for p in items],
        )
        .rule()
        .row("件数 Items", str(len(items)))
    )
    if any(p.oversize for p in items):
        receipt.text("大件请到服务台领取 Oversize items: collect at the desk")
    if desk:
        return receipt.text("已签名 Signed at the desk").cut()
    return receipt.text("已签名 Signed at the kiosk").cut()


def release(
    ctx: KioskContext,
    pickup: Pickup,
    parcel_ids: list[int] | tuple[int, ...],
    strokes: Any,
) -> ReleaseResult:
    """Release every chosen item at once, with the picker's signature: all or nothing.

    The conditional update ``WHERE status='waiting'`` (and of this kiosk's lobby) must change
    exactly as many rows as were chosen; if another kiosk released one of them first, or one
    waits at another lobby, the whole pickup rolls back and is refused. A code is consumed in
    the same transaction (``WHERE status='active'``).
    """
    if pickup.picker is None:
        raise Refused("picker_unknown", "Please say who is collecting first.")
    chosen = tuple(dict.fromkeys(int(i) for i in parcel_ids))
    if not chosen:
        raise Refused("nothing_chosen", "Choose at least one item to collect.")
    strokes = signature.require_signature(strokes)
    png = signature.to_png(strokes)
    now = ctx.clock.now()
    picker = pickup.picker
    refusal = _kiosk_refusal(ctx, pickup, picker, chosen)
    if refusal is not None:
        with ctx.database().write() as session:
            raise_alert(
                session,
                "parcel_to_desk",
                f"{pickup.unit_code}: {refusal.code} at kiosk {ctx.kiosk_id} "
                f"({picker.kind} {mask_name(picker.name)}); release at the desk",
                at=now,
                severity="info",
                lobby=ctx.lobby,
                kiosk_id=ctx.kiosk_id,
            )
            audit.record(
                session,
                actor=f"{picker.kind}:{picker.resident_id or picker.proxy_id}",
                action="parcel.pickup_refused",
                subject=f"unit:{pickup.unit_id}",
                data={"reason": refusal.code, "parcels": list(chosen), "via": pickup.via},
                at=now,
                kiosk_id=ctx.kiosk_id,
            )
        raise refusal
    with ctx.database().write() as session:
        if pickup.code_id is not None:
            used = session.execute(
                update(PickupCode)
                .where(PickupCode.id == pickup.code_id, PickupCode.status == "active")
                .values(status="used", used_at=now)
            )
            if used.rowcount != 1:  # type: ignore[attr-defined]
                raise Refused(
                    "code_used",
                    "This code was already used ({time}). Each code works once; see the desk.",
                    time=local_time(ctx, now),
                )
        return _release_rows(
            session,
            ctx,
            unit_id=pickup.unit_id,
            unit_code=pickup.unit_code,
            picker=picker,
            via=pickup.via,
            chosen=chosen,
            strokes=strokes,
            png=png,
            now=now,
            actor_label=f"{picker.kind}:{picker.resident_id or picker.proxy_id}",
            renew_code=pickup.code_id is not None,
        )


def _release_rows(
    session: Session,
    ctx: KioskContext,
    *,
    unit_id: int,
    unit_code: str,
    picker: Picker,
    via: str,
    chosen: tuple[int, ...],
    strokes: Any,
    png: bytes,
    now: dt.datetime,
    actor_label: str,
    renew_code: bool,
    staff: str = "",
    id_last4: str = "",
    override_reason: str = "",
) -> ReleaseResult:
    """The release row, the conditional update of the chosen items (all or nothing), the
    unit's spent codes, the slip and the audit event, inside the caller's transaction."""
    rel = Release(
        unit_id=unit_id,
        picker_kind=picker.kind,
        picker_resident_id=picker.resident_id,
        picker_proxy_id=picker.proxy_id,
        picker_name=picker.name,
        via=via,
        item_count=len(chosen),
        released_at=now,
        kiosk_id=ctx.kiosk_id,
        signature_strokes=strokes,
        signature_png=png,
        staff=staff,
        id_last4=id_last4,
        override_reason=override_reason,
    )
    session.add(rel)
    session.flush()
    # One statement changes and returns the chosen items; fewer rows than chosen means
    # another kiosk took one first, and the raise below rolls the whole pickup back.
    items = session.execute(
        update(Parcel)
        .where(
            Parcel.id.in_(chosen),
            Parcel.unit_id == unit_id,
            Parcel.status == "waiting",
            *in_lobby(Parcel.lobby, ctx.lobby or None),
        )
        .values(status="released", released_at=now, release_id=rel.id)
        .returning(Parcel.id, Parcel.tracking_number, Parcel.carrier, Parcel.shelf, Parcel.oversize)
        .execution_options(synchronize_session=False)
    ).all()
    if len(items) != len(chosen):
        away = session.execute(
            select(Parcel.tracking_number, Parcel.lobby).where(
                Parcel.id.in_(chosen),
                Parcel.unit_id == unit_id,
                Parcel.status == "waiting",
                Parcel.lobby.not_in((ctx.lobby, "")),
            )
        ).first()
        if ctx.lobby and away is not None:
            raise Refused(
                "parcel_elsewhere",
                "Item …{tail} waits at lobby {lobby}: collect it there. Nothing was released.",
                tail=away.tracking_number[-6:],
                lobby=away.lobby,
            )
        raise Refused(
            "already_released",
            "Some of these items were just collected elsewhere. Nothing was released; "
            "please start again.",
        )
    items = sorted(items, key=lambda p: p.id)
    # Nothing left to collect: the unit's other codes have nothing to open.
    session.execute(
        update(PickupCode)
        .where(
            PickupCode.unit_id == unit_id,
            PickupCode.status == "active",
            ~select(Parcel.id)
            .where(Parcel.unit_id == unit_id, Parcel.status == "waiting")
            .exists(),
        )
        .values(status="spent", used_at=now)
        .execution_options(synchronize_session=False)
    )
    new_code = None
    if renew_code:
        new_code = _renew_code_if_needed(ctx, session, unit_id, unit_code, now)
    receipt = pickup_slip(ctx, unit_code, picker, items, now, desk=bool(staff))
    job = printing.submit(session, receipt, kind="parcel-pickup", at=now, kiosk_id=ctx.kiosk_id)
    rel.print_job_id = job.id
    audit.record(
        session,
        actor=actor_label,
        action="parcel.released",
        subject=f"parcel_release:{rel.id}",
        data={
            "unit": unit_code,
            "parcels": list(chosen),
            "via": via,
            "picker": mask_name(picker.name),
            "print_job": job.id,
            "code_renewed": new_code is not None,
            **({"staff": staff, "id_checked": bool(id_last4)} if staff else {}),
            **({"override": override_reason} if override_reason else {}),
        },
        at=now,
        kiosk_id=ctx.kiosk_id,
    )
    return ReleaseResult(rel.id, chosen, job.id, receipt)


ID_LAST4 = re.compile(r"[0-9]{3}[0-9X]")


def clean_id_last4(value: str) -> str:
    """The last 4 characters of an ID document as typed at the desk ("" when none). Only
    those 4 are ever kept: a longer entry (a whole ID number) is refused, not cut."""
    v = value.strip().upper()
    if v and not ID_LAST4.fullmatch(v):
        raise Refused(
            "id_last4",
            "Enter only the last 4 characters of the ID (digits, or X last), not the whole number.",
        )
    return v


def release_at_desk(
    ctx: KioskContext,
    actor: Actor,
    unit_code: str,
    parcel_ids: list[int] | tuple[int, ...],
    picker_name: str,
    strokes: Any,
    *,
    id_last4: str = "",
    override_reason: str = "",
) -> ReleaseResult:
    """The desk hands out items (ID-check items, proxies, those the kiosk sent here), with the
    picker's signature; all or nothing as at the kiosk.

    - An item with the ID-check flag needs the last 4 characters of the ID the staff saw.
    - The picker must be the addressee (or a proxy named for them) of every addressed item,
      unless a butler overrides with a reason (and records the ID): audited, on the alert
      list, shown in the register.
    - A proxy, or anyone let through by an override, shows an ID (last 4 recorded)."""
    require_role(actor, "parcel.release_desk", *DESK_ROLES)
    chosen = tuple(dict.fromkeys(int(i) for i in parcel_ids))
    if not chosen:
        raise Refused("nothing_chosen", "Choose at least one item to collect.")
    last4 = clean_id_last4(id_last4)
    reason = mask_text(" ".join(override_reason.split()))[:200]
    strokes = signature.require_signature(strokes)
    png = signature.to_png(strokes)
    now = ctx.clock.now()
    with ctx.database().write() as session:
        unit = _unit(session, unit_code)
        wanted = _norm(picker_name)
        if not wanted:
            raise Refused("picker_unknown", "Enter the name of the person collecting.")
        resident = next(
            (
                r
                for r in session.scalars(
                    select(Resident)
                    .where(Resident.unit_id == unit.id, Resident.active.is_(True))
                    .order_by(Resident.id)
                )
                if _norm(r.name) == wanted
            ),
            None,
        )
        proxy = None
        if resident is None:
            proxy = next(
                (
                    p
                    for p in session.scalars(
                        select(Proxy)
                        .where(Proxy.unit_id == unit.id, *proxy_valid(now))
                        .order_by(Proxy.id)
                    )
                    if _norm(p.name) == wanted
                ),
                None,
            )
        if resident is not None:
            picker = Picker("resident", resident.name, resident_id=resident.id)
        elif proxy is not None:
            picker = Picker("proxy", proxy.name, proxy_id=proxy.id)
        else:
            picker = Picker("other", " ".join(picker_name.split())[:100])
        rows = session.execute(
            select(Parcel.id, Parcel.tracking_number, Parcel.recipient_name, Parcel.id_check)
            .where(Parcel.id.in_(chosen), Parcel.unit_id == unit.id)
            .order_by(Parcel.id)
        ).all()
        if len(rows) != len(chosen):
            raise Refused(
                "not_this_unit", "Some of these items are not for {unit}.", unit=unit.code
            )
        strangers = [r for r in rows if not may_collect(session, unit.id, picker, r.recipient_name)]
        if strangers and not reason:
            raise Refused(
                "not_addressee",
                "Item …{tail} is addressed to someone else: only the addressee or a proxy "
                "named for them may collect it, unless a butler overrides with a reason.",
                tail=strangers[0].tracking_number[-6:],
            )
        if reason:
            require_role(actor, "parcel.override", "butler")
        if reason and not strangers:
            reason = ""  # nothing to override: no override on record
        needs_id = reason or picker.kind != "resident" or any(r.id_check for r in rows)
        if needs_id and not last4:
            raise Refused(
                "id_required",
                "Check the picker's ID and enter its last 4 characters before releasing.",
            )
        result = _release_rows(
            session,
            ctx,
            unit_id=unit.id,
            unit_code=unit.code,
            picker=picker,
            via="desk",
            chosen=chosen,
            strokes=strokes,
            png=png,
            now=now,
            actor_label=actor.label,
            renew_code=False,
            staff=actor.label,
            id_last4=last4,
            override_reason=reason,
        )
        if reason:
            raise_alert(
                session,
                "parcel_override",
                f"{unit.code}: {len(strangers)} addressed item(s) released at the desk to "
                f"{mask_name(picker.name)} by {actor.label} (override: {reason})",
                at=now,
                severity="info",
                lobby=ctx.lobby,
                kiosk_id=ctx.kiosk_id,
            )
        return result


def _renew_code_if_needed(
    ctx: KioskContext, session: Session, unit_id: int, unit_code: str, now: dt.datetime
) -> int | None:
    """Items left behind after a code pickup need a code of their own: send a fresh one when
    the unit has waiting items and no active code. Returns the notification id, if any."""
    waiting = session.scalar(
        select(func.count())
        .select_from(Parcel)
        .where(Parcel.unit_id == unit_id, Parcel.status == "waiting")
    )
    active = session.scalar(
        select(func.count())
        .select_from(PickupCode)
        .where(PickupCode.unit_id == unit_id, PickupCode.status == "active")
    )
    if not waiting or active:
        return None
    row, code = _new_code(ctx, session, unit_id)
    row.created_at = now
    session.add(row)
    note = queue_notification(
        session,
        channel="sms",
        template="parcel.code_renewed",
        at=now,
        unit_id=unit_id,
        payload={"unit": unit_code, "code": code, "waiting": int(waiting)},
    )
    return note.id


@dataclass(frozen=True)
class SlipOutcome:
    """``printed`` False: the screen shows ``text`` (the slip's content) instead."""

    printed: bool
    state: str
    text: str


def print_slip(ctx: KioskContext, job_id: int, receipt: Receipt) -> SlipOutcome:
    """Try the slip now; when the printer cannot (paper out...), give the text for the screen.

    The release is already committed: a printer fault never undoes or repeats it.
    """
    from devices.printer import render_text

    queue = ctx.printing
    state = "no-printer"
    if queue is not None:
        state = queue.print_now(job_id).state
    if state == "printed":
        return SlipOutcome(True, state, "")
    return SlipOutcome(False, state, render_text(receipt, qr="payload"))


# -- proxies ----------------------------------------------------------------------------------


def _proxy_resident(session: Session, unit: Unit, who: str | int | None) -> Resident | None:
    """The active resident of ``unit`` named by id or by name, None for None/""."""
    if who is None or (isinstance(who, str) and not who.strip()):
        return None
    rows = session.scalars(
        select(Resident)
        .where(Resident.unit_id == unit.id, Resident.active.is_(True))
        .order_by(Resident.id)
    ).all()
    if isinstance(who, int) or (isinstance(who, str) and who.strip().isdigit()):
        found = next((r for r in rows if r.id == int(who)), None)
    else:
        found = next((r for r in rows if _norm(r.name) == _norm(str(who))), None)
    if found is None:
        raise Refused(
            "proxy_resident", "{who} is not a resident of {unit}.", who=str(who), unit=unit.code
        )
    return found


def add_proxy(
    ctx: KioskContext,
    actor: Actor,
    unit_code: str,
    name: str,
    phone: str = "",
    *,
    resident: str | int | None = None,
    until: dt.datetime | None = None,
) -> int:
    """Name someone who may collect parcels for a resident of the unit (``resident``, by
    name or id), until ``until`` or removal.

    A resident (card tap) names proxies for themselves only. The desk may name one for a
    resident or, with no ``resident``, for the whole household (then it collects every
    resident's items). A proxy collects at the kiosk with the unit's pickup code (the code the
    household forwarded is its consent) or at the desk with an ID (last 4 recorded); a card
    opens only its holder's own unit, never someone else's."""
    clean = " ".join(name.split())[:100]
    if not clean:
        raise Refused("proxy_name", "Enter the proxy's name.")
    now = ctx.clock.now()
    if until is not None and as_utc(until) <= now:
        raise Refused("proxy_until", "The end date of a proxy must be in the future.")
    with ctx.database().write() as session:
        unit = _unit(session, unit_code)
        for_whom = _proxy_resident(session, unit, resident)
        if actor.kind == "resident" and actor.unit_id == unit.id:
            if for_whom is None:
                for_whom = session.get(Resident, actor.id)
            if for_whom is None or for_whom.id != actor.id:
                raise Refused(
                    "proxy_for_other",
                    "You can name proxies for yourself only; the desk records the others.",
                )
        else:
            require_role(actor, "parcel.add_proxy", *DESK_ROLES)
        if any(
            _norm(p.name) == _norm(clean)
            for p in session.scalars(
                select(Proxy).where(Proxy.unit_id == unit.id, *proxy_valid(now))
            )
        ) or any(
            _norm(r.name) == _norm(clean)
            for r in session.scalars(
                select(Resident).where(Resident.unit_id == unit.id, Resident.active.is_(True))
            )
        ):
            raise Refused(
                "proxy_exists",
                "{name} is already named for {unit} (or lives there); remove that one first.",
                name=clean,
                unit=unit.code,
            )
        proxy = Proxy(
            unit_id=unit.id,
            resident_id=for_whom.id if for_whom is not None else None,
            name=clean,
            phone=phone.strip()[:32],
            until=as_utc(until) if until is not None else None,
            created_by=actor.label,
            created_at=now,
        )
        session.add(proxy)
        session.flush()
        audit.record(
            session,
            actor=actor.label,
            action="parcel.proxy_added",
            subject=f"parcel_proxy:{proxy.id}",
            data={
                "unit": unit.code,
                "name": mask_name(proxy.name),
                "phone": proxy.phone,
                "for": f"resident:{proxy.resident_id}" if proxy.resident_id else "household",
                "until": proxy.until.isoformat() if proxy.until else None,
            },
            at=now,
            kiosk_id=ctx.kiosk_id,
        )
        return proxy.id


def remove_proxy(ctx: KioskContext, actor: Actor, proxy_id: int, unit_code: str = "") -> None:
    """Withdraw a proxy (the row stays, with who removed it and when). A resident removes
    their own proxies; the desk any of the unit's."""
    now = ctx.clock.now()
    with ctx.database().write() as session:
        proxy = session.get(Proxy, int(proxy_id))
        unit = _unit(session, unit_code) if unit_code.strip() else None
        if proxy is None or (unit is not None and proxy.unit_id != unit.id):
            raise Refused("proxy_unknown", "There is no proxy {id} for that unit.", id=proxy_id)
        own = actor.kind == "resident" and proxy.resident_id == actor.id
        if not own:
            require_role(actor, "parcel.remove_proxy", *DESK_ROLES)
        changed = session.execute(
            update(Proxy)
            .where(Proxy.id == proxy.id, Proxy.active.is_(True))
            .values(active=False, removed_by=actor.label, removed_at=now)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            raise Refused("proxy_removed", "That proxy was already removed.")
        audit.record(
            session,
            actor=actor.label,
            action="parcel.proxy_removed",
            subject=f"parcel_proxy:{proxy.id}",
            data={"unit_id": proxy.unit_id, "name": mask_name(proxy.name)},
            at=now,
            kiosk_id=ctx.kiosk_id,
        )


def list_proxies(
    ctx: KioskContext, unit_code: str, include_inactive: bool = False
) -> list[dict[str, Any]]:
    """The unit's proxies for the desk: name, whose (a resident, masked, or the household),
    phone masked, until, and whether they may collect now."""
    now = ctx.clock.now()
    with ctx.database().read() as session:
        unit = _unit(session, unit_code)
        rows = session.execute(
            select(Proxy, Resident.name)
            .join(Resident, Resident.id == Proxy.resident_id, isouter=True)
            .where(Proxy.unit_id == unit.id)
            .order_by(Proxy.id)
        ).all()
    out = []
    for proxy, resident_name in rows:
        valid = proxy.active and (proxy.until is None or as_utc(proxy.until) > now)
        if not valid and not include_inactive:
            continue
        out.append(
            {
                "id": proxy.id,
                "unit": unit.code,
                "name": proxy.name,
                "for": mask_name(resident_name) if resident_name else "household",
                "phone": mask_phone(proxy.phone) if proxy.phone else "",
                "until": local_time(ctx, proxy.until) if proxy.until else "",
                "valid": bool(valid),
                "removed": local_time(ctx, proxy.removed_at) if proxy.removed_at else "",
            }
        )
    return out


# -- aging ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgingRun:
    reminded: dict[int, int]  # days -> parcels reminded
    escalated: int


def run_aging(ctx: KioskContext, actor: Actor = SYSTEM) -> AgingRun:
    """Remind units of items waiting 3 and 7 days (one message per unit), escalate to the desk
    at 15. Each reminder is sent once per item (the conditional update decides)."""
    rules = ParcelRules.of(ctx)
    now = ctx.clock.now()
    reminded: dict[int, int] = {}
    escalated = 0
    with ctx.database().write() as session:
        # The older threshold first, so an item found at 8 days gets one message, not two.
        for days in sorted(rules.reminder_days, reverse=True):
            column = Parcel.reminded_7_at if days >= 7 else Parcel.reminded_3_at
            rows = session.execute(
                select(Parcel.id, Parcel.unit_id, Unit.code)
                .join(Unit, Unit.id == Parcel.unit_id)
                .where(
                    Parcel.status == "waiting",
                    Parcel.checked_in_at <= now - dt.timedelta(days=days),
                    column.is_(None),
                )
            ).all()
            by_unit: dict[tuple[int, str], list[int]] = {}
            for pid, unit_id, code in rows:
                by_unit.setdefault((unit_id, code), []).append(pid)
            for (unit_id, code), ids in by_unit.items():
                values: dict[str, Any] = {column.key: now}
                if days >= 7:
                    values["reminded_3_at"] = func.coalesce(Parcel.reminded_3_at, now)
                session.execute(
                    update(Parcel)
                    .where(Parcel.id.in_(ids), column.is_(None))
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
                queue_notification(
                    session,
                    channel="sms",
                    template="parcel.reminder",
                    at=now,
                    unit_id=unit_id,
                    payload={"unit": code, "days": days, "count": len(ids)},
                )
                audit.record(
                    session,
                    actor=actor.label,
                    action="parcel.reminded",
                    subject=f"unit:{unit_id}",
                    data={"days": days, "parcels": ids},
                    at=now,
                    kiosk_id=ctx.kiosk_id,
                )
                reminded[days] = reminded.get(days, 0) + len(ids)
        overdue = session.execute(
            select(Parcel.id, Parcel.tracking_number, Parcel.shelf, Unit.code, Parcel.lobby)
            .join(Unit, Unit.id == Parcel.unit_id)
            .where(
                Parcel.status == "waiting",
                Parcel.checked_in_at <= now - dt.timedelta(days=rules.escalate_days),
                Parcel.escalated_at.is_(None),
            )
        ).all()
        for pid, number, shelf, code, lobby in overdue:
            session.execute(
                update(Parcel)
                .where(Parcel.id == pid, Parcel.escalated_at.is_(None))
                .values(escalated_at=now)
            )
            raise_alert(
                session,
                "parcel_overdue",
                f"parcel {number} for {code} (shelf {shelf or '-'}) waiting "
                f"{rules.escalate_days}+ days: call the household or return to sender",
                at=now,
                lobby=lobby,  # the desk whose shelf holds it ("" = every desk)
            )
            audit.record(
                session,
                actor=actor.label,
                action="parcel.escalated",
                subject=f"parcel:{pid}",
                data={"unit": code},
                at=now,
                kiosk_id=ctx.kiosk_id,
            )
            escalated += 1
    return AgingRun(reminded, escalated)


def return_to_sender(ctx: KioskContext, actor: Actor, parcel_id: int, reason: str) -> None:
    """Hand a waiting item back to the carrier (15+ days unclaimed, refused, wrong address):
    state ``returned`` with who, when and why, in the 邮件签收登记表 (:func:`parcel_register`);
    the household is told, and its pickup codes are spent when nothing else waits. A desk of
    one lobby returns its own lobby's items."""
    require_role(actor, "parcel.return", *DESK_ROLES)
    why = mask_text(" ".join(reason.split()))[:200]
    if not why:
        raise Refused("return_reason", "Give the reason for returning the item.")
    now = ctx.clock.now()
    lobby = desk_lobby(ctx, actor)
    with ctx.database().write() as session:
        parcel = session.get(Parcel, int(parcel_id))
        if parcel is None:
            raise Refused("parcel_unknown", "There is no parcel {id}.", id=parcel_id)
        if lobby is not None and parcel.lobby not in ("", lobby):
            raise Refused(
                "parcel_at_lobby", "That item is at lobby {lobby}'s desk.", lobby=parcel.lobby
            )
        changed = session.execute(
            update(Parcel)
            .where(Parcel.id == parcel.id, Parcel.status == "waiting")
            .values(status="returned", returned_at=now, returned_by=actor.label, return_reason=why)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            raise Refused("not_waiting", "That item is no longer waiting at the desk.")
        session.execute(
            update(PickupCode)
            .where(
                PickupCode.unit_id == parcel.unit_id,
                PickupCode.status == "active",
                ~select(Parcel.id)
                .where(Parcel.unit_id == parcel.unit_id, Parcel.status == "waiting")
                .exists(),
            )
            .values(status="spent", used_at=now)
            .execution_options(synchronize_session=False)
        )
        unit = session.get(Unit, parcel.unit_id)
        note = queue_notification(
            session,
            channel="sms",
            template="parcel.returned",
            at=now,
            unit_id=parcel.unit_id,
            payload={
                "unit": unit.code if unit is not None else "",
                "tracking_tail": parcel.tracking_number[-6:],
                "carrier": parcel.carrier,
                "reason": why,
            },
        )
        audit.record(
            session,
            actor=actor.label,
            action="parcel.returned",
            subject=f"parcel:{parcel.id}",
            data={"reason": why, "tracking": parcel.tracking_number, "notification": note.id},
            at=now,
            kiosk_id=ctx.kiosk_id,
        )


AGING_BUCKETS = (
    (0, 2, "0-2 days"),
    (3, 6, "3-6 days"),
    (7, 14, "7-14 days"),
    (15, None, "15+ days"),
)


def aging_report(ctx: KioskContext, lobby: str | None = None) -> dict[str, Any]:
    """Waiting items by age bucket, the overdue ones listed, and returns on record; of one
    lobby's desk (with the items tied to none), or of every lobby when ``lobby`` is None."""
    now = ctx.clock.now()
    with ctx.database().read() as session:
        rows = session.execute(
            select(
                Parcel.id,
                Parcel.tracking_number,
                Parcel.carrier,
                Parcel.shelf,
                Parcel.checked_in_at,
                Parcel.reminded_3_at,
                Parcel.reminded_7_at,
                Parcel.escalated_at,
                Parcel.lobby,
                Unit.code,
            )
            .join(Unit, Unit.id == Parcel.unit_id)
            .where(Parcel.status == "waiting", *in_lobby(Parcel.lobby, lobby))
            .order_by(Parcel.checked_in_at)
        ).all()
        returned = session.scalar(
            select(func.count())
            .select_from(Parcel)
            .where(Parcel.status == "returned", *in_lobby(Parcel.lobby, lobby))
        )
    buckets = {label: 0 for _, _, label in AGING_BUCKETS}
    items = []
    for r in rows:
        # A kiosk whose clock runs behind the desk that checked the parcel in must not crash.
        days = max(0, (now - as_utc(r.checked_in_at)).days)
        label = next(
            lb for lo, hi, lb in AGING_BUCKETS if days >= lo and (hi is None or days <= hi)
        )
        buckets[label] += 1
        items.append(
            {
                "id": r.id,
                "lobby": r.lobby,
                "unit": r.code,
                "tracking": r.tracking_number,
                "carrier": r.carrier,
                "shelf": r.shelf,
                "days": days,
                "bucket": label,
                "reminded_3": r.reminded_3_at is not None,
                "reminded_7": r.reminded_7_at is not None,
                "escalated": r.escalated_at is not None,
            }
        )
    return {
        "as_of": as_utc(now).isoformat(),
        "waiting": len(items),
        "buckets": buckets,
        "returned": int(returned or 0),
        "items": items,
    }


REGISTER_FIELDS = (
    "id", "lobby", "checked_in", "tracking", "carrier", "unit", "recipient", "shelf", "flags",
    "status", "released", "picker", "picker_kind", "via", "staff", "id_checked", "override",
    "returned", "returned_by", "return_reason",
)  # fmt: skip


def _last4(value: str) -> str:
    return f"****{value}" if value else ""


def parcel_register(ctx: KioskContext, lobby: str | None = None) -> list[dict[str, Any]]:
    """The 邮件签收登记表: every item logged (of one lobby's desk with the items tied to none,
    or of every lobby), oldest first, with how it left: collected (by whom, masked; kiosk or
    desk; the ID's last 4 as ``****1234``; an override's reason) or returned to sender (by
    whom, when, why)."""
    with ctx.database().read() as session:
        rows = session.execute(
            select(Parcel, Unit.code, Release)
            .join(Unit, Unit.id == Parcel.unit_id)
            .join(Release, Release.id == Parcel.release_id, isouter=True)
            .where(*in_lobby(Parcel.lobby, lobby))
            .order_by(Parcel.checked_in_at, Parcel.id)
        ).all()
    out = []
    for p, code, rel in rows:
        out.append(
            {
                "id": p.id,
                "lobby": p.lobby,
                "checked_in": local_time(ctx, p.checked_in_at),
                "tracking": p.tracking_number,
                "carrier": p.carrier,
                "unit": code,
                "recipient": mask_name(p.recipient_name) if p.recipient_name else "",
                "shelf": p.shelf,
                "flags": " ".join(_flags(p)),
                "status": p.status,
                "released": local_time(ctx, p.released_at) if p.released_at else "",
                "picker": mask_name(rel.picker_name) if rel is not None else "",
                "picker_kind": rel.picker_kind if rel is not None else "",
                "via": rel.via if rel is not None else "",
                "staff": rel.staff if rel is not None else "",
                "id_checked": _last4(rel.id_last4) if rel is not None else "",
                "override": mask_text(rel.override_reason) if rel is not None else "",
                "returned": local_time(ctx, p.returned_at) if p.returned_at else "",
                "returned_by": p.returned_by,
                "return_reason": mask_text(p.return_reason),
            }
        )
    return out


# -- item storage (物品寄存) --------------------------------------------------------------------


@dataclass(frozen=True)
class Deposit:
    item_id: int
    ticket: str
    print_job_id: int
    receipt: Receipt = field(repr=False)


def deposit(
    ctx: KioskContext,
    actor: Actor,
    *,
    unit_code: str,
    depositor_name: str,
    description: str,
    category: str,
    expected_pickup_at: dt.datetime,
    quantity: int = 1,
    condition: str = "",
    depositor_phone: str = "",
) -> Deposit:
    """Take an item into temporary storage at the desk (owners and occupants only)."""
    require_role(actor, "storage.deposit", *DESK_ROLES)
    rules = ParcelRules.of(ctx)
    now = ctx.clock.now()
    bad = storage_refusal(category, description)
    if bad is not None:
        raise Refused(
            "storage_prohibited",
            "{what} cannot be stored at the desk.",
            what=PROHIBITED_CATEGORIES[bad],
        )
    if category not in ALLOWED_CATEGORIES:
        raise Refused(
            "storage_category",
            "Unknown category {category} (expected {allowed}).",
            category=category,
            allowed=", ".join(ALLOWED_CATEGORIES),
        )
    if not description.strip() or quantity < 1:
        raise Refused("storage_description", "Describe the item and how many pieces.")
    expected = as_utc(expected_pickup_at)
    if expected <= now or expected > now + dt.timedelta(days=rules.storage_max_days):
        raise Refused(
            "storage_pickup_time",
            "The pickup time must be within the next {days} days (temporary storage only).",
            days=rules.storage_max_days,
        )
    with ctx.database().write() as session:
        unit = _unit(session, unit_code)
        names = {
            " ".join(r.name.split()).casefold()
            for r in session.scalars(
                select(Resident).where(Resident.unit_id == unit.id, Resident.active.is_(True))
            )
        }
        if " ".join(depositor_name.split()).casefold() not in names:
            raise Refused(
                "storage_not_resident",
                "Storage is for owners and occupants of the estate only.",
            )
        ticket = "J" + f"{secrets.randbelow(10**6):06d}"
        while session.scalar(select(StoredItem.id).where(StoredItem.ticket == ticket)):
            ticket = "J" + f"{secrets.randbelow(10**6):06d}"
        item = StoredItem(
            ticket=ticket,
            lobby=ctx.lobby,
            unit_id=unit.id,
            depositor_name=" ".join(depositor_name.split()),
            depositor_phone=depositor_phone.strip(),
            description=mask_text(description.strip())[:200],
            category=category,
            quantity=quantity,
            condition=mask_text(condition.strip())[:200],
            status="stored",
            deposited_at=now,
            deposited_by=actor.label,
            expected_pickup_at=expected,
        )
        session.add(item)
        session.flush()
        from devices.printer import Receipt

        receipt = (
            Receipt()
            .title("物品寄存凭条 Storage ticket")
            .row("凭条号 Ticket", ticket)
            .row("单元 Unit", unit.code)
            .row("寄存人 Depositor", mask_name(item.depositor_name))
            .row("物品 Item", f"{item.description} x{quantity}")
            .row("寄存时间 In", local_time(ctx, now))
            .row("预计取件 Pickup by", local_time(ctx, expected))
            .barcode(ticket)
            .text("取件时请出示本凭条并签名 Show this ticket and sign to collect")
            .cut()
        )
        job = printing.submit(
            session, receipt, kind="storage-ticket", at=now, kiosk_id=ctx.kiosk_id
        )
        audit.record(
            session,
            actor=actor.label,
            action="storage.deposited",
            subject=f"storage_item:{item.id}",
            data={
                "ticket": ticket,
                "unit": unit.code,
                "category": category,
                "quantity": quantity,
                "phone": item.depositor_phone,
            },
            at=now,
            kiosk_id=ctx.kiosk_id,
        )
        return Deposit(item.id, ticket, job.id, receipt)


def handover_checklist(ctx: KioskContext, lobby: str | None = None) -> list[dict[str, Any]]:
    """Every item in storage for the shift handover, overdue ones flagged: of one lobby's
    desk (with the items tied to none), or of every lobby when ``lobby`` is None."""
    now = ctx.clock.now()
    with ctx.database().read() as session:
        rows = session.execute(
            select(StoredItem, Unit.code)
            .join(Unit, Unit.id == StoredItem.unit_id, isouter=True)
            .where(StoredItem.status == "stored", *in_lobby(StoredItem.lobby, lobby))
            .order_by(StoredItem.deposited_at)
        ).all()
    return [
        {
            "id": item.id,
            "lobby": item.lobby,
            "ticket": item.ticket,
            "unit": code or "",
            "depositor": mask_name(item.depositor_name),
            "item": item.description,
            "quantity": item.quantity,
            "in": local_time(ctx, item.deposited_at),
            "expected": local_time(ctx, item.expected_pickup_at),
            "overdue": as_utc(item.expected_pickup_at) < now,
        }
        for item, code in rows
    ]


def record_handover_check(
    ctx: KioskContext,
    actor: Actor,
    *,
    handed_to: str,
    results: dict[int, str],
    note: str = "",
) -> int:
    """Record the daily check: each stored item marked ``ok`` or ``missing`` (or a remark).
    Missing and overdue items alert the desk. A desk of one lobby checks its own shelves."""
    require_role(actor, "storage.check", *DESK_ROLES)
    checklist = handover_checklist(ctx, desk_lobby(ctx, actor))
    unchecked = [c["ticket"] for c in checklist if c["id"] not in results]
    if unchecked:
        raise Refused(
            "storage_unchecked",
            "Check every stored item before handing over ({tickets} not checked).",
            tickets=", ".join(unchecked),
        )
    now = ctx.clock.now()
    lines = [{**c, "result": results[c["id"]]} for c in checklist]
    problems = [line["ticket"] for line in lines if line["result"] != "ok" or line["overdue"]]
    with ctx.database().write() as session:
        check = StorageCheck(
            checked_at=now,
            checked_by=actor.label,
            handed_to=handed_to.strip()[:100],
            items=lines,
            note=mask_text(note.strip())[:300],
        )
        session.add(check)
        session.flush()
        if problems:
            raise_alert(
                session,
                "storage_check",
                f"storage handover: check items {', '.join(problems)} (missing, damaged or overdue)",
                at=now,
                lobby=ctx.lobby,
            )
        audit.record(
            session,
            actor=actor.label,
            action="storage.checked",
            subject=f"storage_check:{check.id}",
            data={"items": len(lines), "problems": problems, "handed_to": check.handed_to},
            at=now,
            kiosk_id=ctx.kiosk_id,
        )
        return check.id


def release_stored(
    ctx: KioskContext,
    actor: Actor,
    *,
    ticket: str,
    claimant_name: str,
    strokes: Any,
    id_last4: str,
    condition: str,
) -> int:
    """Give a stored item back to its depositor (or a resident of the unit), with signature.

    000 "物品寄存" 4: the claimant's ID is registered (the last 4 characters, never more) and
    the item's condition checked with them: both are required and kept on the record."""
    require_role(actor, "storage.release", *DESK_ROLES)
    last4 = clean_id_last4(id_last4)
    if not last4:
        raise Refused(
            "storage_id_required",
            "Check the claimant's ID and enter its last 4 characters before giving the item back.",
        )
    state = mask_text(" ".join(condition.split()))[:200]
    if not state:
        raise Refused(
            "storage_condition",
            "Check the item with the claimant and note its condition (e.g. intact).",
        )
    strokes = signature.require_signature(strokes)
    png = signature.to_png(strokes)
    now = ctx.clock.now()
    with ctx.database().write() as session:
        item = session.scalar(select(StoredItem).where(StoredItem.ticket == ticket.strip().upper()))
        if item is None:
            raise Refused("storage_unknown", "No stored item has ticket {ticket}.", ticket=ticket)
        lobby = desk_lobby(ctx, actor)
        if lobby is not None and item.lobby not in ("", lobby):
            raise Refused(
                "storage_at_lobby",
                "Ticket {ticket} is stored at lobby {lobby}'s desk.",
                ticket=item.ticket,
                lobby=item.lobby,
            )
        wanted = " ".join(claimant_name.split()).casefold()
        names = {" ".join(item.depositor_name.split()).casefold()}
        if item.unit_id is not None:
            names |= {
                " ".join(r.name.split()).casefold()
                for r in session.scalars(
                    select(Resident).where(
                        Resident.unit_id == item.unit_id, Resident.active.is_(True)
                    )
                )
            }
        if wanted not in names:
            raise Refused(
                "storage_not_owner",
                "Only the depositor or a resident of the unit may collect this item.",
            )
        changed = session.execute(
            update(StoredItem)
            .where(StoredItem.id == item.id, StoredItem.status == "stored")
            .values(
                status="released",
                released_at=now,
                released_by=actor.label,
                released_to=" ".join(claimant_name.split())[:100],
                claimant_id_last4=last4,
                release_condition=state,
                signature_strokes=strokes,
                signature_png=png,
            )
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            raise Refused("storage_released", "This item was already collected.")
        audit.record(
            session,
            actor=actor.label,
            action="storage.released",
            subject=f"storage_item:{item.id}",
            data={
                "ticket": item.ticket,
                "to": mask_name(claimant_name),
                "id_checked": True,
                "condition": state,
            },
            at=now,
            kiosk_id=ctx.kiosk_id,
        )
        return item.id


STORAGE_REGISTER_FIELDS = (
    "ticket", "lobby", "unit", "depositor", "item", "category", "quantity", "condition_in",
    "in", "expected", "status", "released", "released_to", "claimant_id", "condition_out",
    "released_by",
)  # fmt: skip


def storage_register(ctx: KioskContext, lobby: str | None = None) -> list[dict[str, Any]]:
    """The storage register (物品寄存登记): every item, stored or given back, with the
    claimant's ID as ``****1234`` and the condition at deposit and at release."""
    with ctx.database().read() as session:
        rows = session.execute(
            select(StoredItem, Unit.code)
            .join(Unit, Unit.id == StoredItem.unit_id, isouter=True)
            .where(*in_lobby(StoredItem.lobby, lobby))
            .order_by(StoredItem.deposited_at, StoredItem.id)
        ).all()
    return [
        {
            "ticket": i.ticket,
            "lobby": i.lobby,
            "unit": code or "",
            "depositor": mask_name(i.depositor_name),
            "item": i.description,
            "category": i.category,
            "quantity": i.quantity,
            "condition_in": i.condition,
            "in": local_time(ctx, i.deposited_at),
            "expected": local_time(ctx, i.expected_pickup_at),
            "status": i.status,
            "released": local_time(ctx, i.released_at) if i.released_at else "",
            "released_to": mask_name(i.released_to) if i.released_to else "",
            "claimant_id": _last4(i.claimant_id_last4),
            "condition_out": i.release_condition,
            "released_by": i.released_by,
        }
        for i, code in rows
    ]


# -- retention ----------------------------------------------------------------------------------

ANONYMOUS = retention.ANONYMOUS


def purge_in(
    session: Session, ctx: KioskContext, now: dt.datetime, dry_run: bool = False
) -> list[PurgeCount]:
    """Anonymise, inside ``session`` (hook ``kiosk_purge``), what was closed more than
    ``retention.parcel_days`` ago: the recipient's name on collected and returned parcels, the
    picker's name and signature (strokes and PNG) on releases, and the depositor's name and
    phone, the claimant and the signature on released stored items. Tracking numbers, units,
    shelves, times and counts stay; waiting parcels and stored items are never touched."""
    days = ctx.settings.retention.parcel_days
    before = retention.cutoff(now, days)
    parcels = retention.anonymise(
        session,
        Parcel,
        [
            Parcel.status.in_(("released", "returned")),
            func.coalesce(Parcel.released_at, Parcel.returned_at) < before,
            Parcel.recipient_name != ANONYMOUS,
        ],
        {"recipient_name": ANONYMOUS},
        dry_run,
    )
    releases = retention.anonymise(
        session,
        Release,
        [Release.released_at < before, Release.picker_name != ANONYMOUS],
        {"picker_name": ANONYMOUS, "signature_strokes": [], "signature_png": b"", "id_last4": ""},
        dry_run,
    )
    stored = retention.anonymise(
        session,
        StoredItem,
        [
            StoredItem.status == "released",
            StoredItem.released_at < before,
            StoredItem.depositor_name != ANONYMOUS,
        ],
        {
            "depositor_name": ANONYMOUS,
            "depositor_phone": "",
            "released_to": ANONYMOUS,
            "claimant_id_last4": "",
            "signature_strokes": None,
            "signature_png": None,
        },
        dry_run,
    )
    return [
        PurgeCount("parcels", "parcel", parcels, before, days),
        PurgeCount("parcels", "parcel_release", releases, before, days),
        PurgeCount("parcels", "storage_item", stored, before, days),
    ]


def purge_pii(ctx: KioskContext, actor: Actor = SYSTEM) -> dict[str, int]:
    """Parcels' part of ``kiosk purge`` on its own (``kiosk parcels purge``): see
    :func:`purge_in`; audited with the counts."""
    now = ctx.clock.now()
    with ctx.database().write() as session:
        parcels, releases, stored = (c.count for c in purge_in(session, ctx, now))
        counts = {"parcels": parcels, "releases": releases, "stored": stored}
        audit.record(
            session,
            actor=actor.label,
            action="parcel.pii_purged",
            subject="parcel",
            data={
                **counts,
                "before": retention.cutoff(now, ctx.settings.retention.parcel_days).isoformat(),
            },
            at=now,
            kiosk_id=ctx.kiosk_id,
        )
    return counts
