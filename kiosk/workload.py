"""The multi-kiosk workload behind ``kiosk bench concurrency``.

N simulated kiosks run a weighted mix of operations against one database; afterwards every
operation's invariant check runs, plus the core's: the audit chain verifies and no audit event
is missing. Plugins add operations through ``kiosk_workload``.

Each kiosk is a process of its own (forked after the operations' ``setup``, with its own engine
and context), as on an estate where every kiosk is its own machine: as threads of one process
the kiosks would take turns on one interpreter lock, and a transaction holding a database lock
would wait for its turn while every other kiosk waited for the lock. A kiosk process sends back
its timings and what :class:`CoreWorkload` needs for its checks, so plugin checks must work
from the database (and from what ``setup`` prepared), not from counters kept during the run.

Before the clock starts every kiosk runs each operation ``warmup`` times (not timed, but
checked like the rest): a kiosk on duty is connected, has its code imported and its statements
compiled; timing the first call of each would measure 32 cold starts at once. Then, as a
started kiosk does, it freezes its start-up objects (:mod:`kiosk.memory`). ``think_ms``
(default 0: back to back) pauses each kiosk before every operation for an exponentially
distributed time with that mean, as people come to a kiosk at random moments; the figures
report it.

Besides latency, each operation is metered in its kiosk: ``cpu_ms`` is the user + system CPU
time of the kiosk's thread over the operation (reported as the mean, ``cpu_ms_per_op``, and the
median, ``cpu_ms_p50``: a kind that mostly meets a refusal and sometimes does the work has the
two far apart), ``process_cpu_ms`` that of its whole process. A
kiosk process also hosts the simulated payment provider, whose HTTP server answers the kiosk's
requests on a thread of its own: on an estate that work is done on the provider's machines,
while the kiosk's side of the exchange (building and signing a request, checking the answer
and the notification's signature) is in the kiosk's thread. With ``processes=False`` both are
the thread's. ``round_trips`` counts the exchanges with the database (on PostgreSQL each answer
the client waits for, the ``BEGIN`` psycopg sends before a transaction's first statement
included; on SQLite each statement, ``BEGIN``, ``COMMIT`` and ``ROLLBACK``), and
``lock_wait_ms`` the time in the statement that takes the audit chain's head
(:func:`kiosk.audit.lock_wait_seconds`), for the operations that append to the chain.

An operation may do inline what on an estate another of its processes does: a QR payment's
kiosk creates the order, and the provider's notification that the payer paid reaches the
notify server (``kiosk billing notify-server``), not the kiosk. Such work runs inside
:func:`elsewhere`, which meters it as an operation of its own kind (latency, CPU, round trips,
lock wait, state change) and takes it out of the operation's figures: each kind is then what
one process does for one request, as on the estate.

Thread CPU is not the code's alone: the same work costs more CPU time when many kiosks share
the cores, more again right after a pause (the machine emptied its caches and lowered its clocks
while the kiosk slept), and on a shared virtual machine whatever its neighbours do. So every
kiosk, paced like the run, times a fixed piece of pure-Python work (:func:`_fixed_work`) before
its clock starts: ``fixed_work_cpu_ms`` is what the machine made of the same work in that run
(on the 2-core reference machine about 1.0 ms for 4 kiosks back to back on a good hour, 1.7 for
32 kiosks at one operation a second, and up to a third more on a bad hour). Compare runs beside
it.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import multiprocessing
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import Engine, event, func, select

from kiosk import audit, lobby
from kiosk.benchkit import percentile
from kiosk.clock import clock_from_env
from kiosk.config import Settings
from kiosk.context import KioskContext
from kiosk.db import Database
from kiosk.db.models import AuditEvent, Card, DeskAlert, PrintJob
from kiosk.hookspecs import WorkloadOp
from kiosk.memory import freeze_start_up_objects
from kiosk.notify import acknowledge
from kiosk.plugins import KioskPlugins


@dataclasses.dataclass
class Metered:
    """One timed operation's figures under its kind, and whether it changed state: an
    operation of a kiosk, or work of another process it did inline (see :func:`elsewhere`;
    the operation sets ``changed``)."""

    kind: str
    changed: bool = False
    elapsed_ms: float = 0.0
    cpu_ms: float = 0.0
    process_cpu_ms: float = 0.0
    round_trips: int = 0
    lock_ms: float = 0.0

    def take_out(self, part: Metered) -> None:
        """Not this operation's: ``part``, done inside it for another process."""
        self.elapsed_ms -= part.elapsed_ms
        self.cpu_ms -= part.cpu_ms
        self.process_cpu_ms -= part.process_cpu_ms
        self.round_trips -= part.round_trips
        self.lock_ms -= part.lock_ms


class _RoundTrips:
    """Counts the exchanges with the database on one engine (see the module's docstring)."""

    def __init__(self) -> None:
        self.count = 0


class _Meters(threading.local):
    """The kiosk thread's meters (set by its runner), and the work of other processes done
    inside the operation being timed (None outside a timed one)."""

    def __init__(self) -> None:
        self.trips = _RoundTrips()
        self.cpu: Callable[[], float] = time.thread_time
        self.process_cpu: Callable[[], float] = time.thread_time
        self.parts: list[Metered] | None = None


_meters = _Meters()


@contextmanager
def _metering(op: Metered) -> Iterator[Metered]:
    """Fill in ``op``'s figures with what the work inside costs, on the thread's meters."""
    trips = _meters.trips
    trips_before, lock_before = trips.count, audit.lock_wait_seconds()
    cpu_before, process_before = _meters.cpu(), _meters.process_cpu()
    start = time.perf_counter()
    try:
        yield op
    finally:
        op.elapsed_ms = (time.perf_counter() - start) * 1000
        op.cpu_ms = (_meters.cpu() - cpu_before) * 1000
        op.process_cpu_ms = (_meters.process_cpu() - process_before) * 1000
        op.round_trips = trips.count - trips_before
        op.lock_ms = (audit.lock_wait_seconds() - lock_before) * 1000


@contextmanager
def elsewhere(kind: str) -> Iterator[Metered]:
    """Meter the work inside as an operation of ``kind`` that another process does on an estate
    (the notify server applying a payment notification), apart from the operation running it.
    Outside a timed operation (warm-up, a soak, a test) the work just runs."""
    part = Metered(kind)
    parts = _meters.parts
    if parts is None:
        yield part
        return
    try:
        with _metering(part):
            yield part
    finally:
        parts.append(part)


class CoreWorkload:
    """Core operations: card taps, desk calls, racing alert acknowledgements, print jobs."""

    def __init__(self, spool: Path) -> None:
        self.spool = spool
        self.uids: list[str] = []
        self.acks: list[int] = []
        self.calls = 0
        self.jobs: list[int] = []
        self._lock = threading.Lock()
        self._queues: dict[str, Any] = {}

    def outcome(self) -> dict[str, Any]:
        """What the run did that the checks need (sent back from a kiosk process)."""
        with self._lock:
            return {"acks": list(self.acks), "calls": self.calls, "jobs": list(self.jobs)}

    def absorb(self, outcomes: list[dict[str, Any]]) -> None:
        """Add what kiosk processes did (their changes to this object stayed in them)."""
        for o in outcomes:
            if o:
                self.acks += o["acks"]
                self.calls += o["calls"]
                self.jobs += o["jobs"]

    def ops(self) -> list[WorkloadOp]:
        return [
            WorkloadOp("card-tap", self.tap, weight=4, setup=self.setup),
            WorkloadOp("desk-call", self.desk_call, weight=1, check=self.check_calls),
            WorkloadOp("alert-ack", self.ack, weight=2, check=self.check_acks),
            WorkloadOp("print-job", self.print_job, weight=2, check=self.check_jobs),
        ]

    def setup(self, ctx: KioskContext) -> None:
        with ctx.database().read() as s:
            self.uids = list(s.scalars(select(Card.uid_hex).where(Card.kind == "resident")))

    def tap(self, ctx: KioskContext, rng: random.Random) -> bool:
        outcome = lobby.tap_card(ctx, rng.choice(self.uids))
        assert outcome.kind == "resident", outcome
        return False

    def desk_call(self, ctx: KioskContext, rng: random.Random) -> bool:
        lobby.call_desk(ctx, note="bench")
        with self._lock:
            self.calls += 1
        return True

    def ack(self, ctx: KioskContext, rng: random.Random) -> bool:
        with ctx.database().read() as s:
            ids = list(
                s.scalars(select(DeskAlert.id).where(DeskAlert.acknowledged_at.is_(None)).limit(5))
            )
        if not ids:
            return False
        alert_id = rng.choice(ids)
        with ctx.database().write() as s:
            won = acknowledge(s, alert_id, by=f"kiosk:{ctx.kiosk_id}", at=ctx.clock.now())
        if won:
            with self._lock:
                self.acks.append(alert_id)
        return won

    def print_job(self, ctx: KioskContext, rng: random.Random) -> bool:
        from devices.printer import Receipt, open_printer
        from kiosk.printing import PrintQueue, submit

        queue = self._queues.get(ctx.kiosk_id)
        if queue is None:
            printer = open_printer(f"file://{self.spool / ctx.kiosk_id}.bin", name="printer")
            queue = self._queues[ctx.kiosk_id] = PrintQueue(
                ctx.database(), ctx.clock, printer, kiosk_id=ctx.kiosk_id
            )
        with ctx.database().write() as s:
            job = submit(
                s,
                Receipt().title("bench").text("job"),
                kind="bench",
                at=ctx.clock.now(),
                kiosk_id=ctx.kiosk_id,
            )
            job_id = job.id
        outcome = queue.print_now(job_id)
        assert outcome.state == "printed", outcome
        with self._lock:
            self.jobs.append(job_id)
        return True

    def check_calls(self, ctx: KioskContext) -> list[str]:
        with ctx.database().read() as s:
            n = s.scalar(
                select(func.count()).select_from(DeskAlert).where(DeskAlert.kind == "desk_call")
            )
        return [] if n == self.calls else [f"{self.calls} desk calls made, {n} alerts recorded"]

    def check_acks(self, ctx: KioskContext) -> list[str]:
        dupes = [i for i in set(self.acks) if self.acks.count(i) > 1]
        problems = [f"alert {i} acknowledged twice" for i in dupes]
        with ctx.database().read() as s:
            logged = s.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "alert.acknowledged")
            )
        if logged != len(self.acks):
            problems.append(f"{len(self.acks)} acknowledgements, {logged} audit events")
        return problems

    def check_jobs(self, ctx: KioskContext) -> list[str]:
        with ctx.database().read() as s:
            states = dict(
                s.execute(select(PrintJob.id, PrintJob.state).where(PrintJob.kind == "bench")).all()
            )
        problems = [
            f"print job {j} is {states.get(j)}" for j in self.jobs if states.get(j) != "printed"
        ]
        if len(self.jobs) != len(set(self.jobs)):
            problems.append("a print job was claimed twice")
        return problems


def run_workload(
    url: str,
    plugins: KioskPlugins,
    *,
    kiosks: int = 8,
    ops: int = 50,
    seed: int = 1,
    settings: Settings | None = None,
    processes: bool = True,
    think_ms: float = 0.0,
    warmup: int = 1,
) -> dict[str, Any]:
    """Run ``ops`` operations on each of ``kiosks`` simulated kiosks; figures and violations.

    With ``processes`` (the default) every kiosk is a forked process, as on an estate where each
    kiosk is its own machine: one process of N threads would serialise every kiosk's Python on
    one interpreter lock and measure that queue instead of the database. ``processes=False``
    runs them as threads of this process (for comparison, or where fork is unavailable).
    """
    base = settings or Settings(source="<bench>", database_url=url)
    spool = Path(tempfile.mkdtemp(prefix="kiosk-bench-"))
    core = CoreWorkload(spool)
    main_ctx = KioskContext(
        settings=base, clock=clock_from_env(), db=Database(url), plugins=plugins
    )
    mix: list[WorkloadOp] = core.ops() + list(plugins.call_flat("kiosk_workload", ctx=main_ctx))
    for op in mix:
        if op.setup is not None:
            op.setup(main_ctx)
    with main_ctx.database().read() as s:
        audit_before = s.scalar(select(func.count()).select_from(AuditEvent)) or 0
    weights = [op.weight for op in mix]

    def kiosk(index: int, ready: Any, go: Any) -> _KioskResult:
        settings_i = dataclasses.replace(base, kiosk_id=f"bench-{index}", lobby="A")
        ctx = KioskContext(
            settings=settings_i, clock=clock_from_env(), db=Database(url), plugins=plugins
        )
        trips = _count_round_trips(ctx.database().engine)
        # The kiosk's own thread: the process also hosts the simulated payment provider's
        # HTTP server (its thread answers the kiosk's requests), which on an estate is the
        # provider's machine. The whole process's CPU is reported beside it.
        _meters.trips = trips
        _meters.cpu = time.thread_time
        _meters.process_cpu = time.process_time if processes else time.thread_time
        result = _KioskResult()
        rng = random.Random(seed * 1000 + index)
        try:
            # A kiosk on duty is connected, has its code imported and its statements compiled
            # and prepared: it runs every operation ``warmup`` times before the clock starts
            # (untimed; their changes are checked with the rest).
            warm_rng = random.Random(seed * 1000 + index + 500_000)
            for op in mix * warmup:
                try:
                    op.run(ctx, warm_rng)
                    if op.after is not None:
                        op.after(ctx, warm_rng)
                except Exception as exc:  # noqa: BLE001 - every failure is a finding
                    result.errors.append(f"{op.name} (warm-up): {type(exc).__name__}: {exc}")
            # As a kiosk does once it has started (see kiosk.memory).
            freeze_start_up_objects()
            # What the machine adds (see the module's docstring), paced as the run is.
            result.fixed_work = _fixed_work_ms(
                CALIBRATION_UNITS, think_ms, random.Random(seed * 1000 + index + 900_000)
            )
            ready()
            go()
            for _ in range(ops):
                if think_ms:
                    # The pause comes first: people come to the kiosks at random moments; they
                    # do not all press a button the instant the run starts.
                    time.sleep(rng.expovariate(1 / think_ms) / 1000)
                op = rng.choices(mix, weights)[0]
                whole, parts = Metered(op.name), list[Metered]()
                _meters.parts = parts
                try:
                    with _metering(whole):
                        whole.changed = bool(op.run(ctx, rng))
                except Exception as exc:  # noqa: BLE001 - every failure is a finding
                    result.errors.append(f"{op.name}: {type(exc).__name__}: {exc}")
                    continue
                finally:
                    _meters.parts = None
                for part in parts:  # another process's work: not this operation's
                    whole.take_out(part)
                    result.add(part)
                    result.elsewhere.add(part.kind)
                result.add(whole)
                if op.after is not None:  # unmetered: what the race needs to go on
                    try:
                        op.after(ctx, rng)
                    except Exception as exc:  # noqa: BLE001 - every failure is a finding
                        result.errors.append(f"{op.name} (after): {type(exc).__name__}: {exc}")
        finally:
            ctx.database().dispose()
        result.core = core.outcome()
        return result

    if processes:
        results, wall = _run_processes(kiosk, kiosks, main_ctx)
    else:
        results, wall = _run_threads(kiosk, kiosks)
    total = _KioskResult.merged(results)
    latencies, cpu_ms, lock_wait = total.latencies, total.cpu_ms, total.lock_wait_ms
    violations = total.errors
    if processes:  # threads shared ``core`` already
        core.absorb([r.core for r in results])
    for op in mix:
        if op.check is not None:
            violations += op.check(main_ctx)
    with main_ctx.database().read() as s:
        verdict = audit.verify(s)
        audit_after = s.scalar(select(func.count()).select_from(AuditEvent)) or 0
    if not verdict.ok:
        violations.append(f"audit chain broken at {verdict.broken_seq}: {verdict.reason}")
    main_ctx.database().dispose()
    every = [v for values in latencies.values() for v in values]
    every_cpu = [v for values in cpu_ms.values() for v in values]
    every_lock = [v for values in lock_wait.values() for v in values]
    return {
        "backend": url.split(":", 1)[0],
        "kiosks": kiosks,
        "kiosks_as": "processes" if processes else "threads",
        "ops_per_kiosk": ops,
        "think_ms": think_ms,
        "warmup_ops_per_kiosk": warmup * len(mix),
        "operations": len(every),
        # Of them, those another process does on an estate (see elsewhere()), by kind.
        "operations_elsewhere": {kind: len(latencies[kind]) for kind in sorted(total.elsewhere)},
        "seconds": round(wall, 3),
        "ops_per_second": round(len(every) / wall, 1) if wall else None,
        "p50_ms": round(statistics.median(every), 2) if every else None,
        "p99_ms": round(percentile(every, 0.99), 2),
        "cpu_ms_per_op": _mean(every_cpu),
        "cpu_ms_p50": _median(every_cpu),
        "process_cpu_ms_per_op": _mean(
            [v for values in total.process_cpu_ms.values() for v in values]
        ),
        "round_trips_per_op": _mean([n for counts in total.round_trips.values() for n in counts]),
        "lock_wait_ms": _spread(every_lock),
        "fixed_work_cpu_ms": _mean(total.fixed_work),
        "per_op": {
            name: {
                "count": len(values),
                "state_changes": total.changed.get(name, 0),
                "p50_ms": round(statistics.median(values), 2),
                "p99_ms": round(percentile(values, 0.99), 2),
                "cpu_ms_per_op": _mean(cpu_ms[name]),
                "cpu_ms_p50": _median(cpu_ms[name]),
                "process_cpu_ms_per_op": _mean(total.process_cpu_ms[name]),
                "round_trips": _mean(total.round_trips[name]),
                "round_trips_max": max(total.round_trips[name], default=0),
                "lock_wait_ms": _spread(lock_wait.get(name, [])),
            }
            for name, values in sorted(latencies.items())
        },
        "audit_events_added": audit_after - audit_before,
        "violations": violations,
    }


def _mean(values: list[float] | list[int]) -> float | None:
    return round(statistics.fmean(values), 2) if values else None


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def _spread(ms: list[float]) -> dict[str, Any]:
    """p50 / p99 of lock waits, and how many operations took the lock."""
    return {
        "operations": len(ms),
        "p50_ms": round(percentile(ms, 0.50), 3),
        "p99_ms": round(percentile(ms, 0.99), 3),
    }


# Units of fixed work each kiosk times before its clock starts (see _fixed_work_ms).
CALIBRATION_UNITS = 8


def _fixed_work() -> int:
    """The same pure-Python work every time (about a millisecond: dicts, strings, JSON, the
    stuff of building rows and statements), touching no database."""
    rows = {f"k{i}": (i, str(i) * 2, [i]) for i in range(1500)}
    return len(json.dumps({k: v[0] for k, v in rows.items()}))


def _fixed_work_ms(
    units: int, think_ms: float = 0.0, rng: random.Random | None = None
) -> list[float]:
    """The thread CPU (ms) of ``units`` runs of :func:`_fixed_work`, each after a pause like
    the run's operations get (``think_ms``), after a few untimed runs."""

    def timed() -> float:
        # Without the collector: a full collection of a large heap (the parent's) is no part
        # of what is measured.
        gc.disable()
        try:
            before = time.thread_time()
            _fixed_work()
            return (time.thread_time() - before) * 1000
        finally:
            gc.enable()

    for _ in range(3):
        timed()
    spent = []
    for _ in range(units):
        if think_ms and rng is not None:
            time.sleep(rng.expovariate(1 / think_ms) / 1000)
        spent.append(timed())
    return spent


# psycopg's generators that, on a connection in autocommit, send nothing to the server.
_SEND_NOTHING_IN_AUTOCOMMIT = frozenset(
    {"_set_autocommit_gen", "_set_isolation_level_gen", "_commit_gen", "_rollback_gen"}
)


def _count_round_trips(engine: Engine) -> _RoundTrips:
    trips = _RoundTrips()
    if engine.dialect.name == "postgresql":
        from psycopg.pq import TransactionStatus

        idle = TransactionStatus.IDLE

        @event.listens_for(engine, "connect")
        def _wrap(dbapi_conn: Any, _record: Any) -> None:
            # Every answer psycopg waits for passes through Connection.wait; the BEGIN it sends
            # before a transaction's first statement is waited for inside the same call. A
            # commit or rollback outside a transaction sends nothing: idle before and after
            # means nothing was sent, but for a statement in autocommit (the pool's ping, a
            # read session's statements). Switching autocommit or the isolation level, and a
            # commit or rollback, in autocommit, wait for nothing either.
            wait = dbapi_conn.wait

            def counted(gen: Any, *args: Any, **kwargs: Any) -> Any:
                was_idle = dbapi_conn.info.transaction_status == idle
                try:
                    return wait(gen, *args, **kwargs)
                finally:
                    if dbapi_conn.autocommit:
                        trips.count += gen.__name__ not in _SEND_NOTHING_IN_AUTOCOMMIT
                    elif not (was_idle and dbapi_conn.info.transaction_status == idle):
                        trips.count += 1 + int(was_idle)

            dbapi_conn.wait = counted

    else:

        def _one(*_args: Any, **_kwargs: Any) -> None:
            trips.count += 1

        event.listen(engine, "before_cursor_execute", _one)
        event.listen(engine, "commit", _one)
        event.listen(engine, "rollback", _one)
    return trips


@dataclasses.dataclass
class _KioskResult:
    """What one simulated kiosk reports back (pickled from a kiosk process)."""

    latencies: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    cpu_ms: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    process_cpu_ms: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    round_trips: dict[str, list[int]] = dataclasses.field(default_factory=dict)
    lock_wait_ms: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    changed: dict[str, int] = dataclasses.field(default_factory=dict)
    fixed_work: list[float] = dataclasses.field(default_factory=list)
    # The kinds of work of other processes done inline (kiosk.workload.elsewhere).
    elsewhere: set[str] = dataclasses.field(default_factory=set)
    errors: list[str] = dataclasses.field(default_factory=list)
    core: dict[str, Any] = dataclasses.field(default_factory=dict)

    # The per-operation series: each operation's figures, one an operation run.
    SERIES: ClassVar[tuple[str, ...]] = (
        "latencies",
        "cpu_ms",
        "process_cpu_ms",
        "round_trips",
        "lock_wait_ms",
    )

    @classmethod
    def merged(cls, results: list[_KioskResult]) -> _KioskResult:
        """The kiosks' results as one: each operation's figures from every kiosk in one list,
        its state changes summed, the kiosks' fixed work and errors in kiosk order."""
        total = cls()
        for r in results:
            for series in cls.SERIES:
                into = getattr(total, series)
                for name, values in getattr(r, series).items():
                    into.setdefault(name, []).extend(values)
            for name, n in r.changed.items():
                total.changed[name] = total.changed.get(name, 0) + n
            total.fixed_work += r.fixed_work
            total.elsewhere |= r.elsewhere
            total.errors += r.errors
        return total

    def add(self, op: Metered) -> None:
        """One timed operation's figures, under its kind."""
        self.latencies.setdefault(op.kind, []).append(op.elapsed_ms)
        self.cpu_ms.setdefault(op.kind, []).append(op.cpu_ms)
        self.process_cpu_ms.setdefault(op.kind, []).append(op.process_cpu_ms)
        self.round_trips.setdefault(op.kind, []).append(op.round_trips)
        if op.lock_ms > 1e-9:
            self.lock_wait_ms.setdefault(op.kind, []).append(op.lock_ms)
        self.changed[op.kind] = self.changed.get(op.kind, 0) + int(op.changed)


KioskFn = Callable[[int, Callable[[], object], Callable[[], object]], _KioskResult]


def _run_threads(kiosk: KioskFn, kiosks: int) -> tuple[list[_KioskResult], float]:
    barrier = threading.Barrier(kiosks + 1)
    results: list[_KioskResult] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        r = kiosk(index, lambda: None, barrier.wait)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(kiosks)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    return results, time.perf_counter() - started


def _run_processes(
    kiosk: KioskFn, kiosks: int, main_ctx: KioskContext
) -> tuple[list[_KioskResult], float]:
    mp = multiprocessing.get_context("fork")  # the kiosks inherit the workload's setup
    ready, go = mp.Semaphore(0), mp.Event()
    out: Any = mp.SimpleQueue()

    def run(index: int) -> None:
        try:
            out.put(kiosk(index, ready.release, go.wait))
        except BaseException as exc:  # noqa: BLE001 - reported, not lost with the process
            r = _KioskResult()
            r.errors.append(f"kiosk {index}: {type(exc).__name__}: {exc}")
            ready.release()
            out.put(r)

    # No pooled connection may be shared with a child process.
    main_ctx.database().dispose()
    procs = [mp.Process(target=run, args=(i,), daemon=True) for i in range(kiosks)]
    for p in procs:
        p.start()
    waiting = len(procs)
    while waiting:
        if ready.acquire(timeout=1):
            waiting -= 1
        elif any(p.exitcode not in (None, 0) for p in procs):
            go.set()
            raise RuntimeError("a kiosk process died before the run started")
    started = time.perf_counter()
    go.set()
    results = [out.get() for _ in procs]
    wall = time.perf_counter() - started
    for p in procs:
        p.join()
    return results, wall
