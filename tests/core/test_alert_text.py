"""A desk alert keeps its wording as a message id with values: each desk reads it in its own
language, the English text is kept for logs, and numbers in the values are masked once."""

from __future__ import annotations

from kiosk.context import KioskContext
from kiosk.db.models import DeskAlert
from kiosk.i18n import set_language
from kiosk.notify import raise_alert
from kiosk.ui.desk_app import alert_message, alert_title


def test_an_alert_is_read_in_the_desks_language_with_its_values_masked(ctx: KioskContext) -> None:
    with ctx.database().write() as s:
        alert = raise_alert(
            s,
            "desk_call",
            "kiosk {kiosk} asks for help: {note}",
            params={"kiosk": "lobby-A", "note": "call 13800138000 {x} 轮椅"},
            at=ctx.clock.now(),
        )
        stored = (alert.message, alert.msgid, dict(alert.params))
    message, msgid, params = stored
    assert message == "kiosk lobby-A asks for help: call 138****8000 {x} 轮椅"
    assert msgid == "kiosk {kiosk} asks for help: {note}"
    assert "13800138000" not in str(params)
    try:
        set_language("zh_CN")
        shown = alert_message("desk_call", message, msgid, params)
        assert shown == "终端 lobby-A 呼叫服务台：call 138****8000 {x} 轮椅"
        assert alert_title("desk_call") == "呼叫前台"
        assert alert_title("someone.elses_kind") == "告警"  # never the raw code
        assert alert_title("visitor.waiting", {"visitor.waiting": "Visitor waiting"}) == "访客等待"
        set_language("en")
        assert alert_message("desk_call", message, msgid, params) == message
    finally:
        set_language("zh_CN")


def test_a_value_that_is_a_message_id_is_translated_with_the_same_values(
    ctx: KioskContext,
) -> None:
    """A refusal's wording passed as a value: translated, its placeholders filled."""
    from kiosk.plugins import load_plugins

    ctx.plugins = load_plugins()  # the parcels catalog
    params = {"unit": "3-1205", "kiosk": "k1", "picker": "王*明", "tail": "123456",
              "reason": "Item …{tail} needs an ID check: please collect it at the desk with "
              "your ID. Nothing was released."}  # fmt: skip
    with ctx.database().write() as s:
        raise_alert(s, "parcel_to_desk",
                    "{unit}: {reason} at kiosk {kiosk} ({picker}); release at the desk",
                    params=params, at=ctx.clock.now())  # fmt: skip
    with ctx.database().read() as s:
        a = s.query(DeskAlert).filter_by(kind="parcel_to_desk").one()
        assert "Item …123456 needs an ID check" in a.message and "{tail}" not in a.message
        set_language("zh_CN")
        shown = alert_message(a.kind, a.message, a.msgid, a.params)
    assert "123456" in shown and "服务台" in shown and "ID check" not in shown
