"""The desk's steps as commands: ``kiosk umbrellas add|condition|retire|replace``, ``kiosk
visitors pending|approve|decline|sign-out|block|unblock|blocklist``, ``kiosk parking
rent|renew|issue|lost|replace|return`` and ``kiosk parcels check-in|release|store|handover``.
Each acts as a signed-in staff member (``--staff`` + PIN): the change lands in the database and
``--json`` prints it; a wrong PIN or a bad input is one line on stderr and exit 1."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from kiosk import commands

BUTLER = ["--staff", "S001", "--pin", "2580"]
CASHIER = ["--staff", "S002", "--pin", "1357"]
WRONG_PIN = ["--staff", "S001", "--pin", "0000"]
SIGNATURE = [[[2, 5], [4, 3], [6, 6], [9, 2], [12, 5]], [[13, 4], [16, 4]]]


@pytest.fixture
def run(ctx, monkeypatch):  # type: ignore[no-untyped-def]
    """``run(app, *args)``: the command's JSON (with ``--json``) or text; ``ok=False`` expects
    a refusal and gives its stderr line."""
    monkeypatch.setattr(commands, "context", lambda config: ctx)

    def invoke(app: Any, *args: str, ok: bool = True) -> Any:
        out = CliRunner().invoke(app, list(args))
        if not ok:
            assert out.exit_code == 1, (args, out.output, out.exception)
            assert out.stdout == "" and out.stderr.startswith("kiosk: "), out.output
            assert len(out.stderr.strip().splitlines()) == 1, out.stderr
            return out.stderr
        assert out.exit_code == 0, (args, out.output, out.exception)
        return json.loads(out.stdout) if "--json" in args else out.stdout

    return invoke


def scalar(ctx: Any, query: Any) -> Any:
    with ctx.database().read() as session:
        return session.scalar(query)


# -- umbrellas ----------------------------------------------------------------------------------


def test_umbrellas_add_condition_retire_and_replace(ctx, run) -> None:  # type: ignore[no-untyped-def]
    from plugins.umbrellas import service
    from plugins.umbrellas.cli import umbrellas_app as app
    from plugins.umbrellas.models import Umbrella
    from tests.plugins.umbrellas.umbrellas_helpers import resident

    def umbrella(tag: str) -> Any:
        return scalar(ctx, select(Umbrella).where(Umbrella.tag == tag))

    added = run(app, "add", "u-0901", "--price", "35", "--kind", "short", *BUTLER, "--json")
    assert added == {"id": added["id"], "tag": "U-0901", "state": "available"}
    u = umbrella("U-0901")
    assert (u.id, u.kind, u.price_fen, u.state) == (added["id"], "short", 3500, "available")
    text = run(app, "condition", "U-0901", "one bent rib", *BUTLER)
    assert text == "tag: U-0901 condition: one bent rib\n"
    assert umbrella("U-0901").condition == "one bent rib"
    zhang = resident(ctx, "张伟")
    service.lend(ctx, zhang, "U-0901")
    assert "lent" in run(app, "retire", "U-0901", *BUTLER, ok=False)
    service.return_umbrella(ctx, zhang, "U-0901", "damaged")
    replaced = run(app, "replace", "U-0901", "U-0902", *BUTLER, "--json")
    assert replaced["replaced"] == "U-0901" and replaced["tag"] == "U-0902"
    assert umbrella("U-0901").state == "retired"
    assert (umbrella("U-0902").state, umbrella("U-0902").id) == ("available", replaced["id"])
    assert run(app, "retire", "U-0902", *BUTLER, "--json") == {"tag": "U-0902", "state": "retired"}
    assert umbrella("U-0902").state == "retired"
    # refusals: a wrong PIN, a price that is no amount, a second retirement, an empty condition
    assert "PIN" in run(app, "add", "U-0903", "--price", "35", *WRONG_PIN, ok=False)
    assert "not an amount of money" in run(
        app, "add", "U-0903", "--price", "abc", *BUTLER, ok=False
    )
    # typed money is never rounded: 35.555 is a slip, not ￥35.56
    assert "e.g. 120 or 120.50" in run(app, "add", "U-0903", "--price", "35.555", *BUTLER, ok=False)
    assert umbrella("U-0903") is None
    assert "already retired" in run(app, "retire", "U-0902", *BUTLER, ok=False)
    assert "looks" in run(app, "condition", "U-0901", "  ", *BUTLER, ok=False)


# -- visitors -----------------------------------------------------------------------------------


def test_visitors_pending_approve_decline_sign_out_and_the_block_list(ctx, run) -> None:  # type: ignore[no-untyped-def]
    from plugins.visitors import service
    from plugins.visitors.cli import visitors_app as app
    from plugins.visitors.models import BlockEntry, Visit

    def walk_up(name: str, phone: str) -> int:
        return service.register_walkup(
            ctx, name=name, phone=phone, unit_code="3-1205", purpose="探亲 family"
        ).id

    def visit(visit_id: int) -> Any:
        return scalar(ctx, select(Visit).where(Visit.id == visit_id))

    first, second = walk_up("赵六一", "13912345678"), walk_up("钱七二", "13987654321")
    pending = run(app, "pending", *BUTLER, "--json")
    assert [p["id"] for p in pending] == [first, second]
    assert "13912345678" not in json.dumps(pending, ensure_ascii=False)
    assert f"{first} " in run(app, "pending", *BUTLER)
    assert run(app, "approve", str(first), *BUTLER, "--json") == {"id": first, "status": "approved"}
    assert visit(first).status == "approved" and visit(first).pass_id
    declined = run(app, "decline", str(second), "--note", "host away", *BUTLER, "--json")
    assert declined == {"id": second, "status": "declined"}
    assert visit(second).status == "declined"
    assert run(app, "pending", *BUTLER) == "none\n"
    assert run(app, "sign-out", str(first), *BUTLER) == f"id: {first} signed_out: True\n"
    assert visit(first).signed_out_at is not None and visit(first).sign_out_by == "desk"

    blocked = run(app, "block", "--name", "孙八", "--phone", "13700000000", "--reason", "x",
                  *BUTLER, "--json")  # fmt: skip
    assert blocked == {"id": blocked["id"], "blocked": True}
    entry = scalar(ctx, select(BlockEntry).where(BlockEntry.id == blocked["id"]))
    assert entry.active and entry.phone == "13700000000"
    listed = run(app, "blocklist", *BUTLER, "--json")
    assert [e["id"] for e in listed] == [blocked["id"]]
    assert "13700000000" not in json.dumps(listed, ensure_ascii=False)
    assert run(app, "unblock", str(blocked["id"]), *BUTLER, "--json") == {
        "id": blocked["id"], "blocked": False,
    }  # fmt: skip
    assert not scalar(ctx, select(BlockEntry.active).where(BlockEntry.id == blocked["id"]))
    assert run(app, "blocklist", *BUTLER) == "none\n"
    # refusals: a wrong PIN, a visit answered already, one that does not exist, a bad id
    assert "PIN" in run(app, "pending", *WRONG_PIN, ok=False)
    assert "already answered" in run(app, "approve", str(second), *BUTLER, ok=False)
    assert "not known" in run(app, "approve", "99999", *BUTLER, ok=False)
    assert visit(second).status == "declined"
    bad = CliRunner().invoke(app, ["approve", "second", *BUTLER])
    assert bad.exit_code == 2 and "valid integer" in bad.stderr


# -- parking ------------------------------------------------------------------------------------


def test_parking_rent_renew_issue_lost_replace_and_return(ctx, run) -> None:  # type: ignore[no-untyped-def]
    from plugins.billing.models import Deposit
    from plugins.parking.cli import parking_app as app
    from plugins.parking.models import ParkingCard, ParkingPeriod, ParkingRental

    def rental(number: str) -> Any:
        return scalar(ctx, select(ParkingRental).where(ParkingRental.number == number))

    def card(uid: str) -> Any:
        return scalar(ctx, select(ParkingCard).where(ParkingCard.uid_hex == uid))

    rent = ["rent", "--unit", "3-1205", "--plate", "粤B77777", "--licence", "440301199001011234"]
    rented = run(app, *rent, "--id-checked", "--car-model", "丰田 卡罗拉", *CASHIER, "--json")
    number = rented["number"]
    assert rented["plate"] == "粤B77777" and rented["state"] == "open" and rented["paid"]
    assert "440301199001011234" not in json.dumps(rented, ensure_ascii=False)
    row = rental(number)
    assert (row.plate, row.identity_checked, row.state) == ("粤B77777", True, "open")
    before = row.end_date
    renewed = run(app, "renew", number, "--months", "2", *CASHIER, "--json")
    assert renewed["number"] == number and renewed["charge"] == ""
    assert rental(number).end_date > before
    periods = scalar(ctx, select(ParkingPeriod.months).where(ParkingPeriod.rental_id == row.id)
                     .order_by(ParkingPeriod.id.desc()).limit(1))  # fmt: skip
    assert periods == 2

    issued = run(app, "issue", number, "00C0FFEE11", "--printed", "P-0011", *CASHIER, "--json")
    assert issued["uid_hex"] == "00C0FFEE11" and issued["state"] == "active"
    assert card("00C0FFEE11").printed_number == "P-0011"
    deposit = scalar(
        ctx, select(Deposit.status).where(Deposit.receipt_no == issued["deposit_receipt"])
    )
    assert deposit == "held"
    text = run(app, "lost", "00C0FFEE11", *CASHIER)
    assert text.startswith(f"id: {issued['id']} rental_number: {number} ")
    assert "state: lost" in text and "replaces_id" not in text  # empty fields are left out
    assert (card("00C0FFEE11").state, card("00C0FFEE11").deposit_state) == ("lost", "forfeited")
    new = run(app, "replace", "00C0FFEE11", "00C0FFEE12", *CASHIER, "--json")
    assert new["replaces_id"] == issued["id"] and card("00C0FFEE12").state == "active"
    back = run(app, "return", "00C0FFEE12", *CASHIER, "--json")
    assert back["state"] == "returned" and back["deposit_state"] == "refunded"
    assert rental(number).state == "ended"
    # refusals: a wrong PIN, the identity not checked, a bad number of months, an unknown card
    assert "PIN" in run(app, "renew", number, *WRONG_PIN, ok=False)
    unchecked = ["rent", "--unit", "2-803", "--plate", "粤B66666", "--licence", "4403011990"]
    assert "identity card" in run(app, *unchecked, *CASHIER, ok=False)
    assert scalar(ctx, select(ParkingRental.id).where(ParkingRental.plate == "粤B66666")) is None
    assert "month" in run(app, "renew", number, "--months", "0", *CASHIER, ok=False)
    assert "not a parking card" in run(app, "lost", "FFFF0000FF", *CASHIER, ok=False)


# -- parcels ------------------------------------------------------------------------------------


def test_parcels_check_in_release_store_and_handover(ctx, run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from plugins.parcels.cli import parcels_app as app
    from plugins.parcels.models import Parcel, Release, StorageCheck, StoredItem

    def parcel(number: str) -> Any:
        return scalar(ctx, select(Parcel).where(Parcel.tracking_number == number))

    logged = run(app, "check-in", "sf9100000000001 ", "--unit", "1-101", "--shelf", "A3",
                 "--perishable", *BUTLER, "--json")  # fmt: skip
    assert logged == {"tracking": "SF9100000000001", "carrier": "SF", "unit": "1-101"}
    p = parcel("SF9100000000001")
    assert (p.status, p.shelf, p.perishable) == ("waiting", "A3", True)
    text = run(app, "check-in", "YT9100000000002", "--unit", "1-101", *BUTLER)
    assert text == "tracking: YT9100000000002 carrier: YTO unit: 1-101\n"
    signature = tmp_path / "signature.json"
    signature.write_text(json.dumps(SIGNATURE), "utf-8")
    released = run(app, "release", "1-101", "--picker", "张伟", "--signature", f"@{signature}",
                   *BUTLER, "--json")  # fmt: skip
    assert released == {"unit": "1-101", "released": 2}
    assert {parcel("SF9100000000001").status, parcel("YT9100000000002").status} == {"released"}
    pickup = scalar(ctx, select(Release).where(Release.id == parcel("SF9100000000001").release_id))
    assert (pickup.via, pickup.item_count, pickup.picker_name) == ("desk", 2, "张伟")

    stored = run(app, "store", "--unit", "2-803", "--depositor", "刘芳", "--item", "行李箱",
                 "--category", "luggage", "--hours", "48", *BUTLER, "--json")  # fmt: skip
    assert stored["unit"] == "2-803" and stored["ticket"]
    item = scalar(ctx, select(StoredItem).where(StoredItem.ticket == stored["ticket"]))
    assert (item.description, item.category, item.status) == ("行李箱", "luggage", "stored")
    handed = run(app, "handover", "--to", "S004", "--note", "all present", *BUTLER, "--json")
    assert handed["items"] >= 1
    check = scalar(ctx, select(StorageCheck).where(StorageCheck.id == handed["check"]))
    assert check.handed_to and check.note == "all present"
    assert item.id in {int(i["id"]) for i in check.items}
    # refusals: a wrong PIN, nothing waiting, a bad tracking number, an unreadable signature
    assert "PIN" in run(app, "check-in", "SF9100000000003", "--unit", "1-101", *WRONG_PIN,
                        ok=False)  # fmt: skip
    assert parcel("SF9100000000003") is None
    assert "Nothing is waiting" in run(app, "release", "1-101", "--picker", "张伟", *BUTLER,
                                       ok=False)  # fmt: skip
    assert "tracking" in run(app, "check-in", "12", "--unit", "1-101", *BUTLER, ok=False)
    run(app, "check-in", "SF9100000000004", "--unit", "1-101", *BUTLER)
    missing = tmp_path / "missing.json"
    assert "signature" in run(app, "release", "1-101", "--picker", "张伟", "--signature",
                              f"@{missing}", *BUTLER, ok=False)  # fmt: skip
    assert parcel("SF9100000000004").status == "waiting"
