"""The kiosk flow, headless: identify -> open bills -> QR -> paid -> receipt; and expiry."""

from __future__ import annotations

import pytest

from kiosk.ui.scenarios import click
from plugins.billing import service
from plugins.billing.providers import SimGateway
from plugins.billing.screens import IdentifyScreen, PaidScreen, PayQRScreen, QRBlock
from tests.qrscan import decode_halfblocks, seen_rows
from tests.screens import DeskHarness, Harness, screen_ctx, screen_text, wait_until


@pytest.fixture
def sctx(sqlite_demo_url, gateway):
    with screen_ctx(sqlite_demo_url) as ctx:
        gateway.clock = ctx.clock
        gateway.reset()
        service.use_providers(ctx, {"sim": SimGateway(gateway.provider_config("sim"), ctx.clock)})
        yield ctx


def print_jobs(ctx) -> int:
    """How many print jobs were ever queued."""
    from sqlalchemy import func, select

    from kiosk.db.models import PrintJob

    with ctx.database().read() as s:
        return s.scalar(select(func.count(PrintJob.id))) or 0


async def _to_bills(app, pilot) -> None:
    await click(app, pilot, "#unit")
    await pilot.press(*"3-1205")
    await click(app, pilot, "#pin")
    await pilot.press(*"1205", "enter")
    await wait_until(pilot, lambda: "B202610-3-1205" in screen_text(app))
    assert "B202610-3-1205" in screen_text(app) and "late fee" in screen_text(app)


async def _to_qr(app, pilot) -> PayQRScreen:
    await _to_bills(app, pilot)
    first = app.screen.query(".pay").first()
    await click(app, pilot, f"#{first.id}")
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
        until = sctx.local_time(qr_screen.order.expires_at)  # two hours from now
        until = until[-5:] if until[:10] == sctx.today().isoformat() else until
        assert f"Valid until {until}" in screen_text(app)
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
        await click(app, pilot, "#unit")
        await pilot.press(*"3-1205")
        await click(app, pilot, "#pin")
        await pilot.press(*"0000", "enter")
        await wait_until(pilot, lambda: "Wrong PIN" in screen_text(app))
        assert isinstance(app.screen, IdentifyScreen)
        assert "Wrong PIN" in screen_text(app)


async def _the_qr_expires_after_two_hours_and_nothing_is_charged(sctx, gateway) -> None:
    app = Harness(sctx, IdentifyScreen(sctx))
    async with app.run_test(size=(120, 40)) as pilot:
        qr_screen = await _to_qr(app, pilot)
        sctx.clock.advance(hours=1, minutes=50, seconds=30)  # the last ten minutes count down
        qr_screen.refresh_countdown()
        await pilot.pause()
        assert "Valid for 9:30" in screen_text(app) and "Valid until" not in screen_text(app)
        sctx.clock.advance(minutes=9, seconds=31)
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
        await wait_until(pilot, lambda: bool(cancel.region), "the cancel button laid out")
        assert app.screen.region.contains_region(cancel.region)
        await click(app, pilot, "#cancel")
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
        await click(app, pilot, "#unit")
        await pilot.press(*"3-1205")
        await click(app, pilot, "#pin")
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

    app = DeskHarness(lambda: BillingDeskPanel(sctx))
    async with app.run_test(size=(120, 40)) as pilot:
        flagged = str(app.query_one("#flagged").render())
        # In the staff's words, not the stored code.
        assert order.out_trade_no in flagged and "Amount differs from the order" in flagged
        assert "amount_mismatch" not in flagged and "Simulated gateway" in flagged
        await click(app, pilot, "#desk-unit")
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


async def test_the_cashier_takes_a_units_arrears_at_the_desk(sctx, people) -> None:
    """The cashier looks up a unit, types what was counted and takes it in cash: every open
    bill is paid, oldest first, one receipt goes to the printer; a wrong amount, a butler, or
    letters are refused in words and take nothing."""

    from kiosk.money import format_fen
    from plugins.billing.desk import BillingDeskPanel

    owed = service.unit_statement(sctx, people.cashier, "3-1205").owed_fen
    assert owed > 0

    jobs = lambda: print_jobs(sctx)  # noqa: E731
    app = DeskHarness(lambda: BillingDeskPanel(sctx), staff=people.butler)
    before = jobs()
    async with app.run_test(size=(100, 40)) as pilot:
        panel = app.query_one(BillingDeskPanel)
        taken = lambda: str(app.query_one("#taken").render())  # noqa: E731
        assert not app.query_one("#desk-take").display  # nothing to take before a statement
        await click(app, pilot, "#desk-unit")
        await pilot.press(*"3-1205", "enter")
        await wait_until(pilot, lambda: app.query_one("#desk-take").display)
        await click(app, pilot, "#desk-amount")
        await pilot.press(*"abc")  # the field takes digits and a point only
        assert app.query_one("#desk-amount").value == ""
        await pilot.press(*"1.00", "enter")
        await wait_until(pilot, lambda: "cashier" in taken() or "收银" in taken())
        app.staff = people.cashier
        await panel.take("cash")
        await wait_until(pilot, lambda: "in all today" in taken())
        assert format_fen(owed) in taken() and jobs() == before
        app.query_one("#desk-amount").value = f"{owed // 100}.{owed % 100:02d}"
        await click(app, pilot, "#desk-cash")
        await wait_until(pilot, lambda: "Took" in taken())
        assert f"Took {format_fen(owed)} for 2 bills of 3-1205" in taken()
        assert "owes ￥0.00 today" in str(app.query_one("#statement").render())
        assert not app.query_one("#desk-take").display
    assert jobs() == before + 1
    st = service.unit_statement(sctx, people.cashier, "3-1205")
    assert st.owed_fen == 0 and {b.status for b in st.bills} == {"paid"}


async def test_the_cashier_takes_one_chosen_bill_at_the_desk(sctx, people) -> None:
    """A resident pays only the older bill, in cash: the cashier picks it from the list (all
    open bills is the default), takes its amount, one receipt prints, the other bill stays."""
    from textual.widgets import Select

    from kiosk.money import format_fen
    from plugins.billing.desk import BillingDeskPanel

    older, newer = service.unit_statement(sctx, people.cashier, "3-1205").bills[:2]
    assert older.period < newer.period and older.due_now_fen > 0 and newer.due_now_fen > 0

    jobs = lambda: print_jobs(sctx)  # noqa: E731
    app = DeskHarness(lambda: BillingDeskPanel(sctx), staff=people.cashier)
    before = jobs()
    async with app.run_test(size=(100, 40)) as pilot:
        taken = lambda: str(app.query_one("#taken").render())  # noqa: E731
        await click(app, pilot, "#desk-unit")
        await pilot.press(*"3-1205", "enter")
        await wait_until(pilot, lambda: app.query_one("#desk-take").display)
        choice = app.query_one("#desk-bill", Select)
        assert str(choice.value).startswith("all") and choice.value != str(older.id)
        choice.value = str(older.id)
        await pilot.pause()
        await click(app, pilot, "#desk-cash")  # nothing typed: the hint is the bill's amount
        due = older.due_now_fen
        await wait_until(pilot, lambda: f"{due // 100}.{due % 100:02d}" in taken())
        await click(app, pilot, "#desk-amount")
        await pilot.press(*f"{due // 100}.{due % 100:02d}", "enter")  # Enter takes it in cash
        await wait_until(pilot, lambda: "Took" in taken())
        assert f"Took {format_fen(due)} for 1 bills of 3-1205" in taken()
        # The list is read again: everything left, one bill, selected.
        assert (
            app.query_one("#desk-bill", Select).value
            == f"all:Everything owed: {format_fen(newer.due_now_fen)}"
        )
    assert jobs() == before + 1
    bills = {b.id: b for b in service.unit_statement(sctx, people.cashier, "3-1205").bills}
    assert bills[older.id].status == "paid" and bills[newer.id].status == "open"
    assert bills[newer.id].balance_fen == newer.balance_fen


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


async def test_a_resident_pays_all_arrears_with_one_code(sctx, gateway) -> None:
    from kiosk.money import format_fen

    bills = service.open_bills(sctx, "3-1205")
    total = sum(b.due_now_fen for b in bills)
    app = Harness(sctx, IdentifyScreen(sctx))
    async with app.run_test(size=(80, 24)) as pilot:
        await _to_bills(app, pilot)
        button = app.screen.query_one("#pay-all")
        assert f"({len(bills)} bills, {format_fen(total)})" in str(button.label)
        # The bills are listed as soon as they load; the layout follows on the next refresh.
        await wait_until(pilot, lambda: bool(button.region), "the pay-all button laid out")
        assert app.screen.region.contains_region(button.region)
        await click(app, pilot, "#pay-all")
        await wait_until(pilot, lambda: isinstance(app.screen, PayQRScreen))
        qr_screen = app.screen
        assert isinstance(qr_screen, PayQRScreen)
        assert qr_screen.order.amount_fen == total
        assert all(b.number in screen_text(app) for b in bills)
        outcome = service.handle_notification(
            sctx, "sim", *gateway.pay(qr_screen.order.out_trade_no)
        )
        assert outcome.verdict == "paid"
        qr_screen.check()
        await wait_until(pilot, lambda: "Paid. Thank you!" in screen_text(app))
        assert isinstance(app.screen, PaidScreen) and format_fen(total) in screen_text(app)
        # Every bill's receipt number is on the screen, not only the first's.
        receipts = service.order_status(sctx, qr_screen.order.out_trade_no).receipt_nos
        assert len(receipts) == len(bills)
        assert all(r in screen_text(app) for r in receipts)
        labels = list(app.screen.query(".more-receipt"))
        await wait_until(pilot, lambda: all(lb.region for lb in labels), "the receipts laid out")
        for label in labels:
            assert app.screen.region.contains_region(label.region)
    assert service.open_bills(sctx, "3-1205") == []


def test_every_order_flag_has_words_for_the_desk() -> None:
    from plugins.billing.desk import FLAGS
    from plugins.billing.models import ORDER_FLAGS

    assert set(FLAGS) == set(ORDER_FLAGS) - {""}


async def test_the_cashier_sends_the_months_bills_from_the_desk(sctx, people) -> None:
    """One button, asked first: every household not sent its bill is sent it; a butler is
    refused in words; a second press sends nothing again."""
    from sqlalchemy import func, select

    from kiosk.db.models import Notification
    from kiosk.ui.desk_forms import ConfirmDialog
    from plugins.billing.desk import BillingDeskPanel

    def told() -> int:
        with sctx.database().read() as s:
            return s.scalar(
                select(func.count()).where(Notification.template == "bill.issued")
            ) or 0  # fmt: skip

    app = DeskHarness(lambda: BillingDeskPanel(sctx), staff=people.butler)
    async with app.run_test(size=(100, 40)) as pilot:
        issued = lambda: str(app.query_one("#issued").render())  # noqa: E731
        await click(app, pilot, "#desk-issue")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await click(app, pilot, "#confirm-no")
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmDialog))
        assert told() == 0 and issued() == ""
        await click(app, pilot, "#desk-issue")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await click(app, pilot, "#confirm-yes")
        await wait_until(pilot, lambda: "cashier" in issued())  # a butler may not
        assert told() == 0
        app.staff = people.cashier
        await click(app, pilot, "#desk-issue")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await click(app, pilot, "#confirm-yes")
        await wait_until(pilot, lambda: "bills sent" in issued())
        sent = told()
        assert sent >= 2 and f"{sent} bills sent" in issued() and "0 were sent before" in issued()
        await click(app, pilot, "#desk-issue")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await click(app, pilot, "#confirm-yes")
        await wait_until(pilot, lambda: f"{sent} were sent before" in issued())
        assert told() == sent and "0 bills sent" in issued()


async def test_each_bill_says_what_it_is_for_before_it_is_paid(sctx) -> None:
    """Every line of every open bill is named (never its code) with its amount, and the named
    amounts add up to what the bill charges."""
    from kiosk.identity import SYSTEM
    from kiosk.money import format_fen

    service.add_charge(sctx, SYSTEM, "3-1205", "utilities", 4321, "水费", source_ref="t:water")
    app = Harness(sctx, IdentifyScreen(sctx))
    async with app.run_test(size=(80, 24)) as pilot:
        await _to_bills(app, pilot)
        shown = screen_text(app)
        for bill in service.open_bills(sctx, "3-1205"):
            summary = service.lines_summary(bill)
            assert summary in shown
            assert summary.startswith("Property fee ")
            for line in bill.lines:
                assert f"{line.title} {format_fen(line.amount_fen)}" in summary
            assert sum(line.amount_fen for line in bill.lines) == bill.charged_fen
        assert "Utilities ￥43.21" in shown
        assert "parking_rent" not in shown and "property_fee" not in shown


async def test_the_desk_charges_takes_and_refunds_a_deposit_and_credits_a_bill(
    sctx, people
) -> None:
    """For the unit shown: the cashier adds a one-off charge (an amount typed wrong is said in
    the form, which stays) and takes a renovation deposit, its 收据 printed; the manager gives
    the deposit back and takes a credit note off the bill; a butler cannot take a deposit."""
    from kiosk.money import format_fen
    from plugins.billing.desk import BillingDeskPanel
    from tests.screens import open_form

    def statement():  # type: ignore[no-untyped-def]
        return service.unit_statement(sctx, people.manager, "3-1205")

    async def shown(app, pilot) -> None:  # type: ignore[no-untyped-def]
        await click(app, pilot, "#desk-unit")
        await pilot.press(*"3-1205", "enter")
        await wait_until(pilot, lambda: app.query_one("#desk-acts").display, "the unit's steps")

    said = lambda app: str(app.query_one("#said").render())  # noqa: E731
    before, jobs = statement(), print_jobs(sctx)
    app = DeskHarness(lambda: BillingDeskPanel(sctx), staff=people.cashier)
    async with app.run_test(size=(100, 40)) as pilot:
        await shown(app, pilot)
        form = await open_form(app, pilot, "#desk-charge", amount="12.345", what="换锁芯")
        form.query_one("#form-ok").press()
        await wait_until(pilot, lambda: "in yuan" in screen_text(app), "the amount refused")
        form.query_one("#field-amount").value = "80"  # type: ignore[attr-defined]
        form.query_one("#form-ok").press()
        await wait_until(pilot, lambda: "charged to 3-1205" in said(app), "the charge")
        assert said(app) == "￥80.00 charged to 3-1205 (Repair charge)."
        assert format_fen(before.owed_fen + 8000) in str(app.query_one("#statement").render())
        form = await open_form(app, pilot, "#desk-deposit", kind="renovation", amount="2000",
                               what="厨房改造")  # fmt: skip
        form.query_one("#form-ok").press()
        await wait_until(pilot, lambda: "taken from 3-1205" in said(app), "the deposit")
        assert "Renovation" in str(app.query_one("#statement").render())
    held = [d for d in statement().deposits if d["kind"] == "renovation"]
    assert [(d["amount_fen"], d["status"]) for d in held] == [(200000, "held")]
    assert print_jobs(sctx) == jobs + 1  # the deposit's 收据
    current = [b for b in statement().bills if b.status == "open"][-1]
    assert any(ln.kind == "repair" and ln.amount_fen == 8000 for ln in current.lines)

    app = DeskHarness(lambda: BillingDeskPanel(sctx), staff=people.butler)
    async with app.run_test(size=(100, 40)) as pilot:
        await shown(app, pilot)
        form = await open_form(app, pilot, "#desk-deposit", amount="500")
        form.query_one("#form-ok").press()
        await wait_until(pilot, lambda: "cashier" in said(app).lower(), "the butler refused")
    assert len(statement().deposits) == len(before.deposits) + 1

    app = DeskHarness(lambda: BillingDeskPanel(sctx), staff=people.manager)
    async with app.run_test(size=(100, 40)) as pilot:
        await shown(app, pilot)
        form = await open_form(app, pilot, "#desk-deposit-refund",
                               deposit=held[0]["receipt_no"], reason="装修验收合格")  # fmt: skip
        form.query_one("#form-ok").press()
        await wait_until(pilot, lambda: "refunded" in said(app), "the refund")
        form = await open_form(app, pilot, "#desk-credit", bill=str(current.id), amount="30",
                               reason="水费多收")  # fmt: skip
        form.query_one("#form-ok").press()
        await wait_until(pilot, lambda: "off the bill" in said(app), "the credit note")
    assert [d["status"] for d in statement().deposits if d["kind"] == "renovation"] == ["refunded"]
    after = {b.id: b for b in statement().bills}[current.id]
    assert after.balance_fen == current.balance_fen - 3000


async def test_back_from_a_payment_the_bill_paid_is_gone_from_the_list(sctx, gateway) -> None:
    """Paid, Done: the bills screen the resident returns to is read again; the paid bill is
    no longer offered (a stale list would invite paying it twice)."""
    from plugins.billing.screens import BillsScreen

    app = Harness(sctx, IdentifyScreen(sctx))
    async with app.run_test(size=(120, 40)) as pilot:
        qr_screen = await _to_qr(app, pilot)
        order = qr_screen.order
        number = order.bill_number
        paid = service.handle_notification(sctx, "sim", *gateway.pay(order.out_trade_no))
        assert paid.verdict == "paid"
        qr_screen.check()
        await wait_until(pilot, lambda: isinstance(app.screen, PaidScreen), "paid")
        await click(app, pilot, "#done")
        await wait_until(pilot, lambda: isinstance(app.screen, BillsScreen), "the bills again")
        await wait_until(pilot, lambda: number not in screen_text(app), "the paid bill gone")
        assert app.screen.query(".pay")  # the other bills are still there to pay
