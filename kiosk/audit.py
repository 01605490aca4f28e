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
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from kiosk.clock import as_utc
from kiosk.db.models import AuditEvent
from kiosk.pii import mask_data

GENESIS = "0" * 64
# Any constant works; it only has to be the same for every process of the estate.
_PG_AUDIT_LOCK = 0x4B494F534B


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
    """Append one event inside the caller's transaction (PII in ``data`` is masked first)."""
    if session.get_bind().dialect.name == "postgresql":
        # Serialise appenders across kiosks; released when the transaction ends.
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    session.flush()
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    payload = json.dumps(mask_data(data or {}), ensure_ascii=False, sort_keys=True, default=str)
    at = as_utc(at)
    event = AuditEvent(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        data=payload,
        kiosk_id=kiosk_id,
        prev_hash=prev,
        hash=event_hash(prev, seq, at, actor, action, subject, payload, kiosk_id),
    )
    session.add(event)
    session.flush()
    return event


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
