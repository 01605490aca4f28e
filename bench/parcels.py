"""``kiosk bench parcels [--parcels N] [--visits N] [--samples S] [--backend ...] --json``

A demo estate with N parcels (default 1,000,000) and N visits (default 1,000,000), loaded with
bulk inserts (SQLite ``executemany``, PostgreSQL ``COPY``), then:

- unit lookup: the unit's waiting parcels (:func:`plugins.parcels.service.waiting_parcels`), as
  the pickup screen runs it after a card tap; target p95 <= 10 ms;
- pickup transaction: :func:`plugins.parcels.service.release` of one item (signature check and
  PNG, conditional update, release row, audit event, print job, one commit); target p95 <= 20 ms.

Data shape: every unit has 5 waiting items (a busy day); the rest are released history (their
release rows are not loaded: the lookup and the release never read them). Visits are signed-out
history spread over a year. Build time is reported; ``--parcels``/``--visits`` give a smaller
size when the full one takes too long (the output says which size was measured).
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
from kiosk.db.models import Resident, Unit

WAITING_PER_UNIT = 5
SIGNED = [[[2, 5], [4, 3], [6, 6], [9, 2], [12, 5]], [[13, 4], [16, 4]]]
PARCEL_COLS = (
    "tracking_number", "carrier", "unit_id", "recipient_name", "shelf", "perishable",
    "signature_required", "oversize", "status", "checked_in_at", "checked_in_by",
    "released_at", "returned_by", "return_reason",
)  # fmt: skip
VISIT_COLS = (
    "kind", "name", "phone", "id_number", "unit_id", "purpose", "party_size", "status",
    "held_for_desk", "kiosk_id", "created_at", "decided_at", "decided_by", "valid_until",
    "signed_out_at", "sign_out_by", "id_checked", "id_checked_by",
)  # fmt: skip


def _parcel_rows(n: int, units: list[int], start: int, now: dt.datetime, rng: random.Random):
    for i in range(n):
        at = now - dt.timedelta(minutes=rng.randint(60 * 24, 60 * 24 * 365))
        yield (
            f"BX{start + i:012d}", "SF", units[i % len(units)], "", f"A{i % 30}", False, False,
            False, "released", at, "staff:1", at + dt.timedelta(hours=20), "", "",
        )  # fmt: skip


def _waiting_rows(units: list[int], per_unit: int, now: dt.datetime):
    for k in range(per_unit):
        for u in units:
            yield (
                f"BW{u:06d}{k:06d}", "JD", u, "", "B1", False, False, False, "waiting",
                now - dt.timedelta(hours=k), "staff:1", None, "", "",
            )  # fmt: skip


def _visit_rows(n: int, units: list[int], now: dt.datetime, rng: random.Random):
    for i in range(n):
        at = now - dt.timedelta(minutes=rng.randint(60, 60 * 24 * 365))
        yield (
            "walkup", f"访客{i % 9973}", f"139{i:08d}"[-11:], "", units[i % len(units)], "探亲", 1,
            "approved", False, "kiosk-1", at, at, "resident:1", at + dt.timedelta(hours=4),
            at + dt.timedelta(hours=2), "kiosk", False, "",
        )  # fmt: skip


def _measure(url: str, n_parcels: int, n_visits: int, samples: int, plugins: Any) -> dict:
    from plugins.parcels import service
    from plugins.parcels.service import Picker, Pickup

    t0 = time.perf_counter()
    ctx = bench_context(url, plugins, None, demo=True)
    db = ctx.database()
    out: dict[str, Any] = {}
    with db.read() as session:
        units = list(session.scalars(select(Unit.id).order_by(Unit.id)))
        picker_of = {
            u: (r.id, r.name)
            for u, r in ((r.unit_id, r) for r in session.scalars(select(Resident)))
        }
    now = ctx.clock.now()
    rng = random.Random(5)
    bulk_load(db, "parcel", PARCEL_COLS, _parcel_rows(n_parcels - WAITING_PER_UNIT * len(units),
                                                  units, 0, now, rng))  # fmt: skip
    bulk_load(db, "parcel", PARCEL_COLS, _waiting_rows(units, WAITING_PER_UNIT, now))
    bulk_load(db, "visitor_visit", VISIT_COLS, _visit_rows(n_visits, units, now, rng))
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
        if db.is_sqlite:
            # Start measuring from a checkpointed WAL, as a kiosk running for a while would.
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        out["parcels_loaded"] = conn.execute(text("SELECT count(*) FROM parcel")).scalar()
        out["visits_loaded"] = conn.execute(text("SELECT count(*) FROM visitor_visit")).scalar()
    out["build_seconds"] = round(time.perf_counter() - t0, 1)

    warm = max(5, samples // 10)  # first runs prepare statements and fill caches: not counted
    lookup: list[float] = []
    for _ in range(samples + warm):
        unit = rng.choice(units)
        t = time.perf_counter()
        with db.read() as session:
            found = service.waiting_parcels(session, unit)
        lookup.append((time.perf_counter() - t) * 1000)
        assert found
    lookup = lookup[warm:]
    out["unit_lookup_waiting"] = summary(lookup)

    with db.read() as session:
        codes = dict(session.execute(select(Unit.id, Unit.code)).tuples().all())
        targets = [
            (pid, uid)
            for pid, uid in session.execute(
                text("SELECT id, unit_id FROM parcel WHERE status = 'waiting' ORDER BY id")
            ).tuples()
        ]
    rng.shuffle(targets)
    pickup_ms: list[float] = []
    for pid, uid in targets[: samples + warm]:
        rid, name = picker_of[uid]
        pickup = Pickup(uid, codes[uid], "card", (), picker=Picker("resident", name, rid))
        t = time.perf_counter()
        service.release(ctx, pickup, [pid], SIGNED)
        pickup_ms.append((time.perf_counter() - t) * 1000)
    pickup_ms = pickup_ms[warm:]
    out["pickup_transaction"] = summary(pickup_ms)
    out["samples"] = {"lookup": len(lookup), "pickup": len(pickup_ms)}
    out["target_lookup_p95_le_10ms"] = out["unit_lookup_waiting"]["p95_ms"] <= 10
    out["target_pickup_p95_le_20ms"] = out["pickup_transaction"]["p95_ms"] <= 20
    db.dispose()
    return out


def run(argv: list[str] | None = None) -> dict[str, Any]:
    args = backend_options("parcels", argv, parcels=1_000_000, visits=1_000_000, samples=300)
    samples = min(args.samples, WAITING_PER_UNIT * 216 * 9 // 10)
    result: dict[str, Any] = {
        "parcels": args.parcels,
        "visits": args.visits,
        "targets": "unit lookup p95 <= 10 ms; pickup (release + audit + print job) p95 <= 20 ms",
        "pickup_includes": "signature check + PNG render, conditional update, release row, "
        "audit event (hash chain), print job, commit",
    }
    result.update(
        on_backends(
            args.backend,
            "parcels",
            lambda url, plugins: _measure(url, args.parcels, args.visits, samples, plugins),
        )
    )
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(), ensure_ascii=False, indent=2))
