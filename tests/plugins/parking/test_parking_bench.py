"""The parking benchmark runs at a small size and its taps get real answers (no timing here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def test_the_parking_benchmark_taps_real_cards() -> None:
    path = Path(__file__).resolve().parents[3] / "bench" / "parking.py"
    spec = importlib.util.spec_from_file_location("bench_parking", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.run(["--cards", "400", "--samples", "40", "--backend", "sqlite"])
    sqlite = result["sqlite"]
    assert sqlite["cards_loaded"] == 403  # the demo's three and the benchmark's
    assert sum(sqlite["answers"].values()) == 45  # 40 samples + 5 warm-up, every tap answered
    assert set(sqlite["answers"]) <= {"valid", "expired", "lost"}
    assert sqlite["tap"]["p95_ms"] > 0
