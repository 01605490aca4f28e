"""``kiosk bench concurrency [--kiosks N] [--ops M] [--backend sqlite|postgresql|both]
[--think-ms T] [--threads] --json``

N simulated kiosks run the mixed workload of the core and every plugin (``kiosk_workload``)
against a fresh demo estate, then the invariants are checked: no violation may appear. Target:
32 kiosks on PostgreSQL, zero violations, p99 <= 50 ms.

Every kiosk is a process of its own with its own engine (``--threads``: threads of one process,
for comparison); each runs every operation twice untimed before the clock starts and then, as a
kiosk does once started, freezes its start-up objects (see :mod:`kiosk.workload` and
:mod:`kiosk.memory`).

Between two operations each kiosk pauses for an exponentially distributed time averaging
``--think-ms`` (default 1000 ms), the pause coming first, as people come to kiosks at random
moments. One operation per kiosk per second is far busier than a real lobby: 32 kiosks then
make some 25 transactions a second, over two million a day, where an estate of thousands of
units makes a few thousand. ``--think-ms 0`` runs the operations back to back: the figures are
then those of a saturated machine -- 32 kiosks' Python and PostgreSQL share its cores, so an
operation mostly waits for a core, and by Little's law its mean latency is the number of
kiosks over the throughput (32 / ~240 ops/s, about 130 ms, on the 2-core reference machine).
Each backend's figures also give the CPU the kiosk processes spent per operation
(``cpu_ms_per_op``, overall and per kind), the round trips to the database per operation kind,
and the wait for the audit chain's head (``lock_wait_ms`` p50/p99); see :mod:`kiosk.workload`.
Work another process does on an estate is metered as a kind of its own: a QR payment is the
kiosk's ``bill-pay-qr`` and the notify server's ``bill-notice`` (``operations_elsewhere``).
Target for them: at most 2 ms of CPU per operation overall and 3 ms for every kind.
PostgreSQL: KIOSK_BENCH_DATABASE_URL, else KIOSK_TEST_DATABASE_URL, else 127.0.0.1:5432/test;
a throw-away database is created and dropped.
"""

from __future__ import annotations

import argparse
from typing import Any

from kiosk.benchkit import BACKENDS, demo_database
from kiosk.plugins import load_plugins
from kiosk.workload import run_workload


def run(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="kiosk bench concurrency")
    parser.add_argument("--kiosks", type=int, default=32)
    parser.add_argument("--ops", type=int, default=50)
    parser.add_argument("--backend", choices=BACKENDS, default="both")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--think-ms", type=float, default=1000.0)
    parser.add_argument("--threads", action="store_true")
    args = parser.parse_args(argv or [])
    plugins = load_plugins()
    mode = {"processes": not args.threads, "think_ms": args.think_ms}
    results: dict[str, Any] = {
        "target": "32 kiosks on PostgreSQL, 0 violations, p99 <= 50 ms",
        "cpu_target": "cpu_ms_per_op <= 2.0 overall and <= 3.0 for every kind",
    }

    for backend in ("sqlite", "postgresql"):
        if args.backend in (backend, "both"):
            with demo_database(backend, plugins, "concurrency") as url:
                results[backend] = run_workload(
                    url, plugins, kiosks=args.kiosks, ops=args.ops, seed=args.seed, **mode
                )
    results["violations"] = sum(
        len(r["violations"]) for k, r in results.items() if isinstance(r, dict)
    )
    pg = results.get("postgresql")
    if pg is not None:
        results["target_met"] = pg["kiosks"] >= 32 and not pg["violations"] and pg["p99_ms"] <= 50.0
        kinds = [op["cpu_ms_per_op"] for op in pg["per_op"].values()]
        results["cpu_target_met"] = (pg["cpu_ms_per_op"] or 0.0) <= 2.0 and all(
            k <= 3.0 for k in kinds if k is not None
        )
    return results
