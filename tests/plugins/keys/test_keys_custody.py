"""钥匙委托管理: the desk keeps keys of vacant units only, on the owner's authorisation, each
numbered in a locked box and slot; every handover out and back records the person, their ID
(masked) and signature; a viewing goes only with a staff member; a key out too long raises a
desk alert; the register is a CSV."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kiosk.db.models import DeskAlert
from kiosk.errors import PermissionDenied, Refused
from kiosk.identity import Actor
from plugins.keys import service
from plugins.keys.models import KeyHandover

BUTLER = Actor("staff", 1, "李管家", frozenset({"butler"}))
GUARD = Actor("staff", 4, "孙保安", frozenset({"security"}))
SIGNED = [[[2, 1], [6, 3], [10, 2], [14, 4], [18, 1]]]
ID = "310101199001011234"


def take(ctx, unit: str = "1-101", **kw) -> list[str]:
    return service.take_into_custody(
        ctx, BUTLER, unit_code=unit, labels=kw.pop("labels", ["入户门", "信箱"]), box="B1",
        slot="07", owner="张伟", authorisation="钥匙委托书 2026-12", vacant=kw.pop("vacant", True),
    )  # fmt: skip


def out(ctx, number: str, **kw):
    return service.hand_out(
        ctx, BUTLER, number, person=kw.pop("person", "陈看房"), id_number=kw.pop("id", ID),
        purpose=kw.pop("purpose", "viewing"), signature=kw.pop("signature", SIGNED),
        accompanied_by=kw.pop("accompanied_by", "S005"),
    )  # fmt: skip


def test_keys_of_a_vacant_unit_are_numbered_and_kept_in_a_box(ctx) -> None:
    assert take(ctx) == ["K0001", "K0002"]
    held = service.keys(ctx, "1-101")
    assert [(k.number, k.label, k.box, k.slot, k.status) for k in held] == [
        ("K0001", "入户门", "B1", "07", "in_box"),
        ("K0002", "信箱", "B1", "07", "in_box"),
    ]
    assert take(ctx, labels=["车库"]) == ["K0003"]
    assert service.keys(ctx, "3-1205") == []  # a unit with none
    with pytest.raises(Refused) as err:  # a typo is not "no keys"
        service.keys(ctx, "9-999")
    assert err.value.code == "unit.unknown"


def test_only_vacant_units_are_taken_into_custody(ctx) -> None:
    with pytest.raises(Refused) as err:
        take(ctx, vacant=False)
    assert err.value.code == "keys.not_vacant"
    with pytest.raises(Refused) as err:  # Emily Wang rents 3-1205: someone lives there
        take(ctx, "3-1205")
    assert err.value.code == "keys.not_vacant_unit"


def test_a_viewing_goes_only_with_a_staff_member_who_is_recorded(ctx) -> None:
    (number, _second) = take(ctx)
    with pytest.raises(Refused) as err:
        out(ctx, number, accompanied_by="")
    assert err.value.code == "keys.unaccompanied"
    with pytest.raises(Refused) as err:
        out(ctx, number, accompanied_by="S999")  # nobody of that number
    assert err.value.code == "keys.unaccompanied"
    view = out(ctx, number)
    assert view.status == "out" and view.accompanied_by == "S005 周经理"
    assert view.holder != "陈看房"  # masked on every list


def test_every_handover_out_and_back_is_signed_with_the_id_masked(ctx) -> None:
    number = take(ctx)[0]
    with pytest.raises(Refused) as err:
        out(ctx, number, signature=[])
    assert err.value.code == "keys.signature_missing"
    with pytest.raises(Refused):
        out(ctx, number, id="")
    out(ctx, number, purpose="contractor", accompanied_by="")
    with pytest.raises(Refused) as err:  # one key, one holder
        out(ctx, number)
    assert err.value.code == "keys.not_in_box"
    back = service.hand_back(ctx, BUTLER, number, SIGNED)
    assert back.status == "in_box" and back.holder == ""
    with pytest.raises(Refused) as err:
        service.hand_back(ctx, BUTLER, number, SIGNED)
    assert err.value.code == "keys.not_out"
    with ctx.database().read() as s:
        (h,) = s.scalars(select(KeyHandover)).all()
        assert ID not in h.id_masked and h.id_masked.endswith("1234")
        assert h.out_png and h.back_png and h.back_at is not None


def test_a_key_out_too_long_raises_one_desk_alert(ctx) -> None:
    number = take(ctx)[0]
    out(ctx, number)
    assert service.alert_overdue(ctx) == []
    ctx.clock.advance(hours=5)  # max_out_hours = 4
    assert [k.number for k in service.overdue(ctx)] == [number]
    assert service.alert_overdue(ctx) == [number]
    assert service.alert_overdue(ctx) == []  # once per handover
    with ctx.database().read() as s:
        alerts = s.scalars(select(DeskAlert).where(DeskAlert.kind == "key_overdue")).all()
        assert len(alerts) == 1 and number in alerts[0].message


def test_only_the_butler_keeps_keys(ctx) -> None:
    number = take(ctx)[0]
    with pytest.raises(PermissionDenied):
        service.hand_out(ctx, GUARD, number, person="x", id_number=ID, purpose="contractor",
                         signature=SIGNED)  # fmt: skip


def test_the_register_lists_keys_and_handovers_masked(ctx) -> None:
    number = take(ctx, labels=["=cmd|' /C calc'!A0"])[0]
    out(ctx, number)
    service.hand_back(ctx, BUTLER, number, SIGNED)
    text = service.register_csv(ctx, BUTLER)
    lines = text.splitlines()
    assert lines[0].startswith("key,unit,label,box,slot")
    assert number in lines[1] and "S005 周经理" in lines[1] and "out back" in lines[1]
    assert ID not in text and "陈看房" not in text and "张伟" not in text
    assert "'=cmd" in text


def test_a_year_after_the_key_came_back_the_holder_is_purged(ctx) -> None:
    import datetime as dt

    number = take(ctx)[0]
    out(ctx, number)
    service.hand_back(ctx, BUTLER, number, SIGNED)
    later = ctx.clock.now() + dt.timedelta(days=366)
    with ctx.database().write() as s:
        assert [c.count for c in service.purge_in(s, ctx, later, dry_run=False)] == [1]
    with ctx.database().write() as s:
        assert [c.count for c in service.purge_in(s, ctx, later, dry_run=False)] == [0]
    with ctx.database().read() as s:
        (h,) = s.scalars(select(KeyHandover)).all()
        assert h.person == "-" and h.id_masked == "" and h.out_png == b""
        assert h.accompanied_by == "S005 周经理"  # the facts stay


def test_the_household_file_lists_the_units_keys(kctx) -> None:
    """In English (the ``kctx`` fixture): the lines are in the reader's language."""
    from plugins.keys.household import household_section

    number = take(kctx)[0]
    out(kctx, number)
    (first, second) = household_section(kctx, "1-101").lines
    assert first.startswith(f"{number} 1-101 入户门 B1/07 out · 陈*") and "Viewing" in first
    assert "in the box" in second
