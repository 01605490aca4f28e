"""Fixtures the plugins' tests share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.screens import english_ctx


@pytest.fixture
def kctx(sqlite_demo_url: str) -> Iterator[Any]:
    """A context on a fresh copy of the demo estate, fixed clock, English."""
    yield from english_ctx(sqlite_demo_url)
