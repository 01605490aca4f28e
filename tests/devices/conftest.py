"""Fixtures for device tests: simulators are stopped after every test."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from devices.sim import stop_all

Waiter = Callable[..., bool]


@pytest.fixture(autouse=True)
def _stop_simulators() -> Iterator[None]:
    yield
    stop_all()


def _wait_until(predicate: Callable[[], object], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


@pytest.fixture
def wait_until() -> Waiter:
    """Poll a predicate until true (synchronisation only, never a timing assertion)."""
    return _wait_until
