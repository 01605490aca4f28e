"""A kiosk's configured devices start from settings: a tap on the simulated reader reaches the
callback through the real serial path, and a queued receipt reaches the simulated printer."""

from __future__ import annotations

import dataclasses
import queue

from devices.printer import Receipt
from devices.receipt_decode import decode_escpos
from devices.sim import get_sim, stop_all
from kiosk.context import KioskContext
from kiosk.hardware import start_devices
from kiosk.printing import submit


def test_sim_devices_from_settings(ctx: KioskContext) -> None:
    ctx.settings = dataclasses.replace(
        ctx.settings,
        devices={
            "hw_printer": "sim://printer",
            "hw_reader": "sim://card?protocol=rdm6300",
            "bad": "sim://card?protocol=nfc-magic",
        },
    )
    taps: queue.Queue = queue.Queue()
    running = start_devices(ctx, taps.put)
    try:
        assert any(p.startswith("bad:") for p in running.problems)
        first = taps.get(timeout=5)
        assert (first.kind, first.status) == ("status", "connected")
        get_sim("hw_reader").tap("3C00A1B2C3")  # type: ignore[attr-defined]
        event = taps.get(timeout=5)
        assert (event.kind, event.uid) == ("tap", "3C00A1B2C3")
        with ctx.database().write() as s:
            job = submit(
                s,
                Receipt().title("测试").qr("X1").cut(),
                kind="test",
                at=ctx.clock.now(),
                kiosk_id=ctx.kiosk_id,
                printer="hw_printer",
            )
        # The queue's own worker may take the job first (a busy machine): either way it prints.
        assert running.queue("hw_printer").print_now(job.id).state in ("printed", "taken")
        sim = get_sim("hw_printer")
        sim.wait_for(1)  # type: ignore[attr-defined]
        assert "测试" in decode_escpos(sim.received).text  # type: ignore[attr-defined]
    finally:
        running.stop()
        stop_all()
