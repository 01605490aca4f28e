"""``kiosk simulate`` scenarios for parking cards: the desk (cashier) and the lobby kiosk on the
same estate. Desk taps go through a second simulated RDM6300 on its own pty, kiosk taps through
the kiosk's reader, so both card paths are the real serial ones.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from kiosk.hookspecs import Scenario
from kiosk.i18n import _

CASHIER = ("S002", "1357")  # 陈收银
VALID_CARD = "5A0000AB01"  # demo: 1-1001 粤B12345, paid
LAPSED_CARD = "5A0000AB02"  # demo: 2-502 粤BD12345, expired
NEW_CARD = "5A00BEEF01"
SPARE_CARD = "5A00BEEF02"


@contextlib.asynccontextmanager
async def cashier_desk(run: Any) -> AsyncIterator[Any]:
    """The desk app logged in as the cashier, with its own simulated reader; parking tab open."""

    from devices.cards import open_reader

    async with run.desk() as desk:
        from kiosk.lobby import staff_login

        # The desk's login form is the kiosk's (covered by the core scenarios); log in directly.
        await desk.app.logged_in(staff_login(run.ctx, *CASHIER))
        await desk.settle()
        desk.app.screen.show_tab("tab-parking")
        await desk.settle()
        desk.note("desk: cashier 陈收银 logged in, parking tab")
        reader = open_reader(
            "sim://card?protocol=rdm6300&debounce=0", desk.app._reader_event, name="desk_reader"
        )
        reader.start()
        desk.reader = reader
        await desk._wait(lambda: reader.stats.connected, 5.0, "the desk reader to connect")
        try:
            yield desk
        finally:
            reader.stop()


async def desk_tap(desk: Any, uid: str) -> None:
    """The cashier lays a card on the desk reader; the panel's card field fills in."""
    from textual.widgets import Input

    from devices.sim import get_sim

    desk.note(f"desk reader: tap {uid}")
    field = desk.app.screen.query_one("#uid", Input)
    field.value = ""
    get_sim("desk_reader").tap(uid)  # type: ignore[attr-defined]
    await desk._wait(lambda: field.value.endswith(uid[-8:]), 5.0, "the desk reader to read")
    await desk.settle()


def card_number(uid: str) -> str:
    """The number printed on a blank card's face: the decimal of its last 4 bytes."""
    from kiosk.identity import card_forms

    return card_forms(uid)[1]


def fill(desk: Any, **values: str) -> None:
    from textual.widgets import Checkbox, Input

    for wid, value in values.items():
        desk.app.screen.query_one(f"#{wid}", Input).value = value
    desk.app.screen.query_one("#checked", Checkbox).value = True


def message(desk: Any) -> str:
    from textual.widgets import Label

    return str(desk.app.screen.query_one("#message", Label).render())


def deposits_taken(run: Any) -> bool:
    """Whether card deposits are taken here (the billing plugin keeps their ledger)."""
    import plugins.billing.api as billing

    return billing.available(run.ctx)


async def _new_rental_with_card(run: Any, desk: Any, uid: str) -> str:
    fill(desk, unit="3-1205", renter="王小明", plate="粤B66666", model="本田 雅阁",
         licence="440301198805051234", months="1")  # fmt: skip
    await desk.click("#open-cash")
    text = message(desk)
    assert "PK" in text, text
    desk.note(f"desk: {text}")
    await desk_tap(desk, uid)
    await desk.click("#issue")
    text = message(desk)
    # The deposit's 收据 (SJ...), when there is a deposit ledger (the billing plugin).
    assert "SJ" in text or not deposits_taken(run), text
    desk.note(f"desk: {text}")
    from textual.widgets import Input

    return desk.app.screen.query_one("#rental", Input).value


async def issue(run: Any) -> None:
    """Cashier rents 粤B66666 to 3-1205 for cash, issues a blank card from the desk reader with
    its deposit; the card tapped at the kiosk shows its validity."""
    async with cashier_desk(run) as desk:
        number = await _new_rental_with_card(run, desk, NEW_CARD)
    await run.settle(10)
    run.record_printed()
    await run.tap(NEW_CARD)
    await run.expect_screen("ValidityScreen")
    await run.expect_text("粤B66666")
    await run.expect_text(
        _("Valid until {end} ({days} days left)").format(end="2026-12-22", days=29)
    )
    run.note(f"kiosk: {number} valid until 2026-12-22")


async def renew(run: Any) -> None:
    """A lapsed card tapped at the kiosk says when it expired; renew 1 month by QR; the new
    end date shows once the payment arrives."""
    import plugins.billing.api as billing

    await run.tap(LAPSED_CARD)
    await run.expect_screen("ValidityScreen")
    await run.expect_text(_("Expired on {end}. Renew to use it again.").format(end="2026-11-13"))
    rental = run.app.screen.validity.rental_id
    await run.click(f"#renew-{rental}-1")
    if not billing.available(run.ctx):
        # No billing here: the rent becomes a desk alert and the resident pays at the desk.
        await run.expect_text(_("Please pay the rent at the desk; the desk has been told."))
        run.note("no billing: the desk collects the rent")
        return
    await run.expect_screen("RenewPayScreen")
    screen = run.app.screen
    run.note(f"QR for {screen.order.out_trade_no}: {screen.order.amount_fen} fen")
    verdict = billing.simulate_payment(run.ctx, screen.order)
    run.note(f"notification: {verdict}")
    assert verdict == "paid", verdict
    screen.check()
    await run.expect_screen("RenewedScreen")
    await run.expect_text(
        _("{plate}: valid until {end}").format(plate="粤BD12345", end="2026-12-22")
    )
    await run.settle(10)
    run.record_printed()


async def lost_card(run: Any) -> None:
    """The 1-1001 card is reported lost at the desk by its rental number (the resident has no
    card to lay on the reader): a tap at the kiosk is refused and the desk alerted; the cashier
    binds a replacement to the same rental number, which works at once."""
    from sqlalchemy import select
    from textual.widgets import Input

    from kiosk.db.models import DeskAlert
    from plugins.parking.taps import card_validity

    validity = card_validity(run.ctx, VALID_CARD)
    assert validity is not None
    async with cashier_desk(run) as desk:
        desk.app.screen.query_one("#rental", Input).value = validity.rental_number
        desk.note(f"desk: rental {validity.rental_number} typed, no card on the reader")
        await desk.click("#lost")
        await desk.expect_screen("ConfirmDialog")  # blocking cannot be undone: asked first
        desk.note("desk: asked to confirm blocking the card")
        await desk.click("#confirm-yes")
        await desk.settle()
        desk.note(f"desk: {message(desk)}")
    await run.tap(VALID_CARD)
    await run.expect_text(
        _(
            "This parking card ({card}) was reported lost and is blocked. Please see the desk."
        ).format(card=card_number(VALID_CARD))
    )
    with run.ctx.database().read() as s:
        alerts = s.scalars(
            select(DeskAlert.message).where(DeskAlert.kind == "parking_card_lost")
        ).all()
    assert len(alerts) == 1, alerts
    run.note(f"desk alert: {alerts[0]}")
    await run.click("#ok")
    async with cashier_desk(run) as desk:
        desk.app.screen.query_one("#rental", Input).value = validity.rental_number
        await desk_tap(desk, SPARE_CARD)
        await desk.click("#replace")
        text = message(desk)
        assert "PK" in text, text
        desk.note(f"desk: {text}")
    await run.tap(SPARE_CARD)
    await run.expect_screen("ValidityScreen")
    await run.expect_text("粤B12345")
    run.note("kiosk: the replacement card is valid")


async def return_card(run: Any) -> None:
    """A card is returned at the end: deactivated, deposit refunded with a receipt, and a tap
    at the kiosk is refused."""
    async with cashier_desk(run) as desk:
        await _new_rental_with_card(run, desk, NEW_CARD)
        await desk_tap(desk, NEW_CARD)
        await desk.click("#return")
        text = message(desk)
        desk.note(f"desk: {text}")
        assert _("refunded" if deposits_taken(run) else "none") in text, text
    await run.settle(10)
    run.record_printed()
    await run.tap(NEW_CARD)
    await run.expect_text(
        _("This parking card ({card}) was returned and no longer works.").format(
            card=card_number(NEW_CARD)
        )
    )
    run.note("kiosk: the returned card is refused")


def scenarios() -> list[Scenario]:
    return [
        Scenario(
            "parking-issue",
            "desk rents a bay for cash and issues a card; kiosk shows it valid",
            issue,
        ),
        Scenario("parking-renew", "a lapsed card renews one month by QR at the kiosk", renew),
        Scenario(
            "parking-lost-card", "lost card blocked, refused at the kiosk, replaced", lost_card
        ),
        Scenario(
            "parking-return", "card returned, deposit refunded, refused afterwards", return_card
        ),
    ]
