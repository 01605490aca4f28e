"""Printer status over ``DLE EOT n`` (real-time status transmission).

Each query: flush the input (a stale byte would be read as the answer — the python-escpos
pitfall), send ``10 04 n``, read exactly one byte with a short timeout. Every answer byte has
bits 1 and 4 set and bits 0 and 7 clear (``b & 0x93 == 0x12``); anything else is not a status
answer. No answer to n=1 means the printer is off, on another port/baud rate or not there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

PRINTER, OFFLINE_CAUSE, ERROR_CAUSE, PAPER = 1, 2, 3, 4


def dle_eot(n: int) -> bytes:
    """The ``DLE EOT n`` query (n = 1 printer, 2 offline cause, 3 error cause, 4 paper)."""
    if n not in (1, 2, 3, 4):
        raise ValueError(f"DLE EOT {n} (expected 1..4)")
    return bytes([0x10, 0x04, n])


def is_status_byte(b: int) -> bool:
    """Whether ``b`` has the fixed bits every DLE EOT answer carries."""
    return (b & 0x93) == 0x12


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer reported. ``ready`` means a job may be sent now."""

    ready: bool
    offline: bool = False
    cover_open: bool = False
    paper_near_end: bool = False
    paper_out: bool = False
    error: bool = False
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)


# Ready answers a simulator (or a test) gives; bit patterns as the Epson ESC/POS manual.
ANSWER_READY = 0x12


def encode_answers(
    *,
    offline: bool = False,
    cover_open: bool = False,
    paper_near_end: bool = False,
    paper_out: bool = False,
    error: bool = False,
) -> dict[int, int]:
    """The DLE EOT 1..4 answer bytes a printer in this state sends (used by the simulator)."""
    is_offline = offline or cover_open or paper_out or error
    return {
        PRINTER: 0x12 | (0x08 if is_offline else 0),
        OFFLINE_CAUSE: 0x12
        | (0x04 if cover_open else 0)
        | (0x20 if paper_out else 0)
        | (0x40 if error else 0),
        ERROR_CAUSE: 0x12 | (0x20 if error else 0),
        PAPER: 0x12 | (0x0C if paper_near_end or paper_out else 0) | (0x60 if paper_out else 0),
    }


def decode_status(
    printer: int | None,
    offline_cause: int | None = None,
    error_cause: int | None = None,
    paper: int | None = None,
) -> PrinterStatus:
    """Combine the answer bytes (None = no answer) into a :class:`PrinterStatus`."""
    if printer is None:
        return PrinterStatus(
            ready=False,
            offline=True,
            reason="no answer to DLE EOT 1 (printer off, unplugged, or wrong port/baud rate)",
        )
    if not is_status_byte(printer):
        return PrinterStatus(
            ready=False, error=True, reason=f"unexpected status byte 0x{printer:02X} (not ESC/POS?)"
        )
    offline = bool(printer & 0x08)
    cover_open = paper_out = error = near_end = False
    reasons: list[str] = []
    if offline_cause is not None and is_status_byte(offline_cause):
        cover_open = bool(offline_cause & 0x04)
        paper_out = bool(offline_cause & 0x20)
        error = bool(offline_cause & 0x40)
    if error_cause is not None and is_status_byte(error_cause):
        if error_cause & 0x08:
            reasons.append("cutter error")
        if error_cause & 0x20:
            reasons.append("unrecoverable error")
        if error_cause & 0x40:
            reasons.append("auto-recoverable error (e.g. head too hot)")
        error = error or bool(error_cause & 0x68)
    if paper is not None and is_status_byte(paper):
        near_end = bool(paper & 0x0C)
        paper_out = paper_out or bool(paper & 0x60)
    if cover_open:
        reasons.insert(0, "cover open")
    if paper_out:
        reasons.insert(0, "paper out")
    elif near_end:
        reasons.append("paper near end")
    if error and not any("error" in r for r in reasons):
        reasons.append("printer error")
    if offline and not (cover_open or paper_out or error):
        reasons.append("offline")
    ready = not (offline or cover_open or paper_out or error)
    return PrinterStatus(
        ready=ready,
        offline=offline and not (cover_open or paper_out or error),
        cover_open=cover_open,
        paper_near_end=near_end,
        paper_out=paper_out,
        error=error,
        reason=", ".join(reasons) if reasons else "ready",
    )


def query_status(ask: Callable[[int], int | None]) -> PrinterStatus:
    """Run the DLE EOT sequence with ``ask(n) -> byte | None`` (one query, one byte).

    n=1 first (no answer = offline, stop there); n=2 and n=3 only when the printer says it is
    offline (to learn why); n=4 always, for paper near end.
    """
    first = ask(PRINTER)
    if first is None or not is_status_byte(first):
        return decode_status(first)
    cause = err = None
    if first & 0x08:
        cause = ask(OFFLINE_CAUSE)
        if cause is not None and cause & 0x40:
            err = ask(ERROR_CAUSE)
    paper = ask(PAPER)
    return decode_status(first, cause, err, paper)
