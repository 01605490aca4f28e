"""The butler desk: staff login with PIN lockout, alerts, household file, plugin health."""

from __future__ import annotations

import pytest

from kiosk import lobby as lobby_services
from kiosk.context import KioskContext
from kiosk.hookspecs import DeskPanel, hookimpl
from kiosk.pii import find_unmasked
from kiosk.plugins import load_plugins
from kiosk.ui.scenarios import click
from tests.screens import until_at_rest, wait_until
from tests.ui.conftest import desk
from tests.ui.test_lobby import texts


async def login(pilot, who: str = "S001", pin: str = "2580") -> None:  # type: ignore[no-untyped-def]
    await pilot.press(*who, "enter", *pin, "enter")
    await pilot.pause()


async def open_tab(pilot, tab: str) -> None:  # type: ignore[no-untyped-def]
    """The butler signed in at the desk, on ``tab``."""
    await login(pilot)
    await wait_until(pilot, lambda: on_desk(pilot.app), "the desk")
    pilot.app.screen.show_tab(tab)
    await pilot.pause()


def on_desk(app) -> bool:  # type: ignore[no-untyped-def]
    return type(app.screen).__name__ == "DeskScreen"


def table_text(app) -> str:  # type: ignore[no-untyped-def]
    from textual.widgets import DataTable

    tables = app.screen.query(DataTable)
    return "\n".join(
        str(cell) for t in tables for row in range(t.row_count) for cell in t.get_row_at(row)
    )


async def test_a_wrong_pin_says_how_many_tries_are_left(ui_ctx: KioskContext) -> None:
    app = desk(ui_ctx, "en")
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, pin="1111")
        assert app.staff is None and "4 tries left" in texts(app)


async def test_a_login_without_the_database_says_so_and_the_desk_stays_up(
    ui_ctx: KioskContext,
) -> None:
    from kiosk.db import Database

    good = ui_ctx.db
    app = desk(ui_ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        ui_ctx.db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
        await login(pilot)
        await wait_until(pilot, lambda: "无法连接数据库" in texts(app))
        assert app.is_running and app.staff is None
        ui_ctx.db = good  # the database is back: the same login goes through
        await login(pilot)
        await wait_until(pilot, lambda: on_desk(app), "the desk")


async def test_a_desk_started_without_its_database_stays_up_and_says_so(
    ui_ctx: KioskContext,
) -> None:
    import dataclasses

    from kiosk.ui.desk_app import DeskApp

    away = dataclasses.replace(
        ui_ctx.settings, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none"
    )
    app = DeskApp(away)  # opens its own context, as kiosk desk does
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.ctx is not None)
        await login(pilot)
        await wait_until(pilot, lambda: "无法连接数据库" in texts(app))
        assert app.is_running and app.staff is None


async def test_a_login_before_the_desk_has_its_database_says_it_is_starting(
    ui_ctx: KioskContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PIN submitted while the desk still opens its database is not lost in silence: the desk
    says it is starting and keeps the PIN; once the database is open the same OK logs in."""
    from textual.widgets import Input

    from kiosk.ui.desk_app import DeskApp

    monkeypatch.setattr(DeskApp, "_load", lambda self: None)  # the database not open yet
    app = DeskApp(ui_ctx.settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        await wait_until(pilot, lambda: "前台系统正在启动" in texts(app))
        assert app.staff is None and app.screen.query_one("#pin", Input).value == "2580"
        app.ctx = ui_ctx  # opened
        await pilot.press("enter")
        await wait_until(pilot, lambda: on_desk(app), "the desk")


async def test_alerts_are_listed_and_acknowledged_once(ui_ctx: KioskContext) -> None:
    lobby_services.call_desk(ui_ctx, note="wheelchair at door B")
    app = desk(ui_ctx, "en")
    async with app.run_test(size=(100, 30)) as pilot:
        await login(pilot)
        await wait_until(pilot, lambda: "wheelchair at door B" in table_text(app))
        await click(pilot.app, pilot, "#ack")
        await wait_until(pilot, lambda: "wheelchair at door B" not in table_text(app))
    from kiosk.db.models import AuditEvent

    with ui_ctx.database().read() as s:
        assert (
            s.query(AuditEvent)
            .filter_by(action="alert.acknowledged", actor=f"staff:{app.staff.id}")
            .count()
            == 1
        )  # type: ignore[union-attr]


async def test_the_butler_reads_the_days_registers_at_the_desk(ui_ctx: KioskContext) -> None:
    """The procedures' paper registers, at the desk: the day's visitor log with the visitor
    masked, the parcel register in the form's words (待领, not a code); each register shows
    only to the roles that keep it (the cashier has the parking record, not the visitor log)."""
    from plugins.visitors import service as visitors

    ui_ctx.plugins = load_plugins()
    visitors.register_walkup(ui_ctx, name="赵六一", phone="13912345678", unit_code="3-1205",
                             purpose="探亲")  # fmt: skip
    app = desk(ui_ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        await wait_until(pilot, lambda: on_desk(app), "the desk")
        await click(app, pilot, "#registers")
        await wait_until(pilot, lambda: bool(app.screen.query("#register-visitors")), "the list")
        dialog = app.screen
        assert dialog.query("#register-parcels") and dialog.query("#register-parking")
        await click(app, pilot, "#register-visitors")
        await wait_until(pilot, lambda: dialog.shown == "visitors", "the visitor log")
        shown = table_text(app)
        assert "赵*一" in shown and "3-1205" in shown and "赵六一" not in shown
        assert "来访人员登记表：共 1 行" in texts(app)
        await click(app, pilot, "#register-parcels")
        await wait_until(pilot, lambda: dialog.shown == "parcels", "the parcel register")
        assert "待领" in table_text(app) and "waiting" not in table_text(app)
        await click(app, pilot, "#register-close")
        await wait_until(pilot, lambda: on_desk(app), "back on the desk")
    cashier = desk(ui_ctx)
    async with cashier.run_test(size=(80, 24)) as pilot:
        await login(pilot, "S002", "1357")
        await wait_until(pilot, lambda: on_desk(cashier), "the desk")
        await click(cashier, pilot, "#registers")
        await wait_until(pilot, lambda: bool(cashier.screen.query("#register-parking")), "list")
        assert not cashier.screen.query("#register-visitors")


def household_file_of(app, unit: str) -> bool:  # type: ignore[no-untyped-def]
    """The household panel shows the file of ``unit`` (written at once, once all is read)."""
    return unit in str(app.screen.query_one("#hf").render())


async def test_household_file_is_masked(ui_ctx: KioskContext) -> None:
    app = desk(ui_ctx, "en")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(pilot, "tab-household")
        await click(app, pilot, "#hf-unit")
        await pilot.press(*"3-1205", "enter")
        await wait_until(pilot, lambda: household_file_of(app, "3-1205"), "the household file")
        shown = texts(app)
        assert "王小明" in shown and "Emily Wang" in shown
        assert "****" in shown and find_unmasked(shown) == []


@pytest.mark.parametrize("between", ["tab", "enter"])
async def test_a_login_typed_in_one_burst_signs_in(ui_ctx: KioskContext, between: str) -> None:
    # A badge reader or a password manager types "S001<Tab>2580<Enter>" at once: every key is
    # in the app's queue before the first is handled, so the PIN's digits must not follow the
    # staff number into its field.
    from textual import events

    app = desk(ui_ctx, "en")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.screen.query("#who"), "the login form")
        keys = [*"S001", between, *"2580", "enter"]
        for key in keys:
            char = {"tab": "\t", "enter": "\r"}.get(key, key)
            app.post_message(events.Key(key, char))
        await wait_until(pilot, lambda: on_desk(app), "the desk after a burst login")
        assert app.staff is not None and "butler" in app.staff.roles


async def test_panels_follow_roles_and_failures_are_shown(ui_ctx: KioskContext) -> None:
    class Panels:
        @hookimpl
        def kiosk_desk_panels(self, ctx):
            from textual.widgets import Label

            return [
                DeskPanel("cash", "Cash drawer", lambda c: Label("cash panel"), roles=("cashier",)),
                DeskPanel("open", "Open to all", lambda c: Label("open panel")),
            ]

    class Broken:
        @hookimpl
        def kiosk_desk_panels(self, ctx):
            raise RuntimeError("panel hook broke")

    ui_ctx.plugins = load_plugins(extra={"panels": Panels(), "broken": Broken()})
    app = desk(ui_ctx, "en")
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot)  # S001 is a butler, not a cashier
        await wait_until(pilot, lambda: on_desk(app), "the desk")
        tabs = {pane.id for pane in app.screen.query("TabPane")}
        assert "tab-open" in tabs and "tab-cash" not in tabs
        app.screen.show_tab("tab-health")
        await pilot.pause()
        shown = texts(app)
        # The service is named and said to be off in words; the error is for IT (the log and
        # `kiosk plugins`), not the butler.
        assert "broken is switched off" in shown and "kiosk plugins" in shown
        assert "panel hook broke" not in shown


async def test_a_desk_left_alone_logs_the_staff_member_out(ui_ctx: KioskContext) -> None:
    import dataclasses

    from kiosk.config import DeskWebSettings
    from kiosk.ui.desk_app import DeskLoginScreen

    ui_ctx.settings = dataclasses.replace(
        ui_ctx.settings, desk=DeskWebSettings(idle_logout_minutes=2)
    )
    app = desk(ui_ctx, "en")
    now = [1000.0]
    app.monotonic = lambda: now[0]  # the desk's idle clock, moved by the test
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        await wait_until(pilot, lambda: on_desk(app), "the desk")
        now[0] += 119
        await app.idle_check()
        assert app.staff is not None  # not yet two minutes
        await pilot.press("tab")  # working at the desk starts the count again
        now[0] += 119
        await app.idle_check()
        assert app.staff is not None
        now[0] += 2
        await app.idle_check()
        await pilot.pause()
        assert app.staff is None and isinstance(app.screen, DeskLoginScreen)
        assert "Alerts" not in texts(app)
        assert any(
            "Logged out after 2 minutes without use" in str(n.message) for n in app._notifications
        )
        # The same login works again afterwards.
        await login(pilot)
        await wait_until(pilot, lambda: on_desk(app), "the desk")


async def test_a_login_behind_a_held_write_lock_says_busy_and_works_after(
    sqlite_demo_url: str,
) -> None:
    """Another process holds the SQLite write lock: the login (which records the attempt)
    gives up after the busy timeout and says so; the desk stays up and the PIN works after."""
    import sqlite3

    from kiosk.ui.desk_app import DeskApp
    from tests.conftest import fast_ctx

    ctx = fast_ctx(sqlite_demo_url)
    holder = sqlite3.connect(sqlite_demo_url.removeprefix("sqlite:///"), isolation_level=None)
    app = DeskApp(ctx.settings, ctx=ctx)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            holder.execute("BEGIN IMMEDIATE")
            await login(pilot)
            await wait_until(pilot, lambda: "数据库繁忙" in texts(app))
            assert app.is_running and app.staff is None
            holder.rollback()
            await login(pilot)
            await wait_until(pilot, lambda: on_desk(app), "the desk")
    finally:
        holder.close()
        ctx.database().dispose()


# -- a live desk ------------------------------------------------------------------------------


def _full_ctx(ui_ctx: KioskContext) -> KioskContext:
    ui_ctx.plugins = load_plugins()
    return ui_ctx


async def test_a_walk_up_registered_at_a_kiosk_appears_on_an_open_desk_at_the_next_poll(
    ui_ctx: KioskContext,
) -> None:
    from sqlalchemy import event

    from plugins.visitors import service as visitors

    app = desk(_full_ctx(ui_ctx), "en")
    app.poll_seconds = 3600  # the test is the clock: it calls the poll
    rings: list[int] = []
    app.bell = lambda: rings.append(1)  # type: ignore[method-assign]
    statements: list[str] = []
    event.listen(
        ui_ctx.database().engine,
        "before_cursor_execute",
        lambda *args: statements.append(args[2]),
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await login(pilot)
        await wait_until(pilot, lambda: on_desk(app), "the desk")
        await app.screen.desk_poll()  # the first tick takes stock
        shown = "3-1205 Z**** W**"  # the desk sees the name masked
        assert shown not in texts(app)
        visitors.register_walkup(
            ui_ctx, name="Zhang Wei", phone="13800138000", unit_code="3-1205", purpose="visit"
        )
        polls = app.screen.polls
        await app.screen.desk_poll()  # the next tick (every second): nobody pressed anything
        await pilot.pause()
        assert app.screen.polls == polls + 1
        assert shown in texts(app)
        statements.clear()
        await app.screen.desk_poll()  # nothing changed: one statement for the whole desk
        queries = [q for q in statements if q.lstrip().upper().startswith("SELECT")]
        assert len(queries) == 1
        assert all(t in queries[0] for t in ("desk_alert", "visitor_visit", "parcel", "repair"))
        assert rings and any("Z**** W**" in str(n.message) for n in app._notifications)
        # Approving asks first; No leaves the visit waiting.
        app.screen.show_tab("tab-visitors")
        await pilot.pause()
        button = next(b for b in app.screen.query("Button") if (b.id or "").startswith("approve-"))
        visit_id = int(button.id.partition("-")[2])
        await click(pilot.app, pilot, f"#{button.id}")
        await pilot.pause()
        await click(pilot.app, pilot, "#confirm-no")
        await pilot.pause()
        assert visitors.visit_status(ui_ctx, visit_id).status == "pending"
        await click(pilot.app, pilot, f"#{button.id}")
        await pilot.pause()
        await click(pilot.app, pilot, "#confirm-yes")
        await wait_until(
            pilot, lambda: visitors.visit_status(ui_ctx, visit_id).status == "approved"
        )


async def test_an_urgent_alert_rings_and_shows_at_the_next_poll(ui_ctx: KioskContext) -> None:
    app = desk(ui_ctx, "en")
    app.poll_seconds = 3600
    rings: list[int] = []
    app.bell = lambda: rings.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        await login(pilot)
        await wait_until(pilot, lambda: on_desk(app), "the desk")
        await app.screen.desk_poll()
        lobby_services.call_desk(ui_ctx, note="lift stuck")
        await app.screen.desk_poll()
        await pilot.pause()
        assert "lift stuck" in table_text(app) and "Call for help" in table_text(app)
        assert rings == [1]
        assert any(n.severity == "error" for n in app._notifications)
        await app.screen.desk_poll()  # nothing new: no second ring
        assert rings == [1]


# -- repairs at the desk ----------------------------------------------------------------------


async def _step(pilot, app, step: str, answer: str = "confirm-yes", fill=None) -> None:  # type: ignore[no-untyped-def]
    """Press a ticket's next-step button, fill its dialog, answer."""
    await wait_until(pilot, lambda: bool(app.screen.query(f"#rp-{step}")))
    app.screen.query_one(f"#rp-{step}").press()
    await wait_until(pilot, lambda: bool(app.screen.query(f"#{answer}")))
    if fill is not None:
        await fill(app.screen)
    await press(pilot, app, answer)


async def press(pilot, app, button: str) -> None:  # type: ignore[no-untyped-def]
    app.screen.query_one(f"#{button}").press()
    await pilot.pause()


async def test_a_ticket_goes_from_a_phone_call_to_closed_through_the_desk_buttons(
    ui_ctx: KioskContext,
) -> None:
    from textual.widgets import Input, Select

    from plugins.repairs import service as repairs
    from plugins.repairs.screens import draw_signature

    app = desk(_full_ctx(ui_ctx), "en")
    app.poll_seconds = 3600
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(pilot, "tab-repairs")

        async def phoned_in(dialog) -> None:  # type: ignore[no-untyped-def]
            dialog.query_one("#field-unit", Input).value = "3-1205"
            dialog.query_one("#field-category", Select).value = "plumbing.leak"
            dialog.query_one("#field-description", Input).value = "kitchen tap drips"
            dialog.query_one("#field-contact", Input).value = "13800138000"

        app.screen.query_one("#rp-new").press()
        await wait_until(pilot, lambda: bool(app.screen.query("#form-ok")))
        await phoned_in(app.screen)
        await press(pilot, app, "form-ok")
        await wait_until(pilot, lambda: "Request filed" in texts(app))
        panel = app.screen.query_one("RepairsDeskPanel")
        number = panel.selected
        assert number and repairs.get_ticket(ui_ctx, number).status == "new"
        assert "Leaking tap or pipe" in table_text(app) and "plumbing.leak" not in texts(app)

        async def status(want: str) -> None:
            await wait_until(pilot, lambda: repairs.get_ticket(ui_ctx, number).status == want)

        await _step(pilot, app, "confirm")
        await status("confirmed")

        async def price(dialog) -> None:  # type: ignore[no-untyped-def]
            dialog.query_one("#field-price", Input).value = "80"

        await _step(pilot, app, "quote", "form-ok", price)
        await wait_until(pilot, lambda: repairs.get_ticket(ui_ctx, number).price_fen == 8000)

        async def agrees(dialog) -> None:  # type: ignore[no-untyped-def]
            dialog.query_one("#field-answer", Select).value = "yes"

        await _step(pilot, app, "consent", "form-ok", agrees)
        await wait_until(pilot, lambda: "consent: yes" in texts(app))
        await _step(pilot, app, "dispatch", "form-ok")  # the one engineer is preselected
        await status("dispatched")
        await _step(pilot, app, "start")
        await status("in_progress")

        async def empty_pad(dialog) -> None:  # type: ignore[no-untyped-def]
            pass

        # An empty pad is no signature: the dialog stays and says so.
        await _step(pilot, app, "complete", "form-ok", empty_pad)
        assert "Please sign on the pad" in texts(app)
        assert repairs.get_ticket(ui_ctx, number).status == "in_progress"
        await draw_signature(pilot, app.screen.query_one("#field-signature"))
        await press(pilot, app, "form-ok")
        await status("completed")

        async def rating(dialog) -> None:  # type: ignore[no-untyped-def]
            dialog.query_one("#field-rating", Select).value = "5"

        await _step(pilot, app, "visit", "form-ok", rating)
        await status("closed")
    from kiosk.db.models import AuditEvent

    with ui_ctx.database().read() as s:
        actions = [
            a
            for (a,) in s.query(AuditEvent.action).filter(
                AuditEvent.subject == f"repair:{number}", AuditEvent.actor == "staff:1"
            )
        ]
    for done in ("filed", "confirmed", "quoted", "consent", "dispatched", "completed", "closed"):
        assert f"repair.{done}" in actions


async def test_a_complaint_is_forwarded_judged_and_answered_through_the_desk_buttons(
    ui_ctx: KioskContext,
) -> None:
    """The complaint steps of the procedure (000 投诉) at the desk: forwarded by whoever heard
    it, judged valid, graded on confirming, and answered; an invalid one closes with its
    explanation. The complainant gets each answer by SMS."""
    from sqlalchemy import select
    from textual.widgets import Input, Select

    from kiosk.db.models import AuditEvent, Notification
    from plugins.repairs import service as repairs
    from tests.plugins.demo_people import BUTLER as butler

    ctx = _full_ctx(ui_ctx)
    first = repairs.file_ticket(ctx, butler, category="complaint.noise", unit_code="2-803",
                                description="renovation noise at night",
                                contact_phone="13900001111").number  # fmt: skip
    second = repairs.file_ticket(ctx, butler, category="complaint.fees", unit_code="1-101",
                                 contact_phone="13900002222").number  # fmt: skip
    app = desk(ctx, "en")
    app.poll_seconds = 3600
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(pilot, "tab-repairs")
        panel = app.screen.query_one("RepairsDeskPanel")
        panel.selected = first
        await panel.show_ticket()

        async def to_engineering(dialog) -> None:  # type: ignore[no-untyped-def]
            dialog.query_one("#field-reason", Input).value = "工程部 王工"

        await wait_until(pilot, lambda: bool(app.screen.query("#rp-forward")), "its steps")
        assert not app.screen.query("#rp-quote") and not app.screen.query("#rp-emergency")
        await _step(pilot, app, "forward", "form-ok", to_engineering)
        await wait_until(pilot, lambda: "forwarded" in texts(app), "the forward")

        async def valid(dialog) -> None:  # type: ignore[no-untyped-def]
            dialog.query_one("#field-verdict", Select).value = "valid"

        await _step(pilot, app, "judge", "form-ok", valid)
        await wait_until(pilot, lambda: "judged" in texts(app), "the verdict")
        assert not app.screen.query("#rp-judge")  # judged once

        async def answer(dialog) -> None:  # type: ignore[no-untyped-def]
            dialog.query_one("#field-reason", Input).value = "已与施工方沟通，晚上不再施工"

        await _step(pilot, app, "reply", "form-ok", answer)
        await wait_until(pilot, lambda: "Reply recorded" in texts(app), "the reply")
        t = repairs.get_ticket(ctx, first)
        assert t.status not in ("closed", "canceled")

        panel.selected = second
        await panel.show_ticket()

        async def invalid_without_reason(dialog) -> None:  # type: ignore[no-untyped-def]
            dialog.query_one("#field-verdict", Select).value = "invalid"

        await _step(pilot, app, "judge", "form-ok", invalid_without_reason)
        assert "needs an explanation" in texts(app)  # the dialog stays and says why
        app.screen.query_one("#field-explanation", Input).value = "物业费按合同标准收取"
        await press(pilot, app, "form-ok")
        await wait_until(
            pilot, lambda: repairs.get_ticket(ctx, second).status == "closed", "closed as invalid"
        )
    with ctx.database().read() as s:
        actions = set(
            s.scalars(select(AuditEvent.action).where(AuditEvent.subject == f"repair:{first}"))
        )
        sms = s.scalars(select(Notification).where(Notification.channel == "sms")).all()
        told = {(n.recipient, n.template) for n in sms}
        forwarded = s.scalars(
            select(Notification).where(Notification.template == "complaint_forwarded")
        ).all()
    assert {"complaint.forwarded", "complaint.judged", "complaint.replied"} <= actions
    assert ("13900001111", "complaint_reply") in told
    assert ("13900002222", "complaint_invalid") in told
    assert [n.recipient for n in forwarded] == ["工程部 王工"]


async def test_a_closed_repair_is_found_by_its_number_and_reopened(ui_ctx: KioskContext) -> None:
    """The tap leaks again after the ticket was closed: the list shows open tickets only, so
    the butler types the number, and the closed ticket offers Reopen."""
    from textual.widgets import Input

    from plugins.repairs import service as repairs
    from tests.plugins.demo_people import BUTLER, ENGINEER, SIGNED

    ctx = _full_ctx(ui_ctx)
    number = repairs.file_ticket(ctx, BUTLER, category="plumbing.leak", unit_code="1-101").number
    repairs.confirm(ctx, BUTLER, number)
    repairs.dispatch(ctx, BUTLER, number, ENGINEER.name)
    repairs.start(ctx, ENGINEER, number)
    repairs.complete(ctx, ENGINEER, number, SIGNED)
    repairs.close(ctx, BUTLER, number)
    assert repairs.get_ticket(ctx, number).status == "closed"
    app = desk(ctx, "en")
    app.poll_seconds = 3600
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "tab-repairs")
        panel = app.screen.query_one("RepairsDeskPanel")
        await click(app, pilot, "#rp-find")
        await pilot.press(*"R999", "enter")
        await wait_until(pilot, lambda: "There is no ticket R999" in texts(app), "unknown")
        app.screen.query_one("#rp-find", Input).value = number.lower()
        await click(app, pilot, "#rp-find")
        await pilot.press("enter")
        await wait_until(pilot, lambda: panel.selected == number, "the closed ticket")

        async def why(dialog) -> None:  # type: ignore[no-untyped-def]
            dialog.query_one("#field-reason", Input).value = "leaks again"

        await _step(pilot, app, "reopen", "form-ok", why)
        await wait_until(pilot, lambda: repairs.get_ticket(ctx, number).status == "reopened")
        await wait_until(pilot, lambda: "reopened" in texts(app), "said")


# -- a Chinese desk speaks Chinese ------------------------------------------------------------

ENGLISH_PANEL_WORDS = (
    "Alerts", "Household", "Visitors", "Parcels", "Repairs", "Umbrellas", "Parking", "System",
    "SLA", "timers", "Open ", "late", "min left", "asks for help", "connected",
    "Acknowledge", "Search", "Approve", "Decline", "waiting", "Inside", "Check in", "Log out",
    "Quit", "Refresh", "Unit", "Status", "Category", "Due", "Confirm", "Dispatch", "Call for",
    "EMERGENCY", "open", "Time", "Kind", "Message", "Plugins", "Deadline", "umbrella",
    "block list", "Return to sender", "proxy", "Retire", "Replace", "waits for the host",
)  # fmt: skip
RAW_CODE = r"\b[a-z]+[._][a-z_]+\b"  # plumbing.leak, desk_call, parking_card, in_progress


async def test_a_chinese_desk_shows_no_english_words_or_raw_codes_on_any_tab(
    ui_ctx: KioskContext,
) -> None:
    import re

    from plugins.repairs import service as repairs
    from plugins.visitors import service as visitors

    ctx = _full_ctx(ui_ctx)
    lobby_services.call_desk(ctx, note="轮椅在B门")
    with ctx.database().read() as s:
        from kiosk.identity import Actor

        actor = Actor.of_staff(s.query(__import__("kiosk.db.models").db.models.Staff).first())
    repairs.file_ticket(ctx, actor, category="plumbing.leak", unit_code="3-1205")
    repairs.file_ticket(ctx, actor, category="plumbing.burst_pipe", unit_code="3-1205")
    visitors.register_walkup(
        ctx, name="张伟", phone="13800138000", unit_code="3-1205", purpose="探亲"
    )
    from kiosk.notify import run_dispatch

    run_dispatch(ctx)  # the desk's messages (a visitor waiting) become alerts
    with ctx.database().read() as s:
        from kiosk.db.models import DeskAlert

        kinds = {a.kind for a in s.query(DeskAlert)}
    assert {"desk_call", "repair_emergency", "visitor.waiting"} <= kinds
    app = desk(ctx, "zh_CN")
    app.poll_seconds = 3600
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot)
        await wait_until(pilot, lambda: on_desk(app), "the desk")
        await until_at_rest(pilot, "the desk")
        tabs = [pane.id for pane in app.screen.query("TabPane")]
        assert {"tab-alerts", "tab-visitors", "tab-repairs", "tab-health"} <= set(tabs)
        problems = []
        for tab in tabs:
            app.screen.show_tab(tab)
            await until_at_rest(pilot, tab)
            shown = texts(app) + "\n" + table_text(app)
            shown = re.sub(r"<[\w.]+ object at 0x[0-9a-f]+>", "", shown)  # not text
            for word in ENGLISH_PANEL_WORDS:
                if word in shown:
                    problems.append((tab, word))
            problems += [(tab, code) for code in re.findall(RAW_CODE, shown)]
        assert " | ".join(sorted(set(p[1] for p in problems))) == ""


def test_a_deposit_receipt_names_what_the_deposit_is_for_in_chinese(ui_ctx: KioskContext) -> None:
    import json

    from sqlalchemy import select

    from kiosk.db.models import PrintJob, Staff
    from kiosk.i18n import set_language
    from kiosk.identity import Actor
    from plugins.billing import service as billing

    ctx = _full_ctx(ui_ctx)
    ctx.plugins.call("kiosk_startup", ctx=ctx)
    set_language("zh_CN")
    with ctx.database().read() as s:
        cashier = Actor.of_staff(s.scalars(select(Staff).where(Staff.number == "S005")).one())
    billing.take_deposit(ctx, cashier, "3-1205", "parking_card", 10000, "")
    with ctx.database().read() as s:
        doc = s.scalars(select(PrintJob.document).where(PrintJob.kind == "billing-deposit")).all()[
            -1
        ]
    text = json.dumps(doc, ensure_ascii=False)
    assert "停车卡" in text and "parking_card" not in text


# -- an 80x24 desk ----------------------------------------------------------------------------


async def test_on_80x24_the_wrong_pin_line_is_on_screen_and_every_tab_is_reachable(
    ui_ctx: KioskContext,
) -> None:
    from textual.widgets import Tab

    app = desk(_full_ctx(ui_ctx), "zh_CN")
    app.poll_seconds = 3600
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, pin="1111")
        message = app.screen.query_one("#message")
        assert "还可" in str(message.render()) or "次" in str(message.render())
        assert 0 <= message.region.y < 24 and message.region.height >= 1
        await login(pilot)
        await wait_until(pilot, lambda: on_desk(app), "the desk")
        await pilot.pause()
        tabs = list(app.screen.query("#desk-tabs > ContentTabs Tab").results(Tab))
        assert len(tabs) >= 8
        assert all(t.region.right <= 80 and t.region.width > 0 for t in tabs)  # none cut off
        # Tabs that do not fit go under 更多 (More), on a bar of their own that fits too.
        nested = list(app.screen.query("#desk-more > ContentTabs Tab").results(Tab))
        assert nested and [t.label_text for t in tabs][-2:] == ["更多", "系统"]
        for tab in nested:
            app.screen.show_tab(tab.id.removeprefix("--content-tab-"))
            await pilot.pause()
            assert tab.region.width > 0 and tab.region.right <= 80 and tab.region.y > 0
        footer = "\n".join(str(w.render()) for w in app.screen.query("FooterKey"))
        assert "退出" in footer and "刷新" in footer
        # The footer's keys work: ctrl+l logs out, the staff number field takes the keys.
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert app.staff is None and app.focused is not None and app.focused.id == "who"


async def test_the_desk_rental_form_masks_the_driving_licence_once_entered(
    ui_ctx: KioskContext,
) -> None:
    from textual.widgets import Input

    app = desk(_full_ctx(ui_ctx), "en")
    app.poll_seconds = 3600
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "S005", "1470")  # the manager: every panel
        await wait_until(pilot, lambda: on_desk(app), "the desk")
        app.screen.show_tab("tab-parking")
        await pilot.pause()
        field = app.screen.query_one("#licence", Input)
        field.focus()
        await pilot.press(*"440301199001011234")
        assert "440301199001011234" in str(field.render_line(0).text)
        app.screen.query_one("#months", Input).focus()
        await pilot.pause()
        assert field.value == "440301199001011234"
        assert "440301199001011234" not in texts(app) + str(field.render_line(0).text)


async def test_the_household_file_shows_the_units_repairs_visits_parcels_loans_and_bills(
    ui_ctx: KioskContext,
) -> None:
    from sqlalchemy import select

    from kiosk.db.models import Staff
    from kiosk.identity import Actor
    from plugins.repairs import service as repairs
    from plugins.visitors import service as visitors

    ctx = _full_ctx(ui_ctx)
    with ctx.database().read() as s:
        butler = Actor.of_staff(s.scalars(select(Staff).where(Staff.number == "S001")).one())
    ticket = repairs.file_ticket(ctx, butler, category="plumbing.leak", unit_code="3-1205")
    visitors.register_walkup(
        ctx, name="张伟", phone="13800138000", unit_code="3-1205", purpose="探亲"
    )
    app = desk(ctx, "zh_CN")
    app.poll_seconds = 3600
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(pilot, "tab-household")
        await click(pilot.app, pilot, "#hf-unit")
        await pilot.press(*"3-1205", "enter")
        await wait_until(pilot, lambda: "报修与投诉" in texts(app))
        shown = texts(app)
        for part in ("访客", "待领快递", "借出的雨伞", "欠费账单"):
            assert part in shown
        assert ticket.number in shown and "水龙头或水管漏水" in shown and "新建" in shown
        assert "张*" in shown and "张伟" not in shown  # the visitor's name masked
        assert "plumbing.leak" not in shown and find_unmasked(shown) == []
        # The unit with a monthly parking rental shows it with its card.
        app.screen.query_one("#hf-unit").value = "1-1001"
        await pilot.press("enter")
        await wait_until(pilot, lambda: "月租停车" in texts(app))
        assert "粤B12345 已缴至" in texts(app)


async def test_an_engineer_sees_my_tickets_and_can_start_and_complete_only(
    ui_ctx: KioskContext,
) -> None:
    from sqlalchemy import select

    from kiosk.db.models import Staff
    from kiosk.identity import Actor
    from plugins.repairs import service as repairs
    from plugins.repairs.screens import draw_signature

    ctx = _full_ctx(ui_ctx)
    with ctx.database().read() as s:
        butler = Actor.of_staff(s.scalars(select(Staff).where(Staff.number == "S001")).one())
    mine = repairs.file_ticket(ctx, butler, category="plumbing.leak", unit_code="3-1205")
    other = repairs.file_ticket(ctx, butler, category="plumbing.leak", unit_code="3-1205")
    repairs.confirm(ctx, butler, mine.number)
    repairs.dispatch(ctx, butler, mine.number, "赵工程")
    app = desk(ctx, "en")
    app.poll_seconds = 3600
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "S003", "8642")  # 赵工程, engineer
        await wait_until(pilot, lambda: on_desk(app), "the desk")
        app.screen.show_tab("tab-repairs")
        await wait_until(pilot, lambda: mine.number in table_text(app))
        assert other.number not in table_text(app)  # not dispatched to anyone: not "mine"
        assert not app.screen.query("#rp-new") and "My tickets: 1" in texts(app)
        buttons = {b.id for b in app.screen.query("#rp-actions Button")}
        assert buttons == {"rp-start", "rp-defer"}  # no confirm, dispatch, cancel, close
        await _step(pilot, app, "start")
        await wait_until(
            pilot, lambda: repairs.get_ticket(ctx, mine.number).status == "in_progress"
        )

        async def sign(dialog) -> None:  # type: ignore[no-untyped-def]
            await draw_signature(pilot, dialog.query_one("#field-signature"))

        await _step(pilot, app, "complete", "form-ok", sign)
        await wait_until(pilot, lambda: repairs.get_ticket(ctx, mine.number).status == "completed")
        buttons = {b.id for b in app.screen.query("#rp-actions Button")}
        assert "rp-visit" not in buttons and "rp-close" not in buttons  # the desk's, not his


async def test_the_command_palette_offers_the_desk_actions_only(ui_ctx: KioskContext) -> None:
    from textual.command import CommandPalette

    app = desk(_full_ctx(ui_ctx), "zh_CN")
    app.poll_seconds = 3600
    async with app.run_test(size=(100, 30)) as pilot:
        assert list(app.get_system_commands(app.screen)) == []  # nobody logged in: nothing
        await login(pilot)
        await wait_until(pilot, lambda: on_desk(app), "the desk")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "转到 报修" in titles and "登记来电报修" in titles and "退出登录" in titles
        assert not any("theme" in t.lower() or "screenshot" in t.lower() for t in titles)
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"转到 报修")
        await wait_until(pilot, lambda: palette_offers(app, "转到 报修"), "the palette's search")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen.query_one("#desk-tabs").active == "tab-repairs")


def palette_offers(app, title: str) -> bool:  # type: ignore[no-untyped-def]
    """The command palette has searched what was typed and offers ``title`` first."""
    from textual.command import CommandList

    found = app.screen.query(CommandList)
    if not found or any(not worker.is_finished for worker in app.workers):
        return False
    offered = found.first()
    if offered.highlighted is None:
        return False
    return str(offered.get_option_at_index(offered.highlighted).prompt).startswith(title)


async def test_a_step_taken_elsewhere_shows_at_the_next_poll_and_f5_reads_every_tab(
    ui_ctx: KioskContext,
) -> None:
    """The engineer (or another desk) moves a ticket on: the next poll shows its new status
    in the list. Showing a ticket twice at once (a reload and the row it highlights) mounts
    its step buttons once, not twice (that was DuplicateIds, and the tab was disabled).
    F5 reads every tab again, also one whose watched figures did not change."""
    import asyncio

    from plugins.repairs import service as repairs
    from tests.plugins.demo_people import BUTLER as butler

    ctx = _full_ctx(ui_ctx)
    number = repairs.file_ticket(ctx, butler, category="plumbing.leak", unit_code="2-803",
                                 contact_phone="13900001111").number  # fmt: skip
    app = desk(ctx, "en")
    app.poll_seconds = 3600
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(pilot, "tab-repairs")
        await app.screen.desk_poll()  # the first tick takes stock
        panel = app.screen.query_one("RepairsDeskPanel")
        assert f"{number}" in table_text(app) and "Confirmed" not in table_text(app)
        repairs.confirm(ctx, butler, number)  # elsewhere: the CLI, another desk
        await app.screen.desk_poll()
        await wait_until(pilot, lambda: "Confirmed" in table_text(app), "the new status")
        panel.selected = number
        await asyncio.gather(panel.show_ticket(), panel.show_ticket())
        ids = [b.id for b in panel.query("#rp-actions Button")]
        assert ids and len(ids) == len(set(ids)), ids
        assert not app.screen.query(".failure")
        seen = app.screen.polls
        reloads: list[int] = []
        real = panel.desk_changed

        async def counted(old, new) -> None:  # type: ignore[no-untyped-def]
            reloads.append(1)
            await real(old, new)

        panel.desk_changed = counted  # type: ignore[method-assign]
        await app.screen.desk_poll()  # nothing changed: no reload
        assert reloads == []
        await pilot.press("f5")
        await wait_until(pilot, lambda: app.screen.polls > seen + 1, "the refresh")
        assert reloads == [1]
