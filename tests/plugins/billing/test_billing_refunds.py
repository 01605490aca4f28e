"""Refunds whose answer is lost: the provider may have refunded, so the refund keeps its number,
is asked of the provider, and is only ever sent again under that number (on both databases)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from kiosk.errors import Refused
from plugins.billing import cli as billing_cli
from plugins.billing import service
from plugins.billing.models import Bill, Payment, PaymentOrder, Refund
from plugins.billing.providers import BUILTIN
from plugins.billing.service import refunds

LATER_MINUTES = service.REFUND_RESOLVE_MINUTES + 1


class Killed(BaseException):
    """The process dying (not an exception any handler catches)."""


def _impatient(bctx, gateway, timeout: float = 0.3) -> None:
    """Providers that give up on an answer after ``timeout`` seconds."""
    service.use_providers(
        bctx,
        {
            cls.name: cls(gateway.provider_config(cls.name) | {"timeout": timeout}, bctx.clock)
            for cls in BUILTIN
        },
    )


def _paid(bctx, gateway, people, provider: str = "sim"):
    bill = service.open_bills(bctx, "3-1205")[0]
    order = service.create_payment_order(bctx, people.resident(bctx, "3-1205"), bill.id, provider)
    assert service.handle_notification(bctx, provider, *gateway.pay(order.out_trade_no)).verdict
    with bctx.database().read() as s:
        payment = s.scalars(select(Payment).where(Payment.bill_id == bill.id)).one()
    return bill, order, payment


def _ledger(bctx, payment_id: int) -> tuple[list[tuple[str, str, int]], int, int]:
    """(refunds as (number, status, fen), the payment's refunded fen, the bill's balance)."""
    with bctx.database().read() as s:
        rows = s.execute(
            select(Refund.refund_no, Refund.status, Refund.amount_fen)
            .where(Refund.payment_id == payment_id)
            .order_by(Refund.id)
        ).all()
        payment = s.get(Payment, payment_id)
        bill = s.get(Bill, payment.bill_id)
        return [tuple(r) for r in rows], payment.refunded_fen, bill.balance_fen


@pytest.mark.parametrize("name", ["sim", "wechat-native", "alipay-precreate"])
def test_a_refund_whose_answer_times_out_after_the_provider_refunded_is_recorded_once(
    people, bctx, gateway, name
) -> None:
    _bill, order, payment = _paid(bctx, gateway, people, name)
    _impatient(bctx, gateway)
    gateway.stall("refund")  # carried out, then the answer never comes
    refund = service.refund_payment(bctx, people.manager, payment.id, 1000, "overcharged")
    assert refund.status == "done"  # the provider, asked, says it refunded
    assert gateway.refunded(order.out_trade_no) == [(refund.refund_no, 1000)]
    assert _ledger(bctx, payment.id) == ([(refund.refund_no, "done", 1000)], 1000, 1000)
    gateway.release()


def test_an_unconfirmed_refund_stays_requested_and_the_retry_refunds_once(
    people, bctx, gateway
) -> None:
    _bill, order, payment = _paid(bctx, gateway, people)
    _impatient(bctx, gateway)
    gateway.stall("refund")
    gateway.stall("refund_query")  # and the provider cannot be asked either, for now
    refund = service.refund_payment(bctx, people.manager, payment.id, 1000, "overcharged")
    assert refund.status == "requested"
    assert gateway.refunded(order.out_trade_no) == [(refund.refund_no, 1000)]
    # Never recorded failed (the money did go), never undone: the bill owes the 10 yuan.
    assert _ledger(bctx, payment.id) == ([(refund.refund_no, "requested", 1000)], 1000, 1000)

    # The manager tries again: no second refund under a new number.
    with pytest.raises(Refused) as refused:
        service.refund_payment(bctx, people.manager, payment.id, 1000, "overcharged")
    assert refused.value.code == "billing.refund_unconfirmed"
    assert service.resolve_refunds(bctx) == []  # too recent: may still be on its way

    bctx.clock.advance(minutes=LATER_MINUTES)
    settled = service.resolve_refunds(bctx)
    assert [(r.refund_no, r.before, r.after) for r in settled] == [
        (refund.refund_no, "requested", "done")
    ]
    assert gateway.refunded(order.out_trade_no) == [(refund.refund_no, 1000)]
    assert _ledger(bctx, payment.id) == ([(refund.refund_no, "done", 1000)], 1000, 1000)
    assert service.resolve_refunds(bctx) == []
    gateway.release()


def test_a_refund_killed_after_the_provider_call_is_settled_by_resolve(
    people, bctx, gateway, monkeypatch
) -> None:
    _bill, order, payment = _paid(bctx, gateway, people)
    real = refunds._record_refund

    def killed(*args, **kwargs):  # the process dies between the answer and the commit
        raise Killed

    monkeypatch.setattr(refunds, "_record_refund", killed)
    with pytest.raises(Killed):
        service.refund_payment(bctx, people.manager, payment.id, 1000, "overcharged")
    monkeypatch.setattr(refunds, "_record_refund", real)
    [(number, status, fen)], refunded, balance = _ledger(bctx, payment.id)
    assert (status, fen, refunded, balance) == ("requested", 1000, 1000, 1000)
    assert gateway.refunded(order.out_trade_no) == [(number, 1000)]

    bctx.clock.advance(minutes=LATER_MINUTES)
    assert [r.after for r in service.resolve_refunds(bctx)] == ["done"]
    assert gateway.refunded(order.out_trade_no) == [(number, 1000)]
    assert _ledger(bctx, payment.id) == ([(number, "done", 1000)], 1000, 1000)


def test_a_refund_killed_before_the_provider_call_is_sent_once_under_its_number(
    people, bctx, gateway, monkeypatch
) -> None:
    _bill, order, payment = _paid(bctx, gateway, people)
    sim = service.provider(bctx, "sim")

    def killed(**kwargs):  # dies before the request leaves
        raise Killed

    monkeypatch.setattr(sim, "refund", killed)
    with pytest.raises(Killed):
        service.refund_payment(bctx, people.manager, payment.id, 1000, "overcharged")
    monkeypatch.undo()
    [(number, status, _fen)], _refunded, _balance = _ledger(bctx, payment.id)
    assert status == "requested" and gateway.refunded(order.out_trade_no) == []

    bctx.clock.advance(minutes=LATER_MINUTES)
    assert [r.after for r in service.resolve_refunds(bctx)] == ["done"]
    assert gateway.refunded(order.out_trade_no) == [(number, 1000)]  # its own number, once
    assert service.resolve_refunds(bctx) == []
    assert gateway.refunded(order.out_trade_no) == [(number, 1000)]


def test_the_provider_refunds_a_number_once_however_often_it_is_asked(gateway) -> None:
    from kiosk.clock import FixedClock
    from plugins.billing.providers import WeChatNative

    clock = FixedClock()
    gateway.reset()
    gateway.clock = clock
    prov = WeChatNative(gateway.provider_config("wechat-native"), clock)
    prov.create_order(
        out_trade_no="KOWX0900",
        amount_fen=7000,
        description="d",
        bill_number="B1",
        expires_at=clock.now() + dt.timedelta(hours=2),
    )
    gateway.pay("KOWX0900")
    assert prov.refund_state("KOWX0900", "TK900") == "absent"
    for _ in range(3):
        prov.refund(
            out_trade_no="KOWX0900", refund_no="TK900", amount_fen=1000, total_fen=7000, reason="r"
        )
    assert gateway.refunded("KOWX0900") == [("TK900", 1000)]
    assert prov.refund_state("KOWX0900", "TK900") == "done"


def test_a_refund_that_never_reached_the_provider_is_undone_and_resolve_leaves_it(
    people, bctx, gateway
) -> None:
    from plugins.billing.providers import SimGateway

    bill, _order, payment = _paid(bctx, gateway, people)
    down = gateway.provider_config("sim") | {"base_url": "http://127.0.0.1:9", "timeout": 0.5}
    service.use_providers(bctx, {"sim": SimGateway(down, bctx.clock)})
    with pytest.raises(Refused, match="nothing was refunded"):
        service.refund_payment(bctx, people.manager, payment.id, 1000, "overcharged")
    [(_no, status, _fen)], refunded, balance = _ledger(bctx, payment.id)
    assert (status, refunded, balance) == ("failed", 0, 0)
    assert service.get_bill(bctx, bill.id).status == "paid"
    bctx.clock.advance(minutes=LATER_MINUTES)
    assert service.resolve_refunds(bctx) == []


def test_a_flagged_orders_refund_whose_answer_is_lost_is_resolved_once(
    people, bctx, gateway
) -> None:
    bill = service.open_bills(bctx, "3-1205")[0]
    order = service.create_payment_order(bctx, people.resident(bctx, "3-1205"), bill.id, "sim")
    service.handle_notification(bctx, "sim", *gateway.pay(order.out_trade_no, amount_fen=500))
    _impatient(bctx, gateway)
    gateway.stall("refund")
    gateway.stall("refund_query")
    status = service.refund_flagged_order(bctx, people.manager, order.out_trade_no, "wrong")
    assert status == "requested" and service.flagged_orders(bctx) == []
    with pytest.raises(Refused):
        service.refund_flagged_order(bctx, people.manager, order.out_trade_no, "again")
    bctx.clock.advance(minutes=LATER_MINUTES)
    assert [r.after for r in service.resolve_refunds(bctx)] == ["done"]
    assert [fen for _no, fen in gateway.refunded(order.out_trade_no)] == [500]
    gateway.release()


def test_kiosk_billing_refunds_resolve_settles_stuck_refunds(
    people, bctx, gateway, monkeypatch
) -> None:
    _bill, order, payment = _paid(bctx, gateway, people)
    _impatient(bctx, gateway)
    gateway.stall("refund")
    gateway.stall("refund_query")
    refund = service.refund_payment(bctx, people.manager, payment.id, 1000, "overcharged")
    assert refund.status == "requested"
    monkeypatch.setattr(billing_cli, "context", lambda config: bctx)
    out = CliRunner().invoke(billing_cli.billing_app, ["refunds", "resolve", "--json"])
    assert out.exit_code == 0 and json.loads(out.output) == []  # not old enough yet
    gateway.stall("refund_query")  # the provider still cannot say: exit 1, still requested
    out = CliRunner().invoke(
        billing_cli.billing_app, ["refunds", "resolve", "--older-than", "0", "--json"]
    )
    assert out.exit_code == 1 and json.loads(out.output)[0]["after"] == "requested"
    out = CliRunner().invoke(billing_cli.billing_app, ["refunds", "resolve", "--older-than", "0"])
    assert out.exit_code == 0, out.output
    assert f"{refund.refund_no} {order.out_trade_no}" in out.output and "-> done" in out.output
    assert gateway.refunded(order.out_trade_no) == [(refund.refund_no, 1000)]
    with bctx.database().read() as s:
        assert s.scalar(select(func.count()).select_from(Refund)) == 1
        assert s.scalar(select(PaymentOrder.status)) == "paid"
    gateway.release()


def test_the_kiosk_settles_refunds_left_requested_when_it_starts(
    people, bctx, gateway, monkeypatch
) -> None:
    import plugins.billing as billing_plugin

    _bill, order, payment = _paid(bctx, gateway, people)

    def killed(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(refunds, "_record_refund", killed)
    with pytest.raises(Killed):
        service.refund_payment(bctx, people.manager, payment.id, 1000, "overcharged")
    monkeypatch.undo()
    bctx.clock.advance(minutes=LATER_MINUTES)
    billing_plugin.kiosk_startup(bctx)
    [(number, status, _fen)], refunded, _balance = _ledger(bctx, payment.id)
    assert (status, refunded) == ("done", 1000)
    assert gateway.refunded(order.out_trade_no) == [(number, 1000)]
