"""A payment order for a chosen set of charges (a parking renewal alone, not the whole month's
bill): exactly their amount, each charge paid once, the rest of the bill still owed, and the
orders it overlaps closed (on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kiosk import charges
from kiosk.errors import Refused
from plugins.billing import api, service
from plugins.billing.models import BillLine, Payment, PaymentOrder
from tests.plugins.billing.test_billing_payments import receipt_items


def _rent(bctx, people, ref="parking:period:test", amount=10000) -> None:
    """Rent for one month on 3-1205's current bill (which already holds its property fee)."""
    me = people.resident(bctx, "3-1205")
    with bctx.database().write() as session:
        charges.charge(bctx, session, me, me.unit_id, "parking_rent", amount, ref, "parking x1")


def _notify(bctx, gateway, order) -> str:
    """The payer pays ``order`` at its provider; the verdict on its notification."""
    headers, body = gateway.pay(order.out_trade_no)
    return service.handle_notification(bctx, order.provider, headers, body).verdict


def _current_bill(bctx):
    return service.open_bills(bctx, "3-1205")[-1]


def test_a_renewal_is_paid_alone_for_exactly_its_amount(people, bctx, gateway) -> None:
    _rent(bctx, people)
    before = _current_bill(bctx)
    assert before.balance_fen > 10000  # the month's bill holds more than the renewal
    me = people.resident(bctx, "3-1205")
    order = api.pay_charges(bctx, me, ["parking:period:test"])
    assert order.amount_fen == 10000 and order.late_fee_fen == 0
    with bctx.database().read() as s:
        assert api.paid_references(s, ["parking:period:test"]) == set()
        assert api.open_fen(s, ["parking:period:test"]) == 10000

    headers, body = gateway.pay(order.out_trade_no)
    assert service.handle_notification(bctx, order.provider, headers, body).verdict == "paid"
    assert service.handle_notification(bctx, order.provider, headers, body).verdict == "duplicate"

    after = service.get_bill(bctx, before.id)
    assert after.status == "open" and after.balance_fen == before.balance_fen - 10000
    with bctx.database().read() as s:
        assert api.paid_references(s, ["parking:period:test"]) == {"parking:period:test"}
        assert api.open_fen(s, ["parking:period:test"]) == 0
        assert s.scalars(select(Payment.amount_fen).where(Payment.bill_id == before.id)).all() == [
            10000
        ]
    # The receipt itemises the renewal alone, not the property fee still owed on the bill.
    receipt = service.receipt_job(bctx, service.order_status(bctx, order.out_trade_no).receipt_no)
    assert receipt is not None
    assert receipt_items(receipt[1]) == [(service.line_title("parking_rent"), "￥100.00")]
    # Paid once: another order for the same charge is refused.
    with pytest.raises(Refused) as err:
        api.pay_charges(bctx, me, ["parking:period:test"])
    assert err.value.code == "billing.settled"


def test_two_kiosks_ordering_the_same_renewal_take_the_money_once(people, bctx, gateway) -> None:
    _rent(bctx, people)
    me = people.resident(bctx, "3-1205")
    first = api.pay_charges(bctx, me, ["parking:period:test"])
    second = api.pay_charges(bctx, me, ["parking:period:test"])
    whole = service.create_payment_order(bctx, me, _current_bill(bctx).id, first.provider)
    assert _notify(bctx, gateway, first) == ("paid")
    # The other orders that counted on the rent can no longer be paid: closed at once.
    assert service.order_status(bctx, second.out_trade_no).status == "closed"
    assert service.order_status(bctx, whole.out_trade_no).status == "closed"
    # Money arriving for one anyway is flagged for a refund, never applied twice.
    verdict = _notify(bctx, gateway, second)
    assert verdict == "flagged"
    with bctx.database().read() as s:
        line = s.scalars(select(BillLine).where(BillLine.source_ref == "parking:period:test")).one()
        assert line.paid_fen == 10000
        paid = s.scalars(
            select(PaymentOrder.out_trade_no).where(PaymentOrder.status == "paid")
        ).all()
    assert paid == [first.out_trade_no]


def test_the_whole_bill_still_pays_after_a_renewal_paid_alone(people, bctx, gateway) -> None:
    _rent(bctx, people)
    me = people.resident(bctx, "3-1205")
    alone = api.pay_charges(bctx, me, ["parking:period:test"])
    assert _notify(bctx, gateway, alone) == ("paid")
    bill = _current_bill(bctx)
    order = service.create_payment_order(bctx, me, bill.id, alone.provider)
    assert order.amount_fen == bill.balance_fen + bill.late_fee_now_fen
    assert _notify(bctx, gateway, order) == ("paid")
    assert service.get_bill(bctx, bill.id).status == "paid"


def test_an_unpaid_renewal_withdrawn_leaves_the_rest_of_the_bill(people, bctx) -> None:
    _rent(bctx, people)
    before = _current_bill(bctx)
    assert api.withdraw_charge(bctx, people.manager, "parking:period:test", "cancelled")
    assert service.get_bill(bctx, before.id).balance_fen == before.balance_fen - 10000
    assert not api.withdraw_charge(bctx, people.manager, "parking:period:unknown", "cancelled")
