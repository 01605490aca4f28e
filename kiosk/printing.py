"""The durable print-job queue: one way to print, for every plugin.

A service commits its transaction first and queues the receipt in that same transaction
(:func:`submit`), so a printer failure can never lose or double a transaction. A worker per
printer then moves each job queued -> sending -> printed | failed(reason) | expired:

- the printer's status is checked before sending (DLE EOT); not ready -> the job stays queued
  with the reason, is retried with backoff, and the desk is alerted on paper out / cover open;
- the job is claimed with a conditional update, so two workers never send the same job;
- after sending, the printer's answer confirms it; a connection lost mid-job or an unconfirmed
  job goes back as a reprint (补打), since part of it may be on paper already;
- after ``max_attempts`` the job is failed(reason) and waits for staff at the desk;
- a job found in ``sending`` at start-up (the process died mid-job) is requeued as a reprint;
- jobs nobody could print within ``expire_after`` expire (the person has left); staff can
  reprint any job from the desk.

While a job is not printed, the kiosk shows the slip's content on screen (``render_text``).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from kiosk import audit
from kiosk.clock import Clock, as_utc
from kiosk.db import Database, direct
from kiosk.db.models import DeskAlert, PrintJob
from kiosk.i18n import N_
from kiosk.notify import raise_alert

if TYPE_CHECKING:
    from devices.printer import Printer, Receipt

_JOBS = cast(Table, PrintJob.__table__)
_INSERT_JOB = insert(_JOBS).returning(_JOBS.c.id)
# Claim a queued job of this queue in one statement, whatever its next attempt time; the
# caller learns why not (missing, another queue's, expired, taken) only when it fails.
_CLAIM_JOB = (
    update(_JOBS)
    .where(
        _JOBS.c.id == bindparam("job_id"),
        _JOBS.c.state == "queued",
        _JOBS.c.printer == bindparam("queue_printer"),
        _JOBS.c.kiosk_id == bindparam("queue_kiosk"),
        _JOBS.c.created_at >= bindparam("fresh_since"),
    )
    .values(state="sending", attempts=_JOBS.c.attempts + 1, updated_at=bindparam("now"))
    .returning(_JOBS.c.document, _JOBS.c.attempts)
)
_JOB_PRINTED = (
    update(_JOBS)
    .where(_JOBS.c.id == bindparam("job_id"))
    .values(state="printed", reason=bindparam("detail"), updated_at=bindparam("now"))
)

log = logging.getLogger(__name__)
BACKOFF_SECONDS = (1, 2, 5, 10, 30, 60)


@dataclass(frozen=True)
class JobOutcome:
    job_id: int
    state: str
    reason: str = ""


def submit(
    session: Session,
    receipt: Receipt,
    *,
    kind: str,
    at: dt.datetime,
    kiosk_id: str = "",
    printer: str = "printer",
    reprint_of: int | None = None,
) -> PrintJob:
    """Queue ``receipt`` inside the caller's transaction; it prints after the commit.

    One ``INSERT ... RETURNING`` (the queue's hottest statement, kept off the ORM's unit of
    work); the job comes back as a detached object with its id. A caller that does not need
    the job back calls :func:`queue` instead."""
    values = _job_values(receipt, kind, at, kiosk_id, printer, reprint_of)
    return direct.inserted(session, _INSERT_JOB, PrintJob, values)


def queue(
    session: Session,
    receipt: Receipt,
    *,
    kind: str,
    at: dt.datetime,
    kiosk_id: str = "",
    printer: str = "printer",
) -> None:
    """:func:`submit` for a caller that does not need the job back (a slip printed with a
    resident's audited action, a receipt the notify server queues for a kiosk): the job is
    written with the transaction's audit events (:func:`kiosk.audit.write_with_chain`), a
    round trip fewer; it prints after the commit all the same."""
    audit.write_with_chain(session, _JOBS, _job_values(receipt, kind, at, kiosk_id, printer, None))


def _job_values(
    receipt: Receipt,
    kind: str,
    at: dt.datetime,
    kiosk_id: str,
    printer: str,
    reprint_of: int | None,
) -> dict[str, Any]:
    return {
        "printer": printer,
        "kiosk_id": kiosk_id,
        "kind": kind,
        "document": receipt.to_dict(),
        "state": "queued",
        "reason": "",
        "attempts": 0,
        "reprint_of": reprint_of,
        "created_at": at,
        "updated_at": at,
        "next_attempt_at": at,
    }


def receipt_of(job: PrintJob) -> Receipt:
    from devices.printer import Receipt

    return Receipt.from_dict(job.document)


def reprint(
    db: Database, job_id: int, *, actor: str, at: dt.datetime, kiosk_id: str = ""
) -> PrintJob:
    """Queue a copy of a job marked 补打 / REPRINT (staff at the desk, or a resident's retry)."""
    with db.write() as session:
        original = session.get(PrintJob, job_id)
        if original is None:
            raise LookupError(f"no print job {job_id}")
        copy = submit(
            session,
            receipt_of(original).as_reprint(),
            kind=original.kind,
            at=at,
            kiosk_id=kiosk_id or original.kiosk_id,
            printer=original.printer,
            reprint_of=original.id,
        )
        audit.record(
            session,
            actor=actor,
            action="print.reprint",
            subject=f"print_job:{job_id}",
            data={"copy": copy.id},
            at=at,
            kiosk_id=kiosk_id,
        )
        return copy


class PrintQueue:
    """Works the queue of one printer (``printer_name``) for this kiosk."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        printer: Printer,
        *,
        kiosk_id: str = "",
        lobby: str = "",
        expire_after: dt.timedelta = dt.timedelta(minutes=30),
        max_attempts: int = 20,
    ) -> None:
        self.max_attempts = max_attempts
        self.db = db
        self.clock = clock
        self.printer = printer
        self.kiosk_id = kiosk_id
        self.lobby = lobby
        self.expire_after = expire_after

    @property
    def name(self) -> str:
        return self.printer.name

    def recover(self) -> int:
        """Requeue jobs left in ``sending`` by a process that died; they print as 补打."""
        now = self.clock.now()
        with self.db.write() as session:
            jobs = session.scalars(
                select(PrintJob).where(
                    PrintJob.printer == self.name,
                    PrintJob.kiosk_id == self.kiosk_id,
                    PrintJob.state == "sending",
                )
            ).all()
            for job in jobs:
                job.document = receipt_of(job).as_reprint().to_dict()
                job.state = "queued"
                job.reason = "interrupted while sending; reprinting"
                job.updated_at = now
                job.next_attempt_at = now
            return len(jobs)

    def _due(self, session: Session, now: dt.datetime) -> list[int]:
        return list(
            session.scalars(
                select(PrintJob.id)
                .where(
                    PrintJob.printer == self.name,
                    PrintJob.kiosk_id == self.kiosk_id,
                    PrintJob.state == "queued",
                    or_(PrintJob.next_attempt_at.is_(None), PrintJob.next_attempt_at <= now),
                )
                .order_by(PrintJob.id)
            )
        )

    def process_once(self, job_ids: list[int] | None = None) -> list[JobOutcome]:
        """Try every due job (or just ``job_ids``) once; returns what happened to each."""
        now = self.clock.now()
        with self.db.read() as session:
            due = self._due(session, now)
        if job_ids is not None:
            due = [j for j in due if j in job_ids]
        return [self._attempt(job_id) for job_id in due]

    def print_now(self, job_id: int) -> JobOutcome:
        """Try one job right away (the screen waits for it to decide whether to show the slip):
        claimed at once if still queued, whatever its next attempt time; otherwise its state."""
        outcome = self._attempt(job_id)
        if outcome.state != "taken":
            return outcome
        with self.db.read() as session:
            job = session.get(PrintJob, job_id)
            return JobOutcome(job_id, job.state if job else "missing", job.reason if job else "")

    def _attempt(self, job_id: int) -> JobOutcome:
        from devices.printer import PrinterError

        now = self.clock.now()
        # One conditional UPDATE: it needs no transaction around it to be taken once.
        with self.db.single() as conn:
            claimed = direct.execute(
                conn,
                _CLAIM_JOB,
                {
                    "job_id": job_id,
                    "queue_printer": self.name,
                    "queue_kiosk": self.kiosk_id,
                    "fresh_since": now - self.expire_after,
                    "now": now,
                },
            ).first()
        if claimed is None:
            return self._not_claimed(job_id, now)
        document, attempts = claimed
        status = self.printer.status()
        if not status.ready:
            self._alert_if_needed(status)
            return self._requeue(job_id, attempts, status.reason or "printer not ready")
        from devices.printer import Receipt

        receipt = Receipt.from_dict(document)
        data = self.printer.render(receipt)
        try:
            result = self.printer.send(data)
        except PrinterError as exc:
            log.warning("print job %s: %s", job_id, exc)
            as_reprint = receipt.as_reprint() if exc.bytes_sent else None
            return self._requeue(job_id, attempts, str(exc), as_reprint)
        except Exception as exc:
            # Unknown failure during the transfer: some bytes may be on paper already.
            log.exception("print job %s failed while sending", job_id)
            return self._requeue(
                job_id, attempts, f"{type(exc).__name__}: {exc}", receipt.as_reprint()
            )
        if not result.confirmed:
            # The bytes left but the printer did not confirm (paper ran out mid-slip, cable
            # pulled): it may or may not be on paper, so the next copy is marked 补打.
            if result.status is not None:
                self._alert_if_needed(result.status)
            return self._requeue(job_id, attempts, result.detail, receipt.as_reprint())
        with self.db.single() as conn:
            direct.execute(
                conn,
                _JOB_PRINTED,
                {"job_id": job_id, "detail": result.detail, "now": self.clock.now()},
            )
        return JobOutcome(job_id, "printed", result.detail)

    def _not_claimed(self, job_id: int, now: dt.datetime) -> JobOutcome:
        """Why job ``job_id`` could not be claimed; a queued job too old to matter expires."""
        with self.db.write() as session:
            job = session.get(PrintJob, job_id)
            if job is None:
                return JobOutcome(job_id, "missing")
            if job.printer != self.name or job.kiosk_id != self.kiosk_id:
                return JobOutcome(job_id, "taken")  # another queue's job: not this one's
            if now - as_utc(job.created_at) > self.expire_after and job.state == "queued":
                job.state, job.reason, job.updated_at = "expired", "not printed in time", now
                return JobOutcome(job_id, "expired", job.reason)
            return JobOutcome(job_id, "taken")

    def _requeue(
        self, job_id: int, attempts: int, reason: str, as_reprint: Receipt | None = None
    ) -> JobOutcome:
        now = self.clock.now()
        delay = BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)]
        state = "failed" if attempts >= self.max_attempts else "queued"
        with self.db.write() as session:
            values: dict[str, Any] = {
                "state": state,
                "reason": reason[:200],
                "updated_at": now,
                "next_attempt_at": now + dt.timedelta(seconds=delay),
            }
            if as_reprint is not None:
                values["document"] = as_reprint.to_dict()
            session.execute(update(PrintJob).where(PrintJob.id == job_id).values(**values))
        return JobOutcome(job_id, state, reason)

    def _alert_if_needed(self, status: Any, session: Session | None = None) -> None:
        kind = (
            "printer_paper_out"
            if status.paper_out
            else "printer_cover_open"
            if status.cover_open
            else "printer_offline"
            if status.offline
            else ""
        )
        if not kind:
            return

        def _raise(s: Session) -> None:
            already = s.scalar(
                select(DeskAlert.id).where(
                    DeskAlert.kind == kind,
                    DeskAlert.kiosk_id == self.kiosk_id,
                    DeskAlert.acknowledged_at.is_(None),
                )
            )
            if already is None:
                raise_alert(
                    s,
                    kind,
                    N_("printer {printer} at kiosk {kiosk}: {reason}"),
                    params={"printer": self.name, "kiosk": self.kiosk_id, "reason": status.reason},
                    at=self.clock.now(),
                    lobby=self.lobby,
                    kiosk_id=self.kiosk_id,
                )

        if session is not None:
            _raise(session)
        else:
            with self.db.write() as s:
                _raise(s)


class PrintWorker:
    """A thread working one :class:`PrintQueue` until stopped."""

    def __init__(self, queue: PrintQueue, interval: float = 0.5) -> None:
        self.queue = queue
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"print-{queue.name}", daemon=True)

    def start(self) -> None:
        self.queue.recover()
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.queue.process_once()
            except Exception:  # the worker must outlive a bad job or a database hiccup
                log.exception("print worker %s", self.queue.name)
            self._stop.wait(self.interval)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
