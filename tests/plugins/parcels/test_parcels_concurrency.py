"""A parcel can never be released twice, from any kiosk: 20 threads on two engines (two kiosks)
try to release the same parcel at once; exactly one wins, the rest are refused, and there is
one release, one audit event and one slip."""

from __future__ import annotations

from parcels_helpers import BUTLER, SIGNED, resident
from sqlalchemy import func, select

from kiosk.context import KioskContext
from kiosk.db.models import AuditEvent, PrintJob
from plugins.parcels import service
from plugins.parcels.models import Parcel, Release
from tests.racing import race


def test_twenty_kiosk_threads_release_the_same_parcel_exactly_once(ctx: KioskContext) -> None:
    parcel = service.check_in(ctx, BUTLER, tracking="SF9000000000001", unit_code="1-101")
    pickup = service.start_pickup_by_card(ctx, resident(ctx, "张伟"))
    outcomes = race(ctx, lambda k, _i: service.release(k, pickup, [parcel.parcel_id], SIGNED), 20)
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) == {"ok", "parcels.already_released"}
    with ctx.database().read() as s:
        assert s.get(Parcel, parcel.parcel_id).status == "released"
        assert s.scalar(select(func.count()).select_from(Release)) == 1
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "parcel.released")
            )
            == 1
        )
        assert (
            s.scalar(
                select(func.count()).select_from(PrintJob).where(PrintJob.kind == "parcel-pickup")
            )
            == 1
        )


def test_two_desks_scanning_one_item_at_once_log_it_once(ctx: KioskContext) -> None:
    """Eight desks scan the same tracking number at once: one logs it; each other is refused
    with where it was logged (the unique index decides a tie the first look could not see)."""
    outcomes = race(
        ctx,
        lambda k, i: service.check_in(k, BUTLER, tracking="SF9000000000002", unit_code="1-101",
                                      shelf=f"D{i}"),
        8,
    )  # fmt: skip
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) == {"ok", "parcels.duplicate_tracking"}
    with ctx.database().read() as s:
        assert s.scalar(select(func.count()).select_from(Parcel)
                        .where(Parcel.tracking_number == "SF9000000000002")) == 1  # fmt: skip
    refusal = service.logged_before(ctx, "SF9000000000002")
    assert refusal is not None and "for 1-101" in refusal.render()
