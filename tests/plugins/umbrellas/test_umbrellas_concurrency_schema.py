"""Two kiosks cannot lend the same umbrella; the migration creates exactly the models' tables."""

from __future__ import annotations

import threading

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select
from umbrellas_helpers import resident

from kiosk.context import KioskContext
from kiosk.db import Base, Database, make_engine
from kiosk.db.models import AuditEvent
from kiosk.errors import Refused
from plugins.umbrellas import service
from plugins.umbrellas.models import UmbrellaLoan


def test_two_kiosks_tapping_for_the_same_umbrella_lend_it_once(ctx: KioskContext) -> None:
    borrowers = [resident(ctx, n) for n in ("张伟", "刘芳", "王小明", "Emily Wang")]
    kiosks = [
        KioskContext(settings=ctx.settings, clock=ctx.clock, db=Database(ctx.database().url),
                     plugins=ctx.plugins)
        for _ in range(2)
    ]  # fmt: skip
    start = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def kiosk_thread(i: int) -> None:
        start.wait()
        try:
            service.lend(kiosks[i % 2], borrowers[i % 4], "U001")
            result = "lent"
        except Refused as exc:
            result = exc.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=kiosk_thread, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for k in kiosks:
        k.database().dispose()
    assert outcomes.count("lent") == 1, outcomes
    assert set(outcomes) <= {"lent", "umbrellas.not_available", "umbrellas.limit"}
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
