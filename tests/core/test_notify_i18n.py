"""The outbox hands each message to the channel adapters exactly once; catalogs switch live."""

from __future__ import annotations

from kiosk import i18n
from kiosk.context import KioskContext
from kiosk.db.models import Notification
from kiosk.hookspecs import hookimpl
from kiosk.notify import dispatch_outbox, open_alerts, queue_notification
from kiosk.plugins import load_plugins


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict] = []

    @hookimpl
    def kiosk_notify(self, event):
        self.events.append(event)


def test_outbox_messages_are_delivered_once(ctx: KioskContext) -> None:
    recorder = Recorder()
    ctx.plugins = load_plugins(extra={"recorder": recorder})
    with ctx.database().write() as s:
        queue_notification(
            s,
            channel="sms",
            template="parcel.arrived",
            at=ctx.clock.now(),
            unit_id=1,
            payload={"code": "123456"},
        )
        queue_notification(
            s,
            channel="desk",
            template="visitor.waiting",
            at=ctx.clock.now(),
            payload={"message": "visitor for 3-1205"},
        )
    assert dispatch_outbox(ctx) == 2
    assert dispatch_outbox(ctx) == 0  # nothing is sent twice
    assert [e["template"] for e in recorder.events] == ["parcel.arrived", "visitor.waiting"]
    with ctx.database().read() as s:
        assert {n.state for n in s.query(Notification)} == {"sent"}
        assert any(a.kind == "visitor.waiting" for a in open_alerts(s, "A"))


def test_po_parser_handles_multiline_and_escapes() -> None:
    po = 'msgid ""\nmsgstr ""\n"Language: zh_CN\\n"\n\n# comment\nmsgid "Call the desk"\nmsgstr "呼叫前台"\n\nmsgid "Wrong PIN. "\n"{remaining} tries left."\nmsgstr "密码错误，"\n"还可尝试 {remaining} 次。"\n\nmsgid "Untranslated"\nmsgstr ""\n'
    assert i18n.parse_po(po) == {
        "Call the desk": "呼叫前台",
        "Wrong PIN. {remaining} tries left.": "密码错误，还可尝试 {remaining} 次。",
    }


def test_language_switch_notifies_listeners() -> None:
    seen: list[str] = []
    i18n.on_language_change(seen.append)
    try:
        i18n.set_language("en")
        assert (
            i18n.gettext("Card not recognised. Please see the desk.")
            == "Card not recognised. Please see the desk."
        )
        i18n.set_language("zh_CN")
        assert seen[-2:] == ["en", "zh_CN"]
    finally:
        i18n._listeners.remove(seen.append)
        i18n.set_language("zh_CN")
