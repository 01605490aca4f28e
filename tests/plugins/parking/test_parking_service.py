"""Monthly rentals, the card lifecycle and the records, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from sqlalchemy import func, select

from kiosk.context import KioskContext
from kiosk.db.models import Card, DeskAlert, Notification, PrintJob
from kiosk.errors import Refused
from kiosk.identity import Actor
from kiosk.lobby import tap_card
from plugins.billing.models import Deposit
from plugins.parking import service, taps
from plugins.parking.models import ParkingCard
from tests.plugins.parking.parking_helpers import BUTLER, CASHIER, open_cash, resident_of
from tests.racing import race
from tests.waiting import wait_until

TODAY = dt.date(2026, 11, 23)  # the FixedClock's local date


def read_with_desk_reader(uid: str) -> str:
    """The cashier taps ``uid`` on the desk's RDM6300 (simulated, on a pty): what it reads."""
    from devices.cards import open_reader
    from devices.sim import get_sim

    seen: list[str] = []
    lock = threading.Lock()

    def on(event) -> None:  # type: ignore[no-untyped-def]
        if event.kind == "tap" and event.uid:
            with lock:
                seen.append(event.uid)

    name = f"desk-reader-{uid}"
    reader = open_reader("sim://card?protocol=rdm6300&debounce=0", on, name=name)
    reader.start()
    try:
        sim = get_sim(name)
        assert wait_until(lambda: reader.stats.connected)
        sim.tap(uid)
        assert wait_until(lambda: bool(seen)), "the desk reader saw no card"
        return seen[0]
    finally:
        reader.stop()


def test_months_run_to_the_same_day_less_one() -> None:
    assert service.period_end(dt.date(2026, 11, 23), 1) == dt.date(2026, 12, 22)
    assert service.period_end(dt.date(2026, 11, 1), 1) == dt.date(2026, 11, 30)
    assert service.period_end(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 27)
    assert service.period_end(dt.date(2026, 12, 15), 3) == dt.date(2027, 3, 14)


def test_cash_rental_is_paid_through_one_month_and_prints_a_receipt(ctx: KioskContext) -> None:
    view = open_cash(ctx, months=2)
    assert view.start_date == TODAY and view.end_date == dt.date(2027, 1, 22) and view.paid
    assert view.licence == "4403**********1234" and "*" in view.phone
    with ctx.database().read() as session:
        kinds = session.scalars(select(PrintJob.kind)).all()
    assert "parking-rent" in kinds


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"identity_checked": False}, "parking.unchecked"),
        ({"plate": "粤B1234"}, "parking.plate"),
        ({"months": 0}, "parking.months"),
        ({"months": 13}, "parking.months"),
        ({"licence_no": " "}, "parking.licence"),
        ({"method": "iou"}, "parking.method"),
        ({"unit": "9-999"}, "unit.unknown"),
    ],
)
def test_bad_rental_input_is_refused(ctx: KioskContext, change: dict, code: str) -> None:  # type: ignore[type-arg]
    owner = resident_of(ctx, "3-1205")
    args = dict(
        unit="3-1205", resident_id=owner.id, plate="粤B88888", car_model="x",
        licence_no="440301199001011234", identity_checked=True, months=1, method="cash",
    )  # fmt: skip
    args.update(change)
    with pytest.raises(Refused) as err:
        service.open_rental(ctx, CASHIER, **args)  # type: ignore[arg-type]
    assert err.value.code == code


def test_only_owners_and_tenants_of_that_unit_may_rent(ctx: KioskContext) -> None:
    stranger = resident_of(ctx, "2-803")
    with pytest.raises(Refused) as err:
        service.open_rental(
            ctx, CASHIER, unit="3-1205", resident_id=stranger.id, plate="粤B88888",
            car_model="x", licence_no="4403011990", identity_checked=True,
        )  # fmt: skip
    assert err.value.code == "parking.not_resident"
    with ctx.database().read() as session:
        from kiosk.db.models import Resident

        occupant = session.scalar(select(Resident).where(Resident.role == "occupant").limit(1))
        assert occupant is not None
        unit = occupant.unit.code
    with pytest.raises(Refused) as err:
        service.open_rental(
            ctx, CASHIER, unit=unit, resident_id=occupant.id, plate="粤B88888",
            car_model="x", licence_no="4403011990", identity_checked=True,
        )  # fmt: skip
    assert err.value.code == "parking.role"
    with pytest.raises(Refused) as err:
        open_cash(ctx) if False else service.open_rental(
            ctx, BUTLER, unit="3-1205", resident_id=resident_of(ctx, "3-1205").id,
            plate="粤B88888", car_model="x", licence_no="4403011990", identity_checked=True,
        )  # fmt: skip
    assert err.value.code == "permission"


def test_a_plate_can_have_one_open_rental(ctx: KioskContext) -> None:
    open_cash(ctx, plate="粤B88888")
    with pytest.raises(Refused) as err:
        open_cash(ctx, unit="2-803", plate="粤b·88888")
    assert err.value.code == "parking.plate_taken" and "3-1205" in err.value.render()


def test_card_lifecycle_through_the_desk_reader(ctx: KioskContext) -> None:
    rental = open_cash(ctx)
    uid = read_with_desk_reader("00C0FFEE01")
    card = service.issue_card(ctx, CASHIER, rental.number, uid)
    assert card.state == "active" and card.deposit_receipt.startswith("SJ")
    with ctx.database().read() as session:
        deposit = session.scalar(select(Deposit).where(Deposit.receipt_no == card.deposit_receipt))
        assert deposit is not None and deposit.amount_fen == 5000 and deposit.status == "held"
    v = taps.card_validity(ctx, uid)
    assert v is not None and v.state == "valid" and v.end_date == dt.date(2026, 12, 22)
    # the core tap path: the plugin claims the card
    outcome = tap_card(ctx, uid)
    assert outcome.kind == "plugin" and outcome.plugin is not None
    assert outcome.plugin.kind == "parking.valid" and outcome.plugin.screen is not None

    # the same card cannot be bound twice: refused naming the holder's unit
    other = open_cash(ctx, unit="2-803", plate="粤A11111")
    with pytest.raises(Refused) as err:
        service.issue_card(ctx, CASHIER, other.number, uid)
    assert err.value.code == "parking.card_bound" and "3-1205" in err.value.render()
    # a resident's card is not blank either
    with pytest.raises(Refused) as err:
        service.issue_card(ctx, CASHIER, other.number, "3C00A1B2C3")
    assert err.value.code == "parking.card_bound" and "3-1205" in err.value.render()
    # one active card per rental
    with pytest.raises(Refused) as err:
        service.issue_card(ctx, CASHIER, rental.number, "00C0FFEE09")
    assert err.value.code == "parking.has_card"

    # lost: blocked at once, a tap is refused and alerts the desk, deposit forfeited
    lost = service.report_lost(ctx, BUTLER, uid)
    assert lost.state == "lost" and lost.deposit_state == "forfeited"
    outcome = tap_card(ctx, uid)
    assert outcome.plugin is not None and outcome.plugin.refused
    with ctx.database().read() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(DeskAlert)
                .where(DeskAlert.kind == "parking_card_lost")
            )
            == 1
        )
        assert (
            session.scalar(select(Deposit.status).where(Deposit.receipt_no == card.deposit_receipt))
            == "forfeited"
        )
    # replacement: same rental, the chain kept, a new deposit
    new_uid = read_with_desk_reader("00C0FFEE02")
    new = service.replace_lost_card(ctx, CASHIER, uid, new_uid)
    assert new.replaces_id == card.id and new.deposit_receipt != card.deposit_receipt
    chain = service.card_chain(ctx, rental.number)
    assert [(c.uid_hex, c.state) for c in chain] == [
        ("00C0FFEE01", "lost"),
        ("00C0FFEE02", "active"),
    ]
    assert taps.card_validity(ctx, new_uid).state == "valid"  # type: ignore[union-attr]

    # return: deactivated, deposit refunded with a receipt, rental ended
    back = service.return_card(ctx, CASHIER, new_uid)
    assert back.state == "returned" and back.deposit_state == "refunded"
    with ctx.database().read() as session:
        dep = session.scalar(select(Deposit).where(Deposit.receipt_no == new.deposit_receipt))
        assert dep is not None and dep.status == "refunded" and dep.refund_no
        assert "billing-deposit-refund" in session.scalars(select(PrintJob.kind)).all()
        assert session.scalar(select(Card.status).where(Card.uid_hex == new_uid)) == "returned"
    assert service.get_rental(ctx, rental.number).state == "ended"
    with pytest.raises(Refused):
        service.return_card(ctx, CASHIER, new_uid)  # not twice
    outcome = tap_card(ctx, new_uid)
    assert outcome.plugin is not None and outcome.plugin.refused
    # a returned card is blank again: it can be issued to another renter
    reused = service.issue_card(ctx, CASHIER, other.number, new_uid)
    assert reused.state == "active"
    # A return that read the card on its old rental, before another desk returned it and
    # issued it again, and then locked that old rental: refused, not ended -- ending it would
    # lock the new rental after the card's rows, the opposite order of issue_card (deadlock).
    from plugins.parking.models import ParkingRental

    with pytest.raises(Refused) as err, ctx.database().write() as session:
        old_id = session.scalar(
            select(ParkingRental.id).where(ParkingRental.number == rental.number)
        )
        service._end_card(ctx, session, CASHIER, new_uid, "returned", "refunded", old_id)
    assert err.value.code == "parking.card_moved" and "tap it again" in err.value.render()
    assert taps.card_validity(ctx, new_uid).state == "valid"  # type: ignore[union-attr]


def test_a_return_whose_read_went_stale_before_its_lock_is_refused_or_already_done(
    ctx: KioskContext,
) -> None:
    """A return reads the card, then locks its rental. Returned at another desk in between:
    "already returned", nothing changed. Returned and issued to another rental in between:
    refused (parking.card_moved), the new binding left active."""
    from plugins.parking.models import ParkingRental

    first = open_cash(ctx)
    second = open_cash(ctx, unit="2-803", plate="粤A11111")
    uid = "00C0FFEE21"
    service.issue_card(ctx, CASHIER, first.number, uid)
    with ctx.database().read() as session:
        stale = service._parking_card(session, uid)
        first_id = session.scalar(
            select(ParkingRental.id).where(ParkingRental.number == first.number)
        )
    assert stale[1].state == "active" and stale[1].rental_id == first_id
    service.return_card(ctx, CASHIER, uid)
    with pytest.raises(Refused) as err, ctx.database().write() as session:
        service._end_card(ctx, session, CASHIER, uid, "returned", "refunded", first_id, stale)
    assert err.value.code == "parking.not_active" and "returned" in err.value.render()

    service.issue_card(ctx, CASHIER, second.number, uid)
    with pytest.raises(Refused) as err, ctx.database().write() as session:
        service._end_card(ctx, session, CASHIER, uid, "returned", "refunded", first_id, stale)
    assert err.value.code == "parking.card_moved"
    assert taps.card_validity(ctx, uid).state == "valid"  # type: ignore[union-attr]
    back = service.return_card(ctx, CASHIER, uid)
    assert back.rental_number == second.number and back.deposit_state == "refunded"
    with ctx.database().read() as session:
        refund = session.scalars(
            select(PrintJob.document)
            .where(PrintJob.kind == "billing-deposit-refund")
            .order_by(PrintJob.id.desc())
        ).first()
    assert "2-803" in json.dumps(refund, ensure_ascii=False)  # the receipt names the unit
    with pytest.raises(Refused) as err:
        service.return_card(ctx, CASHIER, uid)
    assert err.value.code == "parking.not_active" and "returned" in err.value.render()


def test_expiry_deactivates_and_renewal_by_bill_brings_it_back(ctx: KioskContext) -> None:
    from plugins.billing import service as billing
    from plugins.billing.models import Bill, BillLine

    rental = open_cash(ctx)
    card = service.issue_card(ctx, CASHIER, rental.number, "00C0FFEE03")
    clock = ctx.clock
    clock.advance(days=30)  # type: ignore[attr-defined]  # 2026-12-23: one day past the end
    v = taps.card_validity(ctx, card.uid_hex)
    assert v is not None and v.state == "expired" and v.end_date == dt.date(2026, 12, 22)
    swept = service.sweep(ctx)
    assert swept["expired_cards"] >= 1
    with ctx.database().read() as session:
        assert session.scalar(select(Card.status).where(Card.uid_hex == "00C0FFEE03")) == "expired"
    # the renter renews at the kiosk: rent goes on the bill, applied once the bill is paid
    renter = Actor(
        "resident", rental_resident(ctx, rental.number), unit_id=unit_id_of(ctx, "3-1205")
    )
    view, reference = service.renew(ctx, renter, rental.number, 1)
    assert reference is not None and view.pending_fen == 10000
    assert taps.card_validity(ctx, card.uid_hex).state == "expired"  # type: ignore[union-attr]
    with ctx.database().read() as session:
        bill_id = session.scalar(select(BillLine.bill_id).where(BillLine.source_ref == reference))
        owed = session.get(Bill, bill_id).balance_fen  # type: ignore[union-attr]
    billing.record_desk_payment(ctx, CASHIER, bill_id, owed)
    v = taps.card_validity(ctx, card.uid_hex)  # the tap applies the paid period
    assert v is not None and v.state == "valid"
    assert v.end_date == dt.date(2027, 1, 22)  # lapsed: from today, not from the old end
    assert service.apply_paid_periods(ctx) == 0  # applied exactly once
    with ctx.database().read() as session:
        assert session.scalar(select(Card.status).where(Card.uid_hex == "00C0FFEE03")) == "active"


def rental_resident(ctx: KioskContext, number: str) -> int:
    from plugins.parking.models import ParkingRental

    with ctx.database().read() as session:
        return session.scalar(
            select(ParkingRental.resident_id).where(ParkingRental.number == number)
        )  # type: ignore[return-value]


def unit_id_of(ctx: KioskContext, code: str) -> int:
    from kiosk.db.models import Unit

    with ctx.database().read() as session:
        return session.scalar(select(Unit.id).where(Unit.code == code))  # type: ignore[return-value]


def test_a_resident_cannot_renew_anothers_rental_or_pay_cash(ctx: KioskContext) -> None:
    rental = open_cash(ctx)
    other = Actor("resident", 1, unit_id=unit_id_of(ctx, "2-803"))
    with pytest.raises(Refused) as err:
        service.renew(ctx, other, rental.number, 1)
    assert err.value.code == "parking.not_yours"
    own = Actor("resident", rental_resident(ctx, rental.number), unit_id=unit_id_of(ctx, "3-1205"))
    with pytest.raises(Refused):
        service.renew(ctx, own, rental.number, 1, "cash")


def test_cash_renewal_at_the_desk_extends_from_the_paid_date(ctx: KioskContext) -> None:
    rental = open_cash(ctx)
    view, bill = service.renew(ctx, CASHIER, rental.number, 3, "cash")
    assert bill is None and view.end_date == dt.date(2027, 3, 22)


def test_the_rent_receipt_sends_to_the_cashier_only_a_rental_without_a_card(
    ctx: KioskContext, english: None
) -> None:
    def last_receipt() -> str:
        with ctx.database().read() as session:
            job = session.scalars(
                select(PrintJob).where(PrintJob.kind == "parking-rent").order_by(PrintJob.id.desc())
            ).first()
            assert job is not None
            return json.dumps(job.document, ensure_ascii=False)

    rental = open_cash(ctx)
    assert "for your IC card" in last_receipt()  # no card yet: fetch it at the cashier
    service.issue_card(ctx, CASHIER, rental.number, "5A00C0FFEE")
    service.renew(ctx, CASHIER, rental.number, 1, "cash")
    assert "Monthly parking receipt" in last_receipt()
    assert "for your IC card" not in last_receipt()  # its card simply works on


def test_reminder_once_before_expiry(ctx: KioskContext) -> None:
    open_cash(ctx)
    ctx.clock.advance(days=24)  # type: ignore[attr-defined]  # 6 days before 2026-12-22
    first = service.sweep(ctx)
    again = service.sweep(ctx)
    assert first["reminded"] >= 1 and again["reminded"] == 0
    with ctx.database().read() as session:
        n = session.scalars(
            select(Notification).where(Notification.template == "parking.expiring")
        ).all()
    assert len(n) == first["reminded"] and all("end_date" in x.payload for x in n)


def test_records_are_masked_and_mark_this_weeks_changes(ctx: KioskContext) -> None:
    rental = open_cash(ctx)
    service.issue_card(ctx, CASHIER, rental.number, "00C0FFEE04")
    rows = service.records(ctx, CASHIER)
    mine = next(r for r in rows if r.plate == "粤B88888")
    assert mine.changed_this_week and mine.card and "*" in mine.phone and "*" in mine.owner
    demo = next(r for r in rows if r.plate == "粤B12345")  # the demo rental started 3 days ago
    assert demo.changed_this_week is False or demo.date >= TODAY - dt.timedelta(
        days=TODAY.weekday()
    )
    text = service.records_csv(ctx, CASHIER)
    assert text.splitlines()[0].startswith("办理日期,车主,电话")
    from kiosk.pii import find_unmasked

    assert find_unmasked(text) == []
    with pytest.raises(Refused):
        service.records(ctx, Actor("resident", 1, unit_id=1))


def test_binding_one_blank_card_from_two_desks_at_once(ctx: KioskContext) -> None:
    a = open_cash(ctx, plate="粤B88881")
    b = open_cash(ctx, unit="2-803", plate="粤B88882")
    rentals = (a.number, b.number)
    card_deposits = (
        select(func.count()).select_from(Deposit).where(Deposit.source_ref.like("parking:card:%"))
    )
    with ctx.database().read() as session:
        before = session.scalar(card_deposits)  # the demo's cards
    outcomes = race(ctx, lambda k, i: service.issue_card(k, CASHIER, rentals[i], "00C0FFEE05"), 2)
    assert sorted(outcomes) == ["ok", "parking.card_bound"]
    with ctx.database().read() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(ParkingCard)
                .where(ParkingCard.uid_hex == "00C0FFEE05")
            )
            == 1
        )
        assert session.scalar(card_deposits) == before + 1  # one deposit, for the card bound


def test_the_renter_is_found_by_name_or_is_the_owner(ctx: KioskContext) -> None:
    common = dict(plate="粤B77777", car_model="x", licence_no="4403011990", identity_checked=True)
    view = service.open_rental(ctx, CASHIER, unit="3-1205", **common)  # type: ignore[arg-type]
    assert view.holder == "王*明"
    view = service.open_rental(
        ctx, CASHIER, unit="3-1205", renter="Emily Wang", **{**common, "plate": "粤B77778"}
    )  # type: ignore[arg-type]
    assert view.holder.startswith("E")
    with pytest.raises(Refused) as err:
        service.open_rental(
            ctx, CASHIER, unit="3-1205", renter="Nobody", **{**common, "plate": "粤B77779"}
        )  # type: ignore[arg-type]
    assert err.value.code == "parking.not_resident"


def test_purge_clears_plates_of_rentals_ended_long_ago(ctx: KioskContext) -> None:
    from plugins.parking.models import ParkingRental

    rental = open_cash(ctx, plate="粤B55555")
    card = service.issue_card(ctx, CASHIER, rental.number, "00C0FFEE06")
    service.return_card(ctx, CASHIER, card.uid_hex)
    open_cash(ctx, unit="2-803", plate="粤B55556")  # still open: never purged
    later = ctx.clock.now() + dt.timedelta(days=731)  # type: ignore[attr-defined]
    with ctx.database().write() as session:
        dry = service.purge_in(session, ctx, later, dry_run=True)
    assert dry[0].count == 1
    with ctx.database().write() as session:
        assert service.purge_in(session, ctx, ctx.clock.now(), dry_run=False)[0].count == 0
        assert service.purge_in(session, ctx, later, dry_run=False)[0].count == 1
    with ctx.database().write() as session:
        assert service.purge_in(session, ctx, later, dry_run=False)[0].count == 0
    with ctx.database().read() as session:
        plates = set(session.scalars(select(ParkingRental.plate)))
    assert "粤B55555" not in plates and "粤B55556" in plates


def test_two_desks_opening_rentals_at_once_get_distinct_numbers(ctx: KioskContext) -> None:
    results: list[object] = []
    barrier = threading.Barrier(4)
    plates = ["粤B40001", "粤B40002", "粤B40003", "粤B40004"]

    def rent(plate: str) -> None:
        barrier.wait()
        results.append(open_cash(ctx, plate=plate).number)

    threads = [threading.Thread(target=rent, args=(p,)) for p in plates]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and len(set(results)) == 4
    assert all(str(n).startswith("PK202611") for n in results)


def test_kiosks_sweeping_at_once_send_one_reminder(ctx: KioskContext) -> None:
    open_cash(ctx)
    ctx.clock.advance(days=24)  # type: ignore[attr-defined]  # 6 days before the end
    barrier = threading.Barrier(3)
    counts: list[int] = []

    def sweep() -> None:
        barrier.wait()
        counts.append(service.sweep(ctx)["reminded"])

    threads = [threading.Thread(target=sweep) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with ctx.database().read() as session:
        sent = session.scalars(
            select(Notification).where(Notification.template == "parking.expiring")
        ).all()
    plates = [n.payload["plate"] for n in sent]
    assert "粤B88888" in plates and len(plates) == len(set(plates))  # one reminder per rental
    assert sum(counts) == len(sent)


def test_an_unpaid_new_rental_is_shown_as_payment_pending_not_expired(ctx: KioskContext) -> None:
    # A rental whose first month went on the bill and is not paid yet: 待缴费, never 已过期.
    owner = resident_of(ctx, "3-1205")
    pending = service.open_rental(
        ctx,
        CASHIER,
        unit="3-1205",
        resident_id=owner.id,
        plate="粤B77777",
        car_model="比亚迪 汉",
        licence_no="440301199001011234",
        identity_checked=True,
        months=1,
        method="bill",
    )
    assert not pending.paid and pending.end_date < pending.start_date
    assert service.get_rental(ctx, pending.number).shown_state == "unpaid"
    rows = {r.plate: r for r in service.records(ctx, CASHIER)}
    assert rows["粤B77777"].state == "unpaid"
    assert rows["粤BD12345"].state == "expired"  # the demo rental whose paid months ran out
    csv_rows = {
        line.split(",")[4]: line.split(",")
        for line in service.records_csv(ctx, CASHIER).splitlines()
    }
    assert csv_rows["粤B77777"][8] == "待缴费"
    assert csv_rows["粤BD12345"][8] == "已过期"
    assert service.state_label("unpaid") == "payment pending"


def test_the_household_file_calls_a_lapsed_rental_expired(ctx: KioskContext, english: None) -> None:
    """The household file's parking line says what the card list beside it says: a rental
    paid only until a past day is "expired", not "open" (the rental's own state)."""
    from plugins.parking.household import household_section

    (line,) = household_section(ctx, "2-502").lines  # the demo's lapsed rental
    assert "粤BD12345" in line and "(expired)" in line and "(open)" not in line, line


def test_the_parking_tile_tells_a_resident_whose_rental_needs_them(
    ctx: KioskContext, english: None
) -> None:
    from plugins.parking.household import tile_badges

    def resident(unit: str) -> Actor:
        r = resident_of(ctx, unit)
        return Actor("resident", r.id, r.name, unit_id=r.unit_id)

    assert tile_badges(ctx, resident("2-502")) == {"parking": "expired"}  # the demo's lapsed one
    assert tile_badges(ctx, resident("3-1205")) == {"parking": "expired"}  # rent on his bills
    assert tile_badges(ctx, resident("1-101")) == {}  # no rental: nothing to say
    view = open_cash(ctx, unit="1-101")  # a month from today
    assert tile_badges(ctx, resident("1-101")) == {}  # paid well ahead
    days_left = (view.end_date - ctx.today()).days
    ctx.clock.advance(days=days_left - 7)  # the reminder days before its end
    assert tile_badges(ctx, resident("1-101")) == {"parking": f"ends {view.end_date:%m-%d}"}
    ctx.clock.advance(days=8)  # past it
    assert tile_badges(ctx, resident("1-101")) == {"parking": "expired"}
