"""`kiosk notify ...` as an operator and cron use it, and the [notify] section's validation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from notify_servers import Webhook
from sqlalchemy import select

from kiosk.clock import SystemClock
from kiosk.config import ConfigError, parse_settings
from kiosk.context import KioskContext
from kiosk.db import Database
from kiosk.db.models import Notification, Resident, Unit
from kiosk.identity import Actor
from kiosk.plugins import load_plugins

KIOSK = [sys.executable, "-c", "from kiosk.cli import main; main()"]
BUTLER = Actor("staff", 1, "李管家", frozenset({"butler"}))


def kiosk(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env["KIOSK_CONFIG"] = str(config)
    return subprocess.run([*KIOSK, *args], capture_output=True, text=True, env=env, timeout=120)


def write_config(path: Path, url: str, hook: Webhook) -> Path:
    path.write_text(
        f'[database]\nurl = "{url}"\n\n[notify]\n'
        f'resident = ["{hook.url("send/{phone}")}?cto=1&rto=1"]\n'
        'desk = []\nquiet_hours = ""\ngive_up_after = "24h"\nsecret = "test secret"\n',
        "utf-8",
    )
    path.chmod(0o600)
    return path


def wall_ctx(url: str, config: Path) -> KioskContext:
    """The CLI runs on the wall clock: queue with the same clock."""
    from kiosk.config import load_settings

    return KioskContext(
        settings=load_settings(config),
        clock=SystemClock(),
        db=Database(url),
        plugins=load_plugins(),
    )


def test_dispatch_exits_1_while_the_gateway_is_down_and_delivers_once_when_back(
    sqlite_demo_url: str, tmp_path: Path
) -> None:
    from plugins.parcels import service as parcels

    hook = Webhook()  # not started yet: the SMS gateway is down
    config = write_config(tmp_path / "kiosk.toml", sqlite_demo_url, hook)
    ctx = wall_ctx(sqlite_demo_url, config)
    result = parcels.check_in(ctx, BUTLER, tracking="SF7300000000001", unit_code="2-803")

    down = kiosk("notify", "dispatch", "--json", config=config)
    assert down.returncode == 1, down.stderr
    report = json.loads(down.stdout)
    assert report["retrying"] == 1 and report["sent"] == 0 and report["ok"] is False
    assert "127.0.0.1" in down.stdout and "test secret" not in down.stdout
    status = json.loads(kiosk("notify", "status", "--json", config=config).stdout)
    assert (
        status["states"] == {"pending": 1} and status["errors"][0]["template"] == "parcel.arrived"
    )
    assert result.code not in json.dumps(status)  # no payloads in the status

    hook.start()
    try:
        waiting = kiosk("notify", "dispatch", config=config)  # backing off: nothing due
        assert waiting.returncode == 0 and "sent 0" in waiting.stdout
        back = kiosk("notify", "dispatch", "--retry-now", config=config)
        assert back.returncode == 0, back.stdout + back.stderr
        assert "sent 1" in back.stdout
        again = kiosk("notify", "dispatch", "--retry-now", config=config)
        assert again.returncode == 0 and "sent 0" in again.stdout
    finally:
        hook.stop()
    with ctx.database().read() as s:
        unit_phones = s.scalars(
            select(Resident.phone)
            .join(Unit, Unit.id == Resident.unit_id)
            .where(Unit.code == "2-803", Resident.active.is_(True))
        ).all()
        n = s.get(Notification, result.notification_id)
        assert n.state == "sent" and "code" not in n.payload
    assert sorted(r.path for r in hook.received) == sorted(f"/send/{p}" for p in unit_phones)
    assert all(result.code in r.body["message"] for r in hook.received)
    ctx.database().dispose()


def test_notify_test_reaches_a_unit_or_says_why_not(sqlite_demo_url: str, tmp_path: Path) -> None:
    hook = Webhook().start()
    try:
        config = write_config(tmp_path / "kiosk.toml", sqlite_demo_url, hook)
        ok = kiosk("notify", "test", "--unit", "1-101", "--json", config=config)
        assert ok.returncode == 0, ok.stderr
        assert json.loads(ok.stdout)["state"] == "sent"
        assert hook.received and "1-101" in hook.received[0].body["message"]
        unknown = kiosk("notify", "test", "--unit", "99-9999", config=config)
        assert unknown.returncode == 1 and "no unit" in unknown.stderr
        assert "Traceback" not in unknown.stderr
    finally:
        hook.stop()


@pytest.mark.parametrize(
    ("notify", "key", "says"),
    [
        ({"resident": ["nosuchscheme://x/y"]}, "notify.resident", "unknown scheme"),
        ({"desk": ["not a url"]}, "notify.desk", "apprise URL"),
        ({"resident": ["json://gw.lan/{flat}"]}, "notify.resident", "unknown placeholder {flat}"),
        ({"quiet_hours": "22-07"}, "notify.quiet_hours", "HH:MM-HH:MM"),
        ({"give_up_after": "soon"}, "notify.give_up_after", "30m, 24h or 2d"),
        ({"link_base": "ftp://x"}, "notify.link_base", "http(s)"),
        ({"sms": ["json://x"]}, "notify.sms", "unknown key"),
    ],
)
def test_a_bad_notify_section_is_refused_at_load_with_one_clear_line(notify, key, says) -> None:
    with pytest.raises(ConfigError) as err:
        parse_settings({"notify": notify}, "kiosk.toml")
    assert err.value.key == key and says in err.value.expected
    assert "\n" not in str(err.value)


def test_a_good_notify_section_loads() -> None:
    s = parse_settings(
        {
            "notify": {
                "resident": [
                    "mailto://u:p@mail.estate.test?to={email}",
                    "json://gw.lan/send/{phone}",
                ],
                "desk": ["wecombot://abcdef0123456789"],
                "engineering": ["dingtalk://secrettoken"],
                "quiet_hours": "22:00-07:00",
                "give_up_after": "2d",
            }
        },
        "kiosk.toml",
    )
    assert s.notify.give_up_after == 2 * 86400 and s.notify.configured
    assert s.notify.desk == ("wecombot://abcdef0123456789",)


def test_a_config_with_channel_tokens_that_others_can_read_is_warned_about(
    tmp_path: Path, sqlite_demo_url: str
) -> None:
    hook = Webhook()
    config = write_config(tmp_path / "kiosk.toml", sqlite_demo_url, hook)
    config.chmod(0o644)
    result = kiosk("notify", "status", config=config)
    assert "readable by group/others" in result.stderr


def test_the_scheme_list_checked_at_load_is_apprises() -> None:
    import apprise

    from kiosk.notify_channels import KNOWN_SCHEMES, check_url

    schemes: set[str] = set()
    for plugin in apprise.Apprise().details()["schemas"]:
        for key in ("protocols", "secure_protocols"):
            value = plugin.get(key) or ()
            schemes.update([value] if isinstance(value, str) else value)
    assert {s.lower() for s in schemes} >= KNOWN_SCHEMES
    assert {"mailto", "json", "wecombot", "dingtalk"} <= KNOWN_SCHEMES
    # A known scheme with its token missing passes the quick check; the deep one catches it.
    assert check_url("wecombot://") is None
    assert "cannot use" in (check_url("wecombot://", deep=True) or "")


def test_status_names_a_channel_apprise_cannot_use(tmp_path: Path, sqlite_demo_url: str) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[database]\nurl = "{sqlite_demo_url}"\n[notify]\ndesk = ["wecombot://"]\n', "utf-8"
    )
    config.chmod(0o600)
    result = kiosk("notify", "status", "--json", config=config)
    assert result.returncode == 0, result.stderr
    problems = json.loads(result.stdout)["channel_problems"]
    assert len(problems) == 1 and problems[0].startswith("notify.desk: apprise cannot use")


def test_doctor_fails_channels_without_a_secret_or_that_apprise_cannot_use() -> None:
    from kiosk.doctor import run_checks

    def notify_checks(notify: dict) -> list[dict]:
        settings = parse_settings({"notify": notify}, "kiosk.toml")
        return [c for c in run_checks(settings) if c["check"].startswith("notify")]

    env = os.environ.pop("KIOSK_SECRET_KEY", None)
    try:
        assert [c["ok"] for c in notify_checks({})] == [True]
        bad = notify_checks({"desk": ["wecombot://"], "resident": ["json://gw.lan/{phone}"]})
        assert {c["check"] for c in bad if not c["ok"]} == {"notify.desk", "notify secret"}
        good = notify_checks({"resident": ["json://gw.lan/{phone}"], "secret": "s" * 32})
        assert [c["ok"] for c in good] == [True]
    finally:
        if env is not None:
            os.environ["KIOSK_SECRET_KEY"] = env


def test_kiosk_serve_links_serves_the_pages_and_refuses_bad_tokens(
    sqlite_demo_url: str, tmp_path: Path
) -> None:
    import signal
    import socket
    import time
    import urllib.error
    import urllib.request

    from notify_servers import free_port

    config = write_config(tmp_path / "kiosk.toml", sqlite_demo_url, Webhook())
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env["KIOSK_CONFIG"] = str(config)
    server = subprocess.Popen(
        [*KIOSK, "serve", "--links", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:  # wait until it listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "kiosk serve --links did not start"
                time.sleep(0.1)
        for path in ("/l/AAAAAAAAAAAAAAAA.0123456789abcdef0123456789abcdef", "/", "/admin"):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10)
            assert err.value.code == 404
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    both = kiosk("serve", "--links", "--desk", config=config)
    assert both.returncode == 2 and "--desk or --links" in both.stderr


def test_channel_errors_never_show_tokens_or_passwords() -> None:
    from kiosk.notify_channels import redact, send

    for url, secret in (
        ("wecombot://SECRETKEY123", "SECRETKEY123"),
        ("dingtalk://TOKEN456/SIGN789", "TOKEN456"),
        ("mailtos://user:PASSWORD@smtp.estate.example?to=a@b.c", "PASSWORD"),
        ("json://user:PASSWORD@127.0.0.1:9/path/SECRETPATH", "SECRETPATH"),
    ):
        assert secret not in redact(url)
    ok, why = send("json://user:PASSWORD@127.0.0.1:9/SECRETPATH?cto=0.5&rto=0.5", "t", "b")
    assert not ok and "127.0.0.1:9" in why and "PASSWORD" not in why and "SECRETPATH" not in why


def test_the_office_records_a_residents_email_and_channel(
    sqlite_demo_url: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "kiosk.toml", sqlite_demo_url, Webhook())
    ok = kiosk(
        "notify", "contact", "--unit", "3-1205", "--name", "Emily Wang",
        "--email", "emily@home.test", "--channel", "email", config=config,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    db = Database(sqlite_demo_url)
    with db.read() as s:
        r = s.scalars(select(Resident).where(Resident.name == "Emily Wang")).one()
        assert (r.email, r.notify_channel) == ("emily@home.test", "email")
        from kiosk.db.models import AuditEvent

        event = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "resident.contact_changed")
        ).one()
        assert "emily@home.test" not in event.data and "e***@home.test" in event.data
    db.dispose()
    for args, says in (
        (("--email", "not-an-address<script>"), "is not an email address"),
        (("--channel", "pigeon"), "Unknown channel"),
    ):
        bad = kiosk("notify", "contact", "--unit", "3-1205", "--name", "Emily Wang", *args,
                    config=config)  # fmt: skip
        assert bad.returncode == 1 and says in bad.stderr and "Traceback" not in bad.stderr
    nobody = kiosk("notify", "contact", "--unit", "3-1205", "--name", "Nobody", "--email", "",
                   config=config)  # fmt: skip
    assert nobody.returncode == 1 and "No resident" in nobody.stderr
