"""Parking in the real apps under Pilot: a card tap at the kiosk and renewal by QR, the desk
issuing a card from its reader; snapshots in Chinese and English."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from textual.widgets import Button, Checkbox, Input, Label

from kiosk.context import KioskContext
from kiosk.i18n import set_language
from kiosk.identity import Actor
from kiosk.ui.desk_forms import ConfirmDialog
from kiosk.ui.scenarios import click
from plugins.parking import service, taps
from plugins.parking.models import ParkingCard
from tests.conftest import make_ctx
from tests.plugins.parking.parking_helpers import BUTLER, CASHIER, resident_of
from tests.screens import wait_until
from tests.ui.conftest import desk, lobby

VALID = "5A0000AB01"  # demo: 1-1001 粤B12345
LAPSED = "5A0000AB02"  # demo: 2-502 粤BD12345
BILLED = "5A0000AB03"  # demo: 3-1205 粤B88K66, lapsed, two months' rent on 王小明's bills


@pytest.fixture
def pctx(sqlite_demo_url: str) -> Iterator[KioskContext]:
    ctx = make_ctx(sqlite_demo_url)
    yield ctx
    set_language("zh_CN")
    ctx.database().dispose()


def text(app) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(str(w.render()) for w in app.screen.query(Label))


async def open_parking_desk(pilot) -> None:  # type: ignore[no-untyped-def]
    """The cashier signed in at the desk, on its parking tab."""
    await pilot.app.logged_in(CASHIER)
    await pilot.pause()
    pilot.app.screen.show_tab("tab-parking")
    await pilot.pause()


async def test_a_lapsed_card_renews_by_qr_at_the_kiosk(pctx: KioskContext) -> None:
    """The QR is for the renewal alone (one month, ￥100), not the rest of the month's bill,
    which still owes its property fee afterwards."""
    from kiosk.identity import SYSTEM
    from plugins.billing import service as billing
    from plugins.billing.gateway import shared_gateway

    billing.add_charge(pctx, SYSTEM, "2-502", "property_fee", 23456, "物业费", source_ref="t:pf")
    app = lobby(pctx, "en")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.present_card(LAPSED)
        await pilot.pause()
        assert type(app.screen).__name__ == "ValidityScreen"
        assert "Expired on 2026-11-13" in text(app)
        rental = app.screen.validity.rental_id
        await click(app, pilot, f"#renew-{rental}-1")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "RenewPayScreen", "the QR")
        screen = app.screen
        assert type(screen).__name__ == "RenewPayScreen"
        assert screen.order.amount_fen == 10000
        billing.providers(pctx)
        headers, body = shared_gateway(pctx.clock).pay(screen.order.out_trade_no)
        assert billing.handle_notification(pctx, "sim", headers, body).verdict == "paid"
        screen.check()
        await pilot.pause()
        assert type(app.screen).__name__ == "RenewedScreen"
        assert "粤BD12345: valid until 2026-12-22" in text(app)
    v = taps.card_validity(pctx, LAPSED)
    assert v is not None and v.state == "valid" and v.end_date == dt.date(2026, 12, 22)
    assert [b.balance_fen for b in billing.open_bills(pctx, "2-502")] == [23456]


async def test_a_card_whose_rent_is_on_the_bill_says_so_and_paying_the_bill_renews_it(
    pctx: KioskContext,
) -> None:
    """王小明's card lapsed, but two months' rent is already on his bills: the card's screen
    says so (not only "renew"), and once the bills are paid the next tap finds it valid."""
    from plugins.billing import service as billing
    from tests.ui.test_touch import outside

    app = lobby(pctx, "en")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.present_card(BILLED)
        await wait_until(pilot, lambda: app.screen.query(".pending"), "the rent on the bill")
        assert "￥200.00 on your bill, waiting for payment." in text(app)
        assert outside(app.screen) == []  # it still fits 80x24
    for bill in billing.open_bills(pctx, "3-1205"):
        billing.record_desk_payment(
            pctx, CASHIER, bill.id, bill.balance_fen + bill.late_fee_now_fen
        )
    v = taps.card_validity(pctx, BILLED)
    assert v is not None and v.state == "valid" and v.pending_fen == 0
    assert v.end_date == service.period_end(pctx.today(), 2)  # lapsed: two months from today


async def test_a_lost_card_is_refused_at_the_kiosk(pctx: KioskContext) -> None:
    service.report_lost(pctx, BUTLER, VALID)
    app = lobby(pctx, "en")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.present_card(VALID)
        await pilot.pause()
        assert type(app.screen).__name__ == "MessageScreen"
        assert "reported lost and is blocked" in "\n".join(
            str(w.render()) for w in app.screen.query("*")
        )


async def test_the_tile_lists_the_households_rentals(pctx: KioskContext) -> None:
    app = lobby(pctx, "en")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        owner = resident_of(pctx, "1-1001")
        app.actor = Actor.of_resident(owner)
        await app.open_tile("parking")
        await pilot.pause()
        assert type(app.screen).__name__ == "RentalsScreen"
        assert "粤B12345" in text(app) and "valid until" in text(app)


async def test_the_desk_refuses_an_unchecked_renter_then_issues(pctx: KioskContext) -> None:
    app = desk(pctx, "en")
    owner = resident_of(pctx, "3-1205")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_parking_desk(pilot)
        for wid, value in dict(
            unit="3-1205", renter=owner.name, plate="粤B66666", model="本田",
            licence="440301198805051234", months="2",
        ).items():  # fmt: skip
            app.screen.query_one(f"#{wid}", Input).value = value
        await click(app, pilot, "#open-cash")
        await pilot.pause()
        assert "identity card and driving licence" in text(app)
        app.screen.query_one("#checked", Checkbox).value = True
        await pilot.pause()
        app.screen.query_one("#open-cash", Button).press()
        await pilot.pause()
        await pilot.pause()
        assert "opened, paid until 2027-01-22: take ￥200.00 in cash" in text(app), (
            app.screen.query_one("#message", Label).render()
        )
        app.desk_card_tapped("5A00BEEF07")  # what the desk reader thread hands over
        await pilot.pause()
        assert app.screen.query_one("#uid", Input).value == "5A00BEEF07"
        await click(app, pilot, "#issue")
        await pilot.pause()
        assert "deposit receipt SJ" in text(app)
        deposit = service.ParkingRules.of(pctx).deposit_fen
        assert f"Take the card deposit: ￥{deposit // 100}.00." in text(app)
    with pctx.database().read() as session:
        card = session.scalar(select(ParkingCard).where(ParkingCard.uid_hex == "5A00BEEF07"))
        assert card is not None and card.state == "active" and card.deposit_receipt


async def test_the_cashier_renews_at_the_desk_in_cash_or_on_the_bill(pctx: KioskContext) -> None:
    """The card on the reader renews in cash (paid through at once, a receipt queued); a rental
    typed by number renews on the bill, and the lookup then shows the rent waiting there."""
    from kiosk.db.models import PrintJob

    lapsed = taps.card_validity(pctx, LAPSED)
    billed = taps.card_validity(pctx, BILLED)
    assert lapsed is not None and billed is not None and lapsed.state == "expired"
    with pctx.database().read() as session:
        jobs = len(session.scalars(select(PrintJob)).all())
    app = desk(pctx, "en")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_parking_desk(pilot)
        screen = app.screen
        info = screen.query_one("#card-info", Label)
        await click(app, pilot, "#renew-cash")
        await wait_until(pilot, lambda: "Tap the card" in text(app), "the refusal")
        await click(app, pilot, "#replace")
        await wait_until(pilot, lambda: "rental number of the lost" in text(app), "which card")
        app.desk_card_tapped(LAPSED)
        await pilot.pause()
        screen.query_one("#renew-months", Input).value = "2"
        await click(app, pilot, "#renew-cash")  # the amount is asked before it is taken
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        rent = service.get_rental(pctx, lapsed.rental_id).monthly_rent_fen
        assert f"take ￥{2 * rent // 100}.00 in cash for 2 month(s)?" in text(app)
        assert "already on the unit's bill" not in text(app)
        await click(app, pilot, "#confirm-yes")
        await wait_until(pilot, lambda: "renewed in cash" in text(app), "the cash renewal")
        after = service.get_rental(pctx, lapsed.rental_id)
        assert after.paid and after.end_date == service.period_end(pctx.today(), 2)
        assert (
            f"paid until {after.end_date}: take ￥{2 * after.monthly_rent_fen // 100}.00"
            in text(app)
        )
        assert f"{after.end_date}" in str(info.render()) and "days left" in str(info.render())
        assert taps.card_validity(pctx, LAPSED).state == "valid"  # type: ignore[union-attr]

        screen.query_one("#uid", Input).value = ""
        screen.query_one("#rental", Input).value = billed.rental_number
        await click(app, pilot, "#lookup")
        await wait_until(pilot, lambda: "not paid yet" in str(info.render()), "the pending rent")
        assert "￥200.00 on the unit's bill" in str(info.render())
        screen.query_one("#renew-months", Input).value = "1"
        await click(app, pilot, "#renew-bill")
        await wait_until(pilot, lambda: "renews when it is paid" in text(app), "the billed one")
        assert "￥300.00 on the unit's bill" in str(info.render())
        screen.query_one("#renew-months", Input).value = "0"
        await click(app, pilot, "#renew-bill")
        await wait_until(pilot, lambda: "1 to 12 months" in text(app), "the months refusal")
        # Rent already on the bill: taking cash as well would charge those months twice.
        screen.query_one("#renew-months", Input).value = "1"
        await click(app, pilot, "#renew-cash")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the warning")
        assert "￥300.00 of its rent is already on the unit's bill" in text(app)
        await click(app, pilot, "#confirm-no")
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmDialog), "no cash")
    assert service.get_rental(pctx, billed.rental_id).pending_fen == 30000
    assert not service.get_rental(pctx, billed.rental_id).paid
    with pctx.database().read() as session:
        assert len(session.scalars(select(PrintJob)).all()) == jobs + 1  # the cash receipt


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_snapshot_validity(snap_compare, pctx: KioskContext, lang: str) -> None:
    async def tap(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.app.present_card(VALID)
        # Settled: the screen is up, and the first renewal button has the focus (as a person
        # sees it), set here so the picture does not depend on when auto-focus ran.
        await wait_until(
            pilot,
            lambda: (
                type(pilot.app.screen).__name__ == "ValidityScreen"
                and pilot.app.screen.is_mounted
                and pilot.app.screen.query(".renew Button")
            ),
            "the card's screen with its renewals",
        )
        pilot.app.screen.set_focus(pilot.app.screen.query(".renew Button").first())
        await pilot.pause()

    assert snap_compare(lobby(pctx, lang), terminal_size=(80, 24), run_before=tap)


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_snapshot_desk_panel(snap_compare, pctx: KioskContext, lang: str) -> None:
    assert snap_compare(desk(pctx, lang), terminal_size=(120, 40), run_before=open_parking_desk)


async def test_cancelling_the_qr_takes_the_rent_off_the_bill(pctx: KioskContext) -> None:
    from plugins.billing import service as billing

    app = lobby(pctx, "en")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.present_card(LAPSED)
        await pilot.pause()
        rental = app.screen.validity.rental_id
        await click(app, pilot, f"#renew-{rental}-3")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "RenewPayScreen", "the QR")
        owed = sum(b.balance_fen for b in billing.open_bills(pctx, "2-502"))
        assert owed >= 30000
        await click(app, pilot, "#cancel")
        await wait_until(
            pilot, lambda: type(app.screen).__name__ == "ValidityScreen", "the validity again"
        )
    assert sum(b.balance_fen for b in billing.open_bills(pctx, "2-502")) == owed - 30000
    assert service.get_rental(pctx, rental).pending_fen == 0
    assert taps.card_validity(pctx, LAPSED).state == "expired"  # type: ignore[union-attr]


async def test_f2_on_the_sim_desk_taps_its_own_reader_into_the_parking_panel(
    pctx: KioskContext,
) -> None:
    """``kiosk desk --sim``: the desk starts its own simulated reader; F2 lays a card on it and
    the frame travels the pty to the parking panel's card field."""

    from kiosk.ui.desk_app import DeskApp

    pctx.settings = dataclasses.replace(
        pctx.settings, language="en", devices={"card_reader": "sim://card?protocol=rdm6300"}
    )
    app = DeskApp(pctx.settings, ctx=pctx, sim=True, start_devices=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.devices is not None, "the desk's own reader")
        assert app.devices is not None and app.devices.readers
        await open_parking_desk(pilot)
        await pilot.press("f2")
        await pilot.pause()
        assert type(app.screen).__name__ == "SimTapScreen"
        app.screen.query_one("#uid", Input).value = "5A00BEEF09"
        await pilot.press("enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ != "SimTapScreen", "the tap")
        assert type(app.screen).__name__ == "DeskScreen"
        field = app.screen.query_one("#uid", Input)
        await wait_until(pilot, lambda: field.value == "5A00BEEF09", "the card in the field")
        app.devices.stop()


@pytest.mark.parametrize(
    ("lang", "wording"),
    [
        ("zh_CN", "待缴费。缴纳月租后开始生效。"),
        ("en", "Payment pending. Pay the rent to start the rental."),
    ],
)
def test_an_unpaid_card_tap_says_payment_pending(
    pctx: KioskContext, lang: str, wording: str
) -> None:
    from plugins.parking.screens import _state_line

    v = taps.card_validity(pctx, VALID)
    assert v is not None
    # A card on a rental with no month paid yet (it ends the day before it starts).
    unpaid = dataclasses.replace(v, state="unpaid", end_date=dt.date(2026, 11, 22))
    set_language(lang)
    line = _state_line(unpaid.state, unpaid.end_date, unpaid.days_left)
    assert line == wording
    assert "过期" not in line and "xpired" not in line


async def test_rent_already_on_the_bill_is_paid_not_billed_again(pctx: KioskContext) -> None:
    """The cashier put a month of 2-502's rent on the bill: the card's screen offers to pay
    that month, not to renew another beside it. Cancelled, the rent stays on the bill (the
    cashier billed it); paid, the card is valid and the screen the resident returns to says
    so."""
    from plugins.billing import service as billing
    from plugins.billing.gateway import shared_gateway

    lapsed = taps.card_validity(pctx, LAPSED)
    assert lapsed is not None
    service.renew(pctx, CASHIER, lapsed.rental_id, 1, "bill")
    rental = lapsed.rental_id
    app = lobby(pctx, "en")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.present_card(LAPSED)
        await wait_until(pilot, lambda: app.screen.query(".pay-pending"), "pay the billed month")
        assert not app.screen.query(".renew-button")
        assert "Pay ￥100.00 now" in str(app.screen.query_one(".pay-pending", Button).label)
        await click(app, pilot, f"#pay-pending-{rental}")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "RenewPayScreen", "the QR")
        assert app.screen.order.amount_fen == 10000
        await click(app, pilot, "#cancel")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ValidityScreen", "back")
        assert service.get_rental(pctx, rental).pending_fen == 10000  # still owed
        await click(app, pilot, f"#pay-pending-{rental}")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "RenewPayScreen", "the QR")
        screen = app.screen
        billing.providers(pctx)
        headers, body = shared_gateway(pctx.clock).pay(screen.order.out_trade_no)
        assert billing.handle_notification(pctx, "sim", headers, body).verdict == "paid"
        screen.check()
        await wait_until(pilot, lambda: type(app.screen).__name__ == "RenewedScreen", "paid")
        await click(app, pilot, "#done")
        await wait_until(pilot, lambda: "Valid until" in text(app), "the card valid again")
        assert not app.screen.query(".pay-pending") and app.screen.query(".renew-button")
    after = service.get_rental(pctx, rental)
    assert after.pending_fen == 0 and after.end_date == service.period_end(pctx.today(), 1)


async def test_rent_on_two_bills_is_paid_under_pay_bills(pctx: KioskContext) -> None:
    app = lobby(pctx, "en")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.present_card(BILLED)
        await wait_until(pilot, lambda: app.screen.query(".pay-pending"), "pay the billed rent")
        rental = app.screen.validity.rental_id
        await click(app, pilot, f"#pay-pending-{rental}")
        await wait_until(pilot, lambda: "under Pay bills" in text(app), "where to pay it")
