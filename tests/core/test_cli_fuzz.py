"""Whatever arguments the CLI is given, it answers with exit 0, 1 or 2 and never a traceback."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from kiosk.cli import _mount_optional, app

WORDS = [
    "init",
    "doctor",
    "plugins",
    "audit",
    "verify",
    "simulate",
    "bench",
    "report",
    "devices",
    "receipt",
    "decode",
    "list",
    "probe",
    "--json",
    "--help",
    "--config",
    "--db",
    "--demo",
    "--all",
    "--list",
    "-c",
    "nope",
    "",
    "sqlite:///",
    "postgresql://x@127.0.0.1:1/x",
    "/dev/null",
    "config/demo.toml",
    "--kiosks",
    "-1",
    "0",
    "999999999999",
    "☃",
    "--",
    "-",
]
LONG_RUNNING = {"run", "desk", "demo", "simulate", "bench"}
_mount_optional()


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KIOSK_DATABASE_URL", f"sqlite:///{tmp_path / 'fuzz.db'}")
    monkeypatch.delenv("KIOSK_CONFIG", raising=False)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(WORDS) | st.text(max_size=6), max_size=4))
def test_any_arguments_end_in_a_defined_exit_code(argv: list[str]) -> None:
    # Commands that start the UI, simulators or long runs are covered by their own tests.
    assume(not argv or argv[0] not in LONG_RUNNING)
    assume(argv[:2] != ["devices", "sim"])
    result = CliRunner().invoke(
        app, argv, env={"KIOSK_DATABASE_URL": os.environ["KIOSK_DATABASE_URL"]}
    )
    assert result.exit_code in (0, 1, 2), (argv, result.output, result.exception)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{argv!r} raised {result.exception!r}")
