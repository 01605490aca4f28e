"""The butler's stock and list procedures at the desk, by its buttons and dialogs: umbrellas
added, retired (asked first) and replaced; the visitor block list; a parcel proxy named and an
item returned to its carrier (asked first)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from textual.widgets import Input, Select

from kiosk.context import KioskContext
from kiosk.identity import Actor
from tests.screens import wait_until
from tests.ui.conftest import desk
from tests.ui.test_desk import _full_ctx, login, on_desk
from tests.ui.test_lobby import texts

BUTLER = Actor("staff", 1, "李管家", frozenset({"butler"}))


async def open_tab(pilot: Any, app: Any, tab: str) -> None:
    await login(pilot)
    await wait_until(pilot, lambda: on_desk(app), "the desk")
    app.screen.show_tab(f"tab-{tab}")
    await pilot.pause()


async def dialog(pilot: Any, app: Any, button: str, **values: str) -> None:
    """Press ``button``, fill the form's fields, press OK."""
    app.screen.query_one(f"#{button}").press()
    await wait_until(pilot, lambda: bool(app.screen.query("#form-ok")))
    for name, value in values.items():
        field = app.screen.query_one(f"#field-{name}")
        assert isinstance(field, Input | Select)
        field.value = value
    app.screen.query_one("#form-ok").press()
    await pilot.pause()


async def answer(pilot: Any, app: Any, yes: bool) -> None:
    await wait_until(pilot, lambda: bool(app.screen.query("#confirm-yes")))
    app.screen.query_one("#confirm-yes" if yes else "#confirm-no").press()
    await pilot.pause()


def umbrella_state(ctx: KioskContext, tag: str) -> str | None:
    from plugins.umbrellas.models import Umbrella

    with ctx.database().read() as session:
        return session.scalar(select(Umbrella.state).where(Umbrella.tag == tag))


async def test_the_butler_adds_retires_and_replaces_umbrellas_at_the_desk(
    ui_ctx: KioskContext,
) -> None:
    from plugins.umbrellas.models import Umbrella

    app = desk(_full_ctx(ui_ctx), "en")
    app.poll_seconds = 3600
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(pilot, app, "umbrellas")
        # A price that is not an amount keeps the form open and says what to type.
        await dialog(pilot, app, "um-add", tag="u-900", price="thirty")
        assert "Enter the price in yuan" in texts(app)
        app.screen.query_one("#field-price", Input).value = "35"
        app.screen.query_one("#form-ok").press()
        await wait_until(pilot, lambda: umbrella_state(ui_ctx, "U-900") == "available")
        await wait_until(pilot, lambda: "Umbrella U-900 is on the stand." in texts(app))

        # Retiring asks first: No leaves it on the stand, Yes takes it out of service.
        await dialog(pilot, app, "um-retire", tag="U-900")
        await answer(pilot, app, yes=False)
        assert umbrella_state(ui_ctx, "U-900") == "available"
        await dialog(pilot, app, "um-retire", tag="U-900")
        await answer(pilot, app, yes=True)
        await wait_until(pilot, lambda: umbrella_state(ui_ctx, "U-900") == "retired")
        # Twice is refused in words, not done again.
        await dialog(pilot, app, "um-retire", tag="U-900")
        await answer(pilot, app, yes=True)
        await wait_until(pilot, lambda: "already retired" in texts(app))

        # A lost umbrella (reported by a return) is replaced by a new one of its kind.
        with ui_ctx.database().write() as session:
            session.execute(update(Umbrella).where(Umbrella.tag == "U001").values(state="lost"))
        await app.screen.query_one("UmbrellasDeskPanel").recompose()
        await pilot.pause()
        assert "To replace: 1" in texts(app)
        await dialog(pilot, app, "um-replace", old="U001", new="u-901")
        await wait_until(pilot, lambda: umbrella_state(ui_ctx, "U-901") == "available")
        assert umbrella_state(ui_ctx, "U001") == "retired"
        with ui_ctx.database().read() as session:
            new = session.scalars(select(Umbrella).where(Umbrella.tag == "U-901")).one()
            old = session.scalars(select(Umbrella).where(Umbrella.tag == "U001")).one()
        assert (new.kind, new.price_fen, new.lobby) == (old.kind, old.price_fen, old.lobby)


async def test_the_block_list_is_kept_at_the_desk_and_holds_a_walk_up(
    ui_ctx: KioskContext,
) -> None:
    from plugins.visitors import service as visitors

    app = desk(_full_ctx(ui_ctx), "en")
    app.poll_seconds = 3600
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(pilot, app, "visitors")
        await dialog(
            pilot, app, "block-add", name="Zhao Liu", phone="13900001111", reason="harassment"
        )
        await wait_until(pilot, lambda: "Added to the block list" in texts(app))
        entries = visitors.block_list(ui_ctx, BUTLER)
        assert [e["phone"] for e in entries] == ["139****1111"]
        shown = texts(app)
        assert "139****1111" in shown and "13900001111" not in shown

        # The listed visitor's walk-up waits for the desk (the host is not asked).
        visit = visitors.register_walkup(
            ui_ctx, name="Zhao Liu", phone="13900001111", unit_code="3-1205", purpose="visit"
        )
        assert [p["blocked"] for p in visitors.pending_visits(ui_ctx) if p["id"] == visit.id] == [
            True
        ]

        # Removing asks first.
        remove = f"#unblock-{entries[0]['id']}"
        await wait_until(pilot, lambda: bool(app.screen.query(remove)))
        app.screen.query_one(remove).press()
        await answer(pilot, app, yes=False)
        assert len(visitors.block_list(ui_ctx, BUTLER)) == 1
        app.screen.query_one(remove).press()
        await answer(pilot, app, yes=True)
        await wait_until(pilot, lambda: visitors.block_list(ui_ctx, BUTLER) == [])
        await wait_until(pilot, lambda: not app.screen.query(remove))


async def test_a_proxy_is_named_and_an_item_returned_to_its_carrier_at_the_desk(
    ui_ctx: KioskContext,
) -> None:
    from plugins.parcels import service as parcels
    from plugins.parcels.models import Parcel

    parcels.check_in(ui_ctx, BUTLER, tracking="SF1000000000777", unit_code="1-101")
    app = desk(_full_ctx(ui_ctx), "en")
    app.poll_seconds = 3600
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(pilot, app, "parcels")
        await dialog(
            pilot, app, "proxy-add", unit="1-101", name="Sun Qi", phone="13700002222",
            until="not a day",
        )  # fmt: skip
        await wait_until(pilot, lambda: "YYYY-MM-DD" in texts(app))
        assert parcels.list_proxies(ui_ctx, "1-101") == []
        await dialog(pilot, app, "proxy-add", unit="1-101", name="Sun Qi", phone="13700002222")
        await wait_until(pilot, lambda: "Sun Qi may now collect for 1-101." in texts(app))
        assert [p["valid"] for p in parcels.list_proxies(ui_ctx, "1-101")] == [True]

        # The unit's proxies are listed; one is withdrawn, once asked.
        await dialog(pilot, app, "proxy-list", unit="2-803")
        await wait_until(pilot, lambda: "No one may collect for 2-803" in texts(app))
        await dialog(pilot, app, "proxy-list", unit="1-101")
        await wait_until(pilot, lambda: "Proxies of 1-101" in texts(app), "the list")
        assert "Sun Qi, for the household, 137****2222, until no end" in texts(app)
        app.screen.query_one("#form-ok").press()  # the one listed is chosen: OK
        await answer(pilot, app, yes=True)
        await wait_until(pilot, lambda: parcels.list_proxies(ui_ctx, "1-101") == [])
        await wait_until(pilot, lambda: "may no longer collect for 1-101" in texts(app))

        # Returning asks for the reason, then asks first.
        await dialog(pilot, app, "return-sender", tracking="SF1000000000777", reason="refused")
        await answer(pilot, app, yes=False)

        def status() -> str | None:
            with ui_ctx.database().read() as session:
                return session.scalar(
                    select(Parcel.status).where(Parcel.tracking_number == "SF1000000000777")
                )

        assert status() == "waiting"
        await dialog(pilot, app, "return-sender", tracking="SF1000000000777", reason="refused")
        await answer(pilot, app, yes=True)
        await wait_until(pilot, lambda: status() == "returned")
        await wait_until(pilot, lambda: "Returned to sender." in texts(app))
        # An unknown number is a refusal in words.
        await dialog(pilot, app, "return-sender", tracking="SF0000000000000", reason="x")
        await answer(pilot, app, yes=True)
        await wait_until(pilot, lambda: "There is no parcel" in texts(app))
