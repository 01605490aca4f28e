"""Retention purge (``kiosk purge``): personal data of closed records is anonymised after the
configured number of days (``[retention] visitor_days``, ``parcel_days``, ``repair_days``,
``notification_days``).

The core opens one transaction, asks every plugin (hook ``kiosk_purge``) to anonymise its own
records closed before its cutoff, and records ONE audit event, ``retention.purged``, with the
counts (never the data). A dry run asks the same questions in a read transaction that is
rolled back, so it changes nothing. The rows stay (with ``已匿名`` for names and empty phones,
ID numbers, plates and signatures), so counts and reports remain right; open records (a visit
still inside, a parcel still waiting) are never touched, and a second run finds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from kiosk import audit
from kiosk.db.models import Notification
from kiosk.hookspecs import PurgeCount
from kiosk.identity import SYSTEM, Actor

if TYPE_CHECKING:
    from sqlalchemy.sql import ColumnElement

    from kiosk.context import KioskContext

ANONYMOUS = "已匿名"
ACTION = "retention.purged"


class PurgeFailed(Exception):
    """A plugin's purge raised: nothing was changed (the whole purge rolled back)."""


def cutoff(now: dt.datetime, days: int) -> dt.datetime:
    """Records closed before this moment are past their retention."""
    return now - dt.timedelta(days=days)


def anonymise(
    session: Session,
    model: Any,
    where: list[ColumnElement[bool]],
    values: dict[str, Any],
    dry_run: bool,
) -> int:
    """Blank ``values`` in the rows of ``model`` matching ``where``; the number of rows.

    ``where`` must exclude rows already anonymised (so a second run counts 0) and open ones.
    On a dry run the rows are only counted.
    """
    if dry_run:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)
    result = session.execute(
        update(model).where(*where).values(**values).execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass
class PurgeReport:
    """What ``kiosk purge`` did (or would do): counts per plugin and kind, no personal data."""

    dry_run: bool
    at: dt.datetime
    counts: list[PurgeCount] = field(default_factory=list)
    audit_seq: int | None = None

    @property
    def total(self) -> int:
        return sum(c.count for c in self.counts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "at": self.at.isoformat(),
            "total": self.total,
            "counts": [
                {
                    "plugin": c.plugin,
                    "kind": c.kind,
                    "count": c.count,
                    "days": c.days,
                    "before": c.before.isoformat(),
                }
                for c in self.counts
            ],
            "audit_seq": self.audit_seq,
        }

    def summary(self) -> str:
        verb = "would anonymise" if self.dry_run else "anonymised"
        lines = [
            f"{c.plugin} {c.kind}: {verb} {c.count} (closed before {c.before:%Y-%m-%d}, "
            f"{c.days} days)"
            for c in self.counts
        ]
        lines.append(
            f"total: {self.total}" + (" (dry run, nothing changed)" if self.dry_run else "")
        )
        return "\n".join(lines)


def purge_outbox(
    session: Session, ctx: KioskContext, now: dt.datetime, dry_run: bool = False
) -> PurgeCount:
    """The core's own part: outbox rows older than ``retention.notification_days`` lose the
    recipient (a phone number, an account) and the message body; channel, template, unit and
    times stay. A message still pending after that long is stale: it is marked ``expired``
    and never sent."""
    days = ctx.settings.retention.notification_days
    before = cutoff(now, days)
    old = [Notification.created_at < before, Notification.recipient != ANONYMOUS]
    done = anonymise(
        session,
        Notification,
        [*old, Notification.state.notin_(("pending", "sending"))],
        {"recipient": ANONYMOUS, "payload": {}},
        dry_run,
    )
    stale = anonymise(
        session,
        Notification,
        [*old, Notification.state.in_(("pending", "sending"))],
        {"recipient": ANONYMOUS, "payload": {}, "state": "expired"},
        dry_run,
    )
    return PurgeCount("kiosk", "notification", done + stale, before, days)


def counted(plugin: str, before: dt.datetime, days: int, **counts: int) -> list[PurgeCount]:
    """A plugin's ``purge_in`` answer: one :class:`PurgeCount` a kind (``kind=count``, in
    this order) of ``plugin``, all with the same cutoff ``before``, ``days`` back."""
    return [PurgeCount(plugin, kind, count, before, days) for kind, count in counts.items()]


class PluginPurge(Protocol):
    def __call__(self, ctx: KioskContext, actor: Actor = SYSTEM) -> dict[str, int]: ...


def one_plugin_purge(
    purge_in: Callable[[Session, KioskContext, dt.datetime], list[PurgeCount]],
    names: tuple[str, ...],
    action: str,
    subject: str,
) -> PluginPurge:
    """A plugin's part of :func:`purge` on its own (``kiosk <plugin> purge``): its
    ``purge_pii(ctx, actor=SYSTEM)``, which runs ``purge_in`` in a transaction of its own,
    audited by ``actor`` as ``action`` with the counts (named by ``names``, in ``purge_in``'s
    order) and the cutoff ``purge_in`` used, and returns the counts."""

    def purge_pii(ctx: KioskContext, actor: Actor = SYSTEM) -> dict[str, int]:
        """The plugin's part of ``kiosk purge`` on its own, audited with the counts."""
        now = ctx.clock.now()
        with ctx.database().write() as session:
            found = purge_in(session, ctx, now)
            counts = dict(zip(names, (c.count for c in found), strict=True))
            before = found[0].before.isoformat()
            audit.record_for(
                ctx, session, actor.label, action, subject, {**counts, "before": before}
            )
        return counts

    purge_pii.__module__, purge_pii.__qualname__ = purge_in.__module__, "purge_pii"
    return purge_pii


def purge(ctx: KioskContext, *, dry_run: bool = False, actor: str = "system") -> PurgeReport:
    """Run every plugin's ``kiosk_purge`` in one transaction and audit it once.

    Raises :class:`PurgeFailed` (and changes nothing) when a plugin's purge raises.
    """
    if ctx.plugins is None:
        raise PurgeFailed("plugins are not loaded")
    now = ctx.clock.now()
    report = PurgeReport(dry_run=dry_run, at=now)
    failed_before = len(ctx.plugins.failures)
    db = ctx.database()
    # A dry run writes what a purge would and rolls it back: it needs its transaction.
    with db.read(transaction=True) if dry_run else db.write() as session:
        if not db.is_sqlite:
            # A batch job over months of records: not bound by the interactive statement limit.
            session.execute(text("SET LOCAL statement_timeout = 0"))
        results = ctx.plugins.call_flat(
            "kiosk_purge", ctx=ctx, session=session, now=now, dry_run=dry_run
        )
        failures = [f for f in ctx.plugins.failures[failed_before:] if f.stage == "kiosk_purge"]
        if failures:
            # Leaving the block by an exception rolls back what the other plugins did.
            raise PurgeFailed(
                "; ".join(f"plugin {f.plugin}: {f.error.splitlines()[0]}" for f in failures)
                + " (nothing was purged)"
            )
        results.append(purge_outbox(session, ctx, now, dry_run))
        report.counts = sorted(
            (c for c in results if isinstance(c, PurgeCount)), key=lambda c: (c.plugin, c.kind)
        )
        if dry_run:
            session.rollback()  # a plugin that wrote anyway changes nothing
            return report
        event = audit.record(
            session,
            actor=actor,
            action=ACTION,
            subject="retention",
            data={
                "counts": {f"{c.plugin}.{c.kind}": c.count for c in report.counts},
                "days": {f"{c.plugin}.{c.kind}": c.days for c in report.counts},
                "total": report.total,
            },
            at=now,
            kiosk_id=ctx.kiosk_id,
        )
        report.audit_seq = event.seq
    return report
