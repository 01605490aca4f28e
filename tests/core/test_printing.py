"""The print queue: a transaction is never lost or printed twice, whatever the printer does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from devices.printer import Printer, Receipt, open_printer
from devices.receipt_decode import decode_escpos
from devices.sim import SimPrinter
from kiosk.clock import FixedClock
from kiosk.db import Database
from kiosk.db.models import DeskAlert, PrintJob
from kiosk.notify import open_alerts
from kiosk.printing import PrintQueue, reprint, submit


@pytest.fixture
def sim(tmp_path) -> Iterator[SimPrinter]:
    printer = SimPrinter("printer", link_dir=str(tmp_path))
    printer.start()
    yield printer
    printer.stop()


@pytest.fixture
def printer(sim: SimPrinter) -> Iterator[Printer]:
    p = open_printer(f"serial://{sim.path}?baudrate=9600&timeout=0.2", name="printer")
    yield p
    p.close()


def slip() -> Receipt:
    return (
        Receipt()
        .title("取件凭条")
        .row("单元 Unit", "3-1205")
        .row("金额", "￥2.00")
        .qr("PICKUP-42")
        .cut()
    )


def _queue(url: str, printer: Printer, clock: FixedClock) -> tuple[Database, PrintQueue]:
    db = Database(url)
    return db, PrintQueue(db, clock, printer, kiosk_id="k1", lobby="A")


def _submit(db: Database, clock: FixedClock) -> int:
    with db.write() as s:
        return submit(s, slip(), kind="parcel-pickup", at=clock.now(), kiosk_id="k1").id


def _state(db: Database, job_id: int) -> PrintJob:
    with db.read() as s:
        job = s.get(PrintJob, job_id)
        assert job is not None
        return job


def test_a_queued_receipt_prints_once_and_decodes(
    db_url: str, sim: SimPrinter, printer: Printer
) -> None:
    clock = FixedClock()
    db, queue = _queue(db_url, printer, clock)
    job_id = _submit(db, clock)
    assert queue.print_now(job_id).state == "printed"
    assert queue.process_once() == []  # nothing left: it is not printed twice
    sim.wait_for(1)
    decoded = decode_escpos(sim.received)
    assert "取件凭条" in decoded.text and "￥2.00" in decoded.text
    assert decoded.qr_codes == ["PICKUP-42"]
    db.dispose()


def test_paper_out_keeps_the_job_queued_and_alerts_the_desk_once(
    db_url: str, sim: SimPrinter, printer: Printer
) -> None:
    clock = FixedClock()
    db, queue = _queue(db_url, printer, clock)
    sim.set_fault("paper_out")
    job_id = _submit(db, clock)
    outcome = queue.print_now(job_id)
    assert outcome.state == "queued" and "paper" in outcome.reason.lower()
    clock.advance(seconds=5)
    queue.process_once()
    with db.read() as s:
        alerts = [a for a in open_alerts(s, "A") if a.kind == "printer_paper_out"]
    assert len(alerts) == 1
    assert not any(
        b for b in sim.received if b not in b"\x10\x04\x01\x02\x03\x04"
    )  # no job bytes sent
    sim.set_fault("paper_out", False)
    clock.advance(seconds=60)
    assert [o.state for o in queue.process_once()] == ["printed"]
    assert _state(db, job_id).attempts >= 2
    db.dispose()


def test_unplugged_mid_job_requeues_as_reprint(
    db_url: str, sim: SimPrinter, printer: Printer
) -> None:
    clock = FixedClock()
    db, queue = _queue(db_url, printer, clock)
    job_id = _submit(db, clock)
    sim.unplug_after = 40  # the cable is pulled after 40 bytes of the job
    outcome = queue.print_now(job_id)
    assert outcome.state == "queued"
    job = _state(db, job_id)
    assert job.document["reprint"] is True  # part of it may be on paper: the next copy says 补打
    sim.plug()
    clock.advance(seconds=120)
    assert [o.state for o in queue.process_once()] == ["printed"]
    db.dispose()


def test_a_job_interrupted_by_a_crash_is_reprinted(db_url: str, printer: Printer) -> None:
    clock = FixedClock()
    db, queue = _queue(db_url, printer, clock)
    job_id = _submit(db, clock)
    with db.write() as s:
        s.get(PrintJob, job_id).state = "sending"  # type: ignore[union-attr]
    assert queue.recover() == 1
    job = _state(db, job_id)
    assert job.state == "queued" and job.document["reprint"] is True
    db.dispose()


def test_old_jobs_expire_and_staff_can_reprint(
    db_url: str, printer: Printer, sim: SimPrinter
) -> None:
    clock = FixedClock()
    db, queue = _queue(db_url, printer, clock)
    job_id = _submit(db, clock)
    clock.advance(minutes=31)
    assert [o.state for o in queue.process_once()] == ["expired"]
    copy = reprint(db, job_id, actor="staff:1", at=clock.now(), kiosk_id="k1")
    assert copy.reprint_of == job_id and copy.document["reprint"] is True
    assert queue.print_now(copy.id).state == "printed"
    sim.wait_for(1)
    assert "补打" in decode_escpos(sim.received).text
    db.dispose()


def test_two_queues_never_send_the_same_job(db_url: str, printer: Printer, sim: SimPrinter) -> None:
    clock = FixedClock()
    db, q1 = _queue(db_url, printer, clock)
    _, q2 = _queue(db_url, printer, clock)
    job_id = _submit(db, clock)
    first = q1.print_now(job_id)
    second = q2.process_once([job_id])
    assert first.state == "printed" and second == []
    with db.read() as s:
        assert s.query(DeskAlert).count() == 0
    db.dispose()


def test_expire_window_is_configurable(db_url: str, printer: Printer) -> None:
    clock = FixedClock()
    db = Database(db_url)
    queue = PrintQueue(db, clock, printer, kiosk_id="k1", expire_after=dt.timedelta(minutes=1))
    job_id = _submit(db, clock)
    clock.advance(minutes=2)
    assert queue.print_now(job_id).state == "expired"
    db.dispose()


def test_a_printer_that_never_recovers_fails_the_job_with_its_reason(
    db_url: str, sim: SimPrinter, printer: Printer
) -> None:
    clock = FixedClock()
    db = Database(db_url)
    queue = PrintQueue(db, clock, printer, kiosk_id="k1", max_attempts=3)
    sim.set_fault("cover_open")
    job_id = _submit(db, clock)
    states = []
    for _ in range(3):
        states += [o.state for o in queue.process_once()]
        clock.advance(seconds=120)
    assert states == ["queued", "queued", "failed"]
    assert "cover" in _state(db, job_id).reason.lower()
    db.dispose()
