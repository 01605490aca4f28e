"""The outbox reaches people: through real channels on 127.0.0.1, once, retried while a channel
is down, given up (with a desk alert) only after the configured time, held in quiet hours, and
with the codes gone from the database once delivered."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import pytest
from notify_servers import Webhook
from sqlalchemy import select, text

from kiosk.config import NotifySettings
from kiosk.context import KioskContext
from kiosk.db import Database
from kiosk.db.models import Notification, Resident, Unit
from kiosk.identity import Actor
from kiosk.notify import open_alerts, queue_notification, run_dispatch

BUTLER = Actor("staff", 1, "李管家", frozenset({"butler"}))


def configure(ctx: KioskContext, **notify: object) -> None:
    ctx.settings = dataclasses.replace(ctx.settings, notify=NotifySettings(**notify))  # type: ignore[arg-type]


def phones(ctx: KioskContext, unit: str) -> dict[str, str]:
    """name -> phone of the unit's residents (the demo gives each one)."""
    with ctx.database().read() as s:
        rows = s.execute(
            select(Resident.name, Resident.phone)
            .join(Unit, Unit.id == Resident.unit_id)
            .where(Unit.code == unit, Resident.active.is_(True))
        ).all()
    return {name: phone for name, phone in rows}


def log_parcel(ctx: KioskContext, unit: str = "3-1205", number: str = "SF7000000000001"):
    from plugins.parcels import service

    return service.check_in(ctx, BUTLER, tracking=number, unit_code=unit, shelf="a1")


@pytest.fixture
def webhook():
    hook = Webhook().start()
    yield hook
    hook.stop()


def test_a_parcel_reaches_each_resident_of_the_unit_once_with_its_code(ctx, webhook) -> None:
    configure(ctx, resident=(webhook.url("send/{phone}"),))
    result = log_parcel(ctx)
    report = run_dispatch(ctx)
    assert report.sent == 1 and report.ok
    unit_phones = phones(ctx, "3-1205")
    assert len(unit_phones) >= 2
    # One message per resident, to that resident's number, carrying the code.
    assert sorted(r.path for r in webhook.received) == sorted(
        f"/send/{p}" for p in unit_phones.values()
    )
    assert all(result.code in r.body["message"] for r in webhook.received)
    # In each resident's language: Emily Wang reads English, 王小明 Chinese.
    by_phone = {r.path.rsplit("/", 1)[1]: r.body for r in webhook.received}
    assert "Pickup code" in by_phone[unit_phones["Emily Wang"]]["message"]
    assert "取件码" in by_phone[unit_phones["王小明"]]["message"]
    assert run_dispatch(ctx).sent == 0  # nothing twice
    assert len(webhook.received) == len(unit_phones)


def test_the_code_goes_to_that_unit_only(ctx, webhook) -> None:
    configure(ctx, resident=(webhook.url("send/{phone}"),))
    first = log_parcel(ctx, "3-1205", "SF7000000000002")
    second = log_parcel(ctx, "1-101", "SF7000000000003")
    run_dispatch(ctx)
    to_3 = {f"/send/{p}" for p in phones(ctx, "3-1205").values()}
    to_1 = {f"/send/{p}" for p in phones(ctx, "1-101").values()}
    for r in webhook.received:
        assert (first.code in r.body["message"]) == (r.path in to_3)
        assert (second.code in r.body["message"]) == (r.path in to_1)


def test_a_code_is_scrubbed_from_the_outbox_once_delivered(ctx, webhook) -> None:
    configure(ctx, resident=(webhook.url("send/{phone}"),))
    result = log_parcel(ctx)
    with ctx.database().read() as s:
        # Until delivered the row must hold it (nothing else can deliver it).
        assert result.code in str(s.get(Notification, result.notification_id).payload)
    run_dispatch(ctx)
    with ctx.database().read() as s:
        n = s.get(Notification, result.notification_id)
        assert n.state == "sent" and n.payload.get("scrubbed") is True
        assert "code" not in n.payload
        dumped = s.execute(text("SELECT payload FROM notification")).scalars().all()
        assert not any(result.code in str(p) for p in dumped)


def test_invite_codes_and_their_signed_qr_are_scrubbed_too(ctx, webhook) -> None:
    from plugins.visitors import service as visitors

    configure(ctx, resident=(webhook.url("sms/{phone}"),))
    host = _resident_actor(ctx, "王小明")
    start = ctx.clock.now() + dt.timedelta(hours=1)
    invite = visitors.create_invite(
        ctx,
        host,
        visitor_name="钱七",
        visitor_phone="13700002222",
        valid_from=start,
        valid_until=start + dt.timedelta(hours=3),
    )
    run_dispatch(ctx)
    assert [r.path for r in webhook.received] == ["/sms/13700002222"]  # the visitor, no one else
    assert invite.code in webhook.received[0].body["message"]
    with ctx.database().read() as s:
        dumped = " ".join(
            str(p) for p in s.execute(text("SELECT payload FROM notification")).scalars()
        )
    assert invite.code not in dumped and "KI1." not in dumped


def _resident_actor(ctx: KioskContext, name: str) -> Actor:
    with ctx.database().read() as s:
        r = s.scalars(
            select(Resident)
            .join(Unit, Unit.id == Resident.unit_id)
            .where(Resident.name == name, Unit.code == "3-1205")
        ).one()
        return Actor.of_resident(r)


@pytest.mark.parametrize("fault", ["down", "fail", "slow"])
def test_a_channel_that_is_down_keeps_the_message_pending_then_delivers_it_once(
    ctx, webhook, fault
) -> None:
    url = webhook.url("send/{phone}") + "?cto=0.5&rto=0.5"
    configure(ctx, resident=(url,))
    if fault == "down":
        webhook.stop()
    elif fault == "fail":
        webhook.mode = "fail"
    else:
        webhook.delay = 2.0
    result = log_parcel(ctx)
    report = run_dispatch(ctx)
    assert report.sent == 0 and report.retrying == 1 and not report.ok
    with ctx.database().read() as s:
        n = s.get(Notification, result.notification_id)
        assert n.state == "pending" and n.attempts == 1 and n.last_error
        assert result.code in str(n.payload)  # kept: still to be delivered
        first_retry = n.next_attempt_at
    assert run_dispatch(ctx).retrying == 0  # backing off: not due yet
    webhook.mode, webhook.delay = "ok", 0.0
    if fault == "down":
        webhook.start()
    elif fault == "slow":
        webhook.received.clear()  # the slow server may have accepted it after apprise gave up
    ctx.clock.advance(seconds=31)
    assert run_dispatch(ctx).sent == 1
    assert run_dispatch(ctx).sent == 0
    unit_phones = phones(ctx, "3-1205")
    assert sorted(r.path for r in webhook.received) == sorted(
        f"/send/{p}" for p in unit_phones.values()
    )
    assert first_retry is not None


def test_backoff_doubles_and_the_message_is_given_up_with_a_desk_alert(ctx) -> None:
    webhook = Webhook()  # never started: connection refused
    configure(ctx, resident=(webhook.url("send/{phone}"),), give_up_after=6 * 3600)
    result = log_parcel(ctx)
    waits = []
    for _ in range(4):
        run_dispatch(ctx)
        with ctx.database().read() as s:
            n = s.get(Notification, result.notification_id)
            waits.append(
                (
                    n.next_attempt_at.replace(tzinfo=None) - ctx.clock.now().replace(tzinfo=None)
                ).total_seconds()
            )
        ctx.clock.advance(seconds=waits[-1] + 1)
    assert waits == [30, 60, 120, 240]
    ctx.clock.advance(hours=6)
    report = run_dispatch(ctx)
    assert report.given_up == 1 and not report.ok
    with ctx.database().read() as s:
        n = s.get(Notification, result.notification_id)
        assert n.state == "failed" and n.failed_at is not None  # never deleted
        assert "code" not in n.payload and result.code not in str(n.payload)
        alerts = [a for a in open_alerts(s) if a.kind == "notify.given_up"]
        assert len(alerts) == 1 and "3-1205" in alerts[0].message
        assert result.code not in alerts[0].message
    assert run_dispatch(ctx).given_up == 0


def test_quiet_hours_hold_non_urgent_messages_but_not_a_visitor_at_the_door(ctx, webhook) -> None:
    from plugins.visitors import service as visitors

    configure(ctx, resident=(webhook.url("send/{phone}"),), quiet_hours="22:00-07:00")
    # 23:30 in Shanghai.
    ctx.clock._now = dt.datetime(2026, 11, 23, 15, 30, tzinfo=dt.UTC)  # type: ignore[attr-defined]
    parcel = log_parcel(ctx)
    visitors.register_walkup(
        ctx, name="赵六一", phone="13912345678", unit_code="3-1205", purpose="探亲"
    )
    report = run_dispatch(ctx)
    assert report.deferred == 1 and report.ok
    assert webhook.received and not any(parcel.code in m for m in webhook.messages())
    with ctx.database().read() as s:
        n = s.get(Notification, parcel.notification_id)
        assert n.state == "pending" and n.attempts == 0
    ctx.clock._now = dt.datetime(2026, 11, 23, 22, 59, tzinfo=dt.UTC)  # type: ignore[attr-defined]
    assert run_dispatch(ctx).sent == 0  # 06:59: still quiet (not even due)
    ctx.clock.advance(minutes=2)  # 07:01
    assert run_dispatch(ctx).sent == 1
    assert any(parcel.code in m for m in webhook.messages())


def test_two_dispatchers_at_once_send_each_message_once(ctx, webhook) -> None:
    webhook.delay = 0.02  # each send takes a moment, so the two passes overlap
    configure(ctx, desk=(webhook.url("desk"),))
    with ctx.database().write() as s:
        for i in range(30):
            queue_notification(
                s, channel="desk", template="visitor.waiting", at=ctx.clock.now(),
                payload={"message": f"message {i}"},
            )  # fmt: skip
    other = dataclasses.replace(ctx, db=Database(ctx.settings.database_url))
    reports = []
    barrier = threading.Barrier(2)

    def dispatcher(c: KioskContext) -> None:
        barrier.wait()
        reports.append(run_dispatch(c))

    threads = [threading.Thread(target=dispatcher, args=(c,)) for c in (ctx, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.database().dispose()
    assert sorted(webhook.messages()) == sorted(f"message {i}" for i in range(30))
    assert sum(r.sent for r in reports) == 30
    with ctx.database().read() as s:
        assert {n.state for n in s.scalars(select(Notification))} == {"sent"}
        # Each desk message also became exactly one desk alert.
        assert len([a for a in open_alerts(s, limit=100) if a.kind == "visitor.waiting"]) == 30


def test_a_dispatcher_that_died_mid_send_is_taken_over_after_its_lease(ctx, webhook) -> None:
    configure(ctx, desk=(webhook.url("desk"),))
    with ctx.database().write() as s:
        n = queue_notification(
            s, channel="desk", template="x", at=ctx.clock.now(), payload={"message": "m"}
        )
        n.state, n.claimed_by = "sending", "dead-kiosk"
        n.lease_until = ctx.clock.now() + dt.timedelta(minutes=5)
        note_id = n.id
    assert run_dispatch(ctx).sent == 0  # its lease holds
    ctx.clock.advance(minutes=6)
    assert run_dispatch(ctx).sent == 1
    assert webhook.messages() == ["m"]
    with ctx.database().read() as s:
        assert s.get(Notification, note_id).state == "sent"


def test_a_unit_nobody_can_be_reached_in_is_told_to_the_desk(ctx, webhook) -> None:
    configure(ctx, resident=("mailto://127.0.0.1:9?from=k@x.test&to={email}&smtp=127.0.0.1",))
    result = log_parcel(ctx)  # the demo residents have no email on file
    report = run_dispatch(ctx)
    assert report.given_up == 1
    with ctx.database().read() as s:
        assert s.get(Notification, result.notification_id).state == "failed"
        (alert,) = [a for a in open_alerts(s) if a.kind == "notify.given_up"]
    assert "3-1205" in alert.message
    # At the desk, in the staff's language, the message is named, not its template id.
    from kiosk.i18n import language, set_language
    from kiosk.ui.desk_app import alert_message

    before = language()
    set_language("zh_CN")
    try:
        shown = alert_message(alert.kind, alert.message, alert.msgid, alert.params)
    finally:
        set_language(before)
    assert "parcel.arrived" not in shown and "3-1205 有快递" in shown, shown


def test_a_residents_preferred_channel_is_the_only_one_used(ctx, webhook) -> None:
    sms = Webhook().start()
    try:
        configure(ctx, resident=(webhook.url("wx/{unit}/{name}"), sms.url("sms/{phone}")))
        with ctx.database().write() as s:
            r = s.scalars(select(Resident).where(Resident.name == "Emily Wang")).one()
            r.notify_channel = "sms"
        log_parcel(ctx)
        run_dispatch(ctx)
        # 王小明 has no preference: the first channel; Emily Wang: only her SMS.
        assert [r.path for r in webhook.received] == ["/wx/3-1205/%E7%8E%8B%E5%B0%8F%E6%98%8E"]
        assert [r.path for r in sms.received] == [f"/sms/{phones(ctx, '3-1205')['Emily Wang']}"]
    finally:
        sms.stop()


def test_placeholders_are_url_quoted_so_a_name_cannot_change_the_target(ctx, webhook) -> None:
    configure(ctx, resident=(webhook.url("n/{name}"),))
    with ctx.database().write() as s:
        r = s.scalars(select(Resident).where(Resident.name == "Emily Wang")).one()
        r.name = "x/../../evil?to=a@b.c#"
    log_parcel(ctx)
    run_dispatch(ctx)
    paths = [r.path for r in webhook.received]
    assert len(paths) == 2
    # Still one path segment under /n/: no traversal, no query of its own, no fragment.
    evil = next(p for p in paths if "evil" in p)
    assert evil.startswith("/n/x%2F..%2F..%2Fevil%3F") and "?" not in evil
    assert evil.count("/") == 2


def test_the_plugin_hook_still_sees_each_message_once(ctx, webhook) -> None:
    from kiosk.hookspecs import hookimpl
    from kiosk.plugins import load_plugins

    seen = []

    class Recorder:
        @hookimpl
        def kiosk_notify(self, event):
            seen.append(event)

    ctx.plugins = load_plugins(extra={"recorder": Recorder()})
    configure(ctx, resident=(webhook.url("send/{phone}?rto=0.5"),))
    webhook.mode = "fail"
    log_parcel(ctx)
    run_dispatch(ctx)
    webhook.mode = "ok"
    ctx.clock.advance(seconds=31)
    run_dispatch(ctx)
    assert [e["template"] for e in seen] == ["parcel.arrived"]


def test_the_shells_background_dispatcher_delivers_without_being_asked(ctx, webhook) -> None:
    from kiosk.notify import start_dispatcher

    configure(ctx, resident=(webhook.url("send/{phone}"),))
    result = log_parcel(ctx)
    worker = start_dispatcher(ctx, interval=0.05)
    try:
        with webhook._cond:
            assert webhook._cond.wait_for(lambda: len(webhook.received) >= 2, timeout=20)
    finally:
        worker.stop()
        worker.join(timeout=10)
    assert not worker.is_alive()
    with ctx.database().read() as s:
        assert s.get(Notification, result.notification_id).state == "sent"
    assert all(result.code in r.body["message"] for r in webhook.received)


def test_when_the_first_channel_is_down_the_next_one_delivers_and_that_is_enough(
    ctx, webhook
) -> None:
    down = Webhook()  # never started
    configure(ctx, resident=(down.url("wx/{phone}"), webhook.url("sms/{phone}")))
    result = log_parcel(ctx)
    report = run_dispatch(ctx)
    assert report.sent == 1 and report.ok and report.retrying == 0
    assert len(webhook.received) == len(phones(ctx, "3-1205"))
    with ctx.database().read() as s:
        assert s.get(Notification, result.notification_id).state == "sent"
