"""The soak (``kiosk simulate --soak N --faults``): a short one on each database, its
determinism, that it notices a kiosk that does the wrong thing, and the command line.

The long soak is in ``make bench``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kiosk.plugins import load_plugins
from kiosk.soak import PRINTER_FAULTS, READER_FAULTS, run_soak


def injected(result: dict[str, Any], kinds: tuple[str, ...]) -> int:
    return sum(result["faults"][k]["injected"] for k in kinds)


def test_short_soak_with_faults_breaks_no_invariant(demo_url: str) -> None:
    result = run_soak(demo_url, load_plugins(), steps=200, faults=True, seed=11)
    assert result["violations"] == []
    assert result["steps"] == 200
    assert result["operations"] + result["faults_injected"] == 200
    # Every family of fault happened, and every fault was survived.
    assert injected(result, PRINTER_FAULTS) > 0
    assert injected(result, READER_FAULTS) > 0
    assert injected(result, ("duplicate_notice",)) > 0  # the billing plugin's own fault
    assert result["faults_survived"] == result["faults_injected"] > 10
    assert all(f["survived"] == f["injected"] for f in result["faults"].values())
    # The operations really ran: taps read over the serial path, receipts printed, money moved.
    assert result["taps"]["read"] > 0
    assert result["reader"]["reconnects"] == result["faults"]["reader_unplugged"]["injected"]
    assert result["print_jobs"]["by_kind"].get("soak", 0) > 0
    assert result["per_op"]["bill-pay-qr"]["state_changes"] > 0
    assert result["per_op"]["umbrella-lend"]["state_changes"] > 0
    assert result["audit_chain"] == "intact" and result["audit_events"] > 0


def _copy(template: Path, folder: Path) -> str:
    folder.mkdir()
    shutil.copyfile(template, folder / "kiosk.db")
    return f"sqlite:///{folder / 'kiosk.db'}"


def test_same_seed_same_soak(sqlite_templates: dict[bool, Path], tmp_path: Path) -> None:
    plugins = load_plugins()
    runs = []
    for name in ("a", "b"):
        url = _copy(sqlite_templates[True], tmp_path / name)
        result = run_soak(url, plugins, steps=80, faults=True, seed=5)
        # Timings, and how the reader's thread happened to split junk bytes, may differ.
        result.pop("seconds")
        result.pop("reader")
        runs.append(result)
    assert runs[0] == runs[1]
    assert runs[0]["faults_injected"] > 0 and runs[0]["violations"] == []


def test_without_faults_nothing_is_injected(sqlite_demo_url: str) -> None:
    result = run_soak(sqlite_demo_url, load_plugins(), steps=40, faults=False, seed=2)
    assert result["faults_injected"] == 0 and result["operations"] == 40
    assert result["violations"] == []


def test_soak_notices_a_kiosk_that_prints_without_paper(
    sqlite_demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devices.printer import PrinterStatus
    from devices.printer.adapter import Printer

    # A broken kiosk: it never asks the printer before sending.
    monkeypatch.setattr(Printer, "status", lambda self: PrinterStatus(ready=True))
    result = run_soak(sqlite_demo_url, load_plugins(), steps=200, faults=True, seed=11)
    assert result["faults"]["paper_out"]["injected"] + result["faults"]["cover_open"]["injected"]
    assert any("sent to the printer during" in v for v in result["violations"]), result[
        "violations"
    ]
    assert result["faults_survived"] < result["faults_injected"]


def test_command_line_prints_the_figures_as_json() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    done = subprocess.run(
        [sys.executable, "-c", "from kiosk.cli import main; main()", "simulate"]
        + ["--soak", "40", "--faults", "--seed", "3", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["steps"] == 40 and result["violations"] == []
    assert result["faults_injected"] == result["faults_survived"] > 0
    usage = subprocess.run(
        [sys.executable, "-c", "from kiosk.cli import main; main()", "simulate", "--faults"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert usage.returncode == 2 and "--soak N" in usage.stderr
