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


@pytest.fixture
def english() -> Iterator[None]:
    """Texts in English for the test (figures, refusals), the language as it was after it."""
    from kiosk.i18n import language, set_language

    before = language()
    set_language("en")
    yield
    set_language(before)
