"""Waiting on a condition from a plain thread (a device's reader, a daemon starting): polled,
never a fixed sleep. The screens' own, on the app's event loop, is ``tests.screens.wait_until``.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], seconds: float = 10.0) -> bool:
    """Poll ``condition()`` until it holds or ``seconds`` of the clock have passed; whether it
    held (the caller asserts, saying what did not happen). Synchronisation only, never a
    timing assertion: a loaded machine takes longer, and the wait is only as long as needed."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() >= deadline:
            return bool(condition())
        time.sleep(0.01)
    return True
