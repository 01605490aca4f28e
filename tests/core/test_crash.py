"""Crash safety: a kiosk process killed with SIGKILL in the middle of a parcel pickup, a
payment notification or a print job loses nothing it committed, applies nothing twice, and
its print job resumes (marked 补打 / REPRINT) after the restart.

Each test runs the real service functions in a separate process (``crash_kiosk.py``) against
a file SQLite database and against PostgreSQL, stops it at a chosen point (before or after
the commit, with the printer holding part or all of a slip), kills it, and runs it again as a
restarted kiosk that recovers its print queue and retries the way the world does (the
resident taps again, the provider redelivers its notice).
"""

from __future__ import annotations

import base64
import json
import os
import select as os_select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from devices.receipt_decode import decode_escpos
from kiosk import audit
from kiosk.clock import FixedClock
from kiosk.config import Settings
from kiosk.context import KioskContext
from kiosk.db import Database
from kiosk.db.models import AuditEvent, PrintJob, Resident, Unit
from kiosk.identity import SYSTEM, Actor
from kiosk.plugins import load_plugins

REPO = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("crash_kiosk.py")
SIGNED = [[[2, 5], [4, 3], [6, 6], [9, 2], [12, 5]]]
BUTLER = Actor("staff", 1, "李管家", frozenset({"butler"}))
# Guards against a hung child, not timing assertions: a healthy run takes about a second.
HANG_GUARD = 60.0


class Kiosk:
    """Runs ``crash_kiosk.py`` for one test: crash it at a point, or run it to the end."""

    def __init__(self, ctx: KioskContext, tmp_path: Path) -> None:
        self.ctx = ctx
        self.tmp = tmp_path
        self.printer_file = tmp_path / "receipts.bin"
        self.runs = 0

    def _job(self, op: str, crash: str | None, extra: dict[str, Any]) -> Path:
        self.runs += 1
        job = {
            "url": self.ctx.database().url,
            "now": self.ctx.clock.now().isoformat(),
            "kiosk_id": self.ctx.kiosk_id,
            "printer_file": str(self.printer_file),
            "op": op,
            "crash": crash,
            **extra,
        }
        path = self.tmp / f"job{self.runs}.json"
        path.write_text(json.dumps(job, ensure_ascii=False), "utf-8")
        return path

    def _start(self, job: Path) -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
        env["PYTHONPATH"] = str(REPO)
        return subprocess.Popen(
            [sys.executable, str(CHILD), str(job)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )

    def _line(self, proc: subprocess.Popen[str], prefix: str) -> str:
        assert proc.stdout is not None
        while True:
            ready, _, _ = os_select.select([proc.stdout], [], [], HANG_GUARD)
            if not ready:
                proc.kill()
                pytest.fail(f"kiosk process hung before {prefix!r}")
            line = proc.stdout.readline()
            if not line:
                proc.wait()
                err = proc.stderr.read() if proc.stderr else ""
                pytest.fail(f"kiosk process exited {proc.returncode} before {prefix!r}:\n{err}")
            if line.startswith(prefix):
                return line[len(prefix) :].strip()

    def crash(self, op: str, point: str, **extra: Any) -> None:
        """Run ``op`` until ``point``, then SIGKILL the process there."""
        proc = self._start(self._job(op, point, extra))
        try:
            assert self._line(proc, "PAUSED ") == point
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
        assert proc.returncode == -signal.SIGKILL

    def restart(self, op: str, **extra: Any) -> dict[str, Any]:
        """Start the kiosk again: recover, retry ``op``, print; what it reports."""
        proc = self._start(self._job(op, None, extra))
        try:
            result = json.loads(self._line(proc, "RESULT "))
            assert proc.wait() == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
        return result

    def paper(self) -> bytes:
        return self.printer_file.read_bytes() if self.printer_file.exists() else b""


@pytest.fixture
def ctx(demo_url: str) -> Iterator[KioskContext]:
    """The demo estate as seen by a kiosk of its own (the demo's queued slips are not ours)."""
    context = KioskContext(
        settings=Settings(database_url=demo_url, kiosk_id="crash-kiosk", source="<tests>"),
        clock=FixedClock(),
        db=Database(demo_url),
        plugins=load_plugins(),
    )
    yield context
    context.database().dispose()


@pytest.fixture
def kiosk(ctx: KioskContext, tmp_path: Path) -> Iterator[Kiosk]:
    yield Kiosk(ctx, tmp_path)


def count(ctx: KioskContext, model: Any, *where: Any) -> int:
    with ctx.database().read() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def chain_ok(ctx: KioskContext) -> bool:
    with ctx.database().read() as s:
        return audit.verify(s).ok


# -- a parcel pickup ---------------------------------------------------------------------------


def _waiting_parcel(ctx: KioskContext) -> dict[str, Any]:
    from plugins.parcels import service

    checked = service.check_in(
        ctx, BUTLER, tracking="SF7000000000001", unit_code="1-101", recipient="张伟", shelf="C2"
    )
    with ctx.database().read() as s:
        unit = s.scalars(select(Unit).where(Unit.code == "1-101")).one()
        res = s.scalars(
            select(Resident).where(Resident.unit_id == unit.id).order_by(Resident.id)
        ).first()
        assert res is not None
        return {
            "parcel_id": checked.parcel_id,
            "unit_id": unit.id,
            "unit_code": unit.code,
            "resident_id": res.id,
            "name": res.name,
            "strokes": SIGNED,
        }


def pickup_of(p: dict[str, Any]) -> Any:
    """The resident of ``_waiting_parcel`` collecting it with their card."""
    from plugins.parcels import service

    picker = service.Picker("resident", p["name"], p["resident_id"])
    return service.Pickup(p["unit_id"], p["unit_code"], "card", (), picker=picker)


@pytest.mark.parametrize("point", ["before_commit", "after_commit"])
def test_a_pickup_killed_mid_transaction_is_released_once(
    ctx: KioskContext, kiosk: Kiosk, point: str
) -> None:
    from plugins.parcels.models import Parcel, Release

    pickup = _waiting_parcel(ctx)
    kiosk.crash("pickup", point, pickup=pickup)
    committed = point == "after_commit"
    with ctx.database().read() as s:
        parcel = s.get(Parcel, pickup["parcel_id"])
        assert parcel is not None
        assert parcel.status == ("released" if committed else "waiting")
    assert count(ctx, Release) == int(committed)
    assert count(ctx, PrintJob, PrintJob.kind == "parcel-pickup") == int(committed)
    assert kiosk.paper() == b""  # nothing printed before the kill

    result = kiosk.restart("pickup", pickup=pickup)
    # The resident taps again: refused when the first pickup had committed, done otherwise.
    assert result["release"] == ("parcels.already_released" if committed else "released")
    assert count(ctx, Parcel, Parcel.id == pickup["parcel_id"], Parcel.status == "released") == 1
    assert count(ctx, Release) == 1
    assert count(ctx, AuditEvent, AuditEvent.action == "parcel.released") == 1
    with ctx.database().read() as s:
        jobs = s.scalars(select(PrintJob).where(PrintJob.kind == "parcel-pickup")).all()
        assert [j.state for j in jobs] == ["printed"]
    text = decode_escpos(kiosk.paper()).text
    assert text.count("包裹取件凭条") == 1 and "C2" in text
    assert "REPRINT" not in text  # it had not reached the printer: an ordinary first print
    assert chain_ok(ctx)


# -- a payment notification ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def gateway() -> Iterator[Any]:
    from plugins.billing.gateway import FakeGateway

    gw = FakeGateway(key_bits=1024)
    yield gw
    gw.stop()


def _paid_notice(ctx: KioskContext, gateway: Any) -> tuple[int, int, dict[str, Any]]:
    from plugins.billing import service
    from plugins.billing.models import BillLine
    from plugins.billing.providers import SimGateway

    gateway.clock = ctx.clock
    config = gateway.provider_config("sim")
    service.use_providers(ctx, {"sim": SimGateway(config, ctx.clock)})
    line_id = service.add_charge(ctx, SYSTEM, "2-803", "other", 12_345, "crash test")
    with ctx.database().read() as s:
        line = s.get(BillLine, line_id)
        assert line is not None
        bill_id = line.bill_id
        payer = s.scalars(
            select(Resident).join(Unit).where(Unit.code == "2-803").order_by(Resident.id)
        ).first()
        assert payer is not None
    order = service.create_payment_order(ctx, Actor.of_resident(payer), bill_id, "sim")
    headers, body = gateway.pay(order.out_trade_no)
    job = {"provider": config, "headers": headers, "body": base64.b64encode(body).decode()}
    return bill_id, order.amount_fen, job


@pytest.mark.parametrize("point", ["before_commit", "after_commit"])
def test_a_payment_notice_killed_mid_transaction_pays_the_bill_once(
    ctx: KioskContext, kiosk: Kiosk, gateway: Any, point: str
) -> None:
    from plugins.billing.models import Bill, Payment, PaymentOrder

    bill_id, amount, notice = _paid_notice(ctx, gateway)
    with ctx.database().read() as s:
        bill = s.get(Bill, bill_id)
        assert bill is not None
        paid_before = bill.paid_fen
    kiosk.crash("payment", point, **notice)
    committed = point == "after_commit"
    assert count(ctx, Payment, Payment.bill_id == bill_id) == int(committed)
    assert count(ctx, PaymentOrder, PaymentOrder.status == "paid") == int(committed)

    result = kiosk.restart("payment", **notice)  # the provider delivers the notice again
    assert result["verdict"] == ("duplicate" if committed else "paid")
    with ctx.database().read() as s:
        bill = s.get(Bill, bill_id)
        assert bill is not None
        assert bill.paid_fen == paid_before + amount and bill.status == "paid"
        assert bill.balance_fen == 0
        payments = s.scalars(select(Payment).where(Payment.bill_id == bill_id)).all()
        assert len(payments) == 1 and payments[0].amount_fen == amount
        jobs = s.scalars(select(PrintJob).where(PrintJob.kind == "billing-payment")).all()
        assert [j.state for j in jobs] == ["printed"]
    assert count(ctx, AuditEvent, AuditEvent.action == "billing.order.paid") == 1
    assert decode_escpos(kiosk.paper()).text.count(payments[0].receipt_no) == 1
    assert chain_ok(ctx)


# -- a print job ---------------------------------------------------------------------------------


@pytest.mark.parametrize("point", ["mid_print", "after_print"])
def test_a_print_job_killed_while_printing_is_reprinted_once_marked_reprint(
    ctx: KioskContext, kiosk: Kiosk, point: str
) -> None:
    from plugins.parcels import service
    from plugins.parcels.models import Release

    p = _waiting_parcel(ctx)
    done = service.release(ctx, pickup_of(p), [p["parcel_id"]], SIGNED)  # committed, slip queued
    kiosk.crash("print", point)
    with ctx.database().read() as s:
        job = s.get(PrintJob, done.print_job_id)
        assert job is not None and job.state == "sending"  # the queue had claimed it
    first = kiosk.paper()
    assert first  # the printer got bytes before the kill
    # mid_print: only the first chunk got out; after_print: the whole slip did.
    assert ("已签名" in decode_escpos(first).text) == (point == "after_print")

    result = kiosk.restart("print")
    assert result["recovered"] == 1 and result["printed"] == ["printed"]
    with ctx.database().read() as s:
        jobs = s.scalars(select(PrintJob).where(PrintJob.kind == "parcel-pickup")).all()
        assert [(j.id, j.state) for j in jobs] == [(done.print_job_id, "printed")]
        assert jobs[0].document["reprint"] is True  # may be on paper already: 补打
    assert count(ctx, Release) == 1  # the transaction itself was not repeated
    again = decode_escpos(kiosk.paper()[len(first) :]).text
    assert again.count("包裹取件凭条") == 1 and "REPRINT" in again
    assert chain_ok(ctx)
