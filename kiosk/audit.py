"""Append-only, hash-chained audit log.

Every state change of every plugin records an :class:`~kiosk.db.models.AuditEvent` in the same
transaction as the change itself, so a change is never without its event. Each event's hash is
SHA-256 over the previous event's hash and the event's own fields; ``kiosk audit verify`` walks
the chain and reports the first broken link.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import event as sa_event
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from kiosk.clock import as_utc
from kiosk.db.models import AuditEvent
from kiosk.pii import mask_data

if TYPE_CHECKING:
    from kiosk.context import KioskContext
    from kiosk.identity import Actor

GENESIS = "0" * 64
# Any constant works; it only has to be the same for every process of the estate.
_PG_AUDIT_LOCK = 0x4B494F534B
# Session.info key: events recorded in the open transaction, chained when it commits.
_PENDING = "kiosk.audit.pending"


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
) -> str:
    """The chain link: SHA-256 over the previous hash and this event's fields."""
    body = json.dumps(
        [prev_hash, seq, _canonical_time(at), actor, action, subject, data, kiosk_id],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


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
    event = AuditEvent(
        at=as_utc(at),
        actor=actor,
        action=action,
        subject=subject,
        data=payload,
        kiosk_id=kiosk_id,
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
) -> AuditEvent:
    """:func:`record` by ``actor`` (or a label such as ``system``) at this kiosk, now."""
    return record(
        session,
        actor=actor if isinstance(actor, str) else actor.label,
        action=action,
        subject=subject,
        data=data,
        at=ctx.clock.now(),
        kiosk_id=ctx.kiosk_id,
    )


def seal(session: Session) -> None:
    """Chain and insert the events recorded in this transaction (commit does it by itself).

    On PostgreSQL a transaction-level advisory lock serialises appenders across kiosks; it is
    released by the commit, so it is taken last: everything else is flushed first. On SQLite
    the write transaction (``BEGIN IMMEDIATE``) already excludes other writers.
    """
    pending: list[AuditEvent] = session.info.pop(_PENDING, [])
    if not pending:
        return
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0], last[1]) if last else (0, GENESIS)
    for event in pending:
        seq += 1
        event.seq, event.prev_hash = seq, prev
        event.hash = prev = event_hash(
            prev, seq, event.at, event.actor, event.action, event.subject, event.data,
            event.kiosk_id,
        )  # fmt: skip
        event.__dict__.pop(_PENDING, None)
    session.add_all(pending)
    session.flush()


def seal_pending(event: AuditEvent) -> None:
    """Chain ``event`` (and the rest of its transaction's events) now: its ``seq`` is read."""
    session = event.__dict__.get(_PENDING)
    if session is not None and event in session.info.get(_PENDING, ()):
        seal(session)


@sa_event.listens_for(Session, "before_commit")
def _seal_before_commit(session: Session) -> None:
    seal(session)


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session: Session, transaction: Any) -> None:
    # After a commit nothing is pending; after a rollback the events go with the changes.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


@dataclass
class VerifyResult:
    ok: bool
    events: int
    broken_seq: int | None = None
    reason: str = ""


def verify(session: Session, batch: int = 5000) -> VerifyResult:
    """Walk the chain in order; the first event whose link or hash does not match breaks it."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    last_seq = 0
    while True:
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq > last_seq)
            .order_by(AuditEvent.seq)
            .limit(batch)
        ).all()
        if not rows:
            return VerifyResult(ok=True, events=count)
        for ev in rows:
            if ev.seq != expected_seq:
                return VerifyResult(False, count, ev.seq, f"event {expected_seq} is missing")
            if ev.prev_hash != prev:
                return VerifyResult(
                    False, count, ev.seq, "link to the previous event does not match"
                )
            computed = event_hash(
                ev.prev_hash, ev.seq, ev.at, ev.actor, ev.action, ev.subject, ev.data, ev.kiosk_id
            )
            if computed != ev.hash:
                return VerifyResult(False, count, ev.seq, "event content does not match its hash")
            prev = ev.hash
            expected_seq += 1
            count += 1
            last_seq = ev.seq
        session.expunge_all()
