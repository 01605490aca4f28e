"""A kiosk process for the crash tests (tests/core/test_crash.py): the real service functions
and print queue against a real database and a ``file://`` printer, in a process of its own
so the test can SIGKILL it.

Usage: ``python crash_kiosk.py JOB.json``. The job names the database, the clock, the
operation (``pickup``, ``payment``, ``print``) and where to stop: ``before_commit`` and
``after_commit`` (the operation's first transaction), ``mid_print`` (the printer received the
first chunk of a slip) or ``after_print`` (the printer received the whole slip, the queue has
not yet marked it printed). There the process prints ``PAUSED <point>`` and waits to be
killed. Without a crash point it runs as a kiosk after a restart: recover the print queue,
retry the operation the way the world retries it (the resident taps again, the provider
redelivers its notice), print what is queued, and print ``RESULT {json}``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import signal
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session


def pause(point: str) -> None:
    """Tell the test where we are, then wait for the SIGKILL."""
    sys.stdout.write(f"PAUSED {point}\n")
    sys.stdout.flush()
    while True:
        signal.pause()


def arm(point: str | None) -> None:
    """Stop at ``point`` the first time it is reached."""
    if point in ("before_commit", "after_commit"):
        fired = []

        def stop(session: Session) -> None:
            if not fired:
                fired.append(True)
                pause(point)

        event.listen(Session, point, stop)
    elif point == "mid_print":
        from devices.printer.adapter import FileTransport

        write = FileTransport.write

        def partial(self: FileTransport, data: bytes) -> None:
            write(self, data)  # the first chunk reaches the paper, then the power goes
            pause(point)

        FileTransport.write = partial  # type: ignore[method-assign]
    elif point == "after_print":
        from devices.printer.adapter import Printer

        send = Printer.send

        def sent(self: Printer, data: bytes, **kw: Any) -> Any:
            result = send(self, data, **kw)
            pause(point)
            return result

        Printer.send = sent  # type: ignore[method-assign]


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text("utf-8"))
    point = job.get("crash")
    from devices.printer import open_printer
    from kiosk.clock import FixedClock
    from kiosk.config import Settings
    from kiosk.context import KioskContext
    from kiosk.db import Database
    from kiosk.errors import Refused
    from kiosk.plugins import load_plugins
    from kiosk.printing import PrintQueue

    clock = FixedClock(dt.datetime.fromisoformat(job["now"]))
    ctx = KioskContext(
        settings=Settings(database_url=job["url"], kiosk_id=job["kiosk_id"], source="<crash>"),
        clock=clock,
        db=Database(job["url"]),
        plugins=load_plugins(),
    )
    printer = open_printer(f"file://{job['printer_file']}", name="printer")
    queue = PrintQueue(ctx.database(), clock, printer, kiosk_id=job["kiosk_id"])
    result: dict[str, Any] = {}
    if point is None:  # a restarted kiosk first recovers its print queue
        result["recovered"] = queue.recover()
    arm(point)
    op = job["op"]
    if op == "pickup":
        from plugins.parcels import service

        p = job["pickup"]
        pickup = service.Pickup(
            p["unit_id"],
            p["unit_code"],
            "card",
            (),
            picker=service.Picker("resident", p["name"], p["resident_id"]),
        )
        try:
            done = service.release(ctx, pickup, [p["parcel_id"]], p["strokes"])
            result["release"] = "released"
            result["print"] = queue.print_now(done.print_job_id).state
        except Refused as exc:
            result["release"] = exc.code
    elif op == "payment":
        from plugins.billing import service
        from plugins.billing.providers import SimGateway

        service.use_providers(ctx, {"sim": SimGateway(job["provider"], clock)})
        body = base64.b64decode(job["body"])
        result["verdict"] = service.handle_notification(ctx, "sim", job["headers"], body).verdict
    if op in ("print", "pickup", "payment"):
        result["printed"] = [o.state for o in queue.process_once()]
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
    ctx.database().dispose()


if __name__ == "__main__":
    main()
