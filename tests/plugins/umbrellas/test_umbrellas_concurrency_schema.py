"""Two kiosks cannot lend the same umbrella; the migration creates exactly the models' tables."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select
from umbrellas_helpers import resident

from kiosk.context import KioskContext
from kiosk.db import Base, make_engine
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


def test_migrated_umbrella_tables_match_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    engine.dispose()
    assert [d for d in diff if "umbrella" in repr(d)] == []
