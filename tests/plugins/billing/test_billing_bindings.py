"""What a provider's message is evidence of: a WeChat notice in another currency pays nothing,
and a query answer counts only for the order (and amount) it was asked about."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from plugins.billing import service
from plugins.billing.models import Payment

PROVIDERS = ["sim", "wechat-native", "alipay-precreate"]


def _payments(ctx) -> int:
    with ctx.database().read() as s:
        return s.scalar(select(func.count()).select_from(Payment))


@pytest.mark.parametrize("currency", ["USD", "HKD", ""])
def test_a_wechat_notice_in_another_currency_does_not_mark_paid(
    people, bctx, gateway, currency
) -> None:
    bill = service.open_bills(bctx, "3-1205")[0]
    order = service.create_payment_order(
        bctx, people.resident(bctx, "3-1205"), bill.id, "wechat-native"
    )
    gateway.pay(order.out_trade_no)
    headers, body = gateway.notification(order.out_trade_no, currency=currency)
    outcome = service.handle_notification(bctx, "wechat-native", headers, body)
    assert (outcome.verdict, outcome.detail) == ("rejected", "the amount is not in CNY")
    assert service.order_status(bctx, order.out_trade_no).status == "pending"
    assert service.get_bill(bctx, bill.id).balance_fen == bill.balance_fen
    assert _payments(bctx) == 0
    # The same payment's notice in yuan is the one that pays.
    cny = gateway.notification(order.out_trade_no)
    assert service.handle_notification(bctx, "wechat-native", *cny).verdict == "paid"


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_query_answer_for_another_order_is_not_taken(people, bctx, gateway, name) -> None:
    me = people.resident(bctx, "3-1205")
    bill = service.open_bills(bctx, "3-1205")[0]
    paid = service.create_payment_order(bctx, me, bill.id, name)
    mine = service.create_payment_order(bctx, me, bill.id, name)
    gateway.pay(paid.out_trade_no)  # the payer pays the other QR; its notice is still on its way
    gateway.answer_as[mine.out_trade_no] = paid.out_trade_no  # a mixed-up or replayed answer
    assert service.poll_order(bctx, mine.out_trade_no).status == "pending"
    assert _payments(bctx) == 0
    del gateway.answer_as[mine.out_trade_no]
    assert service.poll_order(bctx, paid.out_trade_no).status == "paid"  # its own answer counts
    assert service.order_status(bctx, mine.out_trade_no).status == "closed"
    assert service.order_status(bctx, mine.out_trade_no).flag == ""


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_query_answer_for_another_amount_is_not_taken(people, bctx, gateway, name) -> None:
    bill = service.open_bills(bctx, "3-1205")[0]
    order = service.create_payment_order(bctx, people.resident(bctx, "3-1205"), bill.id, name)
    gateway.pay(order.out_trade_no)
    gateway.orders[order.out_trade_no].amount_fen = order.amount_fen - 1
    polled = service.poll_order(bctx, order.out_trade_no)
    assert (polled.status, polled.flag) == ("pending", "")
    assert _payments(bctx) == 0
    assert service.get_bill(bctx, bill.id).balance_fen == bill.balance_fen
    # Expiry does not take it either; the order closes unpaid and the desk can look.
    bctx.clock.advance(hours=3)
    assert service.expire_orders(bctx) == [order.out_trade_no]
    assert _payments(bctx) == 0


def test_a_sim_gateway_configured_without_its_secret_is_not_enabled() -> None:
    from kiosk.clock import FixedClock
    from plugins.billing.providers import BUILTIN, build_providers

    cfg = {"providers_enabled": ["sim"], "providers": {"sim": {"base_url": "http://127.0.0.1:1"}}}
    ready, problems = build_providers(list(BUILTIN), cfg, FixedClock())
    assert ready == {} and "without its secret" in problems["sim"]
