"""Several kiosks at once: the mixed workload leaves no invariant broken on either database."""

from __future__ import annotations

from kiosk.plugins import load_plugins
from kiosk.workload import run_workload


def test_kiosks_in_parallel_break_no_invariant(demo_url: str) -> None:
    result = run_workload(demo_url, load_plugins(), kiosks=6, ops=12, seed=7)
    assert result["violations"] == []
    assert result["operations"] == 6 * 12
    changes = sum(op["state_changes"] for op in result["per_op"].values())
    assert changes > 0 and result["audit_events_added"] >= result["per_op"].get(
        "desk-call", {}
    ).get("state_changes", 0)
