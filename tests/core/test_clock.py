"""One clock for every command: KIOSK_NOW sets it for tests and replays, the kiosk refuses it."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from typer.testing import CliRunner

from kiosk.cli import app
from kiosk.clock import NOW_ENV, ShiftedClock, SystemClock, clock_from_env, parse_now
from kiosk.config import Settings
from kiosk.context import open_context


def test_a_set_clock_starts_at_kiosk_now_and_runs_on() -> None:
    clock = clock_from_env({NOW_ENV: "2027-02-28T23:59:30+08:00"})
    assert isinstance(clock, ShiftedClock)
    first = clock.now()
    assert first.tzinfo is not None
    assert dt.datetime(2027, 2, 28, 15, 59, 30, tzinfo=dt.UTC) <= first
    time.sleep(0.01)
    assert clock.now() > first


def test_without_kiosk_now_the_clock_is_the_wall_clock() -> None:
    assert isinstance(clock_from_env({}), SystemClock)


@pytest.mark.parametrize("value", ["garbage", "2026-11-23T10:00", "23/11/2026 10:00"])
def test_kiosk_now_without_a_zone_or_not_iso_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=NOW_ENV):
        parse_now(value)


def test_a_command_context_takes_its_clock_from_kiosk_now(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(NOW_ENV, "2028-02-29T12:00+08:00")
    ctx = open_context(Settings(), load=False)
    assert ctx.today() == dt.date(2028, 2, 29)


def test_a_bad_kiosk_now_is_a_one_line_refusal() -> None:
    out = CliRunner().invoke(app, ["plugins"], env={NOW_ENV: "yesterday"})
    assert out.exit_code == 1
    assert "KIOSK_NOW='yesterday' is not an ISO time" in out.output


@pytest.mark.parametrize("shell", ["run", "desk"])
def test_a_kiosk_on_real_devices_refuses_a_set_clock(shell: str) -> None:
    out = CliRunner().invoke(app, [shell], env={NOW_ENV: "2026-11-23T10:00+08:00"})
    assert out.exit_code == 1
    assert "keeps the real time" in out.output
