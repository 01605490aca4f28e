"""Desk alerts and the notification outbox.

Alerts are rows the desk shows until a person acknowledges them (paper out, unknown card tapped
three times, emergency repair, a plugin disabled). Notifications to residents are queued in the
outbox inside the caller's transaction and sent later, so a message is never sent for a change
that was rolled back.

Delivery (:func:`run_dispatch`, run by ``kiosk notify dispatch`` and by a background thread in
the kiosk and desk shells): each due row is claimed with a conditional UPDATE that takes a
lease, so two dispatchers never send the same message; it goes to its recipients through the
``[notify]`` apprise channels (:mod:`kiosk.notify_channels`), in each recipient's language
(:mod:`kiosk.notify_messages`). A channel that fails leaves the message pending, retried with
exponential backoff; after ``give_up_after`` it is given up with a desk alert, never dropped.
Quiet hours hold back non-urgent messages. Once a message is delivered or given up, the
secrets in it (pickup and invite codes, link tokens) are scrubbed from the row.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, bindparam, false, insert, or_, select, update
from sqlalchemy.orm import Session

from kiosk import audit
from kiosk.clock import as_utc
from kiosk.db import direct
from kiosk.db.models import DeskAlert, Notification, Resident, Unit
from kiosk.i18n import N_
from kiosk.pii import mask_text

if TYPE_CHECKING:
    from kiosk.context import KioskContext
    from kiosk.notify_channels import Recipient

log = logging.getLogger(__name__)

SEVERITIES = ("info", "warning", "urgent")


class _Kept(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, params: Mapping[str, str]) -> str:
    """``template.format(**params)``; a placeholder without a value stays as written, and a
    template that is not a format string is returned as it is (an alert is never lost)."""
    try:
        return template.format_map(_Kept(params))
    except (ValueError, IndexError, AttributeError):
        return template


_ALERTS = cast(Table, DeskAlert.__table__)
_INSERT_ALERT = insert(_ALERTS).returning(_ALERTS.c.id)
_ACKNOWLEDGE = (
    update(_ALERTS)
    .where(_ALERTS.c.id == bindparam("alert_id"), _ALERTS.c.acknowledged_at.is_(None))
    .values(acknowledged_at=bindparam("at"), acknowledged_by=bindparam("by"))
)


def raise_alert(
    session: Session,
    kind: str,
    message: str,
    *,
    at: dt.datetime,
    severity: str = "warning",
    lobby: str = "",
    kiosk_id: str = "",
    params: Mapping[str, Any] | None = None,
) -> DeskAlert:
    """Add an alert for the desk of ``lobby`` ("" = every desk).

    With ``params``, ``message`` is an English message id with ``{placeholders}`` (mark it
    with ``N_`` so that it is translated): the desk shows ``_(message).format(**params)`` in
    its staff's language, each string value translated too when it is itself a message id
    (a category title, a state), and the English text is stored beside it for logs and
    exports. Without ``params`` the message is stored as given (shown as it is).

    Phone and ID numbers in the message and the values are masked here, once: the alert is
    stored, shown on every desk and kept after it is acknowledged, so the raw number never
    reaches any of them.
    """
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}")
    values = {str(k): mask_text(str(v))[:200] for k, v in (params or {}).items()}
    # A value may itself be a message id with the same placeholders (a refusal's wording).
    text = (
        fill(message, {k: fill(v, values) for k, v in values.items()})
        if params is not None
        else message
    )
    row = {
        "kind": kind,
        "message": mask_text(text)[:500],
        "msgid": message[:300] if params is not None else "",
        "params": values,
        "severity": severity,
        "lobby": lobby,
        "kiosk_id": kiosk_id,
        "created_at": at,
        "acknowledged_at": None,
        "acknowledged_by": "",
    }
    # One INSERT ... RETURNING, off the ORM's unit of work: the alert comes back detached.
    return direct.inserted(session, _INSERT_ALERT, DeskAlert, row)


def raise_kiosk_alert(
    ctx: KioskContext,
    session: Session,
    kind: str,
    message: str,
    params: Mapping[str, Any],
    *,
    at: dt.datetime | None = None,
    severity: str = "warning",
) -> DeskAlert:
    """:func:`raise_alert` about something at this kiosk, for its lobby's desk (at ``at``, else
    now)."""
    return raise_alert(
        session,
        kind,
        message,
        params=params,
        at=at or ctx.clock.now(),
        severity=severity,
        lobby=ctx.lobby,
        kiosk_id=ctx.kiosk_id,
    )


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
    result = direct.execute(
        session.connection(), _ACKNOWLEDGE, {"alert_id": alert_id, "at": at, "by": by}
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
        next_attempt_at=at,
        attempts=0,
        delivered=[],
    )
    session.add(n)
    session.flush()
    return n


# Secrets a message may carry: kept only until the message is delivered or given up.
SECRET_KEYS = ("code", "qr", "_links")
LEASE = dt.timedelta(minutes=5)  # longer than one message's sends (apprise times out in seconds)
BACKOFF_FIRST = 30  # seconds; doubled per failed attempt
BACKOFF_MAX = 3600


def backoff(attempts: int) -> dt.timedelta:
    """Wait after the ``attempts``-th failed try: 30 s, 1 min, 2 min ... at most 1 h."""
    return dt.timedelta(seconds=min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MAX))


def scrubbed(payload: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in payload.items() if k not in SECRET_KEYS}
    if len(out) != len(payload):
        out["scrubbed"] = True
    return out


def quiet_until(ctx: KioskContext, now: dt.datetime) -> dt.datetime | None:
    """The end of the quiet hours ``now`` falls in (estate time), or None."""
    spec = ctx.settings.notify.quiet_hours
    if not spec:
        return None
    start_s, end_s = (part.strip() for part in spec.split("-"))
    zone = ZoneInfo(ctx.settings.estate.timezone)
    local = as_utc(now).astimezone(zone)

    def at(day: dt.date, hhmm: str) -> dt.datetime:
        hh, mm = hhmm.split(":")
        return dt.datetime.combine(day, dt.time(int(hh), int(mm)), tzinfo=zone)

    today = local.date()
    for day in (today - dt.timedelta(days=1), today):
        start = at(day, start_s)
        end = at(day, end_s)
        if end <= start:
            end = at(day + dt.timedelta(days=1), end_s)
        if start <= local < end:
            return end.astimezone(dt.UTC)
    return None


@dataclass
class DispatchReport:
    """One pass over the outbox."""

    sent: int = 0
    retrying: int = 0  # a channel failed: pending, tried again later
    given_up: int = 0
    deferred: int = 0  # quiet hours
    skipped: int = 0  # claimed by another dispatcher first
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.retrying or self.given_up)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def summary(self) -> str:
        return (
            f"sent {self.sent}, retrying {self.retrying}, given up {self.given_up}, "
            f"held for quiet hours {self.deferred}"
        )


def _due(now: dt.datetime, retry_now: bool = False) -> Any:
    return or_(
        and_(
            Notification.state == "pending",
            or_(
                Notification.next_attempt_at.is_(None),
                Notification.next_attempt_at <= now,
                # The operator fixed the channel: failed messages need not wait out the backoff.
                and_(Notification.attempts > 0, Notification.last_error != "")
                if retry_now
                else false(),
            ),
        ),
        # A dispatcher that died mid-send: its lease ran out, the message is due again.
        and_(Notification.state == "sending", Notification.lease_until < now),
    )


def _recipients(ctx: KioskContext, session: Session, n: Notification) -> list[Recipient]:
    from kiosk.notify_channels import Recipient

    payload = n.payload or {}
    unit = session.get(Unit, n.unit_id) if n.unit_id is not None else None
    unit_code = unit.code if unit is not None else str(payload.get("unit", ""))
    if n.channel == "desk":
        audience = "engineering" if n.template.startswith("repair") else "desk"
        return [Recipient(audience, audience, ctx.settings.language, {"unit": unit_code})]
    if n.recipient:  # a named phone (an invited visitor), not the unit's residents
        return [
            Recipient(
                "to:" + n.recipient,
                "resident",
                ctx.settings.language,
                {"unit": unit_code, "phone": n.recipient},
            )
        ]
    if unit is None:
        return []
    residents = session.scalars(
        select(Resident)
        .where(Resident.unit_id == unit.id, Resident.active.is_(True))
        .order_by(Resident.id)
    ).all()
    return [
        Recipient(
            f"resident:{r.id}",
            "resident",
            r.language or ctx.settings.language,
            {"unit": unit.code, "phone": r.phone, "email": r.email, "name": r.name},
            r.notify_channel,
        )
        for r in residents
    ]


def _link_for(
    ctx: KioskContext, session: Session, n: Notification, r: Recipient
) -> tuple[str, str]:
    """(kind, token) of the one-time link a recipient's message carries, made once."""
    from kiosk.notify_links import create_link

    payload = n.payload or {}
    rid = r.key.split(":", 1)[1] if r.key.startswith("resident:") else ""
    if n.template == "visitor.ask_host" and rid and "visit" in payload:
        kind, subject = "visit", f"visit:{payload['visit']}:r:{rid}"
        minutes = int(payload.get("answer_within_minutes") or ctx.settings.notify.link_minutes)
        secret = ""
    elif n.template in ("parcel.arrived", "parcel.code_renewed") and rid and payload.get("code"):
        kind, subject = "parcel", f"parcel:{n.id}:r:{rid}"
        minutes, secret = 3 * 24 * 60, str(payload["code"])
    elif n.template == "bill.issued" and rid and payload.get("bill"):
        kind, subject = "bill", f"bill:{int(payload['bill'])}:r:{rid}"
        minutes, secret = 14 * 24 * 60, ""
    else:
        return "", ""
    links = dict(payload.get("_links") or {})
    if r.key not in links:
        links[r.key] = create_link(ctx, session, kind, subject, n.unit_id, minutes, secret)
        n.payload = {**payload, "_links": links}
    return kind, links[r.key]


def _finish(ctx: KioskContext, notification_id: int, me: str, values: dict[str, Any]) -> bool:
    """Write the outcome, if this dispatcher still holds the claim."""
    with ctx.database().write() as session:
        n = session.get(Notification, notification_id)
        if n is None or n.state != "sending" or n.claimed_by != me:
            return False
        for key, value in values.items():
            setattr(n, key, value)
        if values.get("state") in ("sent", "failed"):
            n.payload = scrubbed(dict(n.payload or {}))
            n.lease_until = None
        return True


def _process(
    ctx: KioskContext,
    notification_id: int,
    me: str,
    report: DispatchReport,
    retry_now: bool = False,
) -> None:
    from kiosk.notify_channels import send, targets
    from kiosk.notify_links import url_for
    from kiosk.notify_messages import is_urgent, render

    db = ctx.database()
    now = ctx.clock.now()
    settings = ctx.settings.notify
    with db.write() as session:
        claimed = session.execute(
            update(Notification)
            .where(Notification.id == notification_id, _due(now, retry_now))
            .values(
                state="sending",
                lease_until=now + LEASE,
                claimed_by=me,
                attempts=Notification.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            report.skipped += 1
            return
        n = session.get(Notification, notification_id)
        assert n is not None
        session.refresh(n)
        first = n.attempts == 1
        quiet = quiet_until(ctx, now)
        if quiet is not None and not is_urgent(n.template, n.channel):
            n.state, n.attempts, n.next_attempt_at = "pending", n.attempts - 1, quiet
            n.lease_until, n.claimed_by = None, ""
            report.deferred += 1
            return
        payload: dict[str, Any] = dict(n.payload or {})
        event: dict[str, Any] = {
            "kind": "notification",
            "id": n.id,
            "channel": n.channel,
            "template": n.template,
            "unit_id": n.unit_id,
            "recipient": n.recipient,
            "payload": {k: v for k, v in payload.items() if k != "_links"},
        }
        # ``"alert": False``: the service raised the desk's alert itself (the message goes
        # to its recipient, e.g. engineering, without a second line on every desk).
        if first and n.channel == "desk" and payload.get("alert", True) is not False:
            # A plugin's desk message: ``message`` (an English message id) with ``params``.
            params = payload.get("params")
            raise_alert(
                session,
                n.template,
                str(payload.get("message", n.template))[:500],
                params=params if isinstance(params, dict) else None,
                at=now,
                # The lobby the message is about (a plugin may name it), else this one's.
                lobby=str(payload.get("lobby", ctx.lobby)),
                kiosk_id=ctx.kiosk_id,
            )
        recipients = _recipients(ctx, session, n)
        done = set(n.delivered or [])
        todo = []
        for r in recipients:
            if r.key in done:
                continue
            urls = targets(getattr(settings, r.audience), r)
            if not urls:
                continue  # nobody configured for it, or no address on file for this person
            kind, token = _link_for(ctx, session, n, r)
            title, body = render(
                n.template,
                {"unit": r.values.get("unit", ""), **payload},
                r.language,
                url_for(ctx, token) if token else "",
                kind,
            )
            todo.append((r, urls, title, body))
        created, template, attempts = as_utc(n.created_at), n.template, n.attempts
        unit_code = next((r.values.get("unit", "") for r in recipients), "")
        channel = n.channel
        audience = (
            ("engineering" if template.startswith("repair") else "desk")
            if channel == "desk"
            else "resident"
        )
        configured = bool(getattr(settings, audience))
    if first and ctx.plugins is not None:
        ctx.plugins.call("kiosk_notify", event=event)
    errors: list[str] = []
    for r, urls, title, body in todo:
        tried: list[str] = []
        for url in urls:  # in order, until one delivers: a later one reaching them is enough
            ok, why = send(url, title, body)
            if ok:
                done.add(r.key)
                break
            tried.append(why)
        else:
            errors.extend(tried)
    reached = [r for r in recipients if r.key in done]
    now = ctx.clock.now()
    if not errors:
        if configured and not reached and not todo and channel != "desk":
            # Channels are configured but nobody in the unit has an address: tell the desk.
            _give_up(ctx, notification_id, me, template, unit_code, attempts, created, now,
                     "no reachable recipient", none_reachable=True)  # fmt: skip
            report.given_up += 1
            return
        _finish(ctx, notification_id, me, {"state": "sent", "sent_at": now, "delivered": sorted(done), "last_error": ""})  # fmt: skip
        report.sent += 1
        return
    error = "; ".join(errors)[:200]
    report.errors.append(f"#{notification_id} {template}: {error}")
    log.warning("notification %s (%s) not delivered: %s", notification_id, template, error)
    if now - created >= dt.timedelta(seconds=settings.give_up_after):
        _give_up(ctx, notification_id, me, template, unit_code, attempts, created, now, error,
                 delivered=sorted(done))  # fmt: skip
        report.given_up += 1
        return
    _finish(
        ctx,
        notification_id,
        me,
        {
            "state": "pending",
            "next_attempt_at": now + backoff(attempts),
            "lease_until": None,
            "claimed_by": "",
            "delivered": sorted(done),
            "last_error": error,
        },
    )
    report.retrying += 1


def _give_up(
    ctx: KioskContext,
    notification_id: int,
    me: str,
    template: str,
    unit_code: str,
    attempts: int,
    since: dt.datetime,
    now: dt.datetime,
    error: str,
    delivered: list[str] | None = None,
    none_reachable: bool = False,
) -> None:

    if none_reachable:
        message = N_("Nobody in {unit} can be reached: {template} not delivered.")
    else:
        message = N_(
            "Message for the desk could not be delivered: {template} for {unit} "
            "(tried {attempts} times since {since})."
        )
    from kiosk.notify_messages import TEMPLATES

    # The message by its title (a message id the desk translates and fills with the unit),
    # never its template id; a desk-only message has none and keeps its id.
    known = TEMPLATES.get(template)
    params = {"template": known.title if known else template, "unit": unit_code or "-",
              "attempts": attempts, "since": ctx.local_time(since)}  # fmt: skip
    with ctx.database().write() as session:
        n = session.get(Notification, notification_id)
        if n is None or n.state != "sending" or n.claimed_by != me:
            return
        n.state, n.failed_at, n.last_error = "failed", now, error[:200]
        n.delivered = delivered or list(n.delivered or [])
        n.payload = scrubbed(dict(n.payload or {}))
        n.lease_until = None
        raise_alert(session, "notify.given_up", message, params=params, at=now, severity="warning",
                    lobby=str((n.payload or {}).get("lobby", "")), kiosk_id=ctx.kiosk_id)  # fmt: skip


def run_dispatch(ctx: KioskContext, limit: int = 100, retry_now: bool = False) -> DispatchReport:
    """Deliver every due message (at most ``limit``); see the module's docstring. With
    ``retry_now``, messages a channel failed are tried again without waiting out the backoff."""
    report = DispatchReport()
    me = f"{ctx.kiosk_id}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    now = ctx.clock.now()
    db = ctx.database()
    with db.read() as session:
        ids = list(
            session.scalars(
                select(Notification.id)
                .where(_due(now, retry_now))
                .order_by(Notification.id)
                .limit(limit)
            )
        )
    for notification_id in ids:
        _process(ctx, notification_id, me, report, retry_now)
    from kiosk.notify_links import scrub_expired

    scrub_expired(ctx)
    return report


def dispatch_outbox(ctx: KioskContext, limit: int = 100) -> int:
    """Deliver due messages (:func:`run_dispatch`); returns how many were sent."""
    return run_dispatch(ctx, limit).sent


def outbox_status(ctx: KioskContext) -> dict[str, Any]:
    """Counts per state, the oldest pending message's age and the last errors (no payloads)."""
    from sqlalchemy import func

    now = ctx.clock.now()
    with ctx.database().read() as session:
        counts = dict(
            session.execute(
                select(Notification.state, func.count()).group_by(Notification.state)
            ).all()
        )
        due = session.scalar(select(func.count()).select_from(Notification).where(_due(now)))
        oldest = session.scalar(
            select(func.min(Notification.created_at)).where(
                Notification.state.in_(("pending", "sending"))
            )
        )
        errors = session.execute(
            select(Notification.id, Notification.template, Notification.last_error)
            .where(Notification.last_error != "", Notification.state != "sent")
            .order_by(Notification.id.desc())
            .limit(10)
        ).all()
    return {
        "states": {k: int(v) for k, v in counts.items()},
        "due": int(due or 0),
        "oldest_pending_minutes": (
            int((now - as_utc(oldest)).total_seconds() // 60) if oldest is not None else None
        ),
        "errors": [{"id": i, "template": t, "error": e} for i, t, e in errors],
        "channels": {
            a: len(getattr(ctx.settings.notify, a)) for a in ("resident", "desk", "engineering")
        },
    }


class Dispatcher(threading.Thread):
    """The background worker the kiosk and desk shells run: a pass every ``interval`` s."""

    def __init__(self, ctx: KioskContext, interval: float = 30.0) -> None:
        super().__init__(name="notify-dispatcher", daemon=True)
        self.ctx = ctx
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                run_dispatch(self.ctx)
            except Exception:  # noqa: BLE001 - the next pass tries again; the shell carries on
                log.exception("notification dispatch failed")
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()


def start_dispatcher(ctx: KioskContext, interval: float = 30.0) -> Dispatcher:
    """Start the background dispatcher (``kiosk run`` / ``kiosk desk``)."""
    worker = Dispatcher(ctx, interval)
    worker.start()
    return worker


# -- where a resident is reached ---------------------------------------------------------------

CONTACT_CHANNELS = ("", "email", "sms")
_EMAIL = r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+"


def set_contact(
    ctx: KioskContext,
    actor: Any,
    unit_code: str,
    name: str,
    *,
    email: str | None = None,
    channel: str | None = None,
) -> None:
    """Record a resident's email and preferred channel ("" = any, "email", "sms", or a channel
    URL scheme such as "wecombot"); desk staff or the office, audited (the address masked)."""
    import re

    from kiosk.errors import Refused
    from kiosk.identity import normalise_unit_code, require_role
    from kiosk.notify_channels import KNOWN_SCHEMES

    require_role(actor, "notify.contact", "butler", "manager")
    values: dict[str, str] = {}
    if email is not None:
        clean = email.strip()
        if clean and (len(clean) > 200 or not re.fullmatch(_EMAIL, clean)):
            raise Refused("notify.bad_email", "{email} is not an email address.", email=clean[:60])
        values["email"] = clean
    if channel is not None:
        chosen = channel.strip().lower()
        if chosen not in CONTACT_CHANNELS and chosen not in KNOWN_SCHEMES:
            raise Refused(
                "notify.bad_channel",
                "Unknown channel {channel}: use email, sms, or a channel's scheme.",
                channel=chosen[:20],
            )
        values["notify_channel"] = chosen
    with ctx.database().write() as session:
        resident = session.scalar(
            select(Resident)
            .join(Unit, Unit.id == Resident.unit_id)
            .where(
                Unit.code == normalise_unit_code(unit_code),
                Resident.name == name.strip(),
                Resident.active.is_(True),
            )
        )
        if resident is None:
            raise Refused(
                "notify.no_resident",
                "No resident {name} lives in {unit}.",
                name=name.strip()[:40],
                unit=unit_code.strip()[:20],
            )
        for key, value in values.items():
            setattr(resident, key, value)
        audit.record_for(
            ctx,
            session,
            actor,
            "resident.contact_changed",
            f"resident:{resident.id}",
            {k: _mask_email(v) if k == "email" else v for k, v in values.items()},
        )


def _mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else ""
