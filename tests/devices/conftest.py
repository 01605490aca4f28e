"""Fixtures for device tests: simulators are stopped after every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devices.sim import stop_all


@pytest.fixture(autouse=True)
def _stop_simulators() -> Iterator[None]:
    yield
    stop_all()
