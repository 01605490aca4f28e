"""All of a household's arrears paid at once, oldest first: one QR for the overdue bill and
this month's, each bill paid with its own payment and late fee, a duplicate notice paying
nothing twice, a bill paid meanwhile at the desk flagging the order; and the cashier taking
cash for all of them (on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kiosk.errors import Refused
from plugins.billing import service
from plugins.billing.models import Bill, Payment, PaymentOrder


def _notify(bctx, gateway, order, **kw) -> str:
    return service.handle_notification(
        bctx, order.provider, *gateway.pay(order.out_trade_no, **kw)
    ).verdict


def _payments(bctx, order_no: str) -> list[Payment]:
    """The payments of an order, in the order they were made."""
    order_id = select(PaymentOrder.id).where(PaymentOrder.out_trade_no == order_no)
    with bctx.database().read() as s:
        return list(
            s.scalars(select(Payment).where(Payment.order_id.in_(order_id)).order_by(Payment.id))
        )


def test_one_order_pays_every_open_bill_oldest_first(people, bctx, gateway) -> None:
    me = people.resident(bctx, "3-1205")
    bills = service.open_bills(bctx, "3-1205")
    assert len(bills) > 1 and bills[0].late_fee_now_fen  # an overdue bill and this month's
    order = service.create_arrears_order(bctx, me, "3-1205", "wechat-native")
    assert order.amount_fen == sum(b.due_now_fen for b in bills)
    assert order.late_fee_fen == sum(b.late_fee_now_fen for b in bills)
    assert order.bill_numbers == tuple(b.number for b in bills)
    assert order.bill_number == bills[0].number

    assert _notify(bctx, gateway, order) == "paid"

    assert service.open_bills(bctx, "3-1205") == []
    paid = _payments(bctx, order.out_trade_no)
    assert [(p.bill_id, p.amount_fen, p.late_fee_fen, p.method) for p in paid] == [
        (b.id, b.due_now_fen, b.late_fee_now_fen, "qr") for b in bills
    ]
    view = service.order_status(bctx, order.out_trade_no)
    assert view.status == "paid" and view.receipt_no == paid[0].receipt_no
    assert view.receipt_nos == tuple(p.receipt_no for p in paid)
    # One receipt lists each bill paid, with its own receipt number.
    job = service.receipt_job(bctx, view.receipt_no)
    assert job is not None
    values = {b.get("value") for b in job[1]["blocks"]}
    assert {b.number for b in bills} | {p.receipt_no for p in paid} <= values
    with pytest.raises(Refused) as err:
        service.create_arrears_order(bctx, me, "3-1205", "wechat-native")
    assert err.value.code == "billing.nothing_owed"


def test_a_duplicate_notice_pays_nothing_twice(people, bctx, gateway) -> None:
    me = people.resident(bctx, "3-1205")
    order = service.create_arrears_order(bctx, me, "3-1205", "sim")
    headers, body = gateway.pay(order.out_trade_no)
    assert service.handle_notification(bctx, "sim", headers, body).verdict == "paid"
    assert service.handle_notification(bctx, "sim", headers, body).verdict == "duplicate"
    assert service.poll_order(bctx, order.out_trade_no).status == "paid"
    paid = _payments(bctx, order.out_trade_no)
    assert len(paid) == len(order.bill_numbers)
    assert sum(p.amount_fen for p in paid) == order.amount_fen


def test_a_bill_paid_in_part_at_the_desk_meanwhile_flags_the_order(people, bctx, gateway) -> None:
    me = people.resident(bctx, "3-1205")
    before = service.open_bills(bctx, "3-1205")
    order = service.create_arrears_order(bctx, me, "3-1205", "sim")
    service.record_desk_payment(bctx, people.cashier, before[-1].id, 100)

    assert _notify(bctx, gateway, order) == "flagged"

    assert _payments(bctx, order.out_trade_no) == []
    after = service.open_bills(bctx, "3-1205")
    assert [b.balance_fen for b in after] == [before[0].balance_fen, before[-1].balance_fen - 100]
    flagged = service.flagged_orders(bctx)
    assert [(f.out_trade_no, f.flag) for f in flagged] == [
        (order.out_trade_no, "bill_already_paid")
    ]


def test_a_bill_settled_at_the_desk_closes_the_order_of_arrears(people, bctx, gateway) -> None:
    me = people.resident(bctx, "3-1205")
    oldest = service.open_bills(bctx, "3-1205")[0]
    order = service.create_arrears_order(bctx, me, "3-1205", "sim")
    service.record_desk_payment(bctx, people.cashier, oldest.id, oldest.due_now_fen)
    assert service.order_status(bctx, order.out_trade_no).status == "closed"
    assert _notify(bctx, gateway, order) == "flagged"
    assert _payments(bctx, order.out_trade_no) == []


def test_a_wrong_amount_is_flagged_and_applied_to_no_bill(people, bctx, gateway) -> None:
    me = people.resident(bctx, "3-1205")
    before = service.open_bills(bctx, "3-1205")
    order = service.create_arrears_order(bctx, me, "3-1205", "sim")
    assert _notify(bctx, gateway, order, amount_fen=order.amount_fen - 1) == "flagged"
    assert service.order_status(bctx, order.out_trade_no).flag == "amount_mismatch"
    assert service.open_bills(bctx, "3-1205") == before


def test_paying_one_bill_alone_closes_the_order_of_arrears(people, bctx, gateway) -> None:
    me = people.resident(bctx, "3-1205")
    oldest = service.open_bills(bctx, "3-1205")[0]
    arrears = service.create_arrears_order(bctx, me, "3-1205", "sim")
    one = service.create_payment_order(bctx, me, oldest.id, "sim")
    assert _notify(bctx, gateway, one) == "paid"
    assert service.order_status(bctx, arrears.out_trade_no).status == "closed"


def test_one_bills_payment_of_an_order_of_arrears_is_refunded_through_the_provider(
    people, bctx, gateway
) -> None:
    me = people.resident(bctx, "3-1205")
    order = service.create_arrears_order(bctx, me, "3-1205", "sim")
    assert _notify(bctx, gateway, order) == "paid"
    first = _payments(bctx, order.out_trade_no)[0]
    refund = service.refund_payment(bctx, people.manager, first.id, 100, "overcharged")
    assert refund.order_id is not None and refund.status == "done"
    assert service.get_bill(bctx, first.bill_id).balance_fen == 100


def test_an_order_of_arrears_is_for_the_residents_own_unit(people, bctx) -> None:
    me = people.resident(bctx, "3-1205")
    with pytest.raises(Refused) as err:
        service.create_arrears_order(bctx, me, "1-101", "sim")
    assert err.value.code == "billing.not_yours"


def test_the_cashier_takes_cash_for_all_arrears_on_one_receipt(people, bctx) -> None:
    bills = service.open_bills(bctx, "3-1205")
    total = sum(b.due_now_fen for b in bills)
    with pytest.raises(Refused) as err:
        service.record_desk_arrears_payment(bctx, people.cashier, "3-1205", total - 1)
    assert err.value.code == "billing.arrears_total"
    with pytest.raises(Refused):
        service.record_desk_arrears_payment(bctx, people.butler, "3-1205", total)

    paid = service.record_desk_arrears_payment(bctx, people.cashier, "3-1205", total)

    assert [(p.bill_id, p.amount_fen, p.late_fee_fen, p.method) for p in paid] == [
        (b.id, b.due_now_fen, b.late_fee_now_fen, "cash") for b in bills
    ]
    with bctx.database().read() as s:
        statuses = s.scalars(select(Bill.status).where(Bill.id.in_([b.id for b in bills])))
        assert set(statuses) == {"paid"}
    job = service.receipt_job(bctx, paid[0].receipt_no)
    assert job is not None
    values = {b.get("value") for b in job[1]["blocks"]}
    assert {p.receipt_no for p in paid} <= values
    # Each bill's charges itemised under it (收费项目), as many rows as the bills have lines.
    tables = [b for b in job[1]["blocks"] if b["type"] == "table"]
    charges = [[ln for ln in service.get_bill(bctx, b.id).lines if ln.kind != "late_fee"]
               for b in bills]  # fmt: skip
    assert [len(t["rows"]) for t in tables] == [len(c) for c in charges]
    with pytest.raises(Refused) as err:
        service.record_desk_arrears_payment(bctx, people.cashier, "3-1205", total)
    assert err.value.code == "billing.nothing_owed"


def test_the_household_file_owes_what_the_statement_and_the_kiosk_ask(bctx) -> None:
    """The desk's household file gives each bill's amount as paying it costs today, its late
    fee included and said, the same as the cashier's statement and the kiosk."""
    from kiosk.money import format_fen
    from plugins.billing.household import household_section

    bills = service.open_bills(bctx, "3-1205")
    overdue = bills[0]
    assert overdue.late_fee_now_fen  # the demo's older bill is late
    lines = household_section(bctx, "3-1205").lines
    assert len(lines) == len(bills)
    assert format_fen(overdue.due_now_fen) in lines[0]
    assert format_fen(overdue.late_fee_now_fen) in lines[0]  # said: (late fee ￥5.67 included)
    assert lines[-1].count("￥") == 1  # this month's bill is not late: its amount alone
