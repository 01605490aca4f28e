"""The kiosk flow, headless: identify -> open bills -> QR -> paid -> receipt; and expiry."""

from __future__ import annotations

import pytest
from textual.app import App

from kiosk.clock import FixedClock
from plugins.billing import service
from plugins.billing.providers import SimGateway
from plugins.billing.screens import IdentifyScreen, PaidScreen, PayQRScreen, QRBlock
from tests.qrscan import decode_halfblocks, seen_rows
from tests.screens import Harness, screen_text, wait_until


@pytest.fixture
def sctx(sqlite_demo_url, gateway):
    from tests.conftest import make_ctx

    ctx = make_ctx(sqlite_demo_url, clock=FixedClock())
    gateway.clock = ctx.clock
    gateway.reset()
    service.use_providers(ctx, {"sim": SimGateway(gateway.provider_config("sim"), ctx.clock)})
    from kiosk.i18n import language, set_language

    before = language()
    set_language("en")
    yield ctx
    set_language(before)
    ctx.database().dispose()


async def _to_qr(app, pilot) -> PayQRScreen:
    await pilot.click("#unit")
    await pilot.press(*"3-1205")
    await pilot.click("#pin")
    await pilot.press(*"1205", "enter")
    await wait_until(pilot, lambda: "B202610-3-1205" in screen_text(app))
    assert "B202610-3-1205" in screen_text(app) and "late fee" in screen_text(app)
    first = app.screen.query(".pay").first()
    await pilot.click(f"#{first.id}")
    await wait_until(pilot, lambda: isinstance(app.screen, PayQRScreen))
    assert isinstance(app.screen, PayQRScreen)
    return app.screen


async def _a_resident_identifies_chooses_a_bill_and_sees_paid_when_the_notice_arrives(
    sctx, gateway
) -> None:
    app = Harness(sctx, IdentifyScreen(sctx))
    async with app.run_test(size=(120, 40)) as pilot:
        qr_screen = await _to_qr(app, pilot)
        rows = seen_rows(qr_screen.query_one(QRBlock).render())
        assert rows and set("".join(rows)) <= set(" ▀▄█")
        assert decode_halfblocks(rows) == [qr_screen.order.qr_content]
        assert "Valid for 120:00" in screen_text(app)
        order = qr_screen.order
        outcome = service.handle_notification(sctx, "sim", *gateway.pay(order.out_trade_no))
        assert outcome.verdict == "paid"
        qr_screen.check()
        await pilot.pause()
        assert isinstance(app.screen, PaidScreen)
        assert "Paid. Thank you!" in screen_text(app)
        receipt_rows = seen_rows(app.screen.query_one(QRBlock).render())
        assert decode_halfblocks(receipt_rows) == [
            service.receipt_url(sctx, app.screen.order.receipt_no)
        ]
        assert app.screen.order.receipt_no in screen_text(app)


async def _a_wrong_pin_is_refused_on_the_screen(sctx) -> None:
    app = Harness(sctx, IdentifyScreen(sctx))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.click("#unit")
        await pilot.press(*"3-1205")
        await pilot.click("#pin")
        await pilot.press(*"0000", "enter")
        await wait_until(pilot, lambda: "Wrong PIN" in screen_text(app))
        assert isinstance(app.screen, IdentifyScreen)
        assert "Wrong PIN" in screen_text(app)


async def _the_qr_expires_after_two_hours_and_nothing_is_charged(sctx, gateway) -> None:
    app = Harness(sctx, IdentifyScreen(sctx))
    async with app.run_test(size=(120, 40)) as pilot:
        qr_screen = await _to_qr(app, pilot)
        sctx.clock.advance(hours=2, seconds=1)
        qr_screen.check()
        await pilot.pause()
        assert "expired" in screen_text(app)
        assert service.order_status(sctx, qr_screen.order.out_trade_no).status == "closed"


async def _cancel_on_the_qr_closes_the_order_and_goes_back(sctx, gateway) -> None:
    from plugins.billing.models import PaymentOrder
    from plugins.billing.screens import BillsScreen

    app = Harness(sctx, IdentifyScreen(sctx))
    async with app.run_test(size=(80, 24)) as pilot:
        qr_screen = await _to_qr(app, pilot)
        order = qr_screen.order
        cancel = app.screen.query_one("#cancel")
        assert cancel.region and app.screen.region.contains_region(cancel.region)
        await pilot.click("#cancel")
        await wait_until(pilot, lambda: isinstance(app.screen, BillsScreen))
        assert isinstance(app.screen, BillsScreen)
        assert service.order_status(sctx, order.out_trade_no).status == "closed"
        with sctx.database().read() as session:
            row = session.query(PaymentOrder).filter_by(out_trade_no=order.out_trade_no).one()
            assert row.close_reason == "cancelled"
        # The closed code cannot be paid any more: a late notice is not applied to the bill.
        outcome = service.handle_notification(sctx, "sim", *gateway.pay(order.out_trade_no))
        assert outcome.verdict != "paid"


async def test_a_qr_left_on_screen_when_the_kiosk_goes_home_is_closed(sctx, gateway) -> None:
    """The resident walked away: the idle reset takes the kiosk home, and the code that was on
    screen can no longer be paid (nobody would see the result)."""
    app = Harness(sctx, IdentifyScreen(sctx))
    async with app.run_test(size=(120, 40)) as pilot:
        qr_screen = await _to_qr(app, pilot)
        order = qr_screen.order
        app.pop_screen()  # what going home does to the screens above the first
        await wait_until(
            pilot, lambda: service.order_status(sctx, order.out_trade_no).status == "closed"
        )
    assert service.order_status(sctx, order.out_trade_no).status == "closed"
    outcome = service.handle_notification(sctx, "sim", *gateway.pay(order.out_trade_no))
    assert outcome.verdict != "paid"


async def test_cancel_on_the_qr_closes_the_order_and_goes_back(sctx, gateway) -> None:
    await _cancel_on_the_qr_closes_the_order_and_goes_back(sctx, gateway)


async def test_a_resident_identifies_chooses_a_bill_and_sees_paid_when_the_notice_arrives(
    sctx, gateway
) -> None:
    await _a_resident_identifies_chooses_a_bill_and_sees_paid_when_the_notice_arrives(sctx, gateway)


async def test_a_wrong_pin_is_refused_on_the_screen(sctx) -> None:
    await _a_wrong_pin_is_refused_on_the_screen(sctx)


async def test_the_qr_expires_after_two_hours_and_nothing_is_charged(sctx, gateway) -> None:
    await _the_qr_expires_after_two_hours_and_nothing_is_charged(sctx, gateway)


async def _chinese_bills(sctx) -> None:
    from kiosk.i18n import set_language

    set_language("zh_CN")
    app = Harness(sctx, IdentifyScreen(sctx))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.click("#unit")
        await pilot.press(*"3-1205")
        await pilot.click("#pin")
        await pilot.press(*"1205", "enter")
        await wait_until(pilot, lambda: "待缴账单" in screen_text(app))
        assert "待缴账单" in screen_text(app) and "滞纳金" in screen_text(app)


async def test_the_bills_screen_speaks_chinese_first(sctx) -> None:
    await _chinese_bills(sctx)


async def _flagged(sctx, gateway) -> None:
    app = Harness(sctx, IdentifyScreen(sctx))
    async with app.run_test(size=(120, 40)) as pilot:
        qr_screen = await _to_qr(app, pilot)
        no = qr_screen.order.out_trade_no
        wrong = qr_screen.order.amount_fen - 1
        service.handle_notification(sctx, "sim", *gateway.pay(no, amount_fen=wrong))
        qr_screen.check()
        await pilot.pause()
        assert "could not be applied" in screen_text(app)
        assert "Nothing was charged" not in screen_text(app)


async def test_a_payment_that_cannot_be_applied_says_so_and_sends_to_the_desk(
    sctx, gateway
) -> None:
    await _flagged(sctx, gateway)


async def _desk(sctx, gateway) -> None:
    from plugins.billing.desk import BillingDeskPanel

    bill = service.open_bills(sctx, "3-1205")[0]
    order = service.create_payment_order(sctx, _resident3(sctx), bill.id, "sim")
    service.handle_notification(sctx, "sim", *gateway.pay(order.out_trade_no, amount_fen=1))

    class Desk(App[None]):
        def compose(self):
            yield BillingDeskPanel(sctx)

    app = Desk()
    async with app.run_test(size=(120, 40)) as pilot:
        flagged = str(app.query_one("#flagged").render())
        assert order.out_trade_no in flagged and "amount_mismatch" in flagged
        await pilot.click("#desk-unit")
        await pilot.press(*"3-1205", "enter")
        await pilot.pause()
        assert "B202610-3-1205" in str(app.query_one("#statement").render())


def _resident3(ctx):
    from sqlalchemy import select

    from kiosk.db.models import Resident, Unit
    from kiosk.identity import Actor

    with ctx.database().read() as s:
        r = s.scalars(select(Resident).join(Unit).where(Unit.code == "3-1205")).first()
        return Actor.of_resident(r)


async def test_the_desk_panel_lists_payments_to_refund_and_shows_a_statement(sctx, gateway) -> None:
    await _desk(sctx, gateway)


async def _the_pin_check_and_the_polling_run_off_the_ui_thread(sctx, monkeypatch) -> None:
    import threading

    import kiosk.lobby

    threads: dict[str, int] = {}
    real_login, real_status = kiosk.lobby.unit_login, service.order_status

    def login(*args):
        threads["unit_login"] = threading.get_ident()
        return real_login(*args)

    def status(*args):
        threads["order_status"] = threading.get_ident()
        return real_status(*args)

    monkeypatch.setattr(kiosk.lobby, "unit_login", login)
    monkeypatch.setattr(service, "order_status", status)
    app = Harness(sctx, IdentifyScreen(sctx))
    async with app.run_test(size=(120, 40)) as pilot:
        ui = threading.get_ident()
        qr_screen = await _to_qr(app, pilot)
        await qr_screen.tick()
        assert set(threads) == {"unit_login", "order_status"}
        assert ui not in threads.values()  # the scrypt hash and the database, not the loop


async def test_the_pin_check_and_the_polling_run_off_the_ui_thread(sctx, monkeypatch) -> None:
    await _the_pin_check_and_the_polling_run_off_the_ui_thread(sctx, monkeypatch)
