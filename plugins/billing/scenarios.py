"""``kiosk simulate`` scenarios for bill payment, driving the real screens headless.

Each receives the runner's ScenarioRun (``run.app``, ``run.pilot``, ``run.ctx``, ``run.tap``,
``run.click``, ``run.press``, ``run.expect_text``, ``run.note``). The payer is the simulated
gateway (:func:`plugins.billing.gateway.shared_gateway`); its notification goes through
``service.handle_notification`` exactly as a provider's would.
"""

from __future__ import annotations

from typing import Any

from kiosk.hookspecs import Scenario
from kiosk.i18n import _
from kiosk.ui.scenarios import demo_resident, screen_shown

RESIDENT_CARD = "3C00A1B2C3"  # 王小明, owner of 3-1205 (demo estate)


async def _open_qr(run: Any) -> Any:
    """Tap the card, open the bills, pay the oldest one: returns the QR screen."""
    from plugins.billing import service
    from plugins.billing.screens import BillsScreen, PayQRScreen

    await run.tap(RESIDENT_CARD)
    actor = demo_resident(run)
    bills = service.open_bills(run.ctx, actor.unit_id)
    assert bills, "the demo unit 3-1205 has no open bills"
    run.note(f"3-1205 owes {len(bills)} bills; oldest {bills[0].number} +late fee")
    if hasattr(run.app, "open_tile"):  # the lobby shell: through the home-screen tile
        await run.app.open_tile("billing")
        await run.pilot.pause()
    if not isinstance(run.app.screen, BillsScreen):
        await run.app.push_screen(BillsScreen(run.ctx, actor))
    await run.pilot.pause()
    await run.click(f"#pay-{bills[0].id}")
    screen = await screen_shown(run, PayQRScreen, "the QR screen")
    run.note(f"QR shown for order {screen.order.out_trade_no} ({screen.order.amount_fen} fen)")
    return screen


def _gateway(run: Any) -> Any:
    from plugins.billing import service
    from plugins.billing.gateway import shared_gateway

    service.providers(run.ctx)  # the sim provider starts the shared gateway
    return shared_gateway(run.ctx.clock)


async def pay_qr(run: Any) -> None:
    """Card tap -> open bills -> QR -> the payer pays -> paid screen -> receipt queued."""
    from plugins.billing import service
    from plugins.billing.screens import PaidScreen

    screen = await _open_qr(run)
    headers, body = _gateway(run).pay(screen.order.out_trade_no)
    outcome = service.handle_notification(run.ctx, screen.order.provider, headers, body)
    run.note(f"notification: {outcome.verdict}")
    assert outcome.verdict == "paid"
    screen.check()
    await run.pilot.pause()
    assert isinstance(run.app.screen, PaidScreen)
    await run.expect_text(_("Paid. Thank you!"))
    run.note(f"receipt {run.app.screen.order.receipt_no}")


async def duplicate_notice(run: Any) -> None:
    """The provider delivers the same notification three times: one payment, two duplicates."""
    from sqlalchemy import func, select

    from plugins.billing import service
    from plugins.billing.models import Payment

    screen = await _open_qr(run)
    gw = _gateway(run)
    headers, body = gw.pay(screen.order.out_trade_no)
    verdicts = [
        service.handle_notification(run.ctx, screen.order.provider, headers, body).verdict
        for _ in range(3)
    ]
    run.note(f"verdicts: {verdicts}")
    assert verdicts == ["paid", "duplicate", "duplicate"]
    with run.ctx.database().read() as session:
        n = session.scalar(
            select(func.count())
            .select_from(Payment)
            .where(Payment.order_id.is_not(None), Payment.provider == screen.order.provider)
        )
    assert n == 1, f"{n} payments for one order"
    screen.check()
    await run.pilot.pause()
    await run.expect_text(_("Paid. Thank you!"))


async def expired_order(run: Any) -> None:
    """Nobody pays for two hours: the order is closed and the screen says nothing was taken;
    a payment arriving afterwards is flagged for the desk, never applied."""
    from plugins.billing import service

    screen = await _open_qr(run)
    no = screen.order.out_trade_no
    advance = getattr(run.ctx.clock, "advance", None)
    if advance is not None:
        advance(hours=2, seconds=1)
    else:  # a wall clock: move the order's expiry instead of waiting two hours
        import datetime as dt

        from sqlalchemy import update

        from plugins.billing.models import PaymentOrder

        with run.ctx.database().write() as session:
            session.execute(
                update(PaymentOrder)
                .where(PaymentOrder.out_trade_no == no)
                .values(expires_at=run.ctx.clock.now() - dt.timedelta(seconds=1))
            )
        screen.order = service.order_status(run.ctx, no)
    screen.check()
    await run.pilot.pause()
    await run.expect_text(_("This payment code has expired."))
    assert service.order_status(run.ctx, no).status == "closed"
    gw = _gateway(run)
    gw.orders[no].status = "pending"  # a payer's app that still had the old code open
    outcome = service.handle_notification(run.ctx, screen.order.provider, *gw.pay(no))
    run.note(f"late payment: {outcome.verdict} ({outcome.detail})")
    assert outcome.verdict == "flagged"


def scenarios() -> list[Scenario]:
    return [
        Scenario("billing-pay-qr", "Pay the oldest bill by QR at the kiosk", pay_qr),
        Scenario(
            "billing-duplicate-notice",
            "The same payment notification three times pays once",
            duplicate_notice,
        ),
        Scenario(
            "billing-expired-order",
            "An unpaid QR expires after 2 h; a late payment is flagged",
            expired_order,
        ),
    ]
