"""Paying a bill by QR: the order, the notification, and everything that must not happen
twice (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from kiosk.db.models import AuditEvent, DeskAlert, PrintJob
from kiosk.errors import PermissionDenied, Refused
from kiosk.i18n import _
from kiosk.money import format_fen
from plugins.billing import service
from plugins.billing.models import Bill, NoticeLog, Payment, PaymentOrder


def _oldest_bill(ctx, unit="3-1205"):
    return service.open_bills(ctx, unit)[0]


def _count(ctx, model, *where):
    with ctx.database().read() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_a_resident_pays_the_overdue_bill_by_qr_late_fee_included(people, bctx, gateway) -> None:
    me = people.resident(bctx, "3-1205")
    bill = _oldest_bill(bctx)
    assert bill.days_overdue == 29 and bill.late_fee_now_fen > 0
    order = service.create_payment_order(bctx, me, bill.id, "sim")
    assert order.amount_fen == bill.balance_fen + bill.late_fee_now_fen
    assert order.status == "pending" and order.qr_content.endswith(order.out_trade_no)

    headers, body = gateway.pay(order.out_trade_no)
    outcome = service.handle_notification(bctx, "sim", headers, body)

    assert outcome.verdict == "paid" and outcome.http_status == 200
    paid = service.get_bill(bctx, bill.id)
    assert paid.status == "paid" and paid.balance_fen == 0
    assert [ln.kind for ln in paid.lines][-1] == "late_fee"
    assert paid.lines[-1].amount_fen == bill.late_fee_now_fen
    assert service.order_status(bctx, order.out_trade_no).receipt_no.startswith("SK")
    with bctx.database().read() as s:
        job = s.scalars(select(PrintJob).where(PrintJob.kind == "billing-payment")).one()
        assert any(b.get("type") == "qr" for b in job.document["blocks"])
    # 收费项目: the bill's charges itemised, property fee first; the late fee in its own row.
    items = receipt_items(job.document)
    charged = [ln for ln in service.in_bill_order(paid.lines) if ln.kind != "late_fee"]
    assert [amount for _title, amount in items] == [format_fen(ln.amount_fen) for ln in charged]
    assert items[0][0] == service.line_title("property_fee")
    rows = {b.get("key"): b.get("value") for b in job.document["blocks"] if b["type"] == "row"}
    assert rows[_("Late fee")] == format_fen(bill.late_fee_now_fen)
    assert "property_fee" not in str(job.document) and "late_fee" not in str(job.document)


def receipt_items(document: dict) -> list[tuple[str, str]]:
    """The rows of a receipt's item tables (收费项目), in print order."""
    return [(r[0], r[1]) for b in document["blocks"] if b["type"] == "table" for r in b["rows"]]


def test_the_same_notification_twice_pays_once(people, bctx, gateway) -> None:
    me = people.resident(bctx, "3-1205")
    order = service.create_payment_order(bctx, me, _oldest_bill(bctx).id, "sim")
    headers, body = gateway.pay(order.out_trade_no)
    assert service.handle_notification(bctx, "sim", headers, body).verdict == "paid"
    bctx.clock.advance(minutes=1)
    late = gateway.notification(order.out_trade_no)
    assert service.handle_notification(bctx, "sim", *late).verdict == "duplicate"
    assert service.handle_notification(bctx, "sim", headers, body).verdict == "duplicate"
    assert _count(bctx, Payment, Payment.order_id.is_not(None)) == 1


def test_a_forged_notification_is_rejected_and_audited(people, bctx, gateway) -> None:
    me = people.resident(bctx, "3-1205")
    order = service.create_payment_order(bctx, me, _oldest_bill(bctx).id, "sim")
    gateway.pay(order.out_trade_no)
    headers, body = gateway.notification(order.out_trade_no)
    forged = body.replace(b'"amount_fen":', b'"amount_fen":1,"x":')
    outcome = service.handle_notification(bctx, "sim", headers, forged)
    assert outcome.verdict == "rejected" and outcome.http_status >= 400
    assert service.order_status(bctx, order.out_trade_no).status == "pending"
    assert _count(bctx, AuditEvent, AuditEvent.action == "billing.notice.rejected") == 1
    assert _count(bctx, NoticeLog, NoticeLog.verdict == "rejected") == 1


def test_a_replayed_notification_outside_the_window_is_rejected(people, bctx, gateway) -> None:
    me = people.resident(bctx, "3-1205")
    order = service.create_payment_order(bctx, me, _oldest_bill(bctx).id, "sim")
    headers, body = gateway.pay(order.out_trade_no)
    bctx.clock.advance(minutes=10)
    outcome = service.handle_notification(bctx, "sim", headers, body)
    assert outcome.verdict == "rejected" and "window" in outcome.detail
    assert service.order_status(bctx, order.out_trade_no).status == "pending"


def test_a_differing_amount_is_flagged_not_applied(people, bctx, gateway) -> None:
    me = people.resident(bctx, "3-1205")
    bill = _oldest_bill(bctx)
    order = service.create_payment_order(bctx, me, bill.id, "sim")
    headers, body = gateway.pay(order.out_trade_no, amount_fen=order.amount_fen - 100)
    outcome = service.handle_notification(bctx, "sim", headers, body)
    assert outcome.verdict == "flagged"
    assert service.get_bill(bctx, bill.id).balance_fen == bill.balance_fen
    assert service.order_status(bctx, order.out_trade_no).flag == "amount_mismatch"
    assert _count(bctx, DeskAlert, DeskAlert.kind == "billing.payment_flagged") == 1


def test_a_bill_cannot_be_paid_twice_through_two_kiosks(people, bctx, gateway) -> None:
    me = people.resident(bctx, "3-1205")
    bill = _oldest_bill(bctx)
    first = service.create_payment_order(bctx, me, bill.id, "sim")
    second = service.create_payment_order(bctx, me, bill.id, "sim")
    assert (
        service.handle_notification(bctx, "sim", *gateway.pay(first.out_trade_no)).verdict == "paid"
    )
    closed = service.order_status(bctx, second.out_trade_no)
    assert (closed.status, service.order_status(bctx, second.out_trade_no).expires_at) == (
        "closed",
        second.expires_at,
    )
    # The gateway was told too, so the payer cannot pay the second QR any more...
    assert gateway.orders[second.out_trade_no].status == "closed"
    # ...and if money arrives for it anyway, it is flagged for a refund, never applied.
    gateway.orders[second.out_trade_no].status = "pending"
    outcome = service.handle_notification(bctx, "sim", *gateway.pay(second.out_trade_no))
    assert outcome.verdict == "flagged"
    assert service.order_status(bctx, second.out_trade_no).flag == "paid_after_close"
    assert _count(bctx, Payment, Payment.bill_id == bill.id) == 1
    with pytest.raises(Refused):
        service.create_payment_order(bctx, me, bill.id, "sim")


def test_an_order_expires_after_two_hours_and_is_closed(people, bctx, gateway) -> None:
    me = people.resident(bctx, "3-1205")
    order = service.create_payment_order(bctx, me, _oldest_bill(bctx).id, "sim")
    bctx.clock.advance(minutes=119)
    assert service.expire_orders(bctx) == []
    bctx.clock.advance(minutes=2)
    assert service.expire_orders(bctx) == [order.out_trade_no]
    view = service.order_status(bctx, order.out_trade_no)
    assert view.status == "closed"
    assert gateway.orders[order.out_trade_no].status == "closed"


def test_an_order_paid_at_the_last_minute_is_applied_not_expired(people, bctx, gateway) -> None:
    me = people.resident(bctx, "3-1205")
    order = service.create_payment_order(bctx, me, _oldest_bill(bctx).id, "sim")
    gateway.pay(order.out_trade_no)  # the notification is lost on the way
    bctx.clock.advance(hours=3)
    assert service.expire_orders(bctx) == []
    assert service.order_status(bctx, order.out_trade_no).status == "paid"


def test_polling_picks_up_a_payment_whose_notification_never_came(people, bctx, gateway) -> None:
    me = people.resident(bctx, "3-1205")
    order = service.create_payment_order(bctx, me, _oldest_bill(bctx).id, "sim")
    assert service.poll_order(bctx, order.out_trade_no).status == "pending"
    gateway.pay(order.out_trade_no)
    assert service.poll_order(bctx, order.out_trade_no).status == "paid"


def test_a_resident_cannot_pay_another_units_bill(people, bctx) -> None:
    other = people.resident(bctx, "1-101")
    with pytest.raises(Refused):
        service.create_payment_order(bctx, other, _oldest_bill(bctx).id, "sim")


def test_the_cashier_takes_a_partial_cash_payment_then_the_rest_by_qr(
    people, bctx, gateway
) -> None:
    bill = _oldest_bill(bctx)
    payment = service.record_desk_payment(bctx, people.cashier, bill.id, 10000, "cash")
    after = service.get_bill(bctx, bill.id)
    assert payment.late_fee_fen == bill.late_fee_now_fen
    assert after.balance_fen == bill.balance_fen + bill.late_fee_now_fen - 10000
    assert after.late_fee_now_fen == 0  # charged up to today already
    order = service.create_payment_order(bctx, people.resident(bctx, "3-1205"), bill.id, "sim")
    assert order.amount_fen == after.balance_fen
    service.handle_notification(bctx, "sim", *gateway.pay(order.out_trade_no))
    assert service.get_bill(bctx, bill.id).status == "paid"


def test_the_cashier_cannot_take_more_than_is_owed_and_a_butler_cannot_take_money(
    people, bctx
) -> None:
    bill = _oldest_bill(bctx)
    with pytest.raises(Refused):
        service.record_desk_payment(bctx, people.cashier, bill.id, 10**9, "cash")
    with pytest.raises(PermissionDenied):
        service.record_desk_payment(bctx, people.butler, bill.id, 100, "cash")


def test_a_cash_payment_closes_a_pending_qr_order_and_its_late_payment_is_flagged(
    people, bctx, gateway
) -> None:
    bill = _oldest_bill(bctx)
    order = service.create_payment_order(bctx, people.resident(bctx, "3-1205"), bill.id, "sim")
    service.record_desk_payment(bctx, people.cashier, bill.id, bill.due_now_fen, "card")
    assert service.order_status(bctx, order.out_trade_no).status == "closed"
    assert gateway.orders[order.out_trade_no].status == "closed"  # the stale QR is dead too
    gateway.orders[order.out_trade_no].status = "pending"
    outcome = service.handle_notification(bctx, "sim", *gateway.pay(order.out_trade_no))
    assert (outcome.verdict, outcome.detail) == ("flagged", "paid_after_close")


def test_refunds_need_the_manager_and_reopen_the_bill(people, bctx, gateway) -> None:
    bill = _oldest_bill(bctx)
    order = service.create_payment_order(bctx, people.resident(bctx, "3-1205"), bill.id, "sim")
    service.handle_notification(bctx, "sim", *gateway.pay(order.out_trade_no))
    with bctx.database().read() as s:
        payment = s.scalars(select(Payment).where(Payment.bill_id == bill.id)).one()
    with pytest.raises(PermissionDenied):
        service.refund_payment(bctx, people.cashier, payment.id, 1000, "overcharged")
    refund = service.refund_payment(bctx, people.manager, payment.id, 1000, "overcharged")
    assert refund.status == "done"
    assert gateway.orders[order.out_trade_no].refunds[0][1] == 1000
    assert service.get_bill(bctx, bill.id).balance_fen == 1000
    with pytest.raises(Refused):
        service.refund_payment(bctx, people.manager, payment.id, payment.amount_fen, "too much")


def test_a_credit_note_reduces_the_bill_but_never_below_zero(people, bctx) -> None:
    bill = _oldest_bill(bctx)
    with pytest.raises(PermissionDenied):
        service.issue_credit_note(bctx, people.cashier, bill.id, 3500, "umbrella found")
    service.issue_credit_note(bctx, people.manager, bill.id, 3500, "umbrella found")
    assert service.get_bill(bctx, bill.id).balance_fen == bill.balance_fen - 3500
    with pytest.raises(Refused):
        service.issue_credit_note(bctx, people.manager, bill.id, bill.balance_fen, "too much")


def test_other_plugins_add_charges_once_per_source(people, bctx) -> None:
    first = service.add_charge(
        bctx, people.butler, "2-803", "umbrella", 3500, "雨伞赔偿", source_ref="umbrellas:loan:7"
    )
    again = service.add_charge(
        bctx, people.butler, "2-803", "umbrella", 3500, "雨伞赔偿", source_ref="umbrellas:loan:7"
    )
    assert first == again
    bills = service.open_bills(bctx, "2-803")
    assert [b.balance_fen for b in bills] == [3500]
    with pytest.raises(Refused):
        service.add_charge(bctx, people.resident(bctx, "1-101"), "2-803", "repair", 100, "x")
    with pytest.raises(Refused):
        service.add_charge(bctx, people.butler, "2-803", "late_fee", 100, "x")


def test_a_deposit_has_its_own_receipt_and_is_refunded_once(people, bctx) -> None:
    dep = service.take_deposit(bctx, people.cashier, "2-803", "parking_card", 10000, "停车卡押金")
    assert dep.receipt_no.startswith("SJ")
    with pytest.raises(PermissionDenied):
        service.refund_deposit(bctx, people.cashier, dep.receipt_no, "card returned")
    refunded = service.refund_deposit(bctx, people.manager, dep.receipt_no, "card returned")
    assert refunded.status == "refunded"
    with pytest.raises(Refused):
        service.refund_deposit(bctx, people.manager, dep.receipt_no, "again")
    with bctx.database().read() as s:
        kinds = s.scalars(select(PrintJob.kind).where(PrintJob.kind.like("billing-deposit%"))).all()
        docs = s.scalars(select(PrintJob.document).where(PrintJob.kind == "billing-deposit")).all()
    assert sorted(kinds).count("billing-deposit-refund") == 1
    assert any("收据" in json.dumps(d, ensure_ascii=False) for d in docs)


CSV_OK = """unit,kind,description,amount
1-102,property_fee,物业费 2026-12,
1-102,utilities,水费,45.30
1-103,parking_rent,车位租金,300
"""


def test_a_months_bills_are_imported_from_csv_once(people, bctx) -> None:
    result = service.import_bills_csv(bctx, people.cashier, CSV_OK, "2026-12")
    assert (result.bills, result.lines) == (2, 3)
    assert [b.period for b in service.open_bills(bctx, "1-103")] == ["2026-12"]
    with pytest.raises(Refused):
        service.import_bills_csv(bctx, people.cashier, CSV_OK, "2026-12")


def test_a_bad_csv_row_is_refused_by_line_and_nothing_is_imported(people, bctx) -> None:
    bad = CSV_OK + "9-999,utilities,水费,1\n"
    with pytest.raises(Refused) as refused:
        service.import_bills_csv(bctx, people.cashier, bad, "2027-01")
    assert "Line 5" in str(refused.value)
    assert _count(bctx, Bill, Bill.period == "2027-01") == 0
    with pytest.raises(Refused) as refused:
        service.import_bills_csv(bctx, people.cashier, CSV_OK.replace("45.30", "4x"), "2027-01")
    assert "Line 3" in str(refused.value)


def test_every_pending_order_is_accounted_for(people, bctx, gateway) -> None:
    me = people.resident(bctx, "3-1205")
    order = service.create_payment_order(bctx, me, _oldest_bill(bctx).id, "sim")
    with bctx.database().read() as s:
        assert s.scalars(select(PaymentOrder.status)).all() == ["pending"]
    assert order.expires_at == bctx.clock.now() + service.ORDER_LIFETIME


def test_money_that_could_not_be_applied_is_refunded_once_by_the_manager(
    people, bctx, gateway
) -> None:
    bill = _oldest_bill(bctx)
    order = service.create_payment_order(bctx, people.resident(bctx, "3-1205"), bill.id, "sim")
    service.handle_notification(bctx, "sim", *gateway.pay(order.out_trade_no, amount_fen=500))
    assert [f.out_trade_no for f in service.flagged_orders(bctx)] == [order.out_trade_no]
    with pytest.raises(PermissionDenied):
        service.refund_flagged_order(bctx, people.cashier, order.out_trade_no, "wrong amount")
    assert (
        service.refund_flagged_order(bctx, people.manager, order.out_trade_no, "wrong amount")
        == "done"
    )
    assert gateway.orders[order.out_trade_no].refunds[0][1] == 500
    assert service.flagged_orders(bctx) == []
    with pytest.raises(Refused):
        service.refund_flagged_order(bctx, people.manager, order.out_trade_no, "again")


# -- the CSV parser: whatever the file holds, all rows or none --------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_rows = st.lists(
    st.tuples(
        st.sampled_from(["1-101", "2-803", "3-1205", "9-999", ""]),
        st.sampled_from(["utilities", "repair", "property_fee", "late_fee", "rent"]),
        st.text(alphabet='水电费 abc,"', max_size=8),
        st.sampled_from(["", "1", "45.30", "0", "-3", "x", "1,000.5", "0.001"]),
    ),
    min_size=1,
    max_size=6,
)
_period = iter(f"{y}-{m:02d}" for y in range(2030, 2100) for m in range(1, 13))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=_rows)
def test_a_csv_imports_every_row_or_none(people, bctx, rows) -> None:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["unit", "kind", "description", "amount"])
    writer.writerows(rows)
    period = next(_period)
    try:
        result = service.import_bills_csv(bctx, people.cashier, out.getvalue(), period)
    except Refused:
        assert _count(bctx, Bill, Bill.period == period) == 0
    else:
        assert result.lines == len(rows)
        assert _count(bctx, Bill, Bill.period == period) == result.bills


def test_a_refund_the_provider_does_not_take_changes_nothing(people, bctx, gateway) -> None:
    from plugins.billing.providers import SimGateway

    bill = _oldest_bill(bctx)
    order = service.create_payment_order(bctx, people.resident(bctx, "3-1205"), bill.id, "sim")
    service.handle_notification(bctx, "sim", *gateway.pay(order.out_trade_no))
    with bctx.database().read() as s:
        payment = s.scalars(select(Payment).where(Payment.bill_id == bill.id)).one()
    down = gateway.provider_config("sim") | {"base_url": "http://127.0.0.1:9", "timeout": 0.5}
    service.use_providers(bctx, {"sim": SimGateway(down, bctx.clock)})
    with pytest.raises(Refused, match="nothing was refunded"):
        service.refund_payment(bctx, people.manager, payment.id, 1000, "overcharged")
    after = service.get_bill(bctx, bill.id)
    assert (after.status, after.balance_fen) == ("paid", 0)
    with bctx.database().read() as s:
        assert s.get(Payment, payment.id).refunded_fen == 0
