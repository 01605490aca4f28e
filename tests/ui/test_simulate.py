"""``kiosk simulate --all``: every scenario of the core and the plugins passes on the real app,
and no transcript (screens, decoded slips) shows an unmasked phone or ID number."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.pii import find_unmasked

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def results() -> list[dict]:
    proc = subprocess.run(
        [sys.executable, "-c", "from kiosk.cli import main; main()", "simulate", "--all", "--json"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=REPO,
    )
    assert proc.stdout, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    assert proc.returncode == (0 if all(r["ok"] for r in data) else 1)
    return data


def test_every_scenario_passes(results: list[dict]) -> None:
    failed = {r["name"]: r["error"] for r in results if not r["ok"]}
    assert failed == {}
    names = {r["name"] for r in results}
    assert {
        "resident-tap",
        "unknown-card",
        "unit-pin",
        "idle-reset",
        "staff-exit",
        "desk-login",
    } <= names


def test_transcripts_show_screens_and_no_unmasked_pii(results: list[dict]) -> None:
    for r in results:
        text = "\n".join(r["transcript"])
        assert "screen:" in text, r["name"]
        assert find_unmasked(text) == [], (r["name"], find_unmasked(text))


def test_printed_slips_are_decoded_into_transcripts(results: list[dict]) -> None:
    printed = [
        r["name"] for r in results if any(line.startswith("printed") for line in r["transcript"])
    ]
    assert printed, "no scenario printed a slip"


def test_snapshots_show_no_unmasked_pii() -> None:
    import re

    svgs = list(REPO.glob("tests/**/__snapshots__/**/*.svg"))
    assert svgs
    for svg in svgs:
        text = re.sub(r"<[^>]+>", " ", svg.read_text("utf-8")).replace("&#160;", " ")
        assert find_unmasked(text.replace(" ", "")) == [], svg.name
