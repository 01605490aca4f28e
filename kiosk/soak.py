"""``kiosk simulate --soak N [--faults] [--seed S]``: a long randomised run with device faults.

One kiosk, headless: the service functions the screens call, the real printer and card-reader
drivers on simulated devices on ptys (taps travel the real serial path, receipts the real
ESC/POS path with DLE EOT status), the durable print queue, and a clock that moves two seconds
a step. Each step either runs one operation of the mixed workload (the core's and every
plugin's ``kiosk_workload``: taps, desk calls, alert acknowledgements, receipts, parcel
pickups, umbrella lends and returns, bill payments) or, with ``faults``, injects a fault:

- printer: paper out, cover open, cable pulled, cable pulled in the middle of a job; each
  lasts a few steps, a receipt is printed while it lasts, then the printer is mended;
- card reader: unplugged for a few steps then replugged, garbled frames, noise, half a frame;
- the plugins' own faults, declared with their workload (``WorkloadOp.faults``): the billing
  plugin's provider delivering a payment notification again.

A fault is *survived* when the kiosk came through it as it must: nothing printed while the
printer could not print, the receipt queued and printed once the printer was back (marked
补打 / REPRINT when part of it may be on paper), the desk alerted; the reader reconnected by
itself and the next tap read correctly, a garbled frame never became a tap; a duplicate notice
answered ``duplicate`` and moved no money. At the end every fault is mended, the print queue
drained, and the invariants checked: every operation's own check (no parcel released twice, no
umbrella lent twice, no bill paid twice ...), no print job lost (all printed; the soak's own
receipts found in the bytes the printer received), the audit chain intact.

The same seed gives the same steps, faults and counts (only the timings differ).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import queue
import random
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from kiosk import audit, lobby
from kiosk.clock import FixedClock
from kiosk.config import Settings
from kiosk.context import KioskContext
from kiosk.db import Database
from kiosk.db.models import AuditEvent, DeskAlert, PrintJob
from kiosk.hookspecs import WorkloadFault, WorkloadOp
from kiosk.plugins import KioskPlugins
from kiosk.printing import PrintQueue, submit
from kiosk.workload import CoreWorkload

STEP_SECONDS = 2
FAULT_RATE = 0.15
MAX_FAULT_STEPS = 6
WAIT = 10.0  # seconds to wait for a device event before calling it lost (never reached when well)
PRINTER_FAULTS = ("paper_out", "cover_open", "printer_unplugged", "printer_unplugged_mid_job")
READER_FAULTS = ("reader_unplugged", "garbled_frame", "noise", "partial_frame")
ALERT_OF = {
    "paper_out": "printer_paper_out",
    "cover_open": "printer_cover_open",
    "printer_unplugged": "printer_offline",
}


class Devices:
    """A simulated printer and RDM6300 reader on ptys, driven by the real adapters."""

    def __init__(self) -> None:
        from devices.cards import open_reader
        from devices.printer import open_printer
        from devices.sim import SimCardReader, SimPrinter

        self.dir = tempfile.mkdtemp(prefix="kiosk-soak-dev-")
        self.printer_sim = SimPrinter("soak-printer", link_dir=self.dir)
        self.reader_sim = SimCardReader("rdm6300", "soak-card", link_dir=self.dir)
        self.printer_sim.start()
        self.reader_sim.start()
        self.printer = open_printer(
            f"serial://{self.printer_sim.path}?paper=58&timeout=0.5", name="printer"
        )
        self.events: queue.Queue[Any] = queue.Queue()
        self.stray: list[str] = []
        # No debounce: the soak taps the same card twice in a row on purpose.
        self.reader: Any = open_reader(
            f"serial://{self.reader_sim.path}?protocol=rdm6300&debounce=0",
            self.events.put,
            name="card",
            backoff_max=0.2,
        )
        self.reader.start()
        if self.wait_status("connected") is None:
            raise RuntimeError("the simulated card reader never connected")

    def _next(self, want: Callable[[Any], bool]) -> Any:
        deadline = time.monotonic() + WAIT
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                return None
            if want(event):
                return event
            if event.kind == "tap":
                self.stray.append(str(event.uid))
        return None

    def wait_status(self, status: str) -> Any:
        return self._next(lambda e: e.kind == "status" and e.status == status)

    def tap(self, uid: str, before: Callable[[], None] | None = None) -> str | None:
        """Present card ``uid`` (after ``before`` sent its junk); the UID the kiosk read."""
        if before is not None:
            before()
        self.reader_sim.tap(uid)
        event = self._next(lambda e: e.kind == "tap")
        return None if event is None else str(event.uid)

    def close(self) -> None:
        self.reader.stop()
        self.printer.close()
        self.printer_sim.stop()
        self.reader_sim.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Fault:
    kind: str
    step: int
    until: int
    at: dt.datetime
    jobs: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    received: int = 0  # bytes the printer had received when the fault began


class Soak(CoreWorkload):
    """The run: the core operations on the simulated devices, plugin operations, faults."""

    def __init__(
        self, ctx: KioskContext, clock: FixedClock, devices: Devices, rng: random.Random
    ) -> None:
        super().__init__(Path(devices.dir))
        self.ctx, self.clock, self.devices, self.rng = ctx, clock, devices, rng
        self.queue = PrintQueue(ctx.database(), clock, devices.printer, kiosk_id=ctx.kiosk_id)
        self.active: dict[str, Fault] = {}
        self.injected: Counter[str] = Counter()
        self.survived: Counter[str] = Counter()
        self.violations: list[str] = []
        self.taps = Counter[str]()
        self.soak_jobs: dict[int, str] = {}  # job id -> the marker its receipt carries
        self.interrupted: set[int] = set()
        # The plugins' own faults (a payment notification delivered again...), by name.
        self.plugin_faults: dict[str, WorkloadFault] = {}
        with ctx.database().read() as s:
            self.jobs_before = s.scalar(select(func.max(PrintJob.id))) or 0

    # -- operations on the devices (overriding the core workload's direct calls) ------------------

    def core_ops(self) -> list[WorkloadOp]:
        return [
            WorkloadOp("card-tap", self.tap, weight=4, setup=self.setup),
            WorkloadOp("desk-call", self.desk_call, weight=1, check=self.check_calls),
            WorkloadOp("alert-ack", self.ack, weight=2, check=self.check_acks),
            WorkloadOp("print-job", self.print_job, weight=2),
        ]

    def tap(self, ctx: KioskContext, rng: random.Random, before: Any = None) -> bool:
        uid = rng.choice(self.uids)
        self.taps["presented"] += 1
        if not self.devices.reader_sim.plugged:
            self.taps["unread_while_unplugged"] += 1  # nothing reads it; the resident retries
            return False
        read = self.devices.tap(uid, before)
        if read is None:
            raise AssertionError(f"card {uid} was tapped but never reached the kiosk")
        if int(read, 16) != int(uid, 16):  # an EM4100 reader pads a 4-byte UID to 5 bytes
            raise AssertionError(f"card {uid} was tapped but the kiosk read {read}")
        outcome = lobby.tap_card(ctx, read)
        assert outcome.kind == "resident", outcome
        self.taps["read"] += 1
        return False

    def receipt(self, job_no: int) -> Any:
        from devices.printer import Receipt

        marker = f"SOAK-{job_no:06d}"
        return (
            Receipt()
            .title("Soak receipt")
            .row("Job", marker)
            .row("Kiosk", self.ctx.kiosk_id)
            .text("收据 / receipt " * 6)
            .qr(f"https://kiosk.invalid/soak/{marker}")
            .text(f"END {marker}")
            .cut()
        )

    def print_job(self, ctx: KioskContext, rng: random.Random) -> bool:
        job_id, _size = self.submit_job()
        outcome = self.queue.print_now(job_id)
        printer_fault = self.active.get("printer")
        if printer_fault is not None:
            printer_fault.jobs.append(job_id)
            if outcome.state == "printed":
                printer_fault.problems.append(f"job {job_id} printed during {printer_fault.kind}")
        return True

    def submit_job(self) -> tuple[int, int]:
        from devices.printer import render_escpos

        receipt = self.receipt(len(self.soak_jobs) + 1)
        with self.ctx.database().write() as s:
            job = submit(s, receipt, kind="soak", at=self.clock.now(), kiosk_id=self.ctx.kiosk_id)
            job_id = job.id
        self.soak_jobs[job_id] = f"SOAK-{len(self.soak_jobs) + 1:06d}"
        printer = self.devices.printer
        return job_id, len(render_escpos(receipt, printer.paper_mm, printer.qr_mode))

    # -- faults ---------------------------------------------------------------------------------

    def eligible(self) -> list[str]:
        kinds: list[str] = []
        if "printer" not in self.active:
            kinds += PRINTER_FAULTS
        if "reader" not in self.active:
            kinds += READER_FAULTS
        kinds += [name for name, f in self.plugin_faults.items() if f.ready(self.ctx)]
        return kinds

    def inject(self, step: int) -> None:
        kind = self.rng.choice(self.eligible())
        self.injected[kind] += 1
        until = step + self.rng.randint(1, MAX_FAULT_STEPS)
        fault = Fault(kind, step, until, self.clock.now())
        sims = self.devices
        if kind in ("paper_out", "cover_open"):
            sims.printer_sim.set_fault(kind)
            fault.received = len(sims.printer_sim.received)
        elif kind == "printer_unplugged":
            sims.printer_sim.unplug()
        elif kind == "printer_unplugged_mid_job":
            self.active["printer"] = fault
            job_id, size = self.submit_job()
            # Past the status query (at most 4 x 3 bytes), inside the job's own bytes.
            sims.printer_sim.unplug_after = (
                len(sims.printer_sim.received) + 12 + self.rng.randrange(1, size - 12)
            )
            outcome = self.queue.print_now(job_id)
            fault.jobs.append(job_id)
            self.interrupted.add(job_id)
            with self.ctx.database().read() as s:
                document = s.scalar(select(PrintJob.document).where(PrintJob.id == job_id))
            if outcome.state != "queued" or not (document or {}).get("reprint"):
                fault.problems.append(
                    f"job {job_id} cut off mid-job is {outcome.state}, "
                    f"reprint={bool((document or {}).get('reprint'))}"
                )
            return
        elif kind == "reader_unplugged":
            sims.reader_sim.unplug()
            self.active["reader"] = fault
            if sims.wait_status("disconnected") is None:
                fault.problems.append("the reader never noticed it was unplugged")
            return
        elif kind in ("garbled_frame", "noise", "partial_frame"):
            junk = {
                "garbled_frame": sims.reader_sim.garbled,
                "noise": sims.reader_sim.noise,
                "partial_frame": sims.reader_sim.partial,
            }[kind]
            self._survive(fault, self._tap_check(fault, before=junk))
            return
        elif kind in self.plugin_faults:
            fault.problems += self.plugin_faults[kind].inject(self.ctx, self.rng)
            self._survive(fault, True)
            return
        # A printer fault: a receipt is printed while it lasts.
        self.active["printer"] = fault
        self.print_job(self.ctx, self.rng)

    def _tap_check(self, fault: Fault, before: Any = None) -> bool:
        try:
            self.tap(self.ctx, self.rng, before)
        except AssertionError as exc:
            fault.problems.append(str(exc))
            return False
        return True

    def _survive(self, fault: Fault, ok: bool) -> None:
        if ok and not fault.problems:
            self.survived[fault.kind] += 1
        else:
            self.violations += [f"{fault.kind} at step {fault.step}: {p}" for p in fault.problems]
            if not fault.problems:
                self.violations.append(f"{fault.kind} at step {fault.step}: not survived")

    def recover(self, device: str) -> None:
        fault = self.active.pop(device)
        sims = self.devices
        if device == "reader":
            sims.reader_sim.plug()
            if sims.wait_status("connected") is None:
                fault.problems.append("the reader did not reconnect after replug")
                self._survive(fault, False)
                return
            self._survive(fault, self._tap_check(fault))
            return
        if fault.kind in ("paper_out", "cover_open"):
            sent = bytes(sims.printer_sim.received[fault.received :])
            for n in (1, 2, 3, 4):  # status queries are all a printer may get meanwhile
                sent = sent.replace(bytes((0x10, 0x04, n)), b"")
            if sent:
                fault.problems.append(f"{len(sent)} bytes sent to the printer during {fault.kind}")
        sims.printer_sim.clear_faults()
        sims.printer_sim.unplug_after = None
        sims.printer_sim.plug()
        alert = ALERT_OF.get(fault.kind)
        if alert is not None:
            with self.ctx.database().read() as s:
                raised = s.scalar(
                    select(func.count())
                    .select_from(DeskAlert)
                    .where(DeskAlert.kind == alert, DeskAlert.kiosk_id == self.ctx.kiosk_id)
                )
            if not raised:
                fault.problems.append(f"no {alert} desk alert")
        self.drain()
        with self.ctx.database().read() as s:
            states = dict(
                s.execute(
                    select(PrintJob.id, PrintJob.state).where(PrintJob.id.in_(fault.jobs))
                ).all()
            )
        fault.problems += [
            f"job {j} is {states.get(j)} after the printer was mended"
            for j in fault.jobs
            if states.get(j) != "printed"
        ]
        self._survive(fault, bool(fault.jobs))

    def drain(self, rounds: int = 10) -> None:
        """Let the backoff pass and print everything due, until the queue is empty."""
        for _ in range(rounds):
            self.clock.advance(seconds=61)
            if not self.queue.process_once():
                return

    # -- the end ----------------------------------------------------------------------------------

    def check_print_jobs(self) -> list[str]:
        from devices.receipt_decode import decode_escpos

        with self.ctx.database().read() as s:
            jobs = s.execute(
                select(PrintJob.id, PrintJob.state, PrintJob.kind).where(
                    PrintJob.id > self.jobs_before
                )
            ).all()
        problems = [f"print job {j} ({kind}) lost: {state}" for j, state, kind in jobs
                    if state != "printed"]  # fmt: skip
        # Decode job by job (each starts with ESC @): a job cut off in the middle of a command
        # would otherwise swallow the start of the next one.
        stream = self.devices.printer_sim.take()
        text = "\n".join(decode_escpos(b"\x1b@" + job).text for job in stream.split(b"\x1b@"))
        for job_id, marker in self.soak_jobs.items():
            if f"END {marker}" not in text:
                problems.append(f"receipt {marker} (job {job_id}) never reached the printer whole")
        reprints = text.count("REPRINT")
        if reprints < len(self.interrupted):
            problems.append(f"{len(self.interrupted)} jobs cut off, {reprints} reprints printed")
        return problems


def run_soak(
    url: str,
    plugins: KioskPlugins,
    *,
    steps: int = 200,
    faults: bool = True,
    seed: int = 1,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """``steps`` randomised steps on the demo estate at ``url``; figures and violations."""
    started = time.perf_counter()
    rng = random.Random(seed)
    clock = FixedClock()
    base = settings or Settings(source="<soak>", database_url=url)
    base = dataclasses.replace(base, database_url=url, kiosk_id="soak-kiosk", lobby="A")
    ctx = KioskContext(settings=base, clock=clock, db=Database(url), plugins=plugins)
    devices = Devices()
    soak = Soak(ctx, clock, devices, rng)
    ops_run: Counter[str] = Counter()
    changed: Counter[str] = Counter()
    try:
        mix = soak.core_ops() + list(plugins.call_flat("kiosk_workload", ctx=ctx))
        soak.plugin_faults = {f.name: f for op in mix for f in op.faults}
        for op in mix:
            if op.setup is not None:
                op.setup(ctx)
        weights = [op.weight for op in mix]
        for step in range(steps):
            clock.advance(seconds=STEP_SECONDS)
            for device in sorted(d for d, f in soak.active.items() if f.until <= step):
                soak.recover(device)
            if faults and rng.random() < FAULT_RATE:
                soak.inject(step)
            else:
                op = rng.choices(mix, weights)[0]
                ops_run[op.name] += 1
                try:
                    changed[op.name] += int(op.run(ctx, rng))
                    if op.after is not None:
                        op.after(ctx, rng)
                except Exception as exc:  # noqa: BLE001 - every failure is a finding
                    soak.violations.append(f"step {step} {op.name}: {type(exc).__name__}: {exc}")
            soak.queue.process_once()
        for device in sorted(soak.active):
            soak.recover(device)
        soak.drain()
        violations = list(soak.violations)
        for op in mix:
            if op.check is not None:
                violations += op.check(ctx)
        violations += soak.check_print_jobs()
        violations += [f"a tap nobody presented was read: {uid}" for uid in devices.stray]
        with ctx.database().read() as s:
            verdict = audit.verify(s)
            events = s.scalar(select(func.count()).select_from(AuditEvent)) or 0
            jobs = Counter(
                dict(
                    s.execute(
                        select(PrintJob.kind, func.count())
                        .where(PrintJob.id > soak.jobs_before)
                        .group_by(PrintJob.kind)
                    ).all()
                )
            )
        if not verdict.ok:
            violations.append(f"audit chain broken at {verdict.broken_seq}: {verdict.reason}")
        reader_stats = devices.reader.stats.to_dict()
    finally:
        devices.close()
        ctx.database().dispose()
    return {
        "backend": url.split(":", 1)[0].split("+", 1)[0],
        "seed": seed,
        "steps": steps,
        "operations": sum(ops_run.values()),
        "faults_injected": sum(soak.injected.values()),
        "faults_survived": sum(soak.survived.values()),
        "faults": {
            kind: {"injected": soak.injected[kind], "survived": soak.survived[kind]}
            for kind in PRINTER_FAULTS + READER_FAULTS + tuple(soak.plugin_faults)
        },
        "per_op": {
            name: {"count": ops_run[name], "state_changes": changed[name]}
            for name in sorted(ops_run)
        },  # fmt: skip
        "taps": dict(soak.taps),
        "reader": {k: reader_stats[k] for k in ("taps", "garbled", "reconnects")},
        "print_jobs": {
            "total": sum(jobs.values()),
            "by_kind": dict(sorted(jobs.items())),
            "cut_off_mid_job": len(soak.interrupted),
        },  # fmt: skip
        "audit_events": events,
        "audit_chain": "intact" if verdict.ok else "broken",
        "violations": violations,
        "seconds": round(time.perf_counter() - started, 2),
    }


@contextlib.contextmanager
def soak_database(backend: str, plugins: KioskPlugins) -> Iterator[str]:
    """A throw-away demo estate: SQLite in a temporary folder, or a PostgreSQL database
    created next to ``KIOSK_BENCH_DATABASE_URL`` / ``KIOSK_TEST_DATABASE_URL`` and dropped."""
    from kiosk.benchkit import demo_database

    with demo_database(backend, plugins, "soak", FixedClock()) as url:
        yield url


@contextlib.contextmanager
def _quiet_expected_faults() -> Iterator[None]:
    """The faults are injected on purpose: their warnings would bury the summary."""
    import logging

    loggers = [logging.getLogger(n) for n in ("kiosk.printing", "devices")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def soak(
    steps: int, *, faults: bool, seed: int, backend: str, settings: Settings | None = None
) -> dict[str, Any]:
    """What ``kiosk simulate --soak`` runs: a throw-away demo estate, the soak, its figures."""
    from kiosk.plugins import load_plugins

    plugins = load_plugins(settings.plugins_disabled if settings else ())
    with _quiet_expected_faults(), soak_database(backend, plugins) as url:
        return run_soak(url, plugins, steps=steps, faults=faults, seed=seed, settings=settings)


def summary(result: dict[str, Any]) -> str:
    """The figures as a few lines of text (``--json`` prints them all)."""
    lines = [
        f"soak on {result['backend']}, seed {result['seed']}: {result['steps']} steps, "
        f"{result['operations']} operations in {result['seconds']} s",
        f"faults injected {result['faults_injected']}, survived {result['faults_survived']}",
    ]
    lines += [
        f"  {kind}: {f['injected']} injected, {f['survived']} survived"
        for kind, f in result["faults"].items()
        if f["injected"]
    ]
    lines.append(f"print jobs {result['print_jobs']['total']}, audit chain {result['audit_chain']}")
    lines.append(f"violations: {len(result['violations'])}")
    lines += [f"  {v}" for v in result["violations"]]
    return "\n".join(lines)
