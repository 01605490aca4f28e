"""What card readers report: one event type through one callback, plus counters."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

EventKind = Literal["tap", "status", "removed"]


@dataclass(frozen=True)
class ReaderEvent:
    """A tap (``uid`` set, raw hex), a card leaving the field (``removed``, PC/SC readers), or
    a status change (``status``: 'connected',
    'disconnected', 'stopped'; ``detail`` says why).

    ``text`` is the number as the reader printed it, when that differs from the hex UID (wedge
    readers type decimals). ``at`` is ``time.monotonic()`` when the frame was complete.
    """

    device: str
    kind: EventKind
    uid: str | None = None
    text: str | None = None
    status: str | None = None
    detail: str = ""
    protocol: str = ""
    at: float = field(default_factory=time.monotonic)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)


@dataclass
class ReaderStats:
    """Counters of one reader (updated by its thread; read them from anywhere)."""

    bytes: int = 0
    frames: int = 0
    taps: int = 0
    debounced: int = 0
    garbled: int = 0
    reconnects: int = 0
    connected: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)
