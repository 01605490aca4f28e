"""Parcels and mail (邮件签收), headless.

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
:func:`parcel_register` (both in :mod:`plugins.parcels.aging`). Item storage is
:mod:`plugins.parcels.storage`; proxies :mod:`plugins.parcels.proxies`; settings and shared
checks :mod:`plugins.parcels.rules`. Their names are re-exported here.

Lobbies: a parcel (and a stored item) waits on the shelf of the lobby whose desk took it in
(``ctx.lobby``). A kiosk releases only its own lobby's items and tells the resident where the
others wait; a desk lists its own lobby's (:func:`desk_lobby`). Codes, proxies and residents
are per unit, estate-wide. Lobby "" (rows from before the lobby column) belongs everywhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kiosk import audit, printing
from kiosk.clock import as_utc
from kiosk.db import direct, retention
from kiosk.db.models import Resident, Unit
from kiosk.errors import Refused, Term
from kiosk.hookspecs import PurgeCount
from kiosk.i18n import N_, translate
from kiosk.identity import Actor, require_role, unit_by_code
from kiosk.lobby import desk_lobby, in_lobby
from kiosk.notify import queue_notification, raise_alert
from kiosk.notify_links import code_digest, secret_key
from kiosk.pii import mask_name, mask_text
from plugins.parcels import signature
from plugins.parcels.aging import (
    AGING_BUCKETS,
    REGISTER_FIELDS,
    AgingRun,
    aging_report,
    parcel_register,
    return_by_tracking,
    return_to_sender,
    run_aging,
)
from plugins.parcels.carriers import (
    carrier_name,
    detect_carrier,
    is_valid_tracking,
    normalise_tracking,
)
from plugins.parcels.models import (
    CodeGuard,
    Parcel,
    PickupCode,
    Proxy,
    Release,
    StoredItem,
)
from plugins.parcels.proxies import (
    add_proxy,
    desk_proxies,
    list_proxies,
    proxy_until,
    remove_proxy,
)
from plugins.parcels.rules import (
    CODE_DIGITS,
    DESK_ROLES,
    ID_LAST4,
    ParcelRules,
    clean_id_last4,
    flags,
    masked_last4,
    norm_name,
    proxy_valid,
    served_here,
)
from plugins.parcels.storage import (
    STORAGE_REGISTER_FIELDS,
    StorageTicket,
    handover_checklist,
    record_handover_check,
    release_stored,
    storage_register,
    store_item,
)
from plugins.parcels.storage_rules import ALLOWED_CATEGORIES

if TYPE_CHECKING:
    from devices.printer import Receipt
    from kiosk.context import KioskContext
    from kiosk.db.models import Notification

__all__ = [
    "AGING_BUCKETS",
    "ALLOWED_CATEGORIES",
    "CODE_DIGITS",
    "DESK_ROLES",
    "ID_LAST4",
    "REGISTER_FIELDS",
    "STORAGE_REGISTER_FIELDS",
    "AgingRun",
    "ParcelRules",
    "StorageTicket",
    "add_proxy",
    "aging_report",
    "clean_id_last4",
    "desk_lobby",
    "desk_proxies",
    "flags",
    "handover_checklist",
    "served_here",
    "in_lobby",
    "list_proxies",
    "masked_last4",
    "norm_name",
    "parcel_register",
    "proxy_valid",
    "record_handover_check",
    "release_stored",
    "proxy_until",
    "remove_proxy",
    "return_by_tracking",
    "return_to_sender",
    "run_aging",
    "storage_register",
    "store_item",
]

# -- helpers ----------------------------------------------------------------------------------


def _digest(ctx: KioskContext, unit_id: int, code: str) -> str:
    """Keyed digest of a pickup code: a copy of the database alone does not give the codes
    back (an unkeyed hash of a 6-digit code is undone by trying all million)."""
    return code_digest(secret_key(ctx.settings), f"parcel:{unit_id}", code)


def _legacy_digest(unit_id: int, code: str) -> str:
    """Unkeyed digests of codes sent before they were keyed; still accepted until used."""
    return hashlib.sha256(f"{unit_id}:{code.strip()}".encode()).hexdigest()


def _new_code(ctx: KioskContext, session: Session, unit_id: int, now: dt.datetime) -> str:
    """A fresh code for the unit, different from its other active codes: its row (the digest)
    is added to ``session``, issued ``now``; the code itself is returned, for the message."""
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
    session.add(
        PickupCode(
            unit_id=unit_id, digest=_digest(ctx, unit_id, code), status="active", created_at=now
        )
    )
    return code


def _send_new_code(
    ctx: KioskContext,
    session: Session,
    unit_id: int,
    unit_code: str,
    now: dt.datetime,
    template: str,
    **details: Any,
) -> tuple[str, Notification]:
    """A fresh code for the unit (:func:`_new_code`) and the SMS that carries it to the unit
    (``template``: parcel.arrived or parcel.code_renewed; its payload the unit, the code, then
    ``details``). A code is never made without its message. Returns both."""
    code = _new_code(ctx, session, unit_id, now)
    payload = {"unit": unit_code, "code": code, **details}
    note = queue_notification(
        session, channel="sms", template=template, at=now, unit_id=unit_id, payload=payload
    )
    return code, note


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


# A parcel's state as the desk reads it.
PARCEL_STATUS_TITLES = {
    "waiting": N_("waiting to be collected"),
    "released": N_("collected"),
    "returned": N_("returned to the sender"),
}


def _logged_already(ctx: KioskContext, session: Session, parcel: Parcel) -> Refused:
    """The refusal of a tracking number logged before: what became of it, for which unit, on
    which shelf, since when (a second scan is the same item, not a new one)."""
    unit = session.get(Unit, parcel.unit_id)
    return Refused(
        "parcels.duplicate_tracking",
        "Tracking number {number} is already logged for {unit} (shelf {shelf}) at {at}: {status}.",
        number=parcel.tracking_number,
        unit=unit.code if unit else "-",
        shelf=parcel.shelf or "-",
        at=ctx.local_time(parcel.checked_in_at),
        status=Term(PARCEL_STATUS_TITLES.get(parcel.status, parcel.status)),
    )


def logged_before(ctx: KioskContext, tracking: str) -> Refused | None:
    """What the desk is told the moment it scans a tracking number logged before (None for a
    new one): the same words check-in would refuse it with, before the unit is typed."""
    number = normalise_tracking(tracking)
    with ctx.database().read() as session:
        existing = session.scalar(select(Parcel).where(Parcel.tracking_number == number))
        return None if existing is None else _logged_already(ctx, session, existing)


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
            "parcels.bad_tracking",
            "{number} is not a tracking number (8-30 letters and digits). Scan it again.",
            number=tracking.strip()[:40],
        )
    guess = detect_carrier(number)
    now = ctx.clock.now()
    try:
        with ctx.database().write() as session:
            unit = unit_by_code(session, unit_code)
            existing = session.scalar(select(Parcel).where(Parcel.tracking_number == number))
            if existing is not None:
                raise _logged_already(ctx, session, existing)
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
            session.flush()
            code, note = _send_new_code(
                ctx,
                session,
                unit.id,
                unit.code,
                now,
                "parcel.arrived",
                carrier=carrier_name(parcel.carrier),
                shelf=parcel.shelf,
                lobby=parcel.lobby,
                perishable=perishable,
                oversize=oversize,
                id_check=id_check,
            )
            audit.record_for(
                ctx,
                session,
                actor.label,
                "parcel.checked_in",
                f"parcel:{parcel.id}",
                {
                    "tracking": number,
                    "carrier": parcel.carrier,
                    "unit": unit.code,
                    "shelf": parcel.shelf,
                    "lobby": parcel.lobby,
                    "flags": flags(parcel),
                },
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
        # Two desks scanned the same item at once: the unique index decided; the other desk's
        # row says what became of it.
        known = logged_before(ctx, number)
        if known is None:
            raise
        raise known from None
    return result


# -- release statements -----------------------------------------------------------------------

_PARCELS = cast(Table, Parcel.__table__)
_RELEASES = cast(Table, Release.__table__)
_CODES = cast(Table, PickupCode.__table__)
_CHOSEN = _PARCELS.c.id.in_(bindparam("ids", expanding=True))

# The chosen items of a unit, with what a release checks and prints on the slip.
_CHOSEN_ITEMS = (
    select(
        _PARCELS.c.id,
        _PARCELS.c.tracking_number,
        _PARCELS.c.recipient_name,
        _PARCELS.c.id_check,
        _PARCELS.c.status,
        _PARCELS.c.lobby,
        _PARCELS.c.carrier,
        _PARCELS.c.shelf,
        _PARCELS.c.oversize,
    )
    .where(_CHOSEN, _PARCELS.c.unit_id == bindparam("unit_id"))
    .order_by(_PARCELS.c.id)
)
# Which chosen item of a unit waits at another lobby than this kiosk's.
_CHOSEN_WAITING_AWAY = select(_PARCELS.c.tracking_number, _PARCELS.c.lobby).where(
    _CHOSEN,
    _PARCELS.c.unit_id == bindparam("unit_id"),
    _PARCELS.c.status == "waiting",
    _PARCELS.c.lobby.not_in([bindparam("lobby"), ""]),
)
# Consumes a pickup code: changes a row only while the code is still active.
_USE_CODE = (
    update(_CODES)
    .where(_CODES.c.id == bindparam("code_id"), _CODES.c.status == "active")
    .values(status="used", used_at=bindparam("b_now"))
)
# Records one pickup; answers its id.
_INSERT_RELEASE = insert(_RELEASES).returning(_RELEASES.c.id)
# Releases the chosen items of a unit that still wait (any lobby's); answers how many.
_RELEASE_ITEMS = (
    update(_PARCELS)
    .where(_CHOSEN, _PARCELS.c.unit_id == bindparam("b_unit"), _PARCELS.c.status == "waiting")
    .values(status="released", released_at=bindparam("b_now"), release_id=bindparam("b_release"))
)
# As above, of the items on this lobby's shelf (or tied to no lobby).
_RELEASE_ITEMS_OF_LOBBY = _RELEASE_ITEMS.where(_PARCELS.c.lobby.in_([bindparam("b_lobby"), ""]))
# Spends the unit's active codes once none of its items waits any more.
_SPEND_CODES = (
    update(_CODES)
    .where(
        _CODES.c.unit_id == bindparam("b_unit"),
        _CODES.c.status == "active",
        ~select(_PARCELS.c.id)
        .where(_PARCELS.c.unit_id == bindparam("b_unit"), _PARCELS.c.status == "waiting")
        .exists(),
    )
    .values(status="spent", used_at=bindparam("b_now"))
)


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
            tuple(flags(p)),
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
    here = tuple(p for p in items if served_here(ctx, p.lobby))
    return here, tuple(p for p in items if not served_here(ctx, p.lobby))


def waiting_here(ctx: KioskContext, unit_code: str) -> tuple[str, tuple[WaitingParcel, ...]]:
    """(the unit's code, its items this desk or kiosk may hand out)."""
    with ctx.database().read() as session:
        unit = unit_by_code(session, unit_code)
        here, _elsewhere = _split(ctx, waiting_parcels(session, unit.id))
    return unit.code, here


def start_pickup_by_card(ctx: KioskContext, actor: Actor) -> Pickup:
    """A resident tapped their card: their unit's waiting items; they are the picker."""
    if actor.kind != "resident" or actor.unit_id is None:
        raise Refused("parcels.not_resident", "Please tap a resident card, or enter unit and code.")
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
        unit = unit_by_code(session, unit_code)
        guard = session.get(CodeGuard, unit.id, with_for_update=True)
        if guard is None:
            guard = CodeGuard(unit_id=unit.id, failures=0)
            session.add(guard)
        if guard.locked_until is not None and as_utc(guard.locked_until) > now:
            raise Refused(
                "parcels.code_locked",
                "Too many wrong codes for {unit}. Try again after {time} or see the desk.",
                unit=unit.code,
                time=ctx.local_time(guard.locked_until)[-5:],
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
                "parcels.code_used",
                "This code was already used ({time}). Each code works once; see the desk.",
                time=ctx.local_time(used.used_at or used.created_at),
            )
        else:
            refusal = Refused("parcels.code_wrong", "Wrong pickup code for {unit}.", unit=unit.code)
        guard.failures = (guard.failures or 0) + 1
        data: dict[str, Any] = {"reason": refusal.code, "failures": guard.failures}
        if guard.failures >= rules.max_code_failures:
            guard.failures = 0
            guard.locked_until = now + dt.timedelta(minutes=rules.code_lock_minutes)
            raise_alert(
                session,
                "parcel_code_locked",
                N_(
                    "{failures} wrong pickup codes for {unit} at kiosk {kiosk}; codes locked "
                    "for {minutes} min"
                ),
                params={
                    "failures": rules.max_code_failures,
                    "unit": unit.code,
                    "kiosk": ctx.kiosk_id,
                    "minutes": rules.code_lock_minutes,
                },  # fmt: skip
                at=now,
                lobby=ctx.lobby,
                kiosk_id=ctx.kiosk_id,
            )
            data["locked_until"] = guard.locked_until.isoformat()
            refusal = Refused(
                "parcels.code_locked",
                "Too many wrong codes for {unit}. Try again after {time} or see the desk.",
                unit=unit.code,
                time=ctx.local_time(guard.locked_until)[-5:],
            )
        audit.record_for(ctx, session, "kiosk", "parcel.code_refused", f"unit:{unit.id}", data)
    raise refusal


def _unit_pickers(
    session: Session, unit_id: int, now: dt.datetime
) -> tuple[Sequence[Resident], Sequence[Proxy]]:
    """Who may collect for the unit: its active residents and its valid proxies, in order."""
    residents = session.scalars(
        select(Resident)
        .where(Resident.unit_id == unit_id, Resident.active.is_(True))
        .order_by(Resident.id)
    ).all()
    proxies = session.scalars(
        select(Proxy).where(Proxy.unit_id == unit_id, *proxy_valid(now)).order_by(Proxy.id)
    ).all()
    return residents, proxies


def named_picker(session: Session, unit_id: int, wanted: str, now: dt.datetime) -> Picker | None:
    """Who ``wanted`` (a :func:`norm_name`) is for the unit: one of its active residents, else
    one of its valid proxies; None when neither."""
    residents, proxies = _unit_pickers(session, unit_id, now)
    resident = next((r for r in residents if norm_name(r.name) == wanted), None)
    if resident is not None:
        return Picker("resident", resident.name, resident_id=resident.id)
    proxy = next((p for p in proxies if norm_name(p.name) == wanted), None)
    return None if proxy is None else Picker("proxy", proxy.name, proxy_id=proxy.id)


def picker_names(ctx: KioskContext, pickup: Pickup) -> list[str]:
    """Who may say they collect for the unit of a code pickup: its active residents, then its
    valid proxies (the kiosk shows them masked, to be tapped: a touch screen's keys cannot
    type 小明)."""
    with ctx.database().read() as session:
        residents, proxies = _unit_pickers(session, pickup.unit_id, ctx.clock.now())
        return list(dict.fromkeys([*(r.name for r in residents), *(p.name for p in proxies)]))


def identify_picker(ctx: KioskContext, pickup: Pickup, name: str) -> Pickup:
    """The person at the kiosk says who they are: a resident of the unit or a named proxy.
    Anyone else is sent to the desk (and the desk is told)."""
    with ctx.database().read() as session:
        picker = named_picker(session, pickup.unit_id, norm_name(name), ctx.clock.now())
    if picker is None:
        with ctx.database().write() as session:
            raise_alert(
                session,
                "parcel_picker_unknown",
                N_("someone not named for {unit} tried to collect parcels at kiosk {kiosk}"),
                params={"unit": pickup.unit_code, "kiosk": ctx.kiosk_id},
                at=ctx.clock.now(),
                severity="info",
                lobby=ctx.lobby,
                kiosk_id=ctx.kiosk_id,
            )
        raise Refused(
            "parcels.not_recipient",
            "Only a resident of {unit} or a proxy they named may collect. Please see the desk.",
            unit=pickup.unit_code,
        )
    return Pickup(
        pickup.unit_id, pickup.unit_code, pickup.via, pickup.parcels, pickup.code_id, picker,
        pickup.elsewhere,
    )  # fmt: skip


def may_collect(session: Session, unit_id: int, picker: Picker, recipient: str) -> bool:
    """000 "确认邮件收件人与领取人一致": an item naming its addressee goes to the addressee or
    a proxy named for them (or for the whole household, when the addressee lives in the
    unit); an item naming nobody goes to any resident of the unit or its proxies."""
    wanted = norm_name(recipient)
    if not wanted:
        return picker.kind in ("resident", "proxy")
    if picker.kind == "resident":
        return norm_name(picker.name) == wanted
    if picker.kind != "proxy" or picker.proxy_id is None:
        return False
    proxy = session.get(Proxy, picker.proxy_id)
    if proxy is None or proxy.unit_id != unit_id:
        return False
    residents = session.scalars(
        select(Resident).where(Resident.unit_id == unit_id, Resident.active.is_(True))
    ).all()
    addressees = {r.id for r in residents if norm_name(r.name) == wanted}
    if proxy.resident_id is None:
        return bool(addressees)
    return proxy.resident_id in addressees


def _kiosk_refusal(
    session: Session, pickup: Pickup, picker: Picker, items: Sequence[Any]
) -> Refused | None:
    """Why the kiosk may not hand out these items to this picker (then the desk is told)."""
    for row in items:
        tail = row.tracking_number[-6:]
        if row.id_check:
            return Refused(
                "parcels.id_check_desk",
                "Item …{tail} needs an ID check: please collect it at the desk with your ID. "
                "Nothing was released.",
                tail=tail,
            )
        if not may_collect(session, pickup.unit_id, picker, row.recipient_name):
            return Refused(
                "parcels.not_addressee",
                "Item …{tail} is addressed to someone else in {unit}: only the addressee or "
                "a proxy named for them may collect it. Please see the desk. "
                "Nothing was released.",
                tail=tail,
                unit=pickup.unit_code,
            )
    return None


def _send_to_desk(
    ctx: KioskContext,
    session: Session,
    pickup: Pickup,
    picker: Picker,
    chosen: tuple[int, ...],
    refusal: Refused,
    now: dt.datetime,
) -> None:
    """Tell the desk why the kiosk refused this pickup, and audit the refusal."""
    raise_alert(
        session,
        "parcel_to_desk",
        N_("{unit}: {reason} at kiosk {kiosk} ({picker}); release at the desk"),
        # The refusal's own wording, with its values (the desk translates both).
        params={
            **refusal.params,
            "unit": pickup.unit_code,
            "reason": refusal.message,
            "kiosk": ctx.kiosk_id,
            "picker": mask_name(picker.name),
        },  # fmt: skip
        at=now,
        severity="info",
        lobby=ctx.lobby,
        kiosk_id=ctx.kiosk_id,
    )
    audit.record_for(
        ctx,
        session,
        f"{picker.kind}:{picker.resident_id or picker.proxy_id}",
        "parcel.pickup_refused",
        f"unit:{pickup.unit_id}",
        {"reason": refusal.code, "parcels": list(chosen), "via": pickup.via},
    )


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
        .row("时间 Time", ctx.local_time(at))
        .row("取件人 Picker", who)
        .rule()
        .table(
            ["单号 No.", "快递", "货架"],
            [
                [
                    "…" + p.tracking_number[-6:],
                    translate("zh_CN", carrier_name(p.carrier)),
                    p.shelf or "-",
                ]
                for p in items
            ],  # fmt: skip
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
        raise Refused("parcels.picker_unknown", "Please say who is collecting first.")
    chosen = tuple(dict.fromkeys(int(i) for i in parcel_ids))
    if not chosen:
        raise Refused("parcels.nothing_chosen", "Choose at least one item to collect.")
    strokes = signature.require_signature(strokes)
    now = ctx.clock.now()
    picker = pickup.picker
    with ctx.database().write() as session:
        items = _chosen_items(session, pickup.unit_id, chosen)
        refusal = _kiosk_refusal(session, pickup, picker, items)
        if refusal is None:
            if pickup.code_id is not None:
                _use_code(ctx, session, pickup.code_id, now)
            return _release_rows(
                session,
                ctx,
                unit_id=pickup.unit_id,
                unit_code=pickup.unit_code,
                picker=picker,
                via=pickup.via,
                chosen=chosen,
                items=items,
                strokes=strokes,
                now=now,
                actor_label=f"{picker.kind}:{picker.resident_id or picker.proxy_id}",
                renew_code=pickup.code_id is not None,
            )
        _send_to_desk(ctx, session, pickup, picker, chosen, refusal, now)
    raise refusal


def _chosen_items(session: Session, unit_id: int, chosen: tuple[int, ...]) -> Sequence[Any]:
    return direct.execute(
        session.connection(), _CHOSEN_ITEMS, {"ids": chosen, "unit_id": unit_id}
    ).all()


def _use_code(ctx: KioskContext, session: Session, code_id: int, now: dt.datetime) -> None:
    used = direct.execute(session.connection(), _USE_CODE, {"code_id": code_id, "b_now": now})
    if used.rowcount != 1:
        raise Refused(
            "parcels.code_used",
            "This code was already used ({time}). Each code works once; see the desk.",
            time=ctx.local_time(now),
        )


def _all_waiting_here(ctx: KioskContext, items: Sequence[Any], chosen: tuple[int, ...]) -> bool:
    """Whether every chosen item is the unit's, still waiting, on this lobby's shelf."""
    return len(items) == len(chosen) and all(
        row.status == "waiting" and served_here(ctx, row.lobby) for row in items
    )


def _refuse_release(
    session: Session, ctx: KioskContext, unit_id: int, chosen: tuple[int, ...]
) -> NoReturn:
    """Nothing is released: say where an item waits when it is at another lobby."""
    away = None
    if ctx.lobby:
        away = direct.execute(
            session.connection(),
            _CHOSEN_WAITING_AWAY,
            {"ids": chosen, "unit_id": unit_id, "lobby": ctx.lobby},
        ).first()
    if away is not None:
        raise Refused(
            "parcels.elsewhere",
            "Item …{tail} waits at lobby {lobby}: collect it there. Nothing was released.",
            tail=away.tracking_number[-6:],
            lobby=away.lobby,
        )
    raise Refused(
        "parcels.already_released",
        "Some of these items were just collected elsewhere. Nothing was released; "
        "please start again.",
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
    items: Sequence[Any],
    strokes: Any,
    now: dt.datetime,
    actor_label: str,
    renew_code: bool,
    staff: str = "",
    id_last4: str = "",
    override_reason: str = "",
) -> ReleaseResult:
    """The slip, the release row, the conditional update of the chosen items (all or
    nothing), the unit's spent codes and the audit event, inside the caller's transaction.
    ``items`` are the chosen items as read in this transaction (:data:`_CHOSEN_ITEMS`)."""
    if not _all_waiting_here(ctx, items, chosen):
        _refuse_release(session, ctx, unit_id, chosen)
    receipt = pickup_slip(ctx, unit_code, picker, items, now, desk=bool(staff))
    job = printing.submit(session, receipt, kind="parcel-pickup", at=now, kiosk_id=ctx.kiosk_id)
    release_row = {
        "unit_id": unit_id,
        "picker_kind": picker.kind,
        "picker_resident_id": picker.resident_id,
        "picker_proxy_id": picker.proxy_id,
        "picker_name": picker.name,
        "via": via,
        "item_count": len(chosen),
        "released_at": now,
        "kiosk_id": ctx.kiosk_id,
        "signature_strokes": strokes,
        "signature_png": signature.to_png(strokes),
        "print_job_id": job.id,
        "staff": staff,
        "id_last4": id_last4,
        "override_reason": override_reason,
    }
    connection = session.connection()
    release_id = direct.execute(connection, _INSERT_RELEASE, release_row).scalar_one()
    # Fewer rows than chosen means another kiosk took one first since the read above: the
    # raise rolls the whole pickup back.
    released = direct.execute(
        connection,
        _RELEASE_ITEMS_OF_LOBBY if ctx.lobby else _RELEASE_ITEMS,
        {"ids": chosen, "b_unit": unit_id, "b_lobby": ctx.lobby, "b_now": now,
         "b_release": release_id},
    )  # fmt: skip
    if released.rowcount != len(chosen):
        _refuse_release(session, ctx, unit_id, chosen)
    direct.execute(connection, _SPEND_CODES, {"b_unit": unit_id, "b_now": now})
    new_code = None
    if renew_code:
        new_code = _renew_code_if_needed(ctx, session, unit_id, unit_code, now)
    audit.record_for(
        ctx,
        session,
        actor_label,
        "parcel.released",
        f"parcel_release:{release_id}",
        {
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
    )
    return ReleaseResult(release_id, chosen, job.id, receipt)


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
        raise Refused("parcels.nothing_chosen", "Choose at least one item to collect.")
    last4 = clean_id_last4(id_last4)
    reason = mask_text(" ".join(override_reason.split()))[:200]
    strokes = signature.require_signature(strokes)
    now = ctx.clock.now()
    with ctx.database().write() as session:
        unit = unit_by_code(session, unit_code)
        wanted = norm_name(picker_name)
        if not wanted:
            raise Refused("parcels.picker_unknown", "Enter the name of the person collecting.")
        picker = named_picker(session, unit.id, wanted, now) or Picker(
            "other", " ".join(picker_name.split())[:100]
        )
        rows = _chosen_items(session, unit.id, chosen)
        if len(rows) != len(chosen):
            raise Refused(
                "parcels.not_this_unit", "Some of these items are not for {unit}.", unit=unit.code
            )
        strangers = [r for r in rows if not may_collect(session, unit.id, picker, r.recipient_name)]
        if strangers and not reason:
            raise Refused(
                "parcels.not_addressee",
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
                "parcels.id_required",
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
            items=rows,
            strokes=strokes,
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
                N_(
                    "{unit}: {count} addressed item(s) released at the desk to {picker} by "
                    "{staff} (override: {reason})"
                ),
                params={
                    "unit": unit.code,
                    "count": len(strangers),
                    "picker": mask_name(picker.name),
                    "staff": actor.label,
                    "reason": reason,
                },  # fmt: skip
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
    _code, note = _send_new_code(
        ctx, session, unit_id, unit_code, now, "parcel.code_renewed", waiting=int(waiting)
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
    return retention.counted(
        "parcels", before, days, parcel=parcels, parcel_release=releases, storage_item=stored
    )


# Its part of ``kiosk purge`` on its own (``kiosk parcels purge``), audited with the counts.
purge_pii = retention.one_plugin_purge(
    purge_in, ("parcels", "releases", "stored"), "parcel.pii_purged", "parcel"
)
