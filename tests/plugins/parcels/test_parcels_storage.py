"""物品寄存: temporary storage at the desk, prohibited items refused, daily handover, release."""

from __future__ import annotations

import datetime as dt

import pytest
from parcels_helpers import BUTLER, DOT, SIGNED
from sqlalchemy import select

from devices.printer import render_text
from kiosk.db.models import DeskAlert
from kiosk.errors import Refused
from plugins.parcels import service
from plugins.parcels.models import StorageCheck, StoredItem


def store(ctx, **kw):
    args = dict(
        unit_code="1-101",
        depositor_name="张伟",
        description="行李箱 suitcase",
        category="luggage",
        expected_pickup_at=ctx.clock.now() + dt.timedelta(hours=5),
        depositor_phone="13912345678",
    )
    args.update(kw)
    return service.store_item(ctx, BUTLER, **args)


@pytest.mark.parametrize(
    ("category", "description"),
    [
        ("perishable", "月饼"),
        ("documents", "box"),
        ("cash", "envelope"),
        ("vouchers", "x"),
        ("precision_instrument", "x"),
        ("fragile_glass", "x"),
        ("valuables", "x"),
        ("box", "一箱海鲜"),
        ("bag", "装着现金的包"),
        ("box", "glass vase"),
        ("bag", "gold watch"),
    ],
)
def test_prohibited_items_are_refused(ctx, category: str, description: str) -> None:
    with pytest.raises(Refused) as err:
        store(ctx, category=category, description=description)
    assert err.value.code == "parcels.storage_prohibited"
    with ctx.database().read() as s:
        assert s.scalar(select(StoredItem)) is None


def test_a_refused_item_is_named_in_the_readers_language(ctx) -> None:
    """The category is a message id like the sentence around it: the desk reads it in Chinese
    whole, not half in English ("现金 cash")."""
    from kiosk.i18n import _, language, set_language

    with pytest.raises(Refused) as err:
        store(ctx, category="cash", description="envelope")
    before = language()
    try:
        set_language("en")
        assert err.value.render(_) == "These cannot be stored at the desk: cash."
        set_language("zh_CN")
        assert err.value.render(_) == "此类物品不予寄存：现金。"
    finally:
        set_language(before)


def test_storage_is_temporary_and_for_residents_only(ctx) -> None:
    with pytest.raises(Refused) as err:
        store(ctx, expected_pickup_at=ctx.clock.now() + dt.timedelta(days=30))
    assert err.value.code == "parcels.storage_pickup_time"
    with pytest.raises(Refused) as err:
        store(ctx, expected_pickup_at=ctx.clock.now() - dt.timedelta(hours=1))
    assert err.value.code == "parcels.storage_pickup_time"
    with pytest.raises(Refused) as err:
        store(ctx, depositor_name="路人甲")
    assert err.value.code == "parcels.storage_not_resident"


def test_deposit_prints_a_ticket_and_release_needs_the_owner_and_a_signature(ctx) -> None:
    d = store(ctx)
    ticket = render_text(d.receipt)
    assert d.ticket in ticket and "张*" in ticket and "13912345678" not in ticket
    with pytest.raises(Refused) as err:
        service.release_stored(
            ctx,
            BUTLER,
            ticket=d.ticket,
            claimant_name="路人甲",
            strokes=SIGNED,
            id_last4="1234",
            condition="intact",
        )
    assert err.value.code == "parcels.storage_not_owner"
    with pytest.raises(Refused) as err:
        service.release_stored(
            ctx,
            BUTLER,
            ticket=d.ticket,
            claimant_name="张伟",
            strokes=DOT,
            id_last4="1234",
            condition="intact",
        )
    assert err.value.code == "parcels.signature_missing"
    service.release_stored(
        ctx, BUTLER, ticket=d.ticket.lower(), claimant_name="张伟", strokes=SIGNED,
        id_last4="1234", condition="intact",
    )  # fmt: skip
    with pytest.raises(Refused) as err:
        service.release_stored(
            ctx,
            BUTLER,
            ticket=d.ticket,
            claimant_name="张伟",
            strokes=SIGNED,
            id_last4="1234",
            condition="intact",
        )
    assert err.value.code == "parcels.storage_released"
    with ctx.database().read() as s:
        item = s.get(StoredItem, d.item_id)
        assert item.status == "released" and item.signature_png.startswith(b"\x89PNG")


def test_the_daily_handover_checks_every_item_and_flags_overdue_ones(ctx) -> None:
    a = store(ctx)
    b = store(
        ctx,
        description="一袋书 books",
        category="books",
        expected_pickup_at=ctx.clock.now() + dt.timedelta(days=2),
    )
    ctx.clock.advance(hours=6)  # a's expected pickup has passed
    listed = service.handover_checklist(ctx)
    assert [i["ticket"] for i in listed] == [a.ticket, b.ticket] and listed[0]["overdue"]
    with pytest.raises(Refused) as err:
        service.record_handover_check(
            ctx, BUTLER, handed_to="夜班 孙保安", results={a.item_id: "ok"}
        )
    assert err.value.code == "parcels.storage_unchecked" and b.ticket in err.value.render()
    check_id = service.record_handover_check(
        ctx, BUTLER, handed_to="夜班 孙保安", results={a.item_id: "ok", b.item_id: "ok"}
    )
    with ctx.database().read() as s:
        check = s.get(StorageCheck, check_id)
        assert len(check.items) == 2
        alert = s.scalar(select(DeskAlert).where(DeskAlert.kind == "storage_check"))
        assert a.ticket in alert.message and b.ticket not in alert.message


def test_aging_survives_a_clock_behind_the_check_in(ctx) -> None:  # type: ignore[no-untyped-def]
    """A parcel checked in by a desk whose clock is ahead lands in the newest bucket."""
    from plugins.parcels import service

    ctx.clock.advance(days=-2)
    report = service.aging_report(ctx)
    first = service.AGING_BUCKETS[0][2]
    assert report["buckets"][first] == sum(report["buckets"].values()) >= 2


@pytest.mark.parametrize(
    "written", ["138 0013 8000", "138-0013-8000", "+86 138 0013 8000", "310101900101123"]
)
def test_a_phone_or_old_id_in_the_item_description_is_masked_on_the_storage_ticket(
    ctx, written
) -> None:
    from kiosk.pii import find_unmasked

    d = store(ctx, description=f"行李箱 owner {written}", condition=f"call {written}")
    ticket = render_text(d.receipt)
    assert written not in ticket and "行李箱" in ticket
    assert find_unmasked(ticket) == []
    with ctx.database().read() as s:
        item = s.get(StoredItem, d.item_id)
        assert written not in item.description and written not in item.condition
