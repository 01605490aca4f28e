"""Privacy and safe defaults: desk alerts never hold a raw phone or ID number, database
passwords are never printed, the config refuses misspelled keys and `kiosk doctor` names every
insecure setting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from kiosk.clock import FixedClock
from kiosk.config import Settings, load_settings, redact, redact_url
from kiosk.context import KioskContext
from kiosk.db import retention
from kiosk.db.models import DeskAlert, Staff
from kiosk.doctor import run_checks
from kiosk.identity import hash_pin
from kiosk.notify import dispatch_outbox, open_alerts, queue_notification, raise_alert
from kiosk.pii import find_unmasked
from tests.conftest import make_ctx

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


# -- kiosk doctor: insecure defaults -------------------------------------------------------------

SECURE = """
[devices]
printer = "tcp://10.0.0.9:9100"
[plugins.billing]
providers_enabled = ["emv_static"]
[plugins.visitors]
pass_key = "8c1f0a4e3b7d42e9a1c5f6b0d2e47a93"
[plugins.releases]
pass_key = "5d2b9e71c4a84f06b3e1a7c90f62d815"
"""


def write_config(
    tmp_path: Path, url: str, body: str = SECURE, mode: int = 0o600, audit_key: bool = True
) -> Path:
    path = tmp_path / "kiosk.toml"
    if audit_key:  # a private audit key outside the database, as kiosk init makes one
        key = tmp_path / "audit.key"
        key.write_text("ab" * 32, "ascii")
        os.chmod(key, 0o600)
        body += f'[audit]\nkey_file = "{key}"\n'
    path.write_text(f'[database]\nurl = "{url}"\n{body}', "utf-8")
    os.chmod(path, mode)
    return path


def warnings(settings: Settings, clock: FixedClock, sim: bool = False) -> dict[str, str]:
    checks = run_checks(settings, sim=sim, clock=clock)
    assert all(c["ok"] for c in checks), checks
    found = {c["check"]: c["detail"] for c in checks if c.get("warning")}
    assert all("\n" not in line for line in found.values())  # one line each
    return found


@pytest.fixture
def estate(sqlite_demo_url: str, monkeypatch: pytest.MonkeyPatch) -> KioskContext:
    """The demo estate made safe: new staff PINs, a private database file, purged today."""
    monkeypatch.delenv("KIOSK_VISITOR_PASS_KEY", raising=False)
    monkeypatch.delenv("KIOSK_DATABASE_URL", raising=False)
    ctx = make_ctx(sqlite_demo_url)
    with ctx.database().write() as s:
        for staff in s.scalars(select(Staff)):
            staff.pin_hash = hash_pin("7" + staff.number[-3:] + "93")
    os.chmod(sqlite_demo_url[len("sqlite:///") :], 0o600)
    retention.purge(ctx)
    return ctx


def test_a_safely_configured_kiosk_has_no_warnings(estate: KioskContext, tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, estate.settings.database_url))
    assert warnings(settings, estate.clock) == {}


def test_doctor_warns_when_audit_events_would_be_written_unkeyed(
    estate: KioskContext, tmp_path: Path
) -> None:
    settings = load_settings(write_config(tmp_path, estate.settings.database_url, audit_key=False))
    found = warnings(settings, estate.clock)
    assert list(found) == ["audit.key_file"] and "unkeyed" in found["audit.key_file"]


def test_doctor_warns_about_a_config_readable_by_group_or_others(
    estate: KioskContext, tmp_path: Path
) -> None:
    for mode in (0o640, 0o644):
        settings = load_settings(write_config(tmp_path, estate.settings.database_url, mode=mode))
        found = warnings(settings, estate.clock)
        assert list(found) == ["config permissions"]
        assert (
            f"mode {mode:04o}" in found["config permissions"]
            and "chmod 600" in found["config permissions"]
        )


def test_doctor_warns_about_simulated_devices_unless_run_with_sim(
    estate: KioskContext, tmp_path: Path
) -> None:
    body = SECURE.replace('"tcp://10.0.0.9:9100"', '"sim://printer?paper=58"')
    settings = load_settings(write_config(tmp_path, estate.settings.database_url, body))
    found = warnings(settings, estate.clock)
    assert list(found) == ["devices.printer"] and "simulated device" in found["devices.printer"]
    assert warnings(settings, estate.clock, sim=True) == {}


def test_doctor_warns_about_the_simulated_payment_gateway(
    estate: KioskContext, tmp_path: Path
) -> None:
    for body in (
        SECURE.replace('["emv_static"]', '["emv_static", "sim"]'),
        SECURE.replace('providers_enabled = ["emv_static"]', ""),  # the default is "sim"
    ):
        settings = load_settings(write_config(tmp_path, estate.settings.database_url, body))
        found = warnings(settings, estate.clock)
        assert list(found) == ["plugins.billing.providers_enabled"]
        assert "simulated payment gateway" in found["plugins.billing.providers_enabled"]


def test_doctor_warns_about_the_public_development_pass_key(
    estate: KioskContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plugins.visitors.passes import DEV_KEY

    for key_line in ("", f'pass_key = "{DEV_KEY}"'):
        body = SECURE.replace('pass_key = "8c1f0a4e3b7d42e9a1c5f6b0d2e47a93"', key_line)
        settings = load_settings(write_config(tmp_path, estate.settings.database_url, body))
        found = warnings(settings, estate.clock)
        assert list(found) == ["plugins.visitors.pass_key"]
        assert "forged" in found["plugins.visitors.pass_key"]
    body = SECURE.replace('pass_key = "8c1f0a4e3b7d42e9a1c5f6b0d2e47a93"', "")
    settings = load_settings(write_config(tmp_path, estate.settings.database_url, body))
    monkeypatch.setenv("KIOSK_VISITOR_PASS_KEY", "a-real-key-from-the-environment-123")
    assert warnings(settings, estate.clock) == {}


def test_doctor_warns_while_demo_staff_pins_still_open_the_desk(
    estate: KioskContext, tmp_path: Path
) -> None:
    with estate.database().write() as s:
        s.scalars(select(Staff).where(Staff.number == "S002")).one().pin_hash = hash_pin("1357")
    settings = load_settings(write_config(tmp_path, estate.settings.database_url))
    found = warnings(settings, estate.clock)
    assert list(found) == ["staff PINs"]
    assert "S002" in found["staff PINs"] and "S001" not in found["staff PINs"]
    assert "1357" not in found["staff PINs"]  # named, never printed


def test_doctor_warns_about_a_readable_sqlite_file(estate: KioskContext, tmp_path: Path) -> None:
    url = estate.settings.database_url
    os.chmod(url[len("sqlite:///") :], 0o644)
    found = warnings(load_settings(write_config(tmp_path, url)), estate.clock)
    assert list(found) == ["database.url"] and "mode 0644" in found["database.url"]


def test_doctor_warns_when_retention_never_runs(sqlite_demo_url: str, tmp_path: Path) -> None:
    ctx = make_ctx(sqlite_demo_url)
    os.chmod(sqlite_demo_url[len("sqlite:///") :], 0o600)
    settings = load_settings(write_config(tmp_path, sqlite_demo_url))
    assert "never run" in warnings(settings, ctx.clock)["retention"]
    retention.purge(ctx)
    assert "retention" not in warnings(settings, ctx.clock)
    ctx.clock.advance(days=8)
    assert "last ran 8 days ago" in warnings(settings, ctx.clock)["retention"]


def test_kiosk_doctor_on_the_shipped_demo_config_names_every_insecure_default(
    sqlite_demo_url: str,
) -> None:
    demo = str(Path(__file__).resolve().parents[2] / "config" / "demo.toml")
    result = _kiosk("doctor", "-c", demo, env={"KIOSK_DATABASE_URL": sqlite_demo_url})
    warned = [line for line in result.stdout.splitlines() if line.startswith("[warn]")]
    for key in (
        "devices.printer",
        "devices.card_reader",
        "plugins.billing.providers_enabled",
        "plugins.visitors.pass_key",
        "staff PINs",
        "retention",
    ):
        assert any(line.startswith(f"[warn] {key}: ") for line in warned), (key, result.stdout)
    as_demo = _kiosk("doctor", "--sim", "-c", demo, env={"KIOSK_DATABASE_URL": sqlite_demo_url})
    assert "[warn] devices." not in as_demo.stdout
    assert "[warn] plugins.billing" not in as_demo.stdout
