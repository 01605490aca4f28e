"""Python start-up fix for running the suite under libfaketime (``faketime DATE make test``).

The Makefile puts this folder on ``PYTHONPATH`` for the suite and sets
``FAKETIME_DONT_FAKE_MONOTONIC=1``, so that timed lock waits (``queue.get(timeout=...)``) keep
working. libfaketime 0.9.10 (Debian 12) then fails ``clock_nanosleep(CLOCK_MONOTONIC,
TIMER_ABSTIME)`` with EINVAL, which is how ``time.sleep`` sleeps: in every Python process of a
faked run, ``time.sleep`` waits in ``select`` instead (relative timeouts are unaffected).
Nothing changes outside libfaketime.
"""

import os

if "faketime" in os.environ.get("LD_PRELOAD", ""):
    import select
    import time

    def _sleep(secs: float) -> None:
        if secs < 0:
            raise ValueError("sleep length must be non-negative")
        select.select([], [], [], secs)

    time.sleep = _sleep
