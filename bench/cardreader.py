"""Card reader benchmark: parser throughput per protocol, and tap-to-event latency via a pty.

Latency is measured from the simulator writing the frame to the ``on_event`` callback; a pty
has no wire time, so this is the overhead beyond the wire (target p95 <= 5 ms). The wire time
of the frame at the reader's baud rate is reported next to it.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from typing import Any

from devices.cards.reader import PROTOCOLS, open_reader
from devices.cards.reader_events import ReaderEvent
from devices.sim import get_sim, stop_all
from devices.sim.cardreader import SimCardReader, frame_for

FRAMES = 2000
TAPS = 60


def _uid(i: int, protocol: str) -> str:
    size = 3 if protocol == "wiegand" else (5 if protocol == "rdm6300" else 4)
    return (i + 1).to_bytes(size, "big").hex().upper()


def parser_throughput(protocol: str) -> dict[str, Any]:
    """Frames per second parsing a big buffer at once and in 7-byte reads."""
    stream = b"".join(frame_for(protocol, _uid(i, protocol)) for i in range(FRAMES))
    parse = PROTOCOLS[protocol].parse
    t0 = time.perf_counter()
    items = parse(stream).items
    bulk = time.perf_counter() - t0
    assert len(items) == FRAMES
    t0 = time.perf_counter()
    rest, count = b"", 0
    for i in range(0, len(stream), 7):
        result = parse(rest + stream[i : i + 7])
        rest, count = result.rest, count + len(result.items)
    chunked = time.perf_counter() - t0
    assert count == FRAMES
    return {
        "frames_per_s_bulk": int(FRAMES / bulk),
        "frames_per_s_7_byte_reads": int(FRAMES / chunked),
        "frame_bytes": len(stream) // FRAMES,
    }


def tap_latency(protocol: str = "rdm6300") -> dict[str, Any]:
    """Tap-to-event latency through a pty (p50 / p95 / max, ms)."""
    got = threading.Event()
    stamp: list[float] = []

    def on_event(event: ReaderEvent) -> None:
        if event.kind == "tap":
            stamp.append(time.perf_counter())
            got.set()

    reader = open_reader(f"sim://card?protocol={protocol}&debounce=0", on_event, name="bench")
    sim = get_sim("bench")
    assert isinstance(sim, SimCardReader)
    reader.start()
    try:
        deadline = time.monotonic() + 3
        while not reader.stats.connected and time.monotonic() < deadline:
            time.sleep(0.01)
        samples = []
        for i in range(TAPS):
            got.clear()
            stamp.clear()
            frame = frame_for(protocol, _uid(i, protocol))
            t0 = time.perf_counter()
            sim.write(frame)
            if got.wait(1.0):
                samples.append((stamp[0] - t0) * 1000)
            time.sleep(0.01)
    finally:
        reader.stop()
        stop_all()
    samples.sort()
    baud = PROTOCOLS[protocol].baudrate
    return {
        "protocol": protocol,
        "taps": len(samples),
        "p50_ms": round(statistics.median(samples), 3),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 3),
        "max_ms": round(samples[-1], 3),
        "wire_ms_at_baud": round(len(frame) * 10 / baud * 1000, 2),
        "baudrate": baud,
    }


def run() -> dict[str, Any]:
    """Measure and return JSON-serialisable figures."""
    throughput = {p: parser_throughput(p) for p in PROTOCOLS if p != "pn532"}
    throughput["pn532"] = parser_throughput("pn532")
    latency = tap_latency("rdm6300")
    return {
        "parsers": throughput,
        "tap_latency_beyond_wire": latency,
        "target_p95_le_5ms": latency["p95_ms"] <= 5.0,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
