"""Rejected payment notices (forged, tampered, replayed, malformed), counted per provider: the
first of a minute is recorded at once (a notice row and an audit event), the rest as one
summary when the minute ends or the notify server flushes -- a flood of forgeries costs a
constant number of rows, not one row and one audit event each."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from kiosk import audit
from kiosk.clock import as_utc
from plugins.billing.models import NoticeLog

if TYPE_CHECKING:
    from kiosk.context import KioskContext

log = logging.getLogger("plugins.billing.service")

REJECT_WINDOW = dt.timedelta(minutes=1)


@dataclass
class _Rejections:
    """Rejected notices of one window per provider: the first is recorded (a notice row and
    an audit event), the rest only counted and recorded as one summary when the window ends."""

    since: dict[str, dt.datetime] = field(default_factory=dict)
    more: dict[str, int] = field(default_factory=dict)
    last: dict[str, str] = field(default_factory=dict)


_rejections: dict[int, tuple[Any, _Rejections]] = {}
_rejections_lock = threading.Lock()


def _rejections_of(ctx: KioskContext) -> _Rejections:
    for key in [k for k, v in _rejections.items() if v[0]() is None]:
        del _rejections[key]
    entry = _rejections.get(id(ctx))
    if entry is None or entry[0]() is not ctx:
        entry = (weakref.ref(ctx), _Rejections())
        _rejections[id(ctx)] = entry
    return entry[1]


def _note_rejection(ctx: KioskContext, provider_name: str, reason: str) -> None:
    """Count a rejected notice: a flood of forgeries costs O(1) rows per window, not one row
    and one audit event each (a disk filler). The first of a window is recorded at once."""
    now = ctx.clock.now()
    with _rejections_lock:
        r = _rejections_of(ctx)
        since = r.since.get(provider_name)
        first = since is None or now - since >= REJECT_WINDOW
        summary = _take_summary(r, provider_name) if first else None
        if first:
            r.since[provider_name], r.more[provider_name] = now, 0
        else:
            r.more[provider_name] = r.more.get(provider_name, 0) + 1
            r.last[provider_name] = reason
    if first or summary:
        with ctx.database().write() as session:
            if summary:
                _write_summary(ctx, session, provider_name, *summary)
            if first:
                log.warning("notification for %s rejected: %s", provider_name, reason[:100])
                _write_rejection(ctx, session, provider_name, reason, {"reason": reason})


def _take_summary(r: _Rejections, provider_name: str) -> tuple[int, dt.datetime, str] | None:
    n = r.more.get(provider_name, 0)
    if not n:
        return None
    r.more[provider_name] = 0
    return n, r.since[provider_name], r.last.get(provider_name, "")


def _write_summary(
    ctx: KioskContext,
    session: Session,
    provider_name: str,
    n: int,
    since: dt.datetime,
    last: str,
) -> None:
    log.warning("%d more notifications for %s rejected since %s", n, provider_name, since)
    _write_rejection(
        ctx,
        session,
        provider_name,
        f"{n} more rejected since {as_utc(since).isoformat(timespec='seconds')}; last: {last}",
        {"suppressed": n, "since": as_utc(since).isoformat(), "reason": last},
    )


def _write_rejection(
    ctx: KioskContext, session: Session, provider_name: str, detail: str, data: dict[str, Any]
) -> None:
    session.add(
        NoticeLog(
            provider=provider_name,
            received_at=ctx.clock.now(),
            verdict="rejected",
            detail=detail[:300],
        )
    )
    audit.record_for(
        ctx,
        session,
        f"provider:{provider_name}",
        "billing.notice.rejected",
        f"provider:{provider_name}",
        data,
    )


def flush_rejections(ctx: KioskContext) -> int:
    """Record the rejected notices counted but not yet written (one row per provider); the
    notify server calls it every minute and when it stops. Returns how many were counted."""
    with _rejections_lock:
        r = _rejections_of(ctx)
        pending = {name: _take_summary(r, name) for name in list(r.since)}
        r.since.clear()
    todo = {name: s for name, s in pending.items() if s}
    if todo:
        with ctx.database().write() as session:
            for name, (n, since, last) in todo.items():
                _write_summary(ctx, session, name, n, since, last)
    return sum(s[0] for s in todo.values())
