"""Who is at the kiosk: residents, staff, cards, PINs and lockout, roles.

PINs are hashed with ``hashlib.scrypt`` (the cost is stored in the hash) and set through
:func:`set_pin` (digits, at least ``pin_min_length``). Wrong PINs count up against what is
guessed at -- the unit (whichever holder's PIN), a staff account at a kiosk -- and against the
kiosk's keypad (kiosk.throttle); after ``max_attempts`` the account is locked for
``lockout_minutes``, doubling with each lockout in a row. Login functions return a result
instead of raising so the caller's transaction commits the counters either way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, bindparam, func, or_, select
from sqlalchemy.orm import Session

from kiosk import throttle
from kiosk.config import StaffPolicy
from kiosk.db import direct
from kiosk.db.models import Card, LoginGuard, Resident, Staff, Unit, role_set_of
from kiosk.errors import PermissionDenied, Refused

SCRYPT_N = 2**14
MAX_PIN_LENGTH = 12


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


def new_pin_problem(pin: str, policy: StaffPolicy) -> Refused | None:
    """Why ``pin`` may not be set as a PIN (digits only, at least ``pin_min_length``), or None."""
    if not pin.isascii() or not pin.isdigit():
        return Refused("pin.digits", "A PIN is digits only.")
    if len(pin) < policy.pin_min_length:
        return Refused(
            "pin.too_short", "A PIN needs at least {min} digits.", min=policy.pin_min_length
        )
    if len(pin) > MAX_PIN_LENGTH:
        return Refused("pin.too_long", "A PIN has at most {max} digits.", max=MAX_PIN_LENGTH)
    return None


def set_pin(holder: Staff | Resident, pin: str, policy: StaffPolicy, n: int = SCRYPT_N) -> None:
    """Give ``holder`` a new PIN; refuses one the policy does not allow (too short, not digits)."""
    problem = new_pin_problem(pin, policy)
    if problem is not None:
        raise problem
    holder.pin_hash = hash_pin(pin, n)


# An unknown staff number is checked against this hash of no PIN at the default cost: one
# scrypt, like a known number, and the same answer. (Its digest matches no known PIN; an
# unknown number is refused whatever the check says.)
_DUMMY_HASH = f"scrypt${SCRYPT_N}$8$1${'5a' * 16}${'00' * 32}"


@dataclass(frozen=True)
class LoginResult:
    """Outcome of a PIN check. ``reason``: ok, unknown (unit), wrong_pin, locked (the account),
    throttled (this kiosk makes the next try wait until ``locked_until``).

    ``account`` names what was guessed at for the audit (``unit:3-1205``, ``staff:S001``,
    ``staff:?``); ``detail`` the real reason behind a staff refusal (unknown, inactive,
    wrong_pin), which the person at the keypad is not told; ``keypad`` this kiosk's failure
    count after this attempt.
    """

    ok: bool
    reason: str
    remaining: int = 0
    locked_until: dt.datetime | None = None
    staff: Staff | None = None
    resident: Resident | None = None
    just_locked: bool = False  # this attempt triggered the lockout (alert once, not per try)
    account: str = ""
    detail: str = ""
    keypad: throttle.KeypadFailure | None = None


def _keypad_failed(
    keypad: LoginGuard, now: dt.datetime, account: str, policy: StaffPolicy
) -> throttle.KeypadFailure:
    return throttle.keypad_failed(
        keypad,
        now,
        account,
        free=policy.kiosk_free_failures,
        window_minutes=policy.kiosk_window_minutes,
        spray_accounts=policy.spray_accounts,
    )


def _while_locked(
    g: LoginGuard,
    keypad: LoginGuard,
    now: dt.datetime,
    account: str,
    policy: StaffPolicy,
    staff: Staff | None = None,
) -> LoginResult | None:
    """The refusal of a try while the account is locked (None when it is not): no PIN is
    checked, and the try still counts against this kiosk's keypad."""
    until = throttle.locked_until(g, now)
    if until is None:
        return None
    return LoginResult(
        False,
        "locked",
        locked_until=until,
        staff=staff,
        account=account,
        detail="locked",
        keypad=_keypad_failed(keypad, now, account, policy),
    )


def _wrong_pin(
    g: LoginGuard,
    keypad: LoginGuard,
    now: dt.datetime,
    account: str,
    policy: StaffPolicy,
    detail: str,
    staff: Staff | None = None,
) -> LoginResult:
    """A refused PIN, counted against the account and this kiosk's keypad: a lock when it was
    one too many, else the tries left."""
    just_locked = _account_failed(g, now, policy)
    kf = _keypad_failed(keypad, now, account, policy)
    if just_locked:
        return LoginResult(
            False,
            "locked",
            locked_until=throttle.locked_until(g, now),
            staff=staff,
            just_locked=True,
            account=account,
            detail=detail,
            keypad=kf,
        )
    return LoginResult(
        False,
        "wrong_pin",
        remaining=policy.max_attempts - g.failures,
        staff=staff,
        account=account,
        detail=detail,
        keypad=kf,
    )


def _account_failed(g: LoginGuard, now: dt.datetime, policy: StaffPolicy) -> bool:
    return throttle.account_failed(
        g, now, policy.max_attempts, policy.lockout_minutes, policy.lockout_max_minutes
    )


def _staff_as_typed(session: Session, who: str) -> Staff | None:
    """The member of staff whose number ``who`` is as a person types it: in any case (``s001``
    is S001), or its digits alone on the lobby's touch keypad, which has no letters (``1`` or
    ``001`` is S001 when no other staff number has those digits)."""
    typed = who.strip().upper()
    if not typed or len(typed) > 32:
        return None
    if not typed.isdigit():
        same = session.scalars(select(Staff).where(func.upper(Staff.number) == typed)).all()
    else:
        value = int(typed)
        near = session.scalars(select(Staff).where(Staff.number.like(f"%{value}"))).all()
        same = [s for s in near if (d := re.sub(r"\D", "", s.number)) and int(d) == value]
    return same[0] if len(same) == 1 else None


def login_staff(
    session: Session,
    who: str,
    pin: str,
    now: dt.datetime,
    policy: StaffPolicy,
    kiosk_id: str = "",
) -> LoginResult:
    """Staff login by staff number or card (any printed form of its UID) plus PIN.

    An unknown staff number, an inactive account and a wrong PIN get the same answer after the
    same work (one scrypt check), and each locks after ``max_attempts``: the keypad does not
    tell which staff numbers exist. Lockouts are per account *and kiosk*, so nobody can keep a
    member of staff out of every desk by typing wrong PINs at one kiosk.
    """
    keypad = throttle.guard(session, "keypad", kiosk_id)
    wait = throttle.locked_until(keypad, now)
    if wait is not None:
        return LoginResult(False, "throttled", locked_until=wait, account="staff:?")
    staff = session.scalar(select(Staff).where(Staff.number == who.strip()))
    if staff is None:
        card = find_card(session, who)
        if card is not None and card.staff_id is not None and card.status == "active":
            staff = session.get(Staff, card.staff_id)
    if staff is None:
        staff = _staff_as_typed(session, who)
    if staff is not None:
        account, key = f"staff:{staff.number}", f"{kiosk_id}|staff:{staff.id}"
    else:
        account, key = "staff:?", f"{kiosk_id}|who:{who.strip().upper()[:64]}"
    g = throttle.guard(session, "staff", key)
    locked = _while_locked(g, keypad, now, account, policy, staff)
    if locked is not None:
        return locked
    stored = staff.pin_hash if staff is not None and staff.pin_hash else _DUMMY_HASH
    good = verify_pin(pin, stored)
    if staff is not None and staff.active and good:
        throttle.account_succeeded(g)
        return LoginResult(True, "ok", staff=staff, account=account)
    detail = "unknown" if staff is None else "inactive" if not staff.active else "wrong_pin"
    return _wrong_pin(g, keypad, now, account, policy, detail, staff)


def login_unit(
    session: Session,
    unit_code: str,
    pin: str,
    now: dt.datetime,
    policy: StaffPolicy,
    kiosk_id: str = "",
) -> LoginResult:
    """A resident identifies with unit + PIN (for those without a card at hand).

    A unit may have several PIN holders; the lockout is the unit's, not a holder's: every wrong
    PIN counts against the unit, and while it is locked no holder's PIN opens it.
    """
    keypad = throttle.guard(session, "keypad", kiosk_id)
    wait = throttle.locked_until(keypad, now)
    if wait is not None:
        return LoginResult(False, "throttled", locked_until=wait, account="unit:?")
    unit = session.scalar(select(Unit).where(Unit.code == normalise_unit_code(unit_code)))
    residents = (
        session.scalars(
            select(Resident)
            .where(Resident.unit_id == unit.id, Resident.active.is_(True), Resident.pin_hash != "")
            .order_by(Resident.id)
        ).all()
        if unit is not None
        else []
    )
    if unit is None or not residents:
        account = "unit:?" if unit is None else f"unit:{unit.code}"
        return LoginResult(
            False,
            "unknown",
            account=account,
            detail="unknown",
            keypad=_keypad_failed(keypad, now, account, policy),
        )
    account = f"unit:{unit.code}"
    g = throttle.guard(session, "unit", str(unit.id))
    locked = _while_locked(g, keypad, now, account, policy)
    if locked is not None:
        return locked
    holder = next((r for r in residents if verify_pin(pin, r.pin_hash)), None)
    if holder is not None:
        throttle.account_succeeded(g)
        return LoginResult(True, "ok", resident=holder, account=account)
    return _wrong_pin(g, keypad, now, account, policy, "wrong_pin")


_UNIT_RE = re.compile(r"^\s*(\w+)\s*[-#栋号/ ]\s*(\w+)\s*(?:室)?\s*$")


def name_of(session: Session, label: str) -> str:
    """An actor's label (:attr:`Actor.label`, as records store it) the way staff read it on a
    slip or a screen: ``staff:3`` becomes ``李管家 (S001)``; any other label is kept."""
    kind, _, ident = label.partition(":")
    if kind == "staff" and ident.isdigit():
        staff = session.get(Staff, int(ident))
        if staff is not None:
            return f"{staff.name} ({staff.number})"
    return label


def normalise_unit_code(text: str) -> str:
    """``3-1205``, ``3栋1205``, ``3 1205`` -> ``3-1205``."""
    m = _UNIT_RE.match(text)
    return f"{m.group(1)}-{m.group(2)}".upper() if m else text.strip().upper()


def unit_by_code(session: Session, unit_code: str | int) -> Unit:
    """The unit a person typed (any form :func:`normalise_unit_code` reads) or a unit's id, or
    the one refusal every service gives for a unit that does not exist (code ``unit.unknown``)."""
    if isinstance(unit_code, int):
        unit = session.get(Unit, unit_code)
    else:
        unit = session.scalar(select(Unit).where(Unit.code == normalise_unit_code(unit_code)))
    if unit is None:
        raise Refused("unit.unknown", "There is no unit {unit}.", unit=str(unit_code).strip())
    return unit


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


class AmbiguousCard(Refused):
    """A typed or printed card number that reads as two different cards: the desk decides."""

    def __init__(self, text: str, card_ids: list[int]) -> None:
        super().__init__(
            "card_ambiguous",
            "This card number matches more than one card. Please see the desk.",
            number=text,
        )
        self.text = text
        self.card_ids = card_ids


# Wiegand-26 "facility,number" as printed on fobs: 123,45678 / 123,045678 / 123/45678.
_W26_PAIR = re.compile(r"^(\d{1,3})[,/](\d{1,6})$")
_HEX_SEPARATORS = re.compile(r"[:\-]")


def wiegand26_suffix(text: str) -> str | None:
    """The hex of the 3 bytes a Wiegand-26 reader reports (facility + number) for a printed
    ``facility,number`` pair (leading zeros allowed) or the 8 digits ``FFFNNNNN`` some fobs
    print without the comma; None when ``text`` is neither or out of range."""
    m = _W26_PAIR.match(text)
    if m is None and len(text) == 8 and text.isascii() and text.isdigit():
        m = re.match(r"^(\d{3})(\d{5})$", text)
    if m is None:
        return None
    facility, number = int(m.group(1)), int(m.group(2))
    if facility > 255 or number > 65535:
        return None
    return f"{facility:02X}{number:04X}"


def _card_match(with_suffix: bool) -> Any:
    """The one WHERE clause every card lookup uses, built once: each printed form is a bound
    parameter, None where ``text`` cannot be that form (``= NULL`` matches nothing). The
    Wiegand-26 suffixes (``LIKE '%...'``, which no index serves) are in a second variant, for
    the six-hex-digit and facility,number forms only."""
    forms = [
        Card.printed_number == bindparam("printed", type_=String),
        Card.uid_hex == bindparam("hex", type_=String),
        Card.uid_dec == bindparam("dec", type_=String),
        Card.uid_dec_rev == bindparam("dec", type_=String),
        Card.uid_dec == bindparam("tail_dec", type_=String),
    ]
    if with_suffix:
        forms += [
            Card.uid_hex.like(bindparam("suffix_a", type_=String)),
            Card.uid_hex.like(bindparam("suffix_b", type_=String)),
        ]
    return or_(*forms)


_MATCH = {with_suffix: _card_match(with_suffix) for with_suffix in (False, True)}
_FIND = {k: select(Card).where(m).order_by(Card.id).limit(20) for k, m in _MATCH.items()}
# A tap needs the card and its owner's few columns, not three loaded objects.
_TAP_COLUMNS = (
    Card.id,
    Card.uid_hex,
    Card.kind,
    Card.status,
    Resident.id.label("resident_id"),
    Resident.name.label("resident_name"),
    Resident.language,
    Resident.active.label("resident_active"),
    Unit.id.label("unit_id"),
    Unit.code.label("unit_code"),
    Staff.id.label("staff_id"),
    Staff.name.label("staff_name"),
    Staff.roles,
    Staff.lobby,
    Staff.active.label("staff_active"),
)
_TAP = {
    k: select(*_TAP_COLUMNS)
    .outerjoin(Resident, Resident.id == Card.resident_id)
    .outerjoin(Unit, Unit.id == Resident.unit_id)
    .outerjoin(Staff, Staff.id == Card.staff_id)
    .where(m)
    .order_by(Card.id)
    .limit(20)
    for k, m in _MATCH.items()
}


def _card_forms_of(text: str) -> tuple[str, dict[str, str | None]] | None:
    """The hex form of ``text`` (or "") and the parameters of :data:`_MATCH`; None when
    ``text`` cannot be a card."""
    value = text.strip().replace(" ", "").upper()
    if not value or len(value) > 64:
        return None
    hex_value = _HEX_SEPARATORS.sub("", value)
    if hex_value.startswith("0X"):
        hex_value = hex_value[2:]
    is_hex = re.fullmatch(r"[0-9A-F]+", hex_value) is not None
    params: dict[str, str | None] = {
        "printed": value,
        "hex": hex_value if is_hex else None,
        "dec": value.zfill(10)
        if value.isascii() and value.isdigit() and len(value) <= 20
        else None,
        # The same chip read by another reader: an EM4100 frame carries 5 bytes where a
        # 13.56 MHz reader gives 4, so the last 4 bytes (what card faces print) identify it.
        "tail_dec": card_forms(hex_value)[1] if is_hex and 8 <= len(hex_value) <= 20 else None,
    }
    w26 = wiegand26_suffix(value)
    # The 3 bytes a Wiegand-26 reader reports, as hex (hex digits only: no LIKE wildcards).
    suffixes = {hex_value} if is_hex and len(hex_value) == 6 else set()
    if w26 is not None:
        suffixes.add(w26)
    if suffixes:
        first, *rest = sorted(suffixes)
        params["suffix_a"] = f"%{first}"
        params["suffix_b"] = f"%{rest[0] if rest else first}"
    return (hex_value if is_hex else ""), params


def _one_card(rows: list[Any], text: str, hex_value: str) -> Any:
    """The card ``text`` names among ``rows`` (anything with ``id`` and ``uid_hex``)."""
    exact = [r for r in rows if hex_value and r.uid_hex == hex_value]
    if exact:
        return exact[0]
    if len(rows) > 1:
        raise AmbiguousCard(text.strip()[:64], [r.id for r in rows])
    return rows[0] if rows else None


def find_card(session: Session, text: str) -> Card | None:
    """Find a card by raw UID (hex) or any printed form (decimal, reversed, printed number,
    Wiegand-26 facility + number or its 3 bytes as hex).

    A card whose raw UID is exactly ``text`` always wins: an all-digit UID must not log in as
    another card whose printed decimal reads the same. Otherwise, when the printed forms match
    two different cards, :class:`AmbiguousCard` (a :class:`Refused`) is raised and the caller
    sends the person to the desk; it never picks one.
    """
    forms = _card_forms_of(text)
    if forms is None:
        return None
    hex_value, params = forms
    rows = list(session.scalars(_FIND["suffix_a" in params], params))
    return _one_card(rows, text, hex_value)  # type: ignore[no-any-return]


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
    resident_active: bool = False
    staff_roles: str = ""
    staff_lobby: str = ""
    staff_active: bool = False

    def actor(self) -> Actor | None:
        """The active staff member or resident who owns the card, as an :class:`Actor`."""
        if self.staff_id is not None and self.staff_active:
            roles = role_set_of(self.staff_roles)
            return Actor("staff", self.staff_id, self.staff_name, roles, lobby=self.staff_lobby)
        if self.resident_id is not None and self.resident_active:
            return Actor("resident", self.resident_id, self.resident_name, unit_id=self.unit_id)
        return None


def identify_card(session: Session, uid: str) -> CardTapResult:
    """Look a tapped UID up, with its owner, in one statement; unknown cards come back with
    ``known=False``."""
    forms = _card_forms_of(uid)
    if forms is None:
        return CardTapResult(uid=uid, known=False)
    hex_value, params = forms
    rows = list(direct.execute(session.connection(), _TAP["suffix_a" in params], params))
    row = _one_card(rows, uid, hex_value)
    if row is None:
        return CardTapResult(uid=uid, known=False)
    return CardTapResult(
        uid=uid,
        known=True,
        card_id=row.id,
        kind=row.kind,
        status=row.status,
        resident_id=row.resident_id,
        resident_name=row.resident_name or "",
        resident_language=row.language or "",
        resident_active=bool(row.resident_active),
        unit_id=row.unit_id,
        unit_code=row.unit_code or "",
        staff_id=row.staff_id,
        staff_name=row.staff_name or "",
        staff_roles=row.roles or "",
        staff_lobby=row.lobby or "",
        staff_active=bool(row.staff_active),
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
