"""The 邮件签收 / 物品寄存 rules (000): the picker must be the addressee or a proxy named for
them, ID-check items go to the desk, return to sender is a recorded step, and a stored item's
release records the claimant's ID (last 4) and its condition. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from parcels_helpers import BUTLER, CASHIER, DOT, SIGNED, resident
from sqlalchemy import select
from typer.testing import CliRunner

from kiosk.db.models import AuditEvent, DeskAlert, Notification
from kiosk.errors import PermissionDenied, Refused
from kiosk.identity import Actor
from kiosk.notify_messages import render
from plugins.parcels import service
from plugins.parcels.models import Parcel, PickupCode, Proxy, Release, StoredItem

GUARD = Actor("staff", 4, "孙保安", frozenset({"security"}))
FULL_ID = "310101199001011234"
LOGIN = ("--staff", "S001", "--pin", "2580")  # the demo butler


def check_in(ctx, number, unit="3-1205", recipient="王小明", **kw):
    return service.check_in(
        ctx, BUTLER, tracking=number, unit_code=unit, recipient=recipient, shelf="C1", **kw
    )


def status(ctx, parcel_id: int) -> str:
    with ctx.database().read() as s:
        return s.get(Parcel, parcel_id).status


def alerts(ctx, kind: str) -> list[str]:
    with ctx.database().read() as s:
        return list(s.scalars(select(DeskAlert.message).where(DeskAlert.kind == kind)))


def audit_actions(ctx, action: str) -> list[dict]:
    with ctx.database().read() as s:
        rows = s.scalars(select(AuditEvent.data).where(AuditEvent.action == action).order_by(
            AuditEvent.id))  # fmt: skip
        return [json.loads(r) if isinstance(r, str) else r for r in rows]


# -- 1. addressee or a named proxy ------------------------------------------------------------


def test_an_addressed_parcel_goes_only_to_its_addressee_at_the_kiosk(ctx) -> None:
    mine = check_in(ctx, "SF3000000000001")
    # Emily lives in 3-1205 too: her card lists the unit's items, but 王小明's is not hers.
    emily = service.start_pickup_by_card(ctx, resident(ctx, "Emily Wang"))
    assert mine.parcel_id in [p.id for p in emily.parcels]
    with pytest.raises(Refused) as err:
        service.release(ctx, emily, [mine.parcel_id], SIGNED)
    assert err.value.code == "parcels.not_addressee" and "desk" in err.value.render()
    assert "王小明" not in err.value.render()  # the kiosk does not say whose it is
    assert status(ctx, mine.parcel_id) == "waiting"
    assert any("addressed to someone else" in m for m in alerts(ctx, "parcel_to_desk"))
    assert audit_actions(ctx, "parcel.pickup_refused")[-1]["reason"] == "parcels.not_addressee"
    # With the unit's code and her own name: the same refusal.
    by_code = service.identify_picker(
        ctx, service.start_pickup_by_code(ctx, "3-1205", mine.code), "Emily Wang"
    )
    with pytest.raises(Refused) as err:
        service.release(ctx, by_code, [mine.parcel_id], SIGNED)
    assert err.value.code == "parcels.not_addressee"
    with ctx.database().read() as s:
        assert s.get(PickupCode, by_code.code_id).status == "active"  # nothing consumed
    # The addressee himself collects.
    done = service.release(
        ctx, service.start_pickup_by_card(ctx, resident(ctx, "王小明")), [mine.parcel_id], SIGNED
    )
    assert done.parcel_ids == (mine.parcel_id,) and status(ctx, mine.parcel_id) == "released"


def test_a_parcel_without_an_addressee_goes_to_any_resident_of_the_unit(ctx) -> None:
    anyone = check_in(ctx, "SF3000000000002", recipient="")
    emily = service.start_pickup_by_card(ctx, resident(ctx, "Emily Wang"))
    service.release(ctx, emily, [anyone.parcel_id], SIGNED)
    assert status(ctx, anyone.parcel_id) == "released"


def test_a_proxy_named_for_the_addressee_collects_and_one_named_for_another_resident_does_not(
    ctx,
) -> None:
    mine = check_in(ctx, "SF3000000000003")
    # Each resident names a proxy for themselves (a card tap at the kiosk).
    service.add_proxy(ctx, resident(ctx, "王小明"), "3-1205", "周司机", "13900002222")
    service.add_proxy(ctx, resident(ctx, "Emily Wang"), "3-1205", "Nanny Lee")
    with ctx.database().read() as s:
        proxies = {p.name: p for p in s.scalars(select(Proxy))}
        assert proxies["周司机"].resident_id == resident(ctx, "王小明").id
        assert proxies["Nanny Lee"].resident_id == resident(ctx, "Emily Wang").id
    nanny = service.identify_picker(
        ctx, service.start_pickup_by_code(ctx, "3-1205", mine.code), "nanny lee"
    )
    assert nanny.picker.kind == "proxy"
    with pytest.raises(Refused) as err:
        service.release(ctx, nanny, [mine.parcel_id], SIGNED)
    assert err.value.code == "parcels.not_addressee"
    driver = service.identify_picker(
        ctx, service.start_pickup_by_code(ctx, "3-1205", mine.code), "周司机"
    )
    service.release(ctx, driver, [mine.parcel_id], SIGNED)
    with ctx.database().read() as s:
        rel = s.scalars(select(Release).order_by(Release.id.desc())).first()
        assert rel.picker_kind == "proxy" and rel.picker_name == "周司机"


def test_a_resident_names_proxies_for_themselves_only_and_only_staff_name_household_ones(
    ctx,
) -> None:
    with pytest.raises(Refused) as err:
        service.add_proxy(ctx, resident(ctx, "Emily Wang"), "3-1205", "Friend", resident="王小明")
    assert err.value.code == "parcels.proxy_for_other"
    with pytest.raises(PermissionDenied):  # a resident of another unit
        service.add_proxy(ctx, resident(ctx, "张伟"), "3-1205", "Friend")
    with pytest.raises(PermissionDenied):
        service.add_proxy(ctx, CASHIER, "3-1205", "Friend")
    with pytest.raises(Refused) as err:
        service.add_proxy(ctx, BUTLER, "3-1205", "Friend", resident="路人甲")
    assert err.value.code == "parcels.proxy_resident"
    with pytest.raises(Refused) as err:  # the demo's household proxy already has that name
        service.add_proxy(ctx, BUTLER, "3-1205", "李阿姨")
    assert err.value.code == "parcels.proxy_exists"
    household = service.add_proxy(ctx, BUTLER, "2-803", "钱代取", "17755550123")
    listed = service.list_proxies(ctx, "2-803")
    assert [(p["id"], p["for"], p["phone"]) for p in listed] == [
        (household, "household", "177****0123")
    ]


def test_a_household_proxy_collects_for_residents_and_a_removed_or_expired_one_does_not(
    ctx,
) -> None:
    from plugins.parcels import DEMO_PROXY

    a = check_in(ctx, "SF3000000000004")
    pickup = service.identify_picker(
        ctx, service.start_pickup_by_code(ctx, "3-1205", a.code), DEMO_PROXY
    )
    service.release(ctx, pickup, [a.parcel_id], SIGNED)  # 李阿姨: named for the household
    # An item for someone who does not live in the unit is the addressee's alone.
    stranger = check_in(ctx, "SF3000000000005", recipient="陌生人")
    pickup = service.identify_picker(
        ctx, service.start_pickup_by_code(ctx, "3-1205", stranger.code), DEMO_PROXY
    )
    with pytest.raises(Refused) as err:
        service.release(ctx, pickup, [stranger.parcel_id], SIGNED)
    assert err.value.code == "parcels.not_addressee"
    # A proxy until tomorrow works today, not the day after; a removed one never again.
    temp = service.add_proxy(
        ctx,
        resident(ctx, "王小明"),
        "3-1205",
        "临时工",
        until=ctx.clock.now() + dt.timedelta(days=1),
    )
    b = check_in(ctx, "SF3000000000006")
    assert (
        service.identify_picker(
            ctx, service.start_pickup_by_code(ctx, "3-1205", b.code), "临时工"
        ).picker.proxy_id
        == temp
    )
    ctx.clock.advance(days=2)
    with pytest.raises(Refused) as err:
        service.identify_picker(ctx, service.start_pickup_by_code(ctx, "3-1205", b.code), "临时工")
    assert err.value.code == "parcels.not_recipient"
    with ctx.database().read() as s:
        demo = s.scalar(select(Proxy.id).where(Proxy.name == DEMO_PROXY))
    with pytest.raises(PermissionDenied):
        service.remove_proxy(ctx, resident(ctx, "Emily Wang"), demo)
    service.remove_proxy(ctx, BUTLER, demo, "3-1205")
    with pytest.raises(Refused) as err:
        service.identify_picker(
            ctx, service.start_pickup_by_code(ctx, "3-1205", b.code), DEMO_PROXY
        )
    assert err.value.code == "parcels.not_recipient"
    assert service.list_proxies(ctx, "3-1205") == []
    gone = service.list_proxies(ctx, "3-1205", include_inactive=True)
    assert {p["name"]: p["valid"] for p in gone} == {DEMO_PROXY: False, "临时工": False}
    assert audit_actions(ctx, "parcel.proxy_removed")[-1]["name"] == "李*姨"


def test_the_desk_overrides_the_addressee_rule_only_as_a_butler_with_a_reason_and_an_id(
    ctx,
) -> None:
    mine = check_in(ctx, "SF3000000000007")
    with pytest.raises(Refused) as err:
        service.release_at_desk(ctx, BUTLER, "3-1205", [mine.parcel_id], "Emily Wang", SIGNED)
    assert err.value.code == "parcels.not_addressee"
    with pytest.raises(Refused) as err:
        service.release_at_desk(
            ctx, BUTLER, "3-1205", [mine.parcel_id], "Emily Wang", SIGNED,
            override_reason="王小明 phoned: his wife collects",
        )  # fmt: skip
    assert err.value.code == "parcels.id_required"
    with pytest.raises(PermissionDenied):
        service.release_at_desk(
            ctx, GUARD, "3-1205", [mine.parcel_id], "Emily Wang", SIGNED,
            id_last4="5678", override_reason="王小明 phoned",
        )  # fmt: skip
    assert status(ctx, mine.parcel_id) == "waiting"
    done = service.release_at_desk(
        ctx, BUTLER, "3-1205", [mine.parcel_id], "Emily Wang", SIGNED,
        id_last4="5678", override_reason="王小明 phoned: his wife collects",
    )  # fmt: skip
    with ctx.database().read() as s:
        rel = s.get(Release, done.release_id)
        assert (rel.via, rel.staff, rel.id_last4) == ("desk", BUTLER.label, "5678")
        assert rel.override_reason == "王小明 phoned: his wife collects"
    event = audit_actions(ctx, "parcel.released")[-1]
    assert event["override"] == rel.override_reason and event["staff"] == BUTLER.label
    assert any("override" in m for m in alerts(ctx, "parcel_override"))
    row = next(r for r in service.parcel_register(ctx) if r["id"] == mine.parcel_id)
    assert (row["via"], row["id_checked"], row["picker"]) == ("desk", "****5678", "E**** W***")
    assert row["override"] == "王小明 phoned: his wife collects"


def test_a_proxy_collects_at_the_desk_after_showing_an_id(ctx) -> None:
    mine = check_in(ctx, "SF3000000000008")
    service.add_proxy(ctx, BUTLER, "3-1205", "周司机", resident="王小明")
    with pytest.raises(Refused) as err:
        service.release_at_desk(ctx, GUARD, "3-1205", [mine.parcel_id], "周司机", SIGNED)
    assert err.value.code == "parcels.id_required"
    done = service.release_at_desk(
        ctx, GUARD, "3-1205", [mine.parcel_id], "周司机", SIGNED, id_last4="0017"
    )
    with ctx.database().read() as s:
        rel = s.get(Release, done.release_id)
        assert (rel.picker_kind, rel.id_last4, rel.override_reason) == ("proxy", "0017", "")


# -- 2. flags make the kiosk ask --------------------------------------------------------------


def test_signature_required_parcels_need_a_signature_at_the_kiosk_and_the_desk(ctx) -> None:
    signed = check_in(ctx, "SF3000000000009", signature_required=True)
    me = resident(ctx, "王小明")
    for strokes in ([], DOT, None):
        with pytest.raises(Refused) as err:
            service.release(ctx, service.start_pickup_by_card(ctx, me), [signed.parcel_id], strokes)
        assert err.value.code == "parcels.signature_missing"
    with pytest.raises(Refused) as err:
        service.release_at_desk(ctx, BUTLER, "3-1205", [signed.parcel_id], "王小明", DOT)
    assert err.value.code == "parcels.signature_missing"
    assert status(ctx, signed.parcel_id) == "waiting"
    done = service.release(ctx, service.start_pickup_by_card(ctx, me), [signed.parcel_id], SIGNED)
    with ctx.database().read() as s:
        assert s.get(Release, done.release_id).signature_strokes == SIGNED


def test_an_id_check_parcel_is_refused_at_the_kiosk_and_released_at_the_desk_with_the_id_last4(
    ctx,
) -> None:
    checked = check_in(ctx, "EA123456789CN", id_check=True)
    me = resident(ctx, "王小明")
    pickup = service.start_pickup_by_card(ctx, me)
    assert "id_check" in next(p for p in pickup.parcels if p.id == checked.parcel_id).flags
    with pytest.raises(Refused) as err:
        service.release(ctx, pickup, [checked.parcel_id], SIGNED)
    assert err.value.code == "parcels.id_check_desk" and "desk" in err.value.render()
    assert any("needs an ID check" in m for m in alerts(ctx, "parcel_to_desk"))
    # The desk: no ID, or a whole ID number typed, is refused; nothing is kept of it.
    with pytest.raises(Refused) as err:
        service.release_at_desk(ctx, BUTLER, "3-1205", [checked.parcel_id], "王小明", SIGNED)
    assert err.value.code == "parcels.id_required"
    with pytest.raises(Refused) as err:
        service.release_at_desk(
            ctx, BUTLER, "3-1205", [checked.parcel_id], "王小明", SIGNED, id_last4=FULL_ID
        )
    assert err.value.code == "parcels.id_last4"
    assert status(ctx, checked.parcel_id) == "waiting"
    done = service.release_at_desk(
        ctx, BUTLER, "3-1205", [checked.parcel_id], "王小明", SIGNED, id_last4=" 123x "
    )
    with ctx.database().read() as s:
        assert s.get(Release, done.release_id).id_last4 == "123X"
        assert not any(FULL_ID in json.dumps(e) for e in s.scalars(select(AuditEvent.data)))
    row = next(r for r in service.parcel_register(ctx) if r["id"] == checked.parcel_id)
    assert row["id_checked"] == "****123X" and "id_check" in row["flags"]


# -- 3. return to sender ----------------------------------------------------------------------


def test_return_to_sender_is_a_step_with_state_returned_a_notice_and_a_register_line(ctx) -> None:
    old = check_in(ctx, "SF3000000000010", unit="1-101", recipient="张伟")
    ctx.clock.advance(days=15)
    assert service.run_aging(ctx).escalated >= 1
    with pytest.raises(PermissionDenied):
        service.return_to_sender(ctx, CASHIER, old.parcel_id, "unclaimed 15 days")
    with pytest.raises(Refused) as err:
        service.return_to_sender(ctx, BUTLER, old.parcel_id, "  ")
    assert err.value.code == "parcels.return_reason"
    service.return_to_sender(ctx, BUTLER, old.parcel_id, "unclaimed 15 days, call 13912345678")
    with ctx.database().read() as s:
        parcel = s.get(Parcel, old.parcel_id)
        assert (parcel.status, parcel.returned_by) == ("returned", BUTLER.label)
        assert "13912345678" not in parcel.return_reason  # masked like every note
        note = s.scalars(
            select(Notification).where(Notification.template == "parcel.returned")
        ).one()
        assert note.unit_id == parcel.unit_id and note.payload["tracking_tail"] == "000010"
        # The household is told in words, the carrier by name, in its language.
        title, body = render(note.template, note.payload, "zh_CN")
        assert title == "1-101 的包裹已退回" and "顺丰速运" in body and "000010" in body
        assert "parcel.returned" not in title + body
        # Nothing else waits for 1-101: its codes open nothing any more.
        assert {c.status for c in s.scalars(select(PickupCode).where(
            PickupCode.unit_id == parcel.unit_id))} <= {"spent", "used"}  # fmt: skip
    assert audit_actions(ctx, "parcel.returned")[-1]["tracking"] == "SF3000000000010"
    row = next(r for r in service.parcel_register(ctx) if r["id"] == old.parcel_id)
    assert row["status"] == "returned" and row["returned"] and "unclaimed" in row["return_reason"]
    with pytest.raises(Refused) as err:
        service.return_to_sender(ctx, BUTLER, old.parcel_id, "again")
    assert err.value.code == "parcels.not_waiting"
    with pytest.raises(Refused) as err:
        service.start_pickup_by_code(ctx, "1-101", old.code)
    assert err.value.code == "parcels.code_used"
    pickup = service.start_pickup_by_card(ctx, resident(ctx, "张伟"))
    assert old.parcel_id not in [p.id for p in pickup.parcels]


# -- 4. storage pickup ------------------------------------------------------------------------


def _deposit(ctx):
    return service.store_item(
        ctx, BUTLER, unit_code="1-101", depositor_name="张伟", description="行李箱 suitcase",
        category="luggage", expected_pickup_at=ctx.clock.now() + dt.timedelta(hours=5),
        condition="左侧有划痕 scratch on the left",
    )  # fmt: skip


def test_a_storage_pickup_records_the_claimants_id_last4_and_the_items_condition(ctx) -> None:
    d = _deposit(ctx)
    base = dict(ticket=d.ticket, claimant_name="张伟", strokes=SIGNED)
    for kw, code in (
        ({"id_last4": "", "condition": "完好"}, "parcels.storage_id_required"),
        ({"id_last4": FULL_ID, "condition": "完好"}, "parcels.id_last4"),
        ({"id_last4": "12", "condition": "完好"}, "parcels.id_last4"),
        ({"id_last4": "1234", "condition": "  "}, "parcels.storage_condition"),
    ):
        with pytest.raises(Refused) as err:
            service.release_stored(ctx, BUTLER, **base, **kw)
        assert err.value.code == code
    service.release_stored(ctx, BUTLER, **base, id_last4="123x", condition="完好 as deposited")
    with ctx.database().read() as s:
        item = s.get(StoredItem, d.item_id)
        assert (item.status, item.claimant_id_last4) == ("released", "123X")
        assert item.release_condition == "完好 as deposited"
    row = next(r for r in service.storage_register(ctx) if r["ticket"] == d.ticket)
    assert row["claimant_id"] == "****123X" and row["condition_out"] == "完好 as deposited"
    assert row["condition_in"].startswith("左侧有划痕") and row["released_to"] == "张*"
    assert audit_actions(ctx, "storage.released")[-1]["condition"] == "完好 as deposited"


def test_purge_forgets_the_id_last4_of_old_releases(ctx) -> None:
    d = _deposit(ctx)
    service.release_stored(
        ctx, BUTLER, ticket=d.ticket, claimant_name="张伟", strokes=SIGNED, id_last4="1234",
        condition="完好",
    )  # fmt: skip
    p = check_in(ctx, "SF3000000000011", id_check=True)
    done = service.release_at_desk(
        ctx, BUTLER, "3-1205", [p.parcel_id], "王小明", SIGNED, id_last4="9876"
    )
    ctx.clock.advance(days=ctx.settings.retention.parcel_days + 1)
    service.purge_pii(ctx)
    with ctx.database().read() as s:
        assert s.get(StoredItem, d.item_id).claimant_id_last4 == ""
        assert s.get(Release, done.release_id).id_last4 == ""


# -- 5. CLI -----------------------------------------------------------------------------------


def _cli():
    from kiosk.cli import CommandRegistry, app, report_app
    from plugins.parcels.cli import register

    if not any(g.name == "parcels" for g in app.registered_groups):
        register(CommandRegistry(app=app, report=report_app))
    return app


def _run(ctx, monkeypatch, *args: str):
    from tests.conftest import now_env

    monkeypatch.setenv("KIOSK_DATABASE_URL", ctx.database().url)
    monkeypatch.delenv("KIOSK_PIN", raising=False)
    return CliRunner().invoke(_cli(), list(args), env=now_env(ctx))


def test_cli_proxy_add_list_remove_need_a_staff_login(ctx, monkeypatch) -> None:
    bad = _run(ctx, monkeypatch, "parcels", "proxy", "add", "2-803", "钱代取",
               "--staff", "S001", "--pin", "0000")  # fmt: skip
    assert bad.exit_code == 1 and "kiosk:" in bad.stderr
    cashier = _run(ctx, monkeypatch, "parcels", "proxy", "add", "2-803", "钱代取",
                   "--staff", "S002", "--pin", "1357")  # fmt: skip
    assert cashier.exit_code == 1
    added = _run(ctx, monkeypatch, "parcels", "proxy", "add", "2-803", "钱代取", *LOGIN,
                 "--phone", "17755550123", "--for", "刘芳", "--until", "2099-01-31", "--json")  # fmt: skip
    assert added.exit_code == 0, added.stderr
    proxy_id = json.loads(added.stdout)["id"]
    listed = _run(ctx, monkeypatch, "parcels", "proxy", "list", "2-803", *LOGIN, "--json")
    assert listed.exit_code == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["id"], r["for"], r["phone"]) for r in rows] == [(proxy_id, "刘*", "177****0123")]
    assert "17755550123" not in listed.stdout and rows[0]["until"].startswith("2099-02-01")
    unknown = _run(ctx, monkeypatch, "parcels", "proxy", "add", "2-803", "X", *LOGIN,
                   "--for", "路人甲")  # fmt: skip
    assert unknown.exit_code == 1 and "路人甲" in unknown.stderr
    gone = _run(ctx, monkeypatch, "parcels", "proxy", "remove", str(proxy_id), *LOGIN, "--json")
    assert gone.exit_code == 0 and json.loads(gone.stdout)["removed"] is True
    again = _run(ctx, monkeypatch, "parcels", "proxy", "remove", str(proxy_id), *LOGIN)
    assert again.exit_code == 1 and "已被移除" in again.stderr
    empty = _run(ctx, monkeypatch, "parcels", "proxy", "list", "2-803", *LOGIN, "--json")
    assert json.loads(empty.stdout) == []


def test_cli_return_to_sender_and_the_register_show_the_returned_item(ctx, monkeypatch) -> None:
    check_in(ctx, "SF3000000000012", unit="1-101", recipient="张伟")
    no_reason = _run(ctx, monkeypatch, "parcels", "return-to-sender", "SF3000000000012", *LOGIN)
    assert no_reason.exit_code == 1 and "退回原因" in no_reason.stderr
    out = _run(ctx, monkeypatch, "parcels", "return-to-sender", "sf 300 0000 0000 12", *LOGIN,
               "--reason", "refused by the recipient", "--json")  # fmt: skip
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "returned"
    assert status(ctx, json.loads(out.stdout)["id"]) == "returned"
    reg = _run(ctx, monkeypatch, "report", "parcels", "--register", "--csv")
    assert reg.exit_code == 0, reg.stderr
    header, *lines = reg.stdout.splitlines()
    assert header.startswith("id,lobby,checked_in,tracking")
    line = next(x for x in lines if "SF3000000000012" in x)
    assert ",returned," in line and "refused by the recipient" in line and "张伟" not in line
    missing = _run(ctx, monkeypatch, "parcels", "return-to-sender", "SF9999999999999", *LOGIN,
                   "--reason", "x")  # fmt: skip
    assert missing.exit_code == 1


def test_cli_storage_release_needs_the_id_last4_and_the_condition(
    ctx, monkeypatch, tmp_path
) -> None:
    d = _deposit(ctx)
    sig = tmp_path / "sig.json"
    sig.write_text(json.dumps(SIGNED))
    common = ("parcels", "storage-release", d.ticket, *LOGIN, "--claimant", "张伟",
              "--signature", f"@{sig}")  # fmt: skip
    no_id = _run(ctx, monkeypatch, *common, "--condition", "完好")
    assert no_id.exit_code == 1 and "后 4 位" in no_id.stderr
    whole = _run(ctx, monkeypatch, *common, "--id-last4", FULL_ID, "--condition", "完好")
    assert whole.exit_code == 1
    no_condition = _run(ctx, monkeypatch, *common, "--id-last4", "1234")
    assert no_condition.exit_code == 1 and "完好情况" in no_condition.stderr
    # a file named without its @ is not read as strokes: the butler is told how to write it
    bare = _run(ctx, monkeypatch, "parcels", "storage-release", d.ticket, *LOGIN,
                "--claimant", "张伟", "--id-last4", "1234", "--condition", "完好",
                "--signature", str(sig))  # fmt: skip
    assert bare.exit_code == 1 and f"@{sig}" in bare.stderr
    unsigned = _run(ctx, monkeypatch, "parcels", "storage-release", d.ticket, *LOGIN,
                    "--claimant", "张伟", "--id-last4", "1234", "--condition", "完好")  # fmt: skip
    assert unsigned.exit_code == 1
    ok = _run(ctx, monkeypatch, *common, "--id-last4", "1234", "--condition", "完好", "--json")
    assert ok.exit_code == 0, ok.stderr and json.loads(ok.stdout)["status"] == "released"
    reg = _run(ctx, monkeypatch, "report", "parcels", "--storage", "--json")
    row = next(r for r in json.loads(reg.stdout) if r["ticket"] == d.ticket)
    assert (row["claimant_id"], row["condition_out"], row["status"]) == (
        "****1234",
        "完好",
        "released",
    )
    text = _run(ctx, monkeypatch, "report", "parcels", "--storage")
    assert "****1234" in text.stdout and "完好" in text.stdout
    both = _run(ctx, monkeypatch, "report", "parcels", "--storage", "--register")
    assert both.exit_code == 2


def test_the_register_csv_neutralises_formulas_in_what_people_typed(ctx, monkeypatch) -> None:
    import csv
    import io

    p = check_in(ctx, "SF3000000000013", unit="1-101", recipient="张伟")
    service.return_to_sender(ctx, BUTLER, p.parcel_id, '=HYPERLINK("http://x")')
    reg = _run(ctx, monkeypatch, "report", "parcels", "--register", "--csv")
    rows = list(csv.DictReader(io.StringIO(reg.stdout)))
    row = next(r for r in rows if r["tracking"] == "SF3000000000013")
    assert row["return_reason"].startswith("'=")
