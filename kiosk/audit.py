"""Append-only, hash-chained audit log, keyed and anchored by checkpoints.

Every state change of every plugin records an :class:`~kiosk.db.models.AuditEvent` in the same
transaction as the change itself, so a change is never without its event. Each event's hash is
an HMAC-SHA256, under the audit key, over the previous event's hash and the event's own fields.
The key lives in a file outside the database (``[audit] key_file``, mode 0600, made by
``kiosk init``), so write access to the database is not enough to re-hash a rewritten chain or
to append a forged event.

Truncating the tail, or deleting every event, leaves a shorter chain that still links: so every
``checkpoint_every`` events (and at ``kiosk audit checkpoint``, ``kiosk init``) the count and the
head hash are appended, signed with the key, to a checkpoint file beside the key, which the
database's users cannot reach. ``kiosk audit verify`` walks the chain and checks it against every
checkpoint: fewer events than a checkpoint recorded, another hash at a checkpoint's position, an
event that does not verify with the key, or no checkpoint at all -- one line each, exit 1.

Chains from before the key (plain SHA-256, or a kiosk running without its key) stay verifiable:
the chain may *start* with unkeyed events, up to the count recorded as ``legacy`` in the first
checkpoint written when the key was made; every later event must be keyed.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, func, literal, select, true
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kiosk.clock import as_utc
from kiosk.db import direct
from kiosk.db.models import AuditEvent, AuditHead
from kiosk.pii import mask_data

if TYPE_CHECKING:
    from kiosk.config import Settings
    from kiosk.context import KioskContext
    from kiosk.identity import Actor

log = logging.getLogger(__name__)

GENESIS = "0" * 64
# Session.info key: events recorded in the open transaction, chained when it commits.
_PENDING = "kiosk.audit.pending"
_RIDERS = "kiosk.audit.riders"  # rows written with the events: see write_with_chain
# Session.info key: the AuditKey (kiosk.db.Database puts it there); absent = unkeyed chain.
KEY_INFO = "kiosk.audit.key"
# Session.info key: a checkpoint to append once the transaction has committed.
_CHECKPOINT_DUE = "kiosk.audit.checkpoint_due"
_CHECKPOINT_TAG = "kiosk.audit.checkpoint"
# Seconds this thread spent in the statement that takes the chain head (see lock_wait_seconds).
_lock_wait = threading.local()


def lock_wait_seconds() -> float:
    """Seconds this thread has spent, since it started, in the statement that takes the audit
    chain's head: the wait for other appenders' commits plus one round trip. The benchmarks
    read it before and after an operation."""
    return float(getattr(_lock_wait, "seconds", 0.0))


class AuditKeyError(Exception):
    """The audit key or checkpoint file cannot be used (unreadable, malformed)."""


@dataclass(frozen=True, eq=False)
class AuditKey:
    """The secret that keys the chain, and where it (and its checkpoint file) live."""

    secret: bytes = field(repr=False)
    path: Path
    checkpoint_every: int = 100

    @property
    def checkpoints(self) -> Path:
        """The append-only checkpoint file beside the key: ``audit.key`` -> ``audit.checkpoints``."""
        return self.path.with_name(self.path.stem + ".checkpoints")

    def mac(self, body: bytes) -> str:
        return hmac.new(self.secret, body, hashlib.sha256).hexdigest()


def create_key(path: str | os.PathLike[str], checkpoint_every: int = 100) -> AuditKey:
    """Make a new random key file readable by its owner only (fails if one exists)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = secrets.token_bytes(32)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (secret.hex() + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return AuditKey(secret, p, checkpoint_every)


def load_key(path: str | os.PathLike[str], checkpoint_every: int = 100) -> AuditKey | None:
    """The key in ``path``; None when there is no such file; AuditKeyError when unusable."""
    p = Path(path)
    try:
        raw = p.read_text("ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditKeyError(f"audit key {p} cannot be read: {exc}") from None
    try:
        secret = bytes.fromhex(raw)
    except ValueError:
        secret = b""
    if len(secret) < 16:
        raise AuditKeyError(f"audit key {p} is not a key (expected 64 hex digits)")
    if p.stat().st_mode & 0o077:
        log.warning("audit key %s is readable by others: chmod 600 it", p)
    return AuditKey(secret, p, checkpoint_every)


def key_for(settings: Settings) -> AuditKey | None:
    """The key ``[audit]`` names, or None (no key file configured or made yet: unkeyed)."""
    if not settings.audit.key_file:
        return None
    key = load_key(settings.audit.key_file, settings.audit.checkpoint_every)
    if key is None:
        # Every command opens the key: the operator hears of a missing one from `kiosk doctor`
        # and `kiosk audit verify`, not as an extra line on every refusal.
        log.info(
            "no audit key at %s: audit events are written unkeyed (run kiosk init)",
            settings.audit.key_file,
        )
    return key


def ensure_key(settings: Settings) -> tuple[AuditKey | None, bool]:
    """(the configured key, whether it was just made); None when no key file is configured."""
    if not settings.audit.key_file:
        return None, False
    key = load_key(settings.audit.key_file, settings.audit.checkpoint_every)
    if key is not None:
        return key, False
    try:
        return create_key(settings.audit.key_file, settings.audit.checkpoint_every), True
    except FileExistsError:  # another process made it a moment ago
        return load_key(settings.audit.key_file, settings.audit.checkpoint_every), False


def _canonical_time(at: dt.datetime) -> str:
    return as_utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    prev_hash: str,
    seq: int,
    at: dt.datetime,
    actor: str,
    action: str,
    subject: str,
    data: str,
    kiosk_id: str,
    key: AuditKey | None = None,
) -> str:
    """The chain link over the previous hash and this event's fields: HMAC-SHA256 under
    ``key``; plain SHA-256 without one (chains from before the key)."""
    body = json.dumps(
        [prev_hash, seq, _canonical_time(at), actor, action, subject, data, kiosk_id],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")
    if key is not None:
        return key.mac(body)
    return hashlib.sha256(body).hexdigest()


def _event_link(ev: AuditEvent, key: AuditKey | None) -> str:
    return event_hash(
        ev.prev_hash, ev.seq, ev.at, ev.actor, ev.action, ev.subject, ev.data, ev.kiosk_id, key
    )


# -- the chain's head ------------------------------------------------------------------------

_HEAD = cast(Table, AuditHead.__table__)
_EVENTS = cast(Table, AuditEvent.__table__)
_TAIL = select(_EVENTS.c.seq, _EVENTS.c.hash).order_by(_EVENTS.c.seq.desc()).limit(1)
_TAIL_SQ = _TAIL.subquery("tail")
# The head row and the chain's last event, in one statement; on PostgreSQL it waits for, and
# then holds, the head row's lock (a concurrent appender's committed head is the row it reads).
_TAKE_HEAD = (
    select(_HEAD.c.seq, _HEAD.c.hash, _TAIL_SQ.c.seq, _TAIL_SQ.c.hash)
    .select_from(_HEAD.outerjoin(_TAIL_SQ, true()))
    .where(_HEAD.c.id == 1)
)
_TAKE_HEAD_PG = _TAKE_HEAD.with_for_update(of=_HEAD)
_MOVE_HEAD = (
    _HEAD.update()
    .where(_HEAD.c.id == 1)
    .values(seq=bindparam("head_seq"), hash=bindparam("head_hash"))
)
_EVENT_COLUMNS = (
    "seq",
    "at",
    "actor",
    "action",
    "subject",
    "data",
    "kiosk_id",
    "prev_hash",
    "hash",
)


@functools.lru_cache(maxsize=32)
def _append_pg(n: int, riders: tuple[tuple[Table, int], ...] = ()) -> Any:
    """``WITH added AS (INSERT INTO audit_event VALUES <n rows>) UPDATE audit_head ...``, with
    the transaction's riders (:func:`write_with_chain`: so many rows of a table) as more
    inserts in the same ``WITH``: the same statement object for the same events and riders,
    so it is compiled once."""
    # One single-row INSERT per event: a multi-row VALUES is compiled afresh at every call.
    added = [
        _EVENTS.insert()
        .values({c: bindparam(f"{c}_{i}", type_=_EVENTS.c[c].type) for c in _EVENT_COLUMNS})
        .cte(f"added_{i}")
        for i in range(n)
    ]
    # A table's riders in one multi-row INSERT: its rows take their keys in the order they
    # were written (the sub-statements of a WITH run in no set order), as a print queue needs.
    added += [
        table.insert()
        .values(
            [
                {
                    c.name: bindparam(f"r{j}_{k}_{c.name}", type_=c.type)
                    for c in _rider_columns(table)
                }
                for k in range(count)
            ]
        )
        .cte(f"rider_{j}")
        for j, (table, count) in enumerate(riders)
    ]
    return _MOVE_HEAD.add_cte(*added)


def _rider_columns(table: Table) -> list[Any]:
    return [c for c in table.c if not c.primary_key]


def write_with_chain(session: Session, table: Table, values: dict[str, Any]) -> None:
    """Insert a row that nothing reads back before the commit (a log line, a queued print
    job) with this transaction's audit events: on PostgreSQL the statement that appends them
    to the chain writes it too, a round trip fewer for every such table. On SQLite, or when
    the transaction records no event, it is inserted when the transaction is sealed, just
    before its commit; a rollback takes it with the rest. Inside a savepoint it is inserted
    now, so that rolling the savepoint back takes it. A table's rows take their keys in the
    order they were written. ``values`` name every column but the key, and nothing else: a
    column's Python-side default would not be computed in a shared statement."""
    if set(values) != {c.name for c in _rider_columns(table)}:
        wanted = ", ".join(c.name for c in _rider_columns(table))
        raise ValueError(f"write_with_chain: {table.name} takes exactly {wanted}")
    if session.in_nested_transaction():
        session.connection().execute(table.insert(), values)
        return
    session.info.setdefault(_RIDERS, {}).setdefault(table, []).append(values)


_MAKE_HEAD_VALUES = select(
    literal(1),
    func.coalesce(_TAIL.with_only_columns(_EVENTS.c.seq).scalar_subquery(), 0),
    func.coalesce(_TAIL.with_only_columns(_EVENTS.c.hash).scalar_subquery(), GENESIS),
)
_MAKE_HEAD_PG = (
    pg_insert(_HEAD).from_select(["id", "seq", "hash"], _MAKE_HEAD_VALUES).on_conflict_do_nothing()
)
_MAKE_HEAD_SQLITE = (
    sqlite_insert(_HEAD)
    .from_select(["id", "seq", "hash"], _MAKE_HEAD_VALUES)
    .on_conflict_do_nothing()
)


# -- checkpoints -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """One signed line of the checkpoint file: the chain had ``count`` events ending in ``head``."""

    count: int
    head: str
    legacy: int
    at: str
    kiosk_id: str


def _checkpoint_body(count: int, head: str, legacy: int, at: str, kiosk_id: str) -> bytes:
    return json.dumps(
        [_CHECKPOINT_TAG, count, head, legacy, at, kiosk_id],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")


def _parse_checkpoint(key: AuditKey, line: str, number: int) -> Checkpoint:
    try:
        doc = json.loads(line)
        cp = Checkpoint(
            count=int(doc["count"]),
            head=str(doc["head"]),
            legacy=int(doc["legacy"]),
            at=str(doc["at"]),
            kiosk_id=str(doc["kiosk"]),
        )
        sig = str(doc["sig"])
    except (ValueError, KeyError, TypeError):
        raise AuditKeyError(f"checkpoint line {number} of {key.checkpoints} is malformed") from None
    expected = key.mac(_checkpoint_body(cp.count, cp.head, cp.legacy, cp.at, cp.kiosk_id))
    if not hmac.compare_digest(expected, sig):
        raise AuditKeyError(
            f"checkpoint line {number} of {key.checkpoints} is not signed with the audit key "
            "(forged or altered)"
        )
    return cp


def read_checkpoints(key: AuditKey) -> list[Checkpoint] | None:
    """Every checkpoint, in file order; None when there is no checkpoint file.

    Raises AuditKeyError naming the first line that is malformed or not signed with the key.
    """
    try:
        text_ = key.checkpoints.read_text("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditKeyError(f"checkpoint file {key.checkpoints} cannot be read: {exc}") from None
    return [
        _parse_checkpoint(key, line, n)
        for n, line in enumerate(text_.splitlines(), start=1)
        if line.strip()
    ]


def write_checkpoint(
    key: AuditKey,
    count: int,
    head: str,
    legacy: int,
    at: dt.datetime,
    kiosk_id: str,
    create: bool = False,
) -> Checkpoint:
    """Append one signed checkpoint line (O_APPEND: lines are only ever added).

    Only ``create`` makes the file (``kiosk init``, ``kiosk audit checkpoint``): the periodic
    checkpoints append to an existing file, so a deleted one stays missing and verify says so.
    """
    cp = Checkpoint(count, head, legacy, _canonical_time(at), kiosk_id)
    sig = key.mac(_checkpoint_body(cp.count, cp.head, cp.legacy, cp.at, cp.kiosk_id))
    line = json.dumps(
        {"count": count, "head": head, "legacy": legacy, "at": cp.at, "kiosk": kiosk_id,
         "sig": sig},
        ensure_ascii=False,
        separators=(",", ":"),
    )  # fmt: skip
    flags = os.O_WRONLY | os.O_APPEND | (os.O_CREAT if create else 0)
    fd = os.open(key.checkpoints, flags, 0o600)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return cp


def _first_checkpoint(key: AuditKey) -> Checkpoint | None:
    """The file's first line only (its ``legacy`` holds for every later line); cheap."""
    try:
        with key.checkpoints.open(encoding="utf-8") as f:
            first = f.readline()
    except FileNotFoundError:
        return None
    return _parse_checkpoint(key, first, 1) if first.strip() else None


def _append_periodic_checkpoint(
    key: AuditKey, seq: int, head: str, at: dt.datetime, kiosk: str
) -> None:
    try:
        first = _first_checkpoint(key)
        if first is None:
            log.warning(
                "no audit checkpoint file at %s: not anchoring event %d (kiosk audit checkpoint)",
                key.checkpoints,
                seq,
            )
            return
        write_checkpoint(key, seq, head, first.legacy, at, kiosk)
    except (OSError, AuditKeyError) as exc:  # the change is committed: say so, do not undo it
        log.error("audit checkpoint at event %d not written: %s", seq, exc)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str = "",
    data: dict[str, Any] | None = None,
    at: dt.datetime,
    kiosk_id: str = "",
) -> AuditEvent:
    """Append one event inside the caller's transaction (PII in ``data`` is masked first).

    The event is chained -- given its ``seq`` and hash and inserted -- when the transaction
    commits, so the lock that orders appenders across kiosks is held only for the append and
    the commit, not for the rest of the caller's work. Reading the returned event's ``seq``
    before that chains it at once (as does :func:`seal`).
    """
    payload = json.dumps(mask_data(data or {}), ensure_ascii=False, sort_keys=True, default=str)
    event = direct.detached(
        AuditEvent,
        {
            "at": as_utc(at),
            "actor": actor,
            "action": action,
            "subject": subject,
            "data": payload,
            "kiosk_id": kiosk_id,
        },
    )
    event.__dict__[_PENDING] = session  # for seal_pending (not a mapped attribute)
    session.info.setdefault(_PENDING, []).append(event)
    if session.in_nested_transaction():
        # Inside a savepoint (the kiosk uses none): chain now, so that rolling the savepoint
        # back takes its events with it.
        seal(session)
    return event


def record_for(
    ctx: KioskContext,
    session: Session,
    actor: Actor | str,
    action: str,
    subject: str = "",
    data: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AuditEvent:
    """:func:`record` by ``actor`` (or a label such as ``system``) at this kiosk, now (or at
    ``at``, the time the caller's change took effect)."""
    return record(
        session,
        actor=actor if isinstance(actor, str) else actor.label,
        action=action,
        subject=subject,
        data=data,
        at=ctx.clock.now() if at is None else at,
        kiosk_id=ctx.kiosk_id,
    )


def seal(session: Session) -> None:
    """Chain and insert the events recorded in this transaction (commit does it by itself).

    The chain's head is one row (:class:`~kiosk.db.models.AuditHead`); the transaction's other
    changes are flushed first, then one statement takes the head's row lock and reads it (with
    the chain's last event, to check them against each other), one writes the events and the
    new head, and the commit releases the lock: appenders on every kiosk queue for the head row
    for those two statements only. On SQLite the write transaction (``BEGIN IMMEDIATE``)
    already excludes other writers.

    Should the head row and the last event disagree -- on PostgreSQL another appender committed
    after the statement's snapshot was taken and before its lock was granted, or events were
    deleted or added behind the kiosk's back -- the last event, read again now that the lock is
    held, is the truth, as it was before the head row existed (``verify`` finds such tampering).
    """
    pending: list[AuditEvent] = session.info.pop(_PENDING, [])
    riders: dict[Table, list[dict[str, Any]]] = session.info.pop(_RIDERS, {})
    if not pending:
        if riders:
            session.flush()  # what the transaction added through the ORM goes first, as below
            for table, rows in riders.items():
                session.connection().execute(table.insert(), rows)
        return
    session.flush()
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    started = time.perf_counter()
    row = direct.execute(conn, _TAKE_HEAD_PG if postgres else _TAKE_HEAD).first()
    if row is None:  # a database without its head row: make it (once, whoever is first)
        conn.execute(_MAKE_HEAD_PG if postgres else _MAKE_HEAD_SQLITE)
        row = direct.execute(conn, _TAKE_HEAD_PG if postgres else _TAKE_HEAD).one()
    _lock_wait.seconds = lock_wait_seconds() + time.perf_counter() - started
    seq, prev, tail_seq, tail_hash = row
    if (seq, prev) != (tail_seq or 0, tail_hash or GENESIS):
        last = direct.execute(conn, _TAIL).first()
        seq, prev = (last[0], last[1]) if last else (0, GENESIS)
    key: AuditKey | None = session.info.get(KEY_INFO)
    first = seq + 1
    rows = []
    for event in pending:
        seq += 1
        event.seq, event.prev_hash = seq, prev
        event.hash = prev = event_hash(
            prev, seq, event.at, event.actor, event.action, event.subject, event.data,
            event.kiosk_id, key,
        )  # fmt: skip
        event.__dict__.pop(_PENDING, None)
        rows.append(
            {"seq": seq, "at": event.at, "actor": event.actor, "action": event.action,
             "subject": event.subject, "data": event.data, "kiosk_id": event.kiosk_id,
             "prev_hash": event.prev_hash, "hash": event.hash}
        )  # fmt: skip
    if postgres:  # one statement: the events and the riders ride in a data-modifying WITH
        params = {f"{name}_{i}": value for i, row in enumerate(rows) for name, value in row.items()}
        for j, table_rows in enumerate(riders.values()):
            for k, row in enumerate(table_rows):
                params.update((f"r{j}_{k}_{name}", value) for name, value in row.items())
        shapes = tuple((table, len(table_rows)) for table, table_rows in riders.items())
        direct.execute(
            conn, _append_pg(len(rows), shapes), {**params, "head_seq": seq, "head_hash": prev}
        )
    else:
        conn.execute(_EVENTS.insert(), rows)
        conn.execute(_MOVE_HEAD, {"head_seq": seq, "head_hash": prev})
        for table, table_rows in riders.items():
            conn.execute(table.insert(), table_rows)
    if key is not None and seq // key.checkpoint_every > (first - 1) // key.checkpoint_every:
        # A multiple of checkpoint_every was reached: anchor the head once this commits.
        last_event = pending[-1]
        session.info[_CHECKPOINT_DUE] = (seq, prev, last_event.at, last_event.kiosk_id)


def seal_pending(event: AuditEvent) -> None:
    """Chain ``event`` (and the rest of its transaction's events) now: its ``seq`` is read."""
    session = event.__dict__.get(_PENDING)
    if session is not None and event in session.info.get(_PENDING, ()):
        seal(session)


@sa_event.listens_for(Session, "before_commit")
def _seal_before_commit(session: Session) -> None:
    seal(session)


@sa_event.listens_for(Session, "after_commit")
def _checkpoint_after_commit(session: Session) -> None:
    due = session.info.pop(_CHECKPOINT_DUE, None)
    key: AuditKey | None = session.info.get(KEY_INFO)
    if due is not None and key is not None:
        _append_periodic_checkpoint(key, *due)


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session: Session, transaction: Any) -> None:
    # After a commit nothing is pending; after a rollback the events go with the changes.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_RIDERS, None)
        session.info.pop(_CHECKPOINT_DUE, None)


@dataclass
class VerifyResult:
    """What ``verify`` found. ``kind`` names the problem ("" when the chain holds):
    missing, link, altered (keyed hash wrong), unkeyed (plain SHA-256 where the key is due),
    rewritten (another hash at a checkpoint's position), truncated (fewer events than a
    checkpoint), no-checkpoint, bad-checkpoint."""

    ok: bool
    events: int
    broken_seq: int | None = None
    reason: str = ""
    kind: str = ""
    keyed: bool = False
    legacy: int = 0  # unkeyed events at the chain's start (from before the key)
    checkpoint: int | None = None  # events recorded by the newest checkpoint
    head: str = GENESIS  # hash of the last event verified
    warnings: list[str] = field(default_factory=list)


def verify(session: Session, batch: int = 5000, key: AuditKey | None = None) -> VerifyResult:
    """Walk the chain in order and check it against the checkpoints; the first problem wins.

    ``key`` defaults to the one the session's database holds. Without a key the chain is
    checked as plain SHA-256 links only (and a warning says rewrites go unnoticed).
    """
    if key is None:
        key = session.info.get(KEY_INFO)
    checkpoints: list[Checkpoint] | None = None
    if key is not None:
        try:
            checkpoints = read_checkpoints(key)
        except AuditKeyError as exc:
            return VerifyResult(False, 0, None, str(exc), "bad-checkpoint", keyed=True)
    legacy_limit = checkpoints[0].legacy if checkpoints else None
    at_position: dict[int, list[Checkpoint]] = {}
    for cp in checkpoints or ():
        at_position.setdefault(cp.count, []).append(cp)
    for cp in at_position.get(0, ()):
        if cp.head != GENESIS:
            return _broken(
                0, None, f"the checkpoint of {cp.at} is not of an empty log", "bad-checkpoint"
            )
    prev = GENESIS
    expected_seq = 1
    count = 0
    legacy = 0
    keyed_seen = False
    last_seq = 0
    while True:
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq > last_seq)
            .order_by(AuditEvent.seq)
            .limit(batch)
        ).all()
        if not rows:
            break
        for ev in rows:
            if ev.seq != expected_seq:
                return _broken(count, ev.seq, f"event {expected_seq} is missing", "missing", key)
            if ev.prev_hash != prev:
                return _broken(
                    count, ev.seq, "link to the previous event does not match", "link", key
                )
            if key is None:
                if _event_link(ev, None) != ev.hash:
                    return _broken(
                        count, ev.seq, "event content does not match its hash", "altered"
                    )
            elif hmac.compare_digest(_event_link(ev, key), ev.hash):
                keyed_seen = True
            elif hmac.compare_digest(_event_link(ev, None), ev.hash):
                may_be_legacy = (
                    ev.seq <= legacy_limit if legacy_limit is not None else not keyed_seen
                )
                if not may_be_legacy:
                    return _broken(
                        count,
                        ev.seq,
                        "event is hashed without the audit key where a keyed hash is due "
                        "(rewritten, forged, or written by a kiosk without the key)",
                        "unkeyed",
                        key,
                    )
                legacy += 1
            else:
                return _broken(
                    count,
                    ev.seq,
                    "event does not verify with the audit key (altered or forged)",
                    "altered",
                    key,
                )
            for cp in at_position.get(ev.seq, ()):
                if cp.head != ev.hash:
                    return _broken(
                        count,
                        ev.seq,
                        f"event differs from the checkpoint of {cp.at} (the chain was rewritten)",
                        "rewritten",
                        key,
                    )
            prev = ev.hash
            expected_seq += 1
            count += 1
            last_seq = ev.seq
        session.expunge_all()
    result = VerifyResult(True, count, keyed=key is not None, legacy=legacy, head=prev)
    if key is None:
        result.warnings.append(
            "no audit key: the chain is unkeyed, so whoever can write to the database can "
            "rewrite it unnoticed (kiosk init makes the key)"
        )
        return result
    if not checkpoints:
        result.ok, result.kind = False, "no-checkpoint"
        result.reason = (
            f"no checkpoint in {key.checkpoints}: deleting the newest events, or all of them, "
            "would go unnoticed (kiosk audit checkpoint anchors the log)"
        )
        return result
    newest = max(checkpoints, key=lambda c: c.count)
    result.checkpoint = newest.count
    if count < newest.count:
        if count == 0:
            gone = "every event was deleted"
        elif count + 1 == newest.count:
            gone = f"event {newest.count} was deleted (the tail was truncated)"
        else:
            gone = f"events {count + 1}-{newest.count} were deleted (the tail was truncated)"
        result.ok, result.kind, result.broken_seq = False, "truncated", count + 1
        result.reason = (
            f"the log holds {count} events but the checkpoint of {newest.at} recorded "
            f"{newest.count}: {gone}"
        )
    return result


def _broken(
    count: int, seq: int | None, reason: str, kind: str, key: AuditKey | None = None
) -> VerifyResult:
    return VerifyResult(False, count, seq, reason, kind, keyed=key is not None)


def anchor(session: Session, key: AuditKey, at: dt.datetime, kiosk_id: str) -> VerifyResult:
    """Verify the chain and append a checkpoint of its head (``kiosk audit checkpoint``).

    Refuses (returns the failed result, writes nothing) unless the chain verifies; the one
    failure it accepts is "no checkpoint yet", which this first checkpoint ends. The first
    checkpoint fixes ``legacy``: the unkeyed events at the chain's start, from before the key.
    """
    result = verify(session, key=key)
    if not result.ok and result.kind != "no-checkpoint":
        return result
    legacy = result.legacy
    if result.kind == "no-checkpoint":
        result.ok, result.kind, result.reason = True, "", ""
    else:
        first = _first_checkpoint(key)
        legacy = first.legacy if first is not None else legacy
    write_checkpoint(key, result.events, result.head, legacy, at, kiosk_id, create=True)
    result.checkpoint = result.events
    return result
