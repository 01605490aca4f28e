"""Secrets stay secret: PINs, PIN hashes, database passwords and provider keys never reach the
logs or ``--json`` output, and a world-readable config holding one is warned about."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

import pytest

from kiosk.cli import warn_if_world_readable
from kiosk.config import load_settings
from kiosk.context import KioskContext
from kiosk.errors import Refused
from kiosk.lobby import staff_login, tap_card, unit_login

WRONG_PIN = "864209"


def test_logs_hold_no_pin_hash_or_key(ctx: KioskContext, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for who, pin in (("S002", WRONG_PIN), ("S002", "1357"), ("S001", WRONG_PIN)):
        with contextlib.suppress(Refused):
            staff_login(ctx, who, pin)
    tap_card(ctx, "FFFF00FFFF")  # an unknown card is logged
    with pytest.raises(Refused):
        unit_login(ctx, "3-1205", WRONG_PIN)
    from plugins.billing import service as billing
    from plugins.billing.gateway import shared_gateway

    bills = billing.open_bills(ctx, "3-1205")
    resident = unit_login(ctx, "3-1205", "1205")
    order = billing.create_payment_order(ctx, resident, bills[0].id, "sim")
    billing.providers(ctx)
    headers, body = shared_gateway(ctx.clock).pay(order.out_trade_no)
    assert billing.handle_notification(ctx, "sim", headers, body).verdict == "paid"
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records  # the flows did log
    for secret in (WRONG_PIN, "1357", "1205", "scrypt$", "PRIVATE KEY"):
        assert secret not in text, secret


def _config(tmp_path: Path, body: str, mode: int) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(body, "utf-8")
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize(
    "body",
    [
        '[database]\nurl = "postgresql+psycopg://kiosk:s3cretpw@db.estate/kiosk"\n',
        '[plugins.billing]\nwechat_api_v3_key = "0123456789abcdef0123456789abcdef"\n',
    ],
)
def test_a_world_readable_config_with_a_secret_is_warned_about(
    tmp_path: Path, body: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(_config(tmp_path, body, 0o644))
    with caplog.at_level(logging.WARNING, logger="kiosk"):
        warn_if_world_readable(settings)
    assert "readable by group/others (mode 0644)" in caplog.text and "chmod 600" in caplog.text
    caplog.clear()
    os.chmod(settings.source, 0o600)
    warn_if_world_readable(settings)
    assert caplog.text == ""


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_a_config_readable_by_group_or_others_is_warned_about_when_the_kiosk_starts(
    tmp_path: Path, mode: int, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(_config(tmp_path, '[kiosk]\nid = "k1"\n', mode))
    with caplog.at_level(logging.WARNING, logger="kiosk"):
        warn_if_world_readable(settings)
    assert f"(mode {mode:04o})" in caplog.text and settings.source in caplog.text


def test_a_private_config_is_not_nagged(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(_config(tmp_path, '[kiosk]\nid = "k1"\n', 0o600))
    with caplog.at_level(logging.WARNING, logger="kiosk"):
        warn_if_world_readable(settings)
    assert caplog.text == ""


def test_doctor_json_hides_the_database_password(tmp_path: Path) -> None:
    from kiosk.doctor import run_checks

    for url in (
        "postgresql+psycopg://postgres:s3cretpw@127.0.0.1:5432/test",
        "postgresql+psycopg://postgres:s3cretpw@127.0.0.1:1/test",  # unreachable
    ):
        body = f'[database]\nurl = "{url}"\n[plugins]\ndisabled = ["billing"]\n'
        checks = run_checks(load_settings(_config(tmp_path, body, 0o600)))
        assert "s3cretpw" not in repr(checks)
        assert any(c["check"] == "database" for c in checks)
