"""Two kiosks cannot lend the same umbrella."""

from __future__ import annotations

from sqlalchemy import func, select
from umbrellas_helpers import resident

from kiosk.context import KioskContext
from kiosk.db.models import AuditEvent
from plugins.umbrellas import service
from plugins.umbrellas.models import UmbrellaLoan
from tests.racing import race


def test_two_kiosks_tapping_for_the_same_umbrella_lend_it_once(ctx: KioskContext) -> None:
    borrowers = [resident(ctx, n) for n in ("张伟", "刘芳", "王小明", "Emily Wang")]
    outcomes = race(ctx, lambda k, i: service.lend(k, borrowers[i % 4], "U001"), 8)
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) <= {"ok", "umbrellas.not_available", "umbrellas.limit"}
    with ctx.database().read() as s:
        assert s.scalar(select(func.count()).select_from(UmbrellaLoan)) == 1
        assert s.scalar(select(func.count()).where(AuditEvent.action == "umbrella.lent")) == 1
