"""Races between kiosks, as the concurrency tests stage them: threads on two engines (two
kiosks on one database) start together and try the same thing; each thread's outcome is
``"ok"`` or the code of the refusal it met."""

from __future__ import annotations

import threading
from collections.abc import Callable

from kiosk.context import KioskContext
from kiosk.db import Database
from kiosk.errors import Refused


def race(ctx: KioskContext, act: Callable[[KioskContext, int], object], n: int) -> list[str]:
    """``n`` threads, thread ``i`` on kiosk ``i % 2``, released at once to run
    ``act(kiosk, i)``; their outcomes, in the order they finished."""
    kiosks = [
        KioskContext(settings=ctx.settings, clock=ctx.clock, db=Database(ctx.database().url),
                     plugins=ctx.plugins)
        for _ in range(2)
    ]  # fmt: skip
    start = threading.Barrier(n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        start.wait()
        try:
            act(kiosks[i % 2], i)
            result = "ok"
        except Refused as exc:
            result = exc.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for k in kiosks:
        k.database().dispose()
    return outcomes
