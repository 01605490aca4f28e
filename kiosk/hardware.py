"""Starting this kiosk's devices from its settings: card readers and one print worker per printer.

Readers report through one callback (``on_card``), called on the reader's thread: the UI turns
it into a message with ``call_from_thread``; nothing here touches widgets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kiosk.context import KioskContext

log = logging.getLogger(__name__)


@dataclass
class KioskDevices:
    """The running devices of one kiosk process."""

    ctx: KioskContext
    readers: dict[str, Any] = field(default_factory=dict)
    queues: dict[str, Any] = field(default_factory=dict)
    workers: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def queue(self, name: str = "printer") -> Any:
        """The :class:`kiosk.printing.PrintQueue` of printer ``name`` (None when not configured)."""
        return self.queues.get(name)

    def print_now(self, job_id: int) -> Any:
        """Try a queued job on its printer right away (screens call this after their commit)."""
        from kiosk.db.models import PrintJob
        from kiosk.printing import JobOutcome

        with self.ctx.database().read() as session:
            job = session.get(PrintJob, job_id)
            name = job.printer if job is not None else ""
        queue = self.queues.get(name)
        if queue is None:
            return JobOutcome(job_id, "queued", f"no printer {name!r} at this kiosk")
        return queue.print_now(job_id)

    def wedges(self) -> list[Any]:
        """Keyboard-wedge readers: the UI feeds them the keys it receives."""
        from devices.cards import KeyboardWedge

        return [r for r in self.readers.values() if isinstance(r, KeyboardWedge)]

    def stop(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        for reader in self.readers.values():
            stop = getattr(reader, "stop", None)
            if stop is not None:
                stop()
        for q in self.queues.values():
            q.printer.close()


def start_devices(ctx: KioskContext, on_card: Callable[[Any], None]) -> KioskDevices:
    """Open every configured device. A device that cannot start is reported, never fatal."""
    from devices.cards import open_reader
    from devices.printer import open_printer
    from devices.urls import DeviceURLError, parse_device_url
    from kiosk.printing import PrintQueue, PrintWorker

    running = KioskDevices(ctx)
    for name, url in ctx.settings.devices.items():
        try:
            dev = parse_device_url(name, url)
            if dev.kind == "printer":
                printer = open_printer(dev, name=name)
                queue = PrintQueue(
                    ctx.database(), ctx.clock, printer, kiosk_id=ctx.kiosk_id, lobby=ctx.lobby
                )
                worker = PrintWorker(queue)
                worker.start()
                running.queues[name] = queue
                running.workers[name] = worker
            else:
                reader = open_reader(dev, on_card, name=name)
                start = getattr(reader, "start", None)
                if start is not None:
                    start()
                running.readers[name] = reader
        except (DeviceURLError, OSError, ValueError) as exc:
            log.error("device %s (%s) not started: %s", name, url, exc)
            running.problems.append(f"{name}: {exc}")
    ctx.printing = running
    return running
