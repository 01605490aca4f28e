"""Key custody (000 "客户钥匙委托管理"), headless.

Procedure: the desk keeps keys only of vacant units, on the owner's authorisation (the estate
takes no responsibility for what is inside); every key is numbered and kept locked (a box and
a slot); every handover, out and back, records who (their ID checked and stored masked) and is
signed; keys lent for a viewing are never handed to the viewer alone: a staff member of the
customer centre goes along and opens the door. A key out longer than ``max_out_hours`` raises
a desk alert. The register (钥匙委托管理清册) is exported as CSV.

Race-prone steps are conditional updates: one key cannot be handed out twice at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kiosk import audit
from kiosk.clock import as_utc
from kiosk.db.models import Resident, Staff, Unit
from kiosk.errors import Refused
from kiosk.export import csv_text
from kiosk.i18n import N_
from kiosk.identity import SYSTEM, Actor, require_role, unit_by_code
from kiosk.notify import raise_alert
from kiosk.pii import mask_id_number, mask_name, mask_text
from kiosk.plugin_settings import whole_number
from kiosk.signatures import require_signature, to_png
from kiosk.writes import change_once
from plugins.keys.models import PURPOSES, CustodyKey, KeyHandover

if TYPE_CHECKING:
    from kiosk.context import KioskContext

PLUGIN = "keys"
DESK_ROLES = ("butler",)
LIVING = ("tenant", "occupant")  # someone living there: the unit is not vacant
PURPOSE_LABELS = {"viewing": N_("Viewing"), "contractor": N_("Contractor"),
                  "owner": N_("Owner")}  # fmt: skip
STATUS_LABELS = {
    "in_box": N_("in the box"),
    "out": N_("out"),
    "returned": N_("given back to the owner"),
}


def max_out_hours(ctx: KioskContext) -> int:
    """``[plugins.keys] max_out_hours`` (default 4): longer out raises a desk alert."""
    return whole_number(PLUGIN, ctx.settings.plugin(PLUGIN), "max_out_hours", 4, minimum=1)


@dataclass(frozen=True)
class KeyView:
    """A key as the desk, the CLI and the register show it (the holder masked)."""

    number: str
    unit_code: str
    label: str
    box: str
    slot: str
    status: str
    holder: str
    purpose: str
    accompanied_by: str
    out_at: dt.datetime | None
    due_back_at: dt.datetime | None
    overdue: bool


def key_line(k: KeyView) -> str:
    """One line per key in the reader's language: number, unit, label, box/slot, state (and
    the holder, masked, why, overdue)."""
    from kiosk.i18n import _

    line = f"{k.number} {k.unit_code} {k.label} {k.box}/{k.slot} {_(STATUS_LABELS[k.status])}"
    if k.holder:
        line += f" · {k.holder} · {_(PURPOSE_LABELS[k.purpose])}"
    if k.overdue:
        line += " · " + _("overdue")
    return line


def _text(value: str, limit: int, code: str, message: str) -> str:
    text = " ".join(value.split())
    if not text or len(text) > limit:
        raise Refused(code, message, limit=limit)
    return text


def _key(session: Session, number: str) -> CustodyKey:
    row = session.scalar(select(CustodyKey).where(CustodyKey.number == number.strip().upper()))
    if row is None:
        raise Refused("keys.unknown", "There is no key {number} in custody.",
                      number=number.strip())  # fmt: skip
    return row


def take_into_custody(
    ctx: KioskContext, actor: Actor, *, unit_code: str, labels: list[str], box: str, slot: str,
    owner: str, authorisation: str, vacant: bool,
) -> list[str]:  # fmt: skip
    """The desk takes a vacant unit's keys on the owner's authorisation: each key gets the next
    number (K0001, ...) and the locked box and slot it is kept in. Returns the numbers.

    Refused: a unit someone lives in (a tenant or occupant registered, or the butler did not
    confirm it is vacant), no owner's authorisation, no key, no box or slot."""
    require_role(actor, "take keys into custody", *DESK_ROLES)
    if not vacant:
        raise Refused("keys.not_vacant", "Keys are kept only for vacant units.")
    owner = _text(owner, 100, "keys.owner", "Enter the owner who authorises (at most {limit} characters).")  # fmt: skip
    note = _text(authorisation, 200, "keys.authorisation", "Describe the owner's authorisation (at most {limit} characters).")  # fmt: skip
    box = _text(box, 16, "keys.box", "Enter the key box and slot (at most {limit} characters).")
    slot = _text(slot, 16, "keys.box", "Enter the key box and slot (at most {limit} characters).")
    names = [" ".join(x.split())[:100] for x in labels if x.strip()]
    if not names:
        raise Refused("keys.none", "Name at least one key, e.g. entrance door.")
    now = ctx.clock.now()
    with ctx.database().write() as session:
        unit = unit_by_code(session, unit_code)
        living = session.scalar(
            select(func.count()).select_from(Resident)
            .where(Resident.unit_id == unit.id, Resident.active.is_(True), Resident.role.in_(LIVING))
        )  # fmt: skip
        if living:
            raise Refused("keys.not_vacant_unit",
                          "Unit {unit} has registered occupants: keys are kept only for vacant "
                          "units.", unit=unit.code)  # fmt: skip
        count = session.scalar(select(func.count()).select_from(CustodyKey)) or 0
        numbers = []
        for i, label in enumerate(names, start=1):
            number = f"K{count + i:04d}"
            session.add(CustodyKey(number=number, unit_id=unit.id, label=label, box=box.upper(),
                                   slot=slot.upper(), status="in_box", owner=owner,
                                   authorisation=mask_text(note), taken_at=now,
                                   taken_by=actor.label))  # fmt: skip
            numbers.append(number)
        session.flush()
        audit.record_for(ctx, session, actor, "keys.taken", f"unit:{unit.code}",
                         {"keys": numbers, "box": box.upper(), "slot": slot.upper()})  # fmt: skip
        return numbers


def _accompanying(session: Session, number: str) -> str:
    staff = session.scalar(select(Staff).where(Staff.number == number.strip().upper()))
    if staff is None or not getattr(staff, "active", True):
        raise Refused(
            "keys.unaccompanied",
            "A viewing is accompanied by a staff member: enter their staff number.",
        )
    return f"{staff.number} {staff.name}"


def hand_out(
    ctx: KioskContext, actor: Actor, number: str, *, person: str, id_number: str, purpose: str,
    signature: Any, accompanied_by: str = "",
) -> KeyView:  # fmt: skip
    """Hand key ``number`` over: the person's name and ID (stored masked), why, and their
    signature. A viewing names the staff member who goes along and opens the door.

    Refused: a viewing without an accompanying staff member, no ID, an unknown purpose, an
    empty signature, a key not in its box (out already, or custody ended)."""
    require_role(actor, "hand a key over", *DESK_ROLES)
    if purpose not in PURPOSES:
        raise Refused("keys.purpose", "Say why the key goes out: viewing, contractor or owner.")
    person = _text(person, 100, "keys.person", "Enter who takes the key (at most {limit} characters).")  # fmt: skip
    if len(id_number.strip()) < 4:
        raise Refused("keys.id", "Check the person's ID and enter its number (it is kept masked).")
    strokes = require_signature(signature, PLUGIN)
    now = ctx.clock.now()
    with ctx.database().write() as session:
        key = _key(session, number)
        companion = ""
        if purpose == "viewing" or accompanied_by.strip():
            if not accompanied_by.strip():
                raise Refused(
                    "keys.unaccompanied",
                    "A viewing is accompanied by a staff member: enter their staff number.",
                )
            companion = _accompanying(session, accompanied_by)
        not_in_box = Refused(
            "keys.not_in_box", "Key {number} is not in its box.", number=key.number
        )
        _move(session, key, "in_box", "out", not_in_box)
        due = now + dt.timedelta(hours=max_out_hours(ctx))
        session.add(KeyHandover(
            key_id=key.id, person=person, id_masked=mask_id_number(id_number.strip())[:32],
            purpose=purpose, accompanied_by=companion, out_at=now, out_by=actor.label,
            out_strokes=strokes, out_png=to_png(strokes), due_back_at=due, back_by="",
        ))  # fmt: skip
        audit.record_for(ctx, session, actor, "keys.out", f"key:{key.number}",
                         {"purpose": purpose, "accompanied_by": companion})  # fmt: skip
        session.flush()
        return _views(ctx, session, CustodyKey.id == key.id)[0]


def hand_back(ctx: KioskContext, actor: Actor, number: str, signature: Any) -> KeyView:
    """Key ``number`` is back in its box; the person returning it signs."""
    require_role(actor, "take a key back", *DESK_ROLES)
    strokes = require_signature(signature, PLUGIN)
    now = ctx.clock.now()
    with ctx.database().write() as session:
        key = _key(session, number)
        not_out = Refused("keys.not_out", "Key {number} is not out.", number=key.number)
        _move(session, key, "out", "in_box", not_out)
        session.execute(
            update(KeyHandover).where(KeyHandover.key_id == key.id, KeyHandover.back_at.is_(None))
            .values(back_at=now, back_by=actor.label, back_strokes=strokes,
                    back_png=to_png(strokes))
        )  # fmt: skip
        audit.record_for(ctx, session, actor, "keys.back", f"key:{key.number}")
        return _views(ctx, session, CustodyKey.id == key.id)[0]


def _move(session: Session, key: CustodyKey, was: str, to: str, refusal: Refused) -> None:
    """Key ``key`` from status ``was`` to ``to``; ``refusal`` when it is no longer ``was`` (another
    desk moved it first)."""
    where = (CustodyKey.id == key.id, CustodyKey.status == was)
    change_once(session, update(CustodyKey).where(*where).values(status=to), refusal)


def _views(ctx: KioskContext, session: Session, *where: Any) -> list[KeyView]:
    now = ctx.clock.now()
    rows = session.execute(
        select(CustodyKey, Unit.code, KeyHandover)
        .join(Unit, Unit.id == CustodyKey.unit_id)
        .outerjoin(KeyHandover, (KeyHandover.key_id == CustodyKey.id)
                   & KeyHandover.back_at.is_(None))
        .where(*where).order_by(CustodyKey.number)
    ).all()  # fmt: skip
    out = []
    for k, code, h in rows:
        due = as_utc(h.due_back_at) if h is not None else None
        out.append(KeyView(
            k.number, code, k.label, k.box, k.slot, k.status,
            mask_name(h.person) if h is not None else "", h.purpose if h is not None else "",
            h.accompanied_by if h is not None else "",
            as_utc(h.out_at) if h is not None else None, due, due is not None and due < now,
        ))  # fmt: skip
    return out


def keys(ctx: KioskContext, unit_code: str = "") -> list[KeyView]:
    """Keys in custody (not given back to the owner), optionally of one unit (a unit that does
    not exist is refused: "no keys" would mislead)."""
    with ctx.database().read() as session:
        where = [CustodyKey.status != "returned"]
        if unit_code:
            where.append(CustodyKey.unit_id == unit_by_code(session, unit_code).id)
        return _views(ctx, session, *where)


def overdue(ctx: KioskContext) -> list[KeyView]:
    """Keys out longer than ``max_out_hours``."""
    return [k for k in keys(ctx) if k.overdue]


def alert_overdue(ctx: KioskContext, actor: Actor = SYSTEM) -> list[str]:
    """Raise one desk alert per key out too long (once per handover); returns the numbers.
    Run from the desk's panel and from cron (``kiosk keys sweep``)."""
    if actor.kind != "system":
        require_role(actor, "check keys out too long", *DESK_ROLES)
    now = ctx.clock.now()
    raised = []
    with ctx.database().write() as session:
        late = session.execute(
            select(KeyHandover.id, CustodyKey.number, Unit.code, KeyHandover.out_at)
            .join(CustodyKey, CustodyKey.id == KeyHandover.key_id)
            .join(Unit, Unit.id == CustodyKey.unit_id)
            .where(KeyHandover.back_at.is_(None), KeyHandover.due_back_at < now,
                   KeyHandover.alerted_at.is_(None))
        ).all()  # fmt: skip
        for hid, number, code, out_at in late:
            claimed = session.execute(
                update(KeyHandover).where(KeyHandover.id == hid, KeyHandover.alerted_at.is_(None))
                .values(alerted_at=now)
            ).rowcount  # type: ignore[attr-defined]  # fmt: skip
            if not claimed:
                continue
            raise_alert(session, "key_overdue", N_("key {number} of {unit} out since {since}: not back"),
                        params={"number": number, "unit": code, "since": ctx.local_time(out_at)},
                        at=now, lobby=ctx.lobby, kiosk_id=ctx.kiosk_id)  # fmt: skip
            audit.record_for(ctx, session, actor, "keys.overdue", f"key:{number}")
            raised.append(number)
    return raised


REGISTER_FIELDS = ["key", "unit", "label", "box", "slot", "owner", "authorisation", "taken_at",
                   "taken_by", "person", "id", "purpose", "accompanied_by", "out_at", "out_by",
                   "due_back_at", "back_at", "back_by", "signed"]  # fmt: skip


def register_csv(ctx: KioskContext, actor: Actor) -> str:
    """The custody register (钥匙委托管理清册) as CSV: one line per key and handover, names
    masked, ID numbers masked as stored."""
    require_role(actor, "export the key custody register", "butler", "manager")
    t = ctx.local_time
    with ctx.database().read() as session:
        rows = session.execute(
            select(CustodyKey, Unit.code, KeyHandover)
            .join(Unit, Unit.id == CustodyKey.unit_id)
            .outerjoin(KeyHandover, KeyHandover.key_id == CustodyKey.id)
            .order_by(CustodyKey.number, KeyHandover.id)
        ).all()  # fmt: skip
        lines = []
        for k, code, h in rows:
            line = [k.number, code, k.label, k.box, k.slot, mask_name(k.owner), k.authorisation,
                    t(k.taken_at), k.taken_by]  # fmt: skip
            if h is None:
                line += [""] * 10
            else:
                signed = "out" + (" back" if h.back_strokes else "")
                line += [mask_name(h.person), h.id_masked, h.purpose, h.accompanied_by,
                         t(h.out_at), h.out_by, t(h.due_back_at),
                         t(h.back_at) if h.back_at else "", h.back_by, signed]  # fmt: skip
            lines.append(line)
        return csv_text(REGISTER_FIELDS, lines)


# -- retention ---------------------------------------------------------------------------------

ANONYMOUS = "-"


def purge_in(session: Session, ctx: KioskContext, now: dt.datetime, dry_run: bool) -> list[Any]:
    """Handovers back more than ``[plugins.keys] retention_days`` (365) ago lose the person's
    name, masked ID and both signatures (``kiosk purge``); key, times, purpose and the
    accompanying staff member stay."""
    from kiosk.db.retention import anonymise
    from kiosk.hookspecs import PurgeCount

    days = whole_number(PLUGIN, ctx.settings.plugin(PLUGIN), "retention_days", 365)
    before = now - dt.timedelta(days=days)
    count = anonymise(
        session, KeyHandover,
        [KeyHandover.back_at < before, KeyHandover.person != ANONYMOUS],
        {"person": ANONYMOUS, "id_masked": "", "out_strokes": [], "out_png": b"",
         "back_strokes": None, "back_png": None}, dry_run,
    )  # fmt: skip
    return [PurgeCount(PLUGIN, "key_handover", count, before, days)]
