"""Item release passes (000 "物品放行"), headless.

Procedure: a resident asks for a pass for large items leaving the estate: who carries, what,
why (a move-out or carrying items out) and when; the applicant signs. When the applicant is
not the owner (a tenant, a relative, a helper) the butler phones the owner and records the
time and what the owner said; no owner's word, no pass. A move-out is released only when the
unit owes nothing (asked of billing through ``plugins.billing.api``; where billing does not
run, the butler checks with the cashier and confirms by hand). The butler approves and signs;
the pass is printed in two parts (archive copy and the customer's copy) with a signed QR. At
the gate the guard scans or types the code, signs, and the exit is recorded: a pass is used
once, and a forged, refused or expired code lets nothing out.

Race-prone steps are conditional updates: two desks approving one pass, or two gates
recording the same exit, cannot both succeed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

import plugins.billing.api as billing
from kiosk import audit, printing, signing
from kiosk.clock import as_utc
from kiosk.db.models import Resident, Unit
from kiosk.errors import Refused
from kiosk.export import csv_text, in_period
from kiosk.i18n import N_
from kiosk.identity import Actor, name_of, normalise_unit_code, require_role, unit_by_code
from kiosk.money import format_fen
from kiosk.pii import mask_name, mask_text
from kiosk.plugin_settings import whole_number
from kiosk.signatures import require_signature, to_png
from kiosk.writes import change_once
from plugins.releases.models import REASONS, ReleasePass, ReleaseSignature

if TYPE_CHECKING:
    from kiosk.context import KioskContext

PLUGIN = "releases"
DESK_ROLES = ("butler",)
GATE_ROLES = ("security", "butler")
REGISTER_ROLES = ("butler", "security", "manager")
PREFIX, KIND = "KR1", "release"
KEY_SETTING = (PLUGIN, "pass_key", "KIOSK_RELEASE_PASS_KEY")
OWNER = "owner"


def pass_key(ctx: KioskContext) -> bytes:
    """``[plugins.releases] pass_key`` or ``KIOSK_RELEASE_PASS_KEY`` (else the development key)."""
    return signing.signing_key(ctx.settings, *KEY_SETTING)


def valid_days(ctx: KioskContext) -> int:
    """How many days after its leaving day a pass still opens the gate (0: that day only)."""
    return whole_number(PLUGIN, ctx.settings.plugin(PLUGIN), "valid_days", 0)


@dataclass(frozen=True)
class PassView:
    """A pass as the screens, the CLI and the slip show it (the applicant's name masked)."""

    id: int
    number: str
    unit_code: str
    applicant: str
    applicant_role: str
    carrier: str
    items: str
    reason: str
    leave_on: dt.date | None
    status: str
    owner_confirmed: bool
    owner_note: str
    fees_check: str
    approved_by: str
    expires_at: dt.datetime | None
    exited_at: dt.datetime | None
    guard: str
    qr: str  # the signed payload, once approved


def number_of(pass_id: int) -> str:
    return f"FX{pass_id:06d}"


def _view(ctx: KioskContext, p: ReleasePass, unit_code: str) -> PassView:
    qr = signing.sign(pass_key(ctx), PREFIX, KIND, p.code) if p.status == "approved" else ""
    return PassView(
        p.id, number_of(p.id), unit_code, mask_name(p.applicant), p.applicant_role,
        mask_name(p.carrier), p.items, p.reason, p.leave_on, p.status,
        p.owner_confirmed_at is not None, p.owner_note, p.fees_check, p.approved_by,
        as_utc(p.expires_at) if p.expires_at else None,
        as_utc(p.exited_at) if p.exited_at else None, p.guard, qr,
    )  # fmt: skip


def _pass(session: Session, pass_id: int) -> tuple[ReleasePass, str]:
    row = session.execute(
        select(ReleasePass, Unit.code).join(Unit, Unit.id == ReleasePass.unit_id)
        .where(ReleasePass.id == pass_id)
    ).first()  # fmt: skip
    if row is None:
        raise Refused("releases.unknown", "There is no release pass {number}.",
                      number=number_of(pass_id))  # fmt: skip
    return row[0], row[1]


def _decide(session: Session, p: ReleasePass, **values: Any) -> None:
    """Move a pass waiting for the desk on (owner confirmed, approved, refused), once."""
    change_once(
        session,
        update(ReleasePass).where(ReleasePass.id == p.id, ReleasePass.status == "requested")
        .values(**values),
        Refused("releases.not_requested", "Pass {number} is no longer waiting.",
                number=number_of(p.id)),
    )  # fmt: skip


def _sign(session: Session, now: dt.datetime, p: ReleasePass, signer: str, name: str,
          strokes: Any) -> None:  # fmt: skip
    clean = require_signature(strokes, PLUGIN)
    session.add(ReleaseSignature(pass_id=p.id, signer=signer, name=name, signed_at=now,
                                 strokes=clean, png=to_png(clean)))  # fmt: skip


def _text(value: str, limit: int, code: str, message: str) -> str:
    text = " ".join(value.split())
    if not text or len(text) > limit:
        raise Refused(code, message, limit=limit)
    return text


# -- the request ------------------------------------------------------------------------------


def request_pass(
    ctx: KioskContext, actor: Actor, *, carrier: str, items: str, reason: str,
    leave_on: dt.date | None, signature: Any, unit_code: str = "", applicant: str = "",
) -> PassView:  # fmt: skip
    """A resident (card tap or unit + PIN) asks for a pass for their unit, and signs. The desk
    may file one for a resident who came to the counter (``unit_code``, ``applicant``).

    Refused: someone who is not a resident of the unit, no carrier or items, an unknown reason,
    a leaving day in the past, an empty signature."""
    if actor.kind == "staff":
        require_role(actor, "file an item release pass", *DESK_ROLES)
    elif actor.kind != "resident":
        raise Refused("releases.not_resident",
                      "Release passes are for residents. Please tap your card first.")  # fmt: skip
    carrier = _text(
        carrier, 100, "releases.carrier", "Say who carries the items (at most {limit} characters)."
    )
    items = _text(items, 500, "releases.items", "List the items that leave (at most {limit} characters).")  # fmt: skip
    if reason not in REASONS:
        raise Refused("releases.reason", "Say whether this is a move-out or items carried out.")
    if leave_on is not None and leave_on < ctx.today():
        raise Refused("releases.leave_on", "The leaving day {day} is in the past.", day=leave_on)
    now = ctx.clock.now()
    resident_id: int | None  # None: an applicant the desk found no resident for
    with ctx.database().write() as session:
        if actor.kind == "resident":
            resident = session.get(Resident, actor.id)
            if resident is None or not resident.active:
                raise Refused("releases.not_resident",
                              "Release passes are for residents. Please tap your card first.")  # fmt: skip
            unit = unit_by_code(session, resident.unit_id)
            name, role, resident_id = resident.name, resident.role, resident.id
        else:
            unit = unit_by_code(session, unit_code)
            name = _text(applicant, 100, "releases.applicant", "Enter the applicant's name (at most {limit} characters).")  # fmt: skip
            found = session.scalar(
                select(Resident).where(Resident.unit_id == unit.id, Resident.name == name,
                                       Resident.active.is_(True))
            )  # fmt: skip
            role, resident_id = (found.role, found.id) if found else ("other", None)
        p = ReleasePass(
            code=secrets.token_hex(5), unit_id=unit.id, resident_id=resident_id, applicant=name,
            applicant_role=role, carrier=carrier, items=mask_text(items), reason=reason,
            leave_on=leave_on or ctx.today(), requested_at=now, requested_kiosk=ctx.kiosk_id,
            status="requested", owner_confirmed_at=now if role == OWNER else None,
            owner_note="the owner applied" if role == OWNER else "",
        )  # fmt: skip
        session.add(p)
        session.flush()
        _sign(session, now, p, "applicant", name, signature)
        audit.record_for(ctx, session, actor, "release.requested", f"release_pass:{p.id}",
                         {"unit": unit.code, "reason": reason, "role": role})  # fmt: skip
        return _view(ctx, p, unit.code)


def confirm_owner(ctx: KioskContext, actor: Actor, pass_id: int, note: str) -> PassView:
    """The butler phoned the owner, who agreed: the time of the call and what the owner said
    are written on the pass (for a tenant's, a relative's or a helper's pass)."""
    require_role(actor, "record the owner's confirmation", *DESK_ROLES)
    said = _text(note, 200, "releases.owner_note",
                 "Write what the owner said on the phone (at most {limit} characters).")  # fmt: skip
    now = ctx.clock.now()
    with ctx.database().write() as session:
        p, code = _pass(session, pass_id)
        _decide(session, p, owner_confirmed_at=now, owner_note=mask_text(said))
        audit.record_for(ctx, session, actor, "release.owner_confirmed", f"release_pass:{p.id}")
        session.refresh(p)
        return _view(ctx, p, code)


def fees_open(ctx: KioskContext, pass_id: int) -> int | None:
    """What the pass's unit still owes (billing), or None where billing does not run here."""
    if not billing.available(ctx):
        return None
    with ctx.database().read() as session:
        p, _code = _pass(session, pass_id)
        return billing.unit_open_fen(session, p.unit_id)


def approve(
    ctx: KioskContext, actor: Actor, pass_id: int, signature: Any, *,
    fees_cleared_by_hand: bool = False,
) -> PassView:  # fmt: skip
    """The butler approves and signs; the pass is printed (two parts) with its signed QR.

    Refused: the owner has not confirmed (a non-owner's pass); a move-out while the unit owes
    anything (billing), or, where billing does not run, before the butler confirms by hand
    that the fees are cleared; a pass no longer waiting (another desk approved it)."""
    require_role(actor, "approve an item release pass", *DESK_ROLES)
    now = ctx.clock.now()
    with ctx.database().write() as session:
        p, code = _pass(session, pass_id)
        if p.status != "requested":
            raise Refused("releases.not_requested", "Pass {number} is no longer waiting.",
                          number=number_of(p.id))  # fmt: skip
        if p.owner_confirmed_at is None:
            raise Refused(
                "releases.owner",
                "The owner has not confirmed pass {number}: phone the owner first.",
                number=number_of(p.id),
            )
        fees = ""
        if p.reason == "move_out":
            if billing.available(ctx):
                owed = billing.unit_open_fen(session, p.unit_id)
                if owed:
                    raise Refused(
                        "releases.fees_open",
                        "Unit {unit} still owes {amount}: a move-out leaves only when all fees "
                        "are paid.",
                        unit=code,
                        amount=format_fen(owed),
                    )
                fees = "billing"
            elif not fees_cleared_by_hand:
                raise Refused(
                    "releases.fees_by_hand",
                    "Billing does not run here: check with the cashier that unit {unit} owes "
                    "nothing, then confirm the fees are cleared.",
                    unit=code,
                )
            else:
                fees = "by_hand"
        last = (p.leave_on or ctx.today()) + dt.timedelta(days=valid_days(ctx) + 1)
        expires = dt.datetime.combine(last, dt.time(), tzinfo=ctx.zone).astimezone(dt.UTC)
        _decide(session, p, status="approved", approved_by=actor.label, approved_at=now,
                expires_at=expires, fees_check=fees)  # fmt: skip
        session.refresh(p)
        _sign(session, now, p, "butler", actor.label, signature)
        audit.record_for(ctx, session, actor, "release.approved", f"release_pass:{p.id}",
                         {"fees_check": fees, "expires_at": expires.isoformat()})  # fmt: skip
        view = _view(ctx, p, code)
        # The slip names the butler as people know them, not the record's "staff:1".
        shown = dataclasses.replace(view, approved_by=name_of(session, view.approved_by))
        for part in ("archive", "customer"):
            printing.queue(
                session,
                pass_slip(ctx, shown, part),
                kind="release_pass",
                at=now,
                kiosk_id=ctx.kiosk_id,
            )
        return view


def refuse(ctx: KioskContext, actor: Actor, pass_id: int, reason: str) -> PassView:
    """The butler turns a request down (the owner said no, could not be reached, fees open)."""
    require_role(actor, "refuse an item release pass", *DESK_ROLES)
    why = _text(reason, 200, "releases.refuse_reason", "Say why (at most {limit} characters).")
    with ctx.database().write() as session:
        p, code = _pass(session, pass_id)
        _decide(session, p, status="refused", refused_reason=mask_text(why))
        audit.record_for(ctx, session, actor, "release.refused", f"release_pass:{p.id}")
        session.refresh(p)
        return _view(ctx, p, code)


def pass_slip(ctx: KioskContext, view: PassView, part: str = "customer") -> Any:
    """The printed 物品放行条: archive copy for the desk, the customer's copy for the guard."""
    from devices.printer import Receipt
    from kiosk.i18n import _

    return (
        Receipt()
        .title(_("Item release pass"))
        .text(_("Archive copy") if part == "archive" else _("Customer copy: hand it to the guard"))
        .row(_("Pass"), view.number)
        .row(_("Unit"), view.unit_code)
        .row(_("Applicant"), view.applicant)
        .row(_("Carried by"), view.carrier)
        .row(_("Reason"), _(reason_label(view.reason)))
        .text(_("Items: {items}").format(items=view.items))
        .row(_("Approved by"), view.approved_by)
        .row(_("Valid until"), ctx.local_time(view.expires_at) if view.expires_at else "")
        .qr(view.qr)
        .text(view.qr, align="center")
        .cut()
    )


REASON_LABELS = {"move_out": N_("Move-out"), "temporary": N_("Items carried out")}
STATUS_LABELS = {"requested": N_("waiting"), "approved": N_("approved"), "used": N_("used"),
                 "refused": N_("refused")}  # fmt: skip


def reason_label(reason: str) -> str:
    """The msgid for a reason code (the desk shows no raw codes)."""
    return REASON_LABELS.get(reason, reason)


def status_label(status: str) -> str:
    """The msgid for a status code."""
    return STATUS_LABELS.get(status, status)


# -- the gate ---------------------------------------------------------------------------------


def _scanned(ctx: KioskContext, session: Session, text: str) -> tuple[ReleasePass, str]:
    ident = signing.verify(pass_key(ctx), PREFIX, KIND, text)
    row = None
    if ident is not None:
        row = session.execute(
            select(ReleasePass, Unit.code).join(Unit, Unit.id == ReleasePass.unit_id)
            .where(ReleasePass.code == ident.lower())
        ).first()  # fmt: skip
    if row is None and re.fullmatch(r"\s*FX\d{1,9}\s*", text, flags=re.IGNORECASE):
        # The number printed at the top cannot prove the paper is genuine; the signed code can.
        raise Refused(
            "releases.number_typed",
            "{number} is the pass number: scan the QR on the pass, or type the code printed "
            "under it (KR1...).",
            number=text.strip().upper(),
        )
    if row is None:
        raise Refused("releases.forged", "This is not a valid release pass. Nothing may leave.")
    p, code = row[0], row[1]
    if p.status == "used":
        raise Refused(
            "releases.used",
            "Pass {number} was already used at {time}: a pass lets items out once.",
            number=number_of(p.id),
            time=ctx.local_time(p.exited_at) if p.exited_at else "",
        )
    if p.status != "approved":
        raise Refused("releases.not_approved", "Pass {number} is not approved. Nothing may leave.",
                      number=number_of(p.id))  # fmt: skip
    if p.expires_at is not None and as_utc(p.expires_at) <= ctx.clock.now():
        raise Refused("releases.expired", "Pass {number} expired at {time}. Send them to the desk.",
                      number=number_of(p.id), time=ctx.local_time(p.expires_at))  # fmt: skip
    return p, code


def check_pass(ctx: KioskContext, actor: Actor, text: str) -> PassView:
    """The guard scans or types the code: what may leave, or why nothing may (no change)."""
    require_role(actor, "check an item release pass", *GATE_ROLES)
    with ctx.database().read() as session:
        p, code = _scanned(ctx, session, text)
        return _view(ctx, p, code)


def record_exit(ctx: KioskContext, actor: Actor, text: str, signature: Any) -> PassView:
    """The guard checked the items against the pass, signs, and the exit is recorded: the
    pass is used up (two gates scanning it at once: one succeeds)."""
    require_role(actor, "record an exit", *GATE_ROLES)
    now = ctx.clock.now()
    with ctx.database().write() as session:
        p, code = _scanned(ctx, session, text)
        change_once(
            session,
            update(ReleasePass).where(ReleasePass.id == p.id, ReleasePass.status == "approved")
            .values(status="used", exited_at=now, guard=actor.label),
            Refused("releases.used", "Pass {number} was already used at {time}: a pass "
                    "lets items out once.", number=number_of(p.id), time=""),
        )  # fmt: skip
        session.refresh(p)
        _sign(session, now, p, "guard", actor.label, signature)
        audit.record_for(ctx, session, actor, "release.exited", f"release_pass:{p.id}",
                         {"unit": code})  # fmt: skip
        return _view(ctx, p, code)


# -- lists and the register ---------------------------------------------------------------------


def _list(ctx: KioskContext, *where: Any, limit: int = 50) -> list[PassView]:
    with ctx.database().read() as session:
        rows = session.execute(
            select(ReleasePass, Unit.code).join(Unit, Unit.id == ReleasePass.unit_id)
            .where(*where).order_by(ReleasePass.id.desc()).limit(limit)
        ).all()  # fmt: skip
        return [_view(ctx, p, code) for p, code in rows]


def waiting(ctx: KioskContext) -> list[PassView]:
    """Requests waiting for the butler, oldest first."""
    return list(reversed(_list(ctx, ReleasePass.status == "requested")))


def approved(ctx: KioskContext) -> list[PassView]:
    """Approved passes the gate has not seen yet (the guard's list)."""
    return _list(ctx, ReleasePass.status == "approved")


def passes_of(ctx: KioskContext, actor: Actor) -> list[PassView]:
    """The household's recent passes (what the kiosk screen lists)."""
    if actor.unit_id is None:
        return []
    return _list(ctx, ReleasePass.unit_id == actor.unit_id, limit=5)


def recent_of_unit(ctx: KioskContext, unit_code: str, limit: int = 3) -> list[PassView]:
    """A unit's latest passes (the household file's section)."""
    return _list(ctx, Unit.code == normalise_unit_code(unit_code), limit=limit)


REGISTER_FIELDS = ["pass", "unit", "applicant", "role", "carrier", "items", "reason",
                   "leave_on", "requested_at", "owner_confirmed_at", "owner_note", "fees_check",
                   "status", "approved_by", "approved_at", "expires_at", "exited_at", "guard",
                   "signatures"]  # fmt: skip


def register_csv(
    ctx: KioskContext, actor: Actor, since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> str:  # fmt: skip
    """The pass register (物品放行条存档) as CSV, names masked, who signed listed."""
    require_role(actor, "export the release pass register", *REGISTER_ROLES)
    with ctx.database().read() as session:
        q = (
            select(ReleasePass, Unit.code).join(Unit, Unit.id == ReleasePass.unit_id)
            .order_by(ReleasePass.id)
        )  # fmt: skip
        q = in_period(q, ReleasePass.requested_at, since, until)
        signed: dict[int, list[str]] = {}
        for pid, signer in session.execute(
            select(ReleaseSignature.pass_id, ReleaseSignature.signer).order_by(ReleaseSignature.id)
        ):
            signed.setdefault(pid, []).append(signer)
        t = ctx.local_time
        rows = (
            [
                number_of(p.id), code, mask_name(p.applicant), p.applicant_role,
                mask_name(p.carrier), p.items, p.reason, p.leave_on or "", t(p.requested_at),
                t(p.owner_confirmed_at) if p.owner_confirmed_at else "", p.owner_note,
                p.fees_check, p.status, p.approved_by, t(p.approved_at) if p.approved_at else "",
                t(p.expires_at) if p.expires_at else "", t(p.exited_at) if p.exited_at else "",
                p.guard, " ".join(signed.get(p.id, [])),
            ]
            for p, code in session.execute(q)
        )  # fmt: skip
        return csv_text(REGISTER_FIELDS, rows)


# -- retention ---------------------------------------------------------------------------------

ANONYMOUS = "-"


def purge_in(session: Session, ctx: KioskContext, now: dt.datetime, dry_run: bool) -> list[Any]:
    """Passes closed (used, refused, or expired unused) more than ``[plugins.releases]
    retention_days`` (365) ago lose the applicant's and carrier's names, the owner's words and
    the three signatures (``kiosk purge``); unit, items, reason, dates and who approved stay."""
    from sqlalchemy import and_, or_

    from kiosk.db.retention import anonymise, counted

    days = whole_number(PLUGIN, ctx.settings.plugin(PLUGIN), "retention_days", 365)
    before = now - dt.timedelta(days=days)
    closed = or_(
        and_(ReleasePass.status == "used", ReleasePass.exited_at < before),
        and_(ReleasePass.status == "refused", ReleasePass.requested_at < before),
        and_(ReleasePass.status == "approved", ReleasePass.expires_at < before),
    )
    old = select(ReleasePass.id).where(closed)
    signatures = anonymise(
        session, ReleaseSignature,
        [ReleaseSignature.pass_id.in_(old), ReleaseSignature.name != ANONYMOUS],
        {"name": ANONYMOUS, "strokes": [], "png": b""}, dry_run,
    )  # fmt: skip
    passes = anonymise(
        session, ReleasePass, [closed, ReleasePass.applicant != ANONYMOUS],
        {"applicant": ANONYMOUS, "carrier": ANONYMOUS, "owner_note": ""}, dry_run,
    )  # fmt: skip
    return counted(PLUGIN, before, days, release_pass=passes, release_signature=signatures)
