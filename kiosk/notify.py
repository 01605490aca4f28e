"""Desk alerts and the notification outbox.

Alerts are rows the desk shows until a person acknowledges them (paper out, unknown card tapped
three times, emergency repair, a plugin disabled). Notifications to residents are queued in the
outbox inside the caller's transaction and sent later by channel adapters, so a message is never
sent for a change that was rolled back.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kiosk import audit
from kiosk.db.models import DeskAlert, Notification
from kiosk.pii import mask_text

if TYPE_CHECKING:
    from kiosk.context import KioskContext

SEVERITIES = ("info", "warning", "urgent")


def raise_alert(
    session: Session,
    kind: str,
    message: str,
    *,
    at: dt.datetime,
    severity: str = "warning",
    lobby: str = "",
    kiosk_id: str = "",
) -> DeskAlert:
    """Add an alert for the desk of ``lobby`` ("" = every desk).

    Phone and ID numbers in ``message`` are masked here, once: the alert is stored, shown on
    every desk and kept after it is acknowledged, so the raw number never reaches any of them.
    """
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}")
    alert = DeskAlert(
        kind=kind,
        message=mask_text(message)[:500],
        severity=severity,
        lobby=lobby,
        kiosk_id=kiosk_id,
        created_at=at,
    )
    session.add(alert)
    session.flush()
    return alert


def open_alerts(session: Session, lobby: str | None = None, limit: int = 50) -> list[DeskAlert]:
    """Unacknowledged alerts, newest first; a desk sees its lobby's and the estate-wide ones."""
    q = select(DeskAlert).where(DeskAlert.acknowledged_at.is_(None))
    if lobby:
        q = q.where(DeskAlert.lobby.in_((lobby, "")))
    return list(session.scalars(q.order_by(DeskAlert.id.desc()).limit(limit)))


def acknowledge(
    session: Session, alert_id: int, by: str, at: dt.datetime, kiosk_id: str = ""
) -> bool:
    """Mark an alert seen (audited); False when it was already acknowledged (by another desk)."""
    result = session.execute(
        update(DeskAlert)
        .where(DeskAlert.id == alert_id, DeskAlert.acknowledged_at.is_(None))
        .values(acknowledged_at=at, acknowledged_by=by)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    audit.record(
        session,
        actor=by,
        action="alert.acknowledged",
        subject=f"desk_alert:{alert_id}",
        at=at,
        kiosk_id=kiosk_id,
    )
    return True


def queue_notification(
    session: Session,
    *,
    channel: str,
    template: str,
    at: dt.datetime,
    unit_id: int | None = None,
    recipient: str = "",
    payload: dict[str, Any] | None = None,
) -> Notification:
    """Put a message in the outbox (sms, wechat, desk); sent after the transaction commits."""
    n = Notification(
        channel=channel,
        template=template,
        unit_id=unit_id,
        recipient=recipient,
        payload=payload or {},
        created_at=at,
    )
    session.add(n)
    session.flush()
    return n


def dispatch_outbox(ctx: KioskContext, limit: int = 100) -> int:
    """Hand pending notifications to the channel adapters (plugins' ``kiosk_notify``).

    Each row is claimed with a conditional update first, so two kiosks never send the same
    message; a ``desk`` notification also becomes a desk alert. Returns how many were sent.
    """
    db = ctx.database()
    with db.read() as session:
        ids = list(
            session.scalars(
                select(Notification.id)
                .where(Notification.state == "pending")
                .order_by(Notification.id)
                .limit(limit)
            )
        )
    sent = 0
    for notification_id in ids:
        with db.write() as session:
            claimed = session.execute(
                update(Notification)
                .where(Notification.id == notification_id, Notification.state == "pending")
                .values(state="sending")
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue
            n = session.get(Notification, notification_id)
            assert n is not None
            payload: dict[str, Any] = dict(n.payload or {})
            event: dict[str, Any] = {
                "kind": "notification",
                "id": n.id,
                "channel": n.channel,
                "template": n.template,
                "unit_id": n.unit_id,
                "recipient": n.recipient,
                "payload": payload,
            }
        if ctx.plugins is not None:
            ctx.plugins.call("kiosk_notify", event=event)
        with db.write() as session:
            n = session.get(Notification, notification_id)
            assert n is not None
            if n.channel == "desk":
                raise_alert(
                    session,
                    n.template,
                    str(payload.get("message", n.template)),
                    at=ctx.clock.now(),
                    # The lobby the message is about (a plugin may name it), else this one's.
                    lobby=str(payload.get("lobby", ctx.lobby)),
                    kiosk_id=ctx.kiosk_id,
                )
            n.state = "sent"
            n.sent_at = ctx.clock.now()
        sent += 1
    return sent
