"""The CLI surface scripts rely on: exit codes, one-line reasons, JSON documents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

KIOSK = [sys.executable, "-c", "from kiosk.cli import main; main()"]


def kiosk(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    full_env.update(env or {})
    return subprocess.run(
        [*KIOSK, *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120
    )


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("cli") / "demo.db"
    url = f"sqlite:///{path}"
    result = kiosk("init", "--demo", "--db", url)
    assert result.returncode == 0, result.stderr
    assert "staff S001 李管家 (butler): PIN 2580" in result.stdout
    assert "216 units" in result.stdout
    return url


def test_init_is_idempotent(demo_db: str) -> None:
    again = kiosk("init", "--demo", "--db", demo_db)
    assert again.returncode == 0
    assert "already present" in again.stdout
    # The cheat sheet again: a second `make demo` still says who to log in as.
    assert "staff S001 李管家 (butler): PIN 2580" in again.stdout
    assert "F3 pays the QR on screen" in again.stdout


def test_plugins_json_is_one_document() -> None:
    result = kiosk("plugins", "--json")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert set(data) == {"plugins", "disabled", "failures"}
    for plugin in data["plugins"]:
        assert {"name", "module", "version", "hooks"} <= set(plugin)


def test_doctor_reports_each_check(demo_db: str) -> None:
    result = kiosk("doctor", "--json", env={"KIOSK_DATABASE_URL": demo_db})
    data = json.loads(result.stdout)
    names = {c["check"] for c in data["checks"]}
    assert {"config", "plugins", "database", "migrations"} <= names
    assert result.returncode == (0 if data["ok"] else 1)
    assert all(c["ok"] for c in data["checks"] if c["check"] in ("database", "migrations"))


def test_doctor_fails_on_an_unreachable_database(tmp_path: Path) -> None:
    result = kiosk(
        "doctor", env={"KIOSK_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    )
    assert result.returncode == 1
    assert "[FAIL] database: unreachable" in result.stdout


def test_audit_verify_detects_a_corrupted_row(demo_db: str, tmp_path: Path) -> None:
    ok = kiosk("audit", "verify", "--json", env={"KIOSK_DATABASE_URL": demo_db})
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    copy = tmp_path / "tampered.db"
    copy.write_bytes(Path(demo_db.removeprefix("sqlite:///")).read_bytes())
    engine = create_engine(f"sqlite:///{copy}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'someone-else' WHERE seq = 1"))
    engine.dispose()
    bad = kiosk("audit", "verify", env={"KIOSK_DATABASE_URL": f"sqlite:///{copy}"})
    assert bad.returncode == 1
    assert "BROKEN at event 1" in bad.stdout


def test_audit_checkpoint_without_a_key_is_one_line_and_exit_1(
    demo_db: str, tmp_path: Path
) -> None:
    copy = tmp_path / "keyless.db"  # the demo's key stays beside the demo database
    copy.write_bytes(Path(demo_db.removeprefix("sqlite:///")).read_bytes())
    result = kiosk("audit", "checkpoint", env={"KIOSK_DATABASE_URL": f"sqlite:///{copy}"})
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith("kiosk: no audit key at ")
    assert result.stderr.endswith(" (kiosk init)\n") and result.stderr.count("\n") == 1


def test_bad_config_is_one_line_and_exit_1(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[kiosk]\nidle_timeout = 'soon'\n", "utf-8")
    result = kiosk("doctor", "--config", str(cfg))
    assert result.returncode == 1
    result = kiosk("init", "--config", str(cfg))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "kiosk.idle_timeout" in result.stderr and str(cfg) in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_2() -> None:
    assert kiosk("no-such-command").returncode == 2
    assert kiosk("init", "--bogus").returncode == 2
    assert kiosk("simulate").returncode == 2


def test_every_command_has_help() -> None:
    for cmd in (
        "init",
        "run",
        "desk",
        "demo",
        "simulate",
        "plugins",
        "doctor",
        "bench",
        "audit",
        "report",
    ):
        result = kiosk(cmd, "--help")
        assert result.returncode == 0, cmd
        assert "Usage" in result.stdout


def test_unknown_benchmark_is_refused() -> None:
    result = kiosk("bench", "nope")
    assert result.returncode == 1 and "no benchmark 'nope'" in result.stderr


@pytest.mark.parametrize("shell", ["run", "desk"])
def test_a_kiosk_or_desk_refuses_to_start_on_a_database_never_set_up(
    shell: str, tmp_path: Path
) -> None:
    empty = f"sqlite:///{tmp_path / 'kiosk.db'}"
    result = kiosk(shell, "--sim", env={"KIOSK_DATABASE_URL": empty})
    said = result.stdout + result.stderr
    assert result.returncode == 1
    assert "is not set up" in said and "kiosk init" in said
    assert "Traceback" not in said


def test_a_command_on_a_database_never_set_up_says_to_run_init(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """No table yet: one line saying what to do, exit 1, no trace."""
    import subprocess
    import sys

    config = tmp_path / "kiosk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "new.db"}"\n', "utf-8")
    result = subprocess.run(
        [sys.executable, "-c", "from kiosk.shell import main; main()",
         "report", "parcels", "--aging", "-c", str(config)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert "kiosk init" in result.stderr and "Traceback" not in result.stderr
