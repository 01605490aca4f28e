"""The one clock of the system: injectable so tests and simulations control time."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Mapping
from typing import Protocol

#: Environment variable that sets the clock of a command (an ISO time with its zone, e.g.
#: ``2026-11-23T10:00+08:00``): a testing and replay aid. The clock starts there and runs on.
#: ``kiosk run`` and ``kiosk desk`` refuse it unless started with ``--sim``.
NOW_ENV = "KIOSK_NOW"


class Clock(Protocol):
    """Anything that tells the current UTC time."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    """Wall-clock time, timezone-aware UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


#: Where scripted scenarios and the test suite's clocks start (a Monday morning in Shanghai).
SCENARIO_START = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)


class FixedClock:
    """A clock that moves only when told to (tests, scripted scenarios)."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or SCENARIO_START

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, **kwargs: float) -> dt.datetime:
        self._now += dt.timedelta(**kwargs)
        return self._now


class ShiftedClock:
    """Starts at a given time and runs at the wall clock's pace from there (``KIOSK_NOW``)."""

    def __init__(self, start: dt.datetime) -> None:
        self.start = start.astimezone(dt.UTC)
        self._t0 = time.monotonic()

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=time.monotonic() - self._t0)


def parse_now(value: str) -> dt.datetime:
    """``KIOSK_NOW``'s value as a UTC time; a time without its zone is refused (ValueError):
    "10:00" means nothing until it says in which zone."""
    try:
        at = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"{NOW_ENV}={value!r} is not an ISO time (e.g. 2026-11-23T10:00+08:00)"
        ) from None
    if at.tzinfo is None:
        raise ValueError(f"{NOW_ENV}={value!r} has no time zone (e.g. 2026-11-23T10:00+08:00)")
    return at.astimezone(dt.UTC)


def clock_from_env(env: Mapping[str, str] | None = None) -> Clock:
    """The clock every command and shell uses: the wall clock, or ``KIOSK_NOW``'s when set."""
    value = (os.environ if env is None else env).get(NOW_ENV, "").strip()
    return ShiftedClock(parse_now(value)) if value else SystemClock()


def as_utc(value: dt.datetime) -> dt.datetime:
    """Stored datetimes come back naive from SQLite: they are UTC by convention."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
