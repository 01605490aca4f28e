"""Staff PINs need not be typed on the command line (where `ps` and the shell history show
them): every plugin command that signs a person in takes the PIN from ``KIOSK_PIN`` or asks
for it with hidden input; ``--pin`` still works for old scripts."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kiosk.cli_staff import PIN_ENV

# (plugin CLI module, group, arguments, staff number, PIN, something the output holds)
COMMANDS = [
    ("plugins.umbrellas.cli", "umbrellas", ["umbrellas", "register"], "S001", "2580", "borrower"),
    ("plugins.parking.cli", "parking", ["report", "parking", "--csv"], "S002", "1357", "车牌"),
    ("plugins.billing.cli", "billing", ["billing", "statement", "1-101"], "S002", "1357", "1-101"),
    ("plugins.releases.cli", "releases", ["releases", "register"], "S004", "9753", "carrier"),
    ("plugins.keys.cli", "keys", ["keys", "register"], "S001", "2580", "accompanied_by"),
]
IDS = [c[1] for c in COMMANDS]


def cli(module: str, group: str):  # type: ignore[no-untyped-def]
    from kiosk.cli import CommandRegistry, app, report_app

    if not any(g.name == group for g in app.registered_groups):
        importlib.import_module(module).register(CommandRegistry(app=app, report=report_app))
    return app


@pytest.fixture
def config(sqlite_demo_url: str, tmp_path: Path) -> str:
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[database]\nurl = "{sqlite_demo_url}"\n', "utf-8")
    return str(path)


def env(**extra: str) -> dict[str, str | None]:
    """No PIN in the environment unless the test puts one there."""
    return {PIN_ENV: None, "KIOSK_STAFF_PIN": None, "KIOSK_DATABASE_URL": None, **extra}


@pytest.mark.parametrize(("module", "group", "args", "staff", "pin", "shows"), COMMANDS, ids=IDS)
def test_the_pin_can_come_from_kiosk_pin(
    config: str, module: str, group: str, args: list[str], staff: str, pin: str, shows: str
) -> None:
    out = CliRunner().invoke(
        cli(module, group), [*args, "--staff", staff, "-c", config], env=env(KIOSK_PIN=pin)
    )
    assert out.exit_code == 0, out.output
    assert shows in out.stdout and "PIN" not in out.stdout


@pytest.mark.parametrize(("module", "group", "args", "staff", "pin", "shows"), COMMANDS, ids=IDS)
def test_without_pin_the_command_asks_for_it_without_echo(
    config: str, module: str, group: str, args: list[str], staff: str, pin: str, shows: str
) -> None:
    out = CliRunner().invoke(
        cli(module, group), [*args, "--staff", staff, "-c", config], input=f"{pin}\n", env=env()
    )
    assert out.exit_code == 0, out.output
    assert "Staff PIN" in out.stderr and shows in out.stdout
    assert pin not in out.stderr  # hidden input: the PIN typed is not echoed


@pytest.mark.parametrize(("module", "group", "args", "staff", "pin", "shows"), COMMANDS, ids=IDS)
def test_the_pin_option_still_works_and_a_wrong_pin_is_refused(
    config: str, module: str, group: str, args: list[str], staff: str, pin: str, shows: str
) -> None:
    app = cli(module, group)
    ok = CliRunner().invoke(app, [*args, "--staff", staff, "--pin", pin, "-c", config], env=env())
    assert ok.exit_code == 0, ok.output
    wrong = CliRunner().invoke(
        app, [*args, "--staff", staff, "-c", config], env=env(KIOSK_PIN="0000")
    )
    assert wrong.exit_code != 0


def test_no_pin_and_nothing_to_read_is_a_clear_refusal(config: str) -> None:
    module, group, args, staff, _pin, _shows = COMMANDS[0]
    out = CliRunner().invoke(cli(module, group), [*args, "--staff", staff, "-c", config], env=env())
    assert out.exit_code == 2
    assert "no staff PIN" in out.stderr and PIN_ENV in out.stderr


def test_the_help_discourages_the_pin_on_the_command_line() -> None:
    module, group, args, _staff, _pin, _shows = COMMANDS[0]
    out = CliRunner().invoke(cli(module, group), [*args, "--help"], env={"COLUMNS": "200"})
    assert out.exit_code == 0 and "KIOSK_PIN" in out.stdout and "discouraged" in out.stdout
