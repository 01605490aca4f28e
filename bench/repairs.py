"""``kiosk bench repairs [--tickets N] [--panel-tickets N] [--samples S] [--backend ...] --json``

A demo estate's repair and complaint history loaded with bulk inserts below the ORM (SQLite
``executemany``, PostgreSQL ``COPY``), then:

- desk SLA panel refresh: :func:`plugins.repairs.service.sla_panel` (open count, respond and
  resolve breaches, visits due, the 50 most urgent running clocks) with ``--panel-tickets``
  (default 100,000) open and closed tickets; target p95 <= 50 ms;
- monthly report: :func:`plugins.repairs.service.monthly_report` for the busiest month once
  ``--tickets`` (default 1,000,000) tickets are loaded; target <= 2 s (p95 of a few runs).

Data shape: tickets spread over the 12 months before now; 95 % closed or canceled, the rest
open in every state; 10 % complaints, 5 % suggestions; 8 % paid repairs; ratings on closed
tickets; SLA met on 85 %. Build time is reported; give a smaller ``--tickets`` when the full
size takes too long (the output says which size was measured).
PostgreSQL: KIOSK_BENCH_DATABASE_URL, else KIOSK_TEST_DATABASE_URL, else 127.0.0.1:5432/test; a
throw-away database is created and dropped.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from typing import Any

from sqlalchemy import select, text

from kiosk.benchkit import backend_options, bench_context, bulk_load, on_backends, summary
from kiosk.clock import FixedClock
from kiosk.db import Database
from kiosk.db.models import Unit

NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
COLS = (
    "number", "kind", "severity", "unit_id", "location", "category", "description", "reporter",
    "received_by", "contact_phone", "emergency", "external", "paid", "price_fen", "charge_fen",
    "status", "assignee", "reopen_count", "renotify_count", "created_at", "note",
    "respond_due_at", "resolve_due_at", "responded_at", "resolved_at", "completed_at",
    "closed_at", "sla_met", "rating", "rating_comment", "visited_at", "clock", "clock_due_at",
)  # fmt: skip
REPAIR_CATS = ["plumbing.leak", "plumbing.blocked_drain", "electrical.lighting",
               "electrical.socket", "doors.lock", "doors.window", "common.elevator",
               "common.cleaning", "plumbing.burst_pipe", "electrical.no_power"]  # fmt: skip
COMPLAINT_CATS = ["complaint.noise", "complaint.service", "complaint.environment"]
OPEN = ["new", "confirmed", "dispatched", "in_progress", "deferred", "completed", "reopened"]


def _rows(n: int, start: int, units: list[int], rng: random.Random, open_share: float):
    minute = dt.timedelta(minutes=1)
    for i in range(start, start + n):
        r = rng.random()
        kind = "repair" if r < 0.85 else "complaint" if r < 0.95 else "suggestion"
        cat = (rng.choice(REPAIR_CATS) if kind == "repair" else
               rng.choice(COMPLAINT_CATS) if kind == "complaint" else "suggestion")  # fmt: skip
        is_open = rng.random() < open_share
        created = NOW - rng.randint(1, 60 * 24 * 3) * minute if is_open else (
            NOW - rng.randint(60 * 24 * 3, 60 * 24 * 365) * minute)  # fmt: skip
        respond, resolve = (5, 240) if kind == "repair" else (720, 1440)
        status = rng.choice(OPEN) if is_open else ("closed" if rng.random() < 0.97 else "canceled")
        done = status in ("closed", "completed")
        met = rng.random() < 0.85
        responded = created + (3 if met else 9) * minute if status != "new" else None
        resolved = created + (60 if met else 300) * minute if done else None
        paid = kind == "repair" and rng.random() < 0.08
        yield (
            f"R{i:09d}", kind, "minor" if kind == "complaint" else "", units[i % len(units)],
            "in_home", cat, "", "", "kiosk:bench", "", cat.endswith(("burst_pipe", "no_power")),
            False, paid, 8000 if paid else 0, 8000 if paid and done else 0, status, "", 0, 0,
            created, "", created + respond * minute, created + resolve * minute, responded,
            resolved, resolved, resolved if status == "closed" else None,
            (met if done else None), (rng.randint(1, 5) if status == "closed" else None), "",
            resolved if status == "closed" else None, *_clock(status, created, responded,
                                                              respond, resolve),
        )  # fmt: skip


def _clock(status: str, created: dt.datetime, responded: Any, respond: int, resolve: int):
    if status in ("completed", "closed", "canceled"):
        return (None, None)
    if responded is None:
        return ("respond", created + dt.timedelta(minutes=respond))
    return ("resolve", created + dt.timedelta(minutes=resolve))


def _analyze(db: Database) -> int:
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
        if db.is_sqlite:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(conn.execute(text("SELECT count(*) FROM repair_ticket")).scalar() or 0)


def _measure(url: str, n_panel: int, n_total: int, samples: int, plugins: Any) -> dict:
    from plugins.repairs import service

    t0 = time.perf_counter()
    ctx = bench_context(url, plugins, FixedClock(NOW), demo=True)
    db = ctx.database()
    out: dict[str, Any] = {}
    with db.read() as session:
        units = list(session.scalars(select(Unit.id).order_by(Unit.id)))
    rng = random.Random(6)
    bulk_load(db, "repair_ticket", COLS, _rows(n_panel, 0, units, rng, open_share=0.05))
    out["panel_tickets_loaded"] = _analyze(db)
    out["panel_build_seconds"] = round(time.perf_counter() - t0, 1)
    warm = max(5, samples // 10)
    ms: list[float] = []
    for _ in range(samples + warm):
        t = time.perf_counter()
        panel = service.sla_panel(ctx)
        ms.append((time.perf_counter() - t) * 1000)
    out["sla_panel_refresh"] = summary(ms[warm:])
    out["sla_panel_open_tickets"] = panel.open_count
    out["target_panel_p95_le_50ms"] = out["sla_panel_refresh"]["p95_ms"] <= 50

    t0 = time.perf_counter()
    if n_total > n_panel:
        bulk_load(
            db, "repair_ticket", COLS, _rows(n_total - n_panel, n_panel, units, rng, open_share=0.0)
        )
    out["tickets_loaded"] = _analyze(db)
    out["report_build_seconds"] = round(time.perf_counter() - t0, 1)
    month = "2026-06"
    runs: list[float] = []
    for _ in range(6):
        t = time.perf_counter()
        report = service.monthly_report(ctx, month)
        runs.append((time.perf_counter() - t) * 1000)
    out["monthly_report"] = {"month": month, "tickets_in_month": report["total"],
                             **summary(runs[1:])}  # fmt: skip
    out["target_report_le_2s"] = out["monthly_report"]["p95_ms"] <= 2000
    db.dispose()
    return out


def run(argv: list[str] | None = None) -> dict[str, Any]:
    args = backend_options("repairs", argv, tickets=1_000_000, panel_tickets=100_000, samples=200)
    n_panel = min(args.panel_tickets, args.tickets)
    result: dict[str, Any] = {
        "tickets": args.tickets,
        "panel_tickets": n_panel,
        "targets": "SLA panel refresh p95 <= 50 ms at 100,000 tickets; "
        "monthly report <= 2 s at 1,000,000 tickets",
    }
    if args.tickets < 1_000_000 or n_panel < 100_000:
        result["note"] = "measured below the target sizes (see tickets / panel_tickets)"
    result.update(
        on_backends(
            args.backend,
            "repairs",
            lambda url, plugins: _measure(url, n_panel, args.tickets, args.samples, plugins),
        )
    )
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(), ensure_ascii=False, indent=2))
