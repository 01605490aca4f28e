"""Privacy and safe defaults: desk alerts never hold a raw phone or ID number, database
passwords are never printed, the config refuses misspelled keys and `kiosk doctor` names every
insecure setting."""

from __future__ import annotations

from kiosk.context import KioskContext
from kiosk.db.models import DeskAlert
from kiosk.notify import dispatch_outbox, open_alerts, queue_notification, raise_alert
from kiosk.pii import find_unmasked

PHONE, SPACED, OLD_ID = "13912345678", "139 1234 5678", "310101900101123"


def test_a_desk_alert_carrying_a_phone_or_id_number_is_stored_masked(ctx: KioskContext) -> None:
    message = f"visitor at the gate, call {PHONE} or {SPACED}, ID {OLD_ID}"
    with ctx.database().write() as s:
        alert_id = raise_alert(s, "visitor.gate", message, at=ctx.clock.now(), lobby="A").id
    with ctx.database().read() as s:
        stored = s.get(DeskAlert, alert_id)
        assert stored is not None
        assert "139****5678" in stored.message and "139 **** 5678" in stored.message
        assert "3101*******1123" in stored.message
        assert find_unmasked(stored.message) == []
        assert all(n not in stored.message for n in (PHONE, SPACED, OLD_ID))


def test_a_desk_notification_becomes_a_masked_alert(ctx: KioskContext) -> None:
    with ctx.database().write() as s:
        queue_notification(
            s,
            channel="desk",
            template="visitor.waiting",
            at=ctx.clock.now(),
            payload={"message": f"visitor {PHONE} waiting for 3-1205"},
        )
    assert dispatch_outbox(ctx) == 1
    with ctx.database().read() as s:
        [alert] = [a for a in open_alerts(s, "A") if a.kind == "visitor.waiting"]
        assert alert.message == "visitor 139****5678 waiting for 3-1205"
