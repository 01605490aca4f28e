"""The temporary parking fee (VECTORS.md) and plate validation, including property tests."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from kiosk.errors import Refused
from plugins.parking.fees import FeeRule, normalise_plate, parking_fee, validate_plate

RULE = FeeRule()


@pytest.mark.parametrize(
    ("minutes", "fen"),
    [
        (45, 200), (120, 200), (121, 300), (180, 300), (181, 400),  # VECTORS.md
        (0, 0), (1, 200), (359, 600), (1440, 600), (1441, 800), (2880, 1200), (2881, 1400),
    ],
)  # fmt: skip
def test_default_rule_matches_the_vectors(minutes: int, fen: int) -> None:
    assert parking_fee(minutes) == fen


def test_completed_hours_rounding_and_a_grace_period_are_configurable() -> None:
    rule = FeeRule.of({"rounding": "completed", "grace_minutes": 15})
    assert parking_fee(15, rule) == 0
    assert parking_fee(16, rule) == 200
    assert parking_fee(179, rule) == 200
    assert parking_fee(180, rule) == 300


def test_the_cap_window_is_configurable() -> None:
    rule = FeeRule.of({"cap_fen": 1000, "cap_window_minutes": 720})
    assert parking_fee(720, rule) == 1000
    assert parking_fee(721, rule) == 1200


@pytest.mark.parametrize("minutes", [-1, -600, 90 * 1440 + 1, 10**9])
def test_negative_and_absurd_stays_are_refused(minutes: int) -> None:
    with pytest.raises(Refused) as err:
        parking_fee(minutes)
    assert err.value.code == "parking.minutes"


@pytest.mark.parametrize(
    "raw", [{"rounding": "up"}, {"cap_fen": -1}, {"step_minutes": 0}, {"first_fen": "2"}]
)
def test_bad_rule_settings_name_the_key(raw: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(Refused) as err:
        FeeRule.of(raw)
    assert "plugins.parking" in err.value.render()


@given(st.integers(0, 20 * 1440), st.integers(0, 3000))
def test_the_fee_never_decreases_as_the_stay_grows(minutes: int, more: int) -> None:
    assert parking_fee(minutes + more) >= parking_fee(minutes)


@given(st.integers(0, 20 * 1440), st.sampled_from(["started", "completed"]))
def test_no_window_costs_more_than_the_cap(minutes: int, rounding: str) -> None:
    rule = FeeRule.of({"rounding": rounding})
    windows = -(-minutes // rule.cap_window_minutes)
    assert parking_fee(minutes, rule) <= windows * rule.cap_fen
    # and any 24 h counted from entry costs at most the cap
    full, _rest = divmod(minutes, rule.cap_window_minutes)
    if full:
        assert parking_fee(full * rule.cap_window_minutes, rule) == full * rule.cap_fen


@pytest.mark.parametrize(
    ("text", "plate"),
    [
        ("粤B12345", "粤B12345"), ("粤b 12345", "粤B12345"), ("京A·1234学", "京A1234学"),
        ("粤BD12345", "粤BD12345"), ("沪AFA1234", "沪AFA1234"), ("粤B12345D", "粤B12345D"),
    ],
)  # fmt: skip
def test_mainland_plates_are_accepted_and_normalised(text: str, plate: str) -> None:
    assert validate_plate(text) == plate


@pytest.mark.parametrize("energy", list("DABCE"))
def test_new_energy_small_car_plates_with_a_battery_letter_third_are_accepted(energy: str) -> None:
    assert validate_plate(f"粤B{energy}12345") == f"粤B{energy}12345"
    assert validate_plate(f"京A{energy}A1234") == f"京A{energy}A1234"


@pytest.mark.parametrize("energy", list("FGHJK"))
def test_new_energy_small_car_plates_with_another_energy_letter_third_are_accepted(
    energy: str,
) -> None:
    assert validate_plate(f"沪A{energy}12345") == f"沪A{energy}12345"


@pytest.mark.parametrize("last", ["D", "F"])
def test_new_energy_large_vehicle_plates_end_with_d_or_f(last: str) -> None:
    assert validate_plate(f"粤B12345{last}") == f"粤B12345{last}"


@pytest.mark.parametrize(
    "text",
    ["粤BABCDE", "粤BXYZ12", "京AABCD1", "粤BLABCDE", "粤B12345A", "粤BL12345", "粤BDAB123"],
)
def test_letter_only_and_wrong_energy_letter_plates_are_refused(text: str) -> None:
    with pytest.raises(Refused) as err:
        validate_plate(text)
    assert "province character" in err.value.render()


@pytest.mark.parametrize(
    "text",
    ["", "粤B1234", "粤B1234567", "XB12345", "粤I12345", "粤BO2345", "粤BX12345", "粤B12345X"],
)
def test_bad_plates_say_what_a_plate_looks_like(text: str) -> None:
    with pytest.raises(Refused) as err:
        validate_plate(text)
    assert "province character" in err.value.render()


@given(st.text(max_size=12))
def test_any_text_either_validates_or_is_refused(text: str) -> None:
    try:
        plate = validate_plate(text)
    except Refused:
        return
    assert plate == normalise_plate(plate) and len(plate) in (7, 8)


def cli():  # type: ignore[no-untyped-def]
    from kiosk.cli import CommandRegistry, app, report_app
    from plugins.parking.cli import register

    if not any(g.name == "parking" for g in app.registered_groups):
        register(CommandRegistry(app=app, report=report_app))
    return app


def test_cli_fee(tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    cfg = tmp_path / "k.toml"
    cfg.write_text('[database]\nurl = "sqlite:///k.db"\n')
    result = runner.invoke(cli(), ["parking", "fee", "--minutes", "121", "--json", "-c", str(cfg)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"minutes": 121, "fee_fen": 300, "fee": "3.00"}
    result = runner.invoke(cli(), ["parking", "fee", "--minutes", "-5", "-c", str(cfg)])
    assert result.exit_code == 1 and "negative" in result.output
    assert "Traceback" not in result.output
    cfg.write_text('[database]\nurl = "sqlite:///k.db"\n[plugins.parking]\nrounding = "up"\n')
    result = runner.invoke(cli(), ["parking", "fee", "--minutes", "5", "-c", str(cfg)])
    assert result.exit_code == 1 and "plugins.parking.rounding" in result.output


def test_the_installed_command_answers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys
    from pathlib import Path

    kiosk = Path(sys.executable).parent / "kiosk"
    cfg = tmp_path / "k.toml"
    cfg.write_text('[database]\nurl = "sqlite:///k.db"\n')
    out = subprocess.run(
        [str(kiosk), "parking", "fee", "--minutes", "1441", "--json", "-c", str(cfg)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(out.stdout)["fee_fen"] == 800
