"""Privacy and safe defaults: desk alerts never hold a raw phone or ID number, database
passwords are never printed, the config refuses misspelled keys and `kiosk doctor` names every
insecure setting."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sqlalchemy.engine import make_url

from kiosk.config import redact, redact_url
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


SECRET = "Hunter2-db-pw"


def _kiosk(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-c", "from kiosk.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=180,
    )


def test_kiosk_init_never_prints_the_database_password(postgres) -> None:
    url = make_url(postgres.fresh(False)).set(password=SECRET)  # trust auth ignores it
    ready = _kiosk("init", "--db", url.render_as_string(hide_password=False), env={})
    assert ready.returncode == 0, ready.stderr
    assert "database ready: " in ready.stdout and ":***@" in ready.stdout
    assert SECRET not in ready.stdout + ready.stderr
    # Nor when the database cannot be reached (the reason quotes the URL), even in debug logs.
    down = url.set(port=1).render_as_string(hide_password=False)
    failed = _kiosk("init", "--db", down, env={"KIOSK_LOG_LEVEL": "DEBUG"})
    assert failed.returncode == 1 and "cannot prepare the database" in failed.stderr
    assert SECRET not in failed.stdout + failed.stderr


def test_kiosk_doctor_never_prints_the_database_password() -> None:
    down = f"postgresql+psycopg://kiosk:{SECRET}@127.0.0.1:1/kiosk"
    result = _kiosk("doctor", "--json", env={"KIOSK_DATABASE_URL": down})
    assert SECRET not in result.stdout + result.stderr
    [check] = [c for c in json.loads(result.stdout)["checks"] if c["check"] == "database"]
    assert not check["ok"] and "unreachable" in check["detail"]


def test_redacted_urls_keep_everything_but_the_password() -> None:
    assert redact_url(f"postgresql+psycopg://kiosk:{SECRET}@db/kiosk") == (
        "postgresql+psycopg://kiosk:***@db/kiosk"
    )
    assert redact_url("sqlite:///var/kiosk.db") == "sqlite:///var/kiosk.db"
    broken = f"postgresql://kiosk:{SECRET}@db:port/kiosk"  # make_url refuses it
    assert SECRET not in redact_url(broken) and SECRET not in redact(f"bad {broken}", broken)
