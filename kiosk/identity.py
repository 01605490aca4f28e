"""Who is at the kiosk: residents, staff, cards, PINs and lockout, roles.

PINs are hashed with ``hashlib.scrypt`` (the cost is stored in the hash). Wrong PINs count up;
after ``max_attempts`` the account is locked for ``lockout_minutes``. Login functions return a
result instead of raising so the caller's transaction commits the counter either way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from kiosk.clock import as_utc
from kiosk.config import StaffPolicy
from kiosk.db.models import Card, Resident, Staff, Unit
from kiosk.errors import PermissionDenied

SCRYPT_N = 2**14


@dataclass(frozen=True)
class Actor:
    """Who performs an action; every state-changing service function takes one."""

    kind: str  # "resident", "staff", "kiosk", "system"
    id: int | None = None
    name: str = ""
    roles: frozenset[str] = field(default_factory=frozenset)
    unit_id: int | None = None
    lobby: str = ""

    @property
    def label(self) -> str:
        """How the audit log names this actor, e.g. ``staff:3``."""
        return f"{self.kind}:{self.id}" if self.id is not None else self.kind

    @classmethod
    def of_staff(cls, staff: Staff) -> Actor:
        return cls("staff", staff.id, staff.name, staff.role_set, lobby=staff.lobby)

    @classmethod
    def of_resident(cls, resident: Resident) -> Actor:
        return cls("resident", resident.id, resident.name, frozenset(), unit_id=resident.unit_id)


SYSTEM = Actor("system")


def require_role(actor: Actor, action: str, *roles: str) -> None:
    """Refuse unless ``actor`` is staff holding one of ``roles`` (the manager holds all)."""
    if actor.kind == "system":
        return
    if actor.kind != "staff" or not (actor.roles & (set(roles) | {"manager"})):
        raise PermissionDenied(action, roles)


# -- PINs -----------------------------------------------------------------------------------


def hash_pin(pin: str, n: int = SCRYPT_N) -> str:
    """``scrypt$n$r$p$salt$hash`` with a fresh 16-byte salt."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=8, p=1, dklen=32)
    return f"scrypt${n}$8$1${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """Constant-time check of ``pin`` against a :func:`hash_pin` string."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = hashlib.scrypt(
            pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed.hex(), digest)


@dataclass(frozen=True)
class LoginResult:
    """Outcome of a PIN check. ``reason``: ok, unknown, wrong_pin, locked, inactive."""

    ok: bool
    reason: str
    remaining: int = 0
    locked_until: dt.datetime | None = None
    staff: Staff | None = None
    resident: Resident | None = None
    just_locked: bool = False  # this attempt triggered the lockout (alert once, not per try)


def _check_pin(
    holder: Staff | Resident, pin: str, now: dt.datetime, policy: StaffPolicy
) -> LoginResult:
    if holder.locked_until is not None and as_utc(holder.locked_until) > now:
        return LoginResult(False, "locked", locked_until=as_utc(holder.locked_until))
    if holder.pin_hash and verify_pin(pin, holder.pin_hash):
        holder.failed_attempts = 0
        holder.locked_until = None
        return LoginResult(True, "ok")
    holder.failed_attempts = (holder.failed_attempts or 0) + 1
    remaining = policy.max_attempts - holder.failed_attempts
    if remaining <= 0:
        holder.failed_attempts = 0
        holder.locked_until = now + dt.timedelta(minutes=policy.lockout_minutes)
        return LoginResult(False, "locked", locked_until=holder.locked_until, just_locked=True)
    return LoginResult(False, "wrong_pin", remaining=remaining)


def login_staff(
    session: Session, who: str, pin: str, now: dt.datetime, policy: StaffPolicy
) -> LoginResult:
    """Staff login by staff number or card (any printed form of its UID) plus PIN."""
    staff = session.scalar(select(Staff).where(Staff.number == who.strip()))
    if staff is None:
        card = find_card(session, who)
        if card is not None and card.staff_id is not None and card.status == "active":
            staff = session.get(Staff, card.staff_id)
    if staff is None:
        return LoginResult(False, "unknown")
    if not staff.active:
        return LoginResult(False, "inactive")
    return dataclasses.replace(_check_pin(staff, pin, now, policy), staff=staff)


def login_unit(
    session: Session, unit_code: str, pin: str, now: dt.datetime, policy: StaffPolicy
) -> LoginResult:
    """A resident identifies with unit + PIN (for those without a card at hand)."""
    unit = session.scalar(select(Unit).where(Unit.code == normalise_unit_code(unit_code)))
    if unit is None:
        return LoginResult(False, "unknown")
    residents = session.scalars(
        select(Resident)
        .where(Resident.unit_id == unit.id, Resident.active.is_(True), Resident.pin_hash != "")
        .order_by(Resident.id)
    ).all()
    if not residents:
        return LoginResult(False, "unknown")
    # The unit's PIN belongs to its first PIN holder (the owner in the demo); the lockout counts
    # on that person, so guessing cannot be spread across household members.
    holder = residents[0]
    for r in residents:
        if (
            r.pin_hash
            and verify_pin(pin, r.pin_hash)
            and not (r.locked_until is not None and as_utc(r.locked_until) > now)
        ):
            holder = r
            break
    result = _check_pin(holder, pin, now, policy)
    return LoginResult(
        result.ok, result.reason, result.remaining, result.locked_until, resident=holder
    )


_UNIT_RE = re.compile(r"^\s*(\w+)\s*[-#栋号/ ]\s*(\w+)\s*(?:室)?\s*$")


def normalise_unit_code(text: str) -> str:
    """``3-1205``, ``3栋1205``, ``3 1205`` -> ``3-1205``."""
    m = _UNIT_RE.match(text)
    return f"{m.group(1)}-{m.group(2)}".upper() if m else text.strip().upper()


# -- cards ----------------------------------------------------------------------------------


def card_forms(uid_hex: str) -> tuple[str, str, str]:
    """(hex, decimal, byte-reversed decimal) of a UID; decimals use the last 4 bytes, 10 digits,
    the way card faces print them (VECTORS.md: ``12345678`` -> ``0305419896`` / ``2018915346``)."""
    clean = re.sub(r"[^0-9A-Fa-f]", "", uid_hex).upper()
    raw = bytes.fromhex(clean if len(clean) % 2 == 0 else "0" + clean)
    last4 = raw[-4:]
    dec = f"{int.from_bytes(last4, 'big'):010d}"
    rev = f"{int.from_bytes(last4[::-1], 'big'):010d}"
    return clean, dec, rev


def find_card(session: Session, text: str, *, with_owner: bool = False) -> Card | None:
    """Find a card by raw UID (hex) or any printed form (decimal, reversed, printed number).

    ``with_owner`` loads its resident (and unit) or staff member in the same query: a tap
    needs them, and three round trips to the database cost more than the joins.
    """
    value = text.strip().replace(" ", "").upper()
    if not value:
        return None
    conditions = [Card.uid_hex == value, Card.printed_number == value]
    if value.isdigit():
        conditions += [Card.uid_dec == value.zfill(10), Card.uid_dec_rev == value.zfill(10)]
    if re.fullmatch(r"[0-9A-F]{8,20}", value):
        # The same chip read by another reader: an EM4100 frame carries 5 bytes where a 13.56 MHz
        # reader gives 4, so the last 4 bytes (what card faces print) identify it.
        conditions.append(Card.uid_dec == card_forms(value)[1])
    query = select(Card).where(or_(*conditions)).limit(1)
    if with_owner:
        query = query.options(
            joinedload(Card.resident).joinedload(Resident.unit), joinedload(Card.staff)
        )
    return session.scalars(query).first()


@dataclass(frozen=True)
class CardTapResult:
    """What the core knows about a tapped card, before plugins decide what it means."""

    uid: str
    known: bool
    card_id: int | None = None
    kind: str = ""
    status: str = ""
    resident_id: int | None = None
    resident_name: str = ""
    resident_language: str = ""
    unit_id: int | None = None
    unit_code: str = ""
    staff_id: int | None = None
    staff_name: str = ""


def identify_card(session: Session, uid: str) -> CardTapResult:
    """Look a tapped UID up; unknown cards come back with ``known=False``."""
    card = find_card(session, uid, with_owner=True)
    if card is None:
        return CardTapResult(uid=uid, known=False)
    resident = card.resident
    unit = resident.unit if resident is not None else None
    staff = card.staff
    return CardTapResult(
        uid=uid,
        known=True,
        card_id=card.id,
        kind=card.kind,
        status=card.status,
        resident_id=resident.id if resident else None,
        resident_name=resident.name if resident else "",
        resident_language=resident.language if resident else "",
        unit_id=unit.id if unit else None,
        unit_code=unit.code if unit else "",
        staff_id=staff.id if staff else None,
        staff_name=staff.name if staff else "",
    )


def new_card(uid_hex: str, kind: str, printed_number: str = "", **owner: int | None) -> Card:
    """A :class:`Card` with all its normalised forms filled in."""
    hexform, dec, rev = card_forms(uid_hex)
    return Card(
        uid_hex=hexform,
        uid_dec=dec,
        uid_dec_rev=rev,
        printed_number=printed_number or dec,
        kind=kind,
        **owner,
    )
