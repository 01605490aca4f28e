"""Parking, umbrellas, repairs, item release passes and key custody without the billing plugin
(``[plugins] disabled = ["billing"]``): they load, their scenarios pass, a charge becomes a desk
alert for the butler to collect by hand instead of a line on a bill, and a move-out's fees are
confirmed by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from kiosk import charges
from kiosk.db.models import DeskAlert, Unit
from kiosk.identity import Actor
from kiosk.plugins import load_plugins
from plugins.billing.models import BillLine
from tests.conftest import make_ctx

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("parking", "repairs", "umbrellas", "releases", "keys")
SCENARIOS = (
    "parking-issue",
    "parking-renew",
    "parking-return",
    "umbrellas-damage",
    "repairs-lifecycle",
    "releases.move_out_pass",
)
BUTLER = Actor("staff", 1, "butler", frozenset({"butler"}))


def _kiosk(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "kiosk.toml"
    config.write_text('[plugins]\ndisabled = ["billing"]\n', "utf-8")
    config.chmod(0o600)
    return subprocess.run(
        [sys.executable, "-c", "from kiosk.cli import main; main()", *args, "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )


def test_the_services_load_without_billing(tmp_path: Path) -> None:
    proc = _kiosk(tmp_path, "plugins", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    listed = json.loads(proc.stdout)
    names = {p["name"] for p in listed["plugins"]}
    assert set(SERVICES) <= names and "billing" not in names
    assert listed["failures"] == []


def test_their_scenarios_pass_without_billing(tmp_path: Path) -> None:
    proc = _kiosk(tmp_path, "simulate", *SCENARIOS, "--json")
    assert proc.stdout, proc.stderr[-3000:]
    results = {r["name"]: r for r in json.loads(proc.stdout)}
    assert set(results) == set(SCENARIOS)
    failed = {n: r["error"] for n, r in results.items() if not r["ok"]}
    assert failed == {}
    # The renewal could not be put on a bill: the resident was sent to the desk.
    assert any("desk collects the rent" in line for line in results["parking-renew"]["transcript"])


def test_a_charge_nobody_takes_becomes_a_desk_alert(sqlite_demo_url: str) -> None:
    ctx = make_ctx(sqlite_demo_url, plugins=load_plugins(("billing",)))
    with ctx.database().write() as session:
        unit_id = session.scalar(select(Unit.id).where(Unit.code == "3-1205"))
        assert unit_id is not None
        taken = charges.charge(
            ctx, session, BUTLER, unit_id, "other", 2500, "test:key:1", "lost key fob"
        )
    assert taken is None
    with ctx.database().read() as session:
        alerts = session.scalars(
            select(DeskAlert.message).where(DeskAlert.kind == charges.COLLECT_ALERT)
        ).all()
        lines = session.scalar(select(func.count()).select_from(BillLine)) or 0
        on_bill = session.scalar(select(BillLine.id).where(BillLine.source_ref == "test:key:1"))
    assert alerts == ["collect ￥25.00 from 3-1205 (lost key fob)"]
    assert lines > 0 and on_bill is None  # the demo's bills are there; this charge is not


def test_with_billing_the_same_charge_is_a_bill_line_once(sqlite_demo_url: str) -> None:
    ctx = make_ctx(sqlite_demo_url)
    for _ in range(2):  # a retry lands once
        with ctx.database().write() as session:
            unit_id = session.scalar(select(Unit.id).where(Unit.code == "3-1205"))
            assert unit_id is not None
            taken = charges.charge(
                ctx, session, BUTLER, unit_id, "other", 2500, "test:key:1", "lost key fob"
            )
            assert taken is not None and taken.plugin == "billing"
    with ctx.database().read() as session:
        found = session.scalars(
            select(BillLine.amount_fen).where(BillLine.source_ref == "test:key:1")
        ).all()
        alerts = session.scalar(
            select(func.count())
            .select_from(DeskAlert)
            .where(DeskAlert.kind == charges.COLLECT_ALERT)
        )
    assert list(found) == [2500] and alerts == 0
