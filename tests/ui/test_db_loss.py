"""Losing the database for real: the link between a kiosk and the estate's PostgreSQL server
is cut (tests/netcut.py), mid-transaction and while idle, then restored.

- A pickup cut off between its writes is rolled back by the server: nothing half-applied, the
  audit chain intact, and the same pickup succeeds once the link is back.
- The kiosk shows its out-of-service screen (the desk call still offered) and returns to the
  home screen by itself within 5 s of the database coming back.

- A link that silently drops packets fails a tap within the TCP user timeout (out of service,
  not a frozen kiosk); a SQLite write lock held by another process gives "busy, try again"
  after the busy timeout while the screen keeps running.

(The SQLite variant, a database that cannot be opened, is in test_lobby.py.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import DBAPIError

from kiosk import audit
from kiosk.clock import FixedClock
from kiosk.config import Settings
from kiosk.context import KioskContext
from kiosk.db import Database
from kiosk.db.models import AuditEvent, PrintJob
from kiosk.plugins import load_plugins
from kiosk.ui.screens import HomeScreen, OutOfServiceScreen
from tests.conftest import FAST, PostgresDatabases, fast_ctx
from tests.core.test_crash import _waiting_parcel, pickup_of
from tests.netcut import CuttableLink
from tests.screens import wait_until
from tests.ui.test_lobby import SIZE, texts

# How long the kiosk may take to come back once the database is reachable again.
BACK_WITHIN_S = 5.0


def _ctx(url: str, kiosk_id: str) -> KioskContext:
    return KioskContext(
        settings=Settings(database_url=url, kiosk_id=kiosk_id, lobby="A", source="<tests>"),
        clock=FixedClock(),
        db=Database(url),
        plugins=load_plugins(),
    )


@pytest.fixture
def estate(
    postgres: PostgresDatabases,
) -> Iterator[tuple[CuttableLink, KioskContext, KioskContext]]:
    """(the link, a kiosk reaching the database through it, a direct view for checking)."""
    url = postgres.fresh(seeded=True)
    link, through = CuttableLink.to(url)
    kiosk, direct = _ctx(through, "kiosk-behind-link"), _ctx(url, "checker")
    yield link, kiosk, direct
    kiosk.database().dispose()
    direct.database().dispose()
    link.close()


def _count(ctx: KioskContext, model: Any, *where: Any) -> int:
    with ctx.database().read() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_a_pickup_cut_off_mid_transaction_leaves_nothing_half_done(
    estate: tuple[CuttableLink, KioskContext, KioskContext],
) -> None:
    from plugins.parcels import service
    from plugins.parcels.models import Parcel, Release

    link, kiosk, direct = estate
    p = _waiting_parcel(direct)
    pickup = pickup_of(p)
    engine = kiosk.database().engine
    seen: list[str] = []

    def cut_at_the_audit_append(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.split()[0])
        # The audit append (on PostgreSQL inside the statement that also moves the head).
        if "INSERT INTO AUDIT_EVENT" in statement.upper():
            link.cut()  # the parcel's own writes are already on the server, uncommitted

    event.listen(engine, "before_cursor_execute", cut_at_the_audit_append)
    try:
        with pytest.raises(DBAPIError):
            service.release(kiosk, pickup, [p["parcel_id"]], p["strokes"])
    finally:
        event.remove(engine, "before_cursor_execute", cut_at_the_audit_append)
    assert "UPDATE" in seen  # the cut came after the release had been written

    # The server rolled the transaction back: the parcel still waits, nothing else stayed.
    with direct.database().read() as s:
        parcel = s.get(Parcel, p["parcel_id"])
        assert parcel is not None and parcel.status == "waiting"
        assert audit.verify(s).ok
    assert _count(direct, Release) == 0
    assert _count(direct, PrintJob, PrintJob.kind == "parcel-pickup") == 0
    assert _count(direct, AuditEvent, AuditEvent.action == "parcel.released") == 0

    # The link is back: the same pickup goes through, once.
    link.restore()
    done = service.release(kiosk, pickup, [p["parcel_id"]], p["strokes"])
    assert done.print_job_id is not None
    assert _count(direct, Parcel, Parcel.id == p["parcel_id"], Parcel.status == "released") == 1
    assert _count(direct, Release) == 1
    assert _count(direct, AuditEvent, AuditEvent.action == "parcel.released") == 1
    with direct.database().read() as s:
        assert audit.verify(s).ok


async def test_the_kiosk_is_out_of_service_then_back_by_itself(
    estate: tuple[CuttableLink, KioskContext, KioskContext],
) -> None:
    from kiosk.ui.lobby_app import LobbyApp

    link, kiosk, _ = estate
    app = LobbyApp(kiosk.settings, ctx=kiosk, start_devices=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        asked: list[bool] = []
        reachable = app.database_reachable

        def retried() -> bool:
            answer = reachable()
            asked.append(answer)
            return answer

        app.database_reachable = retried  # type: ignore[method-assign]
        link.cut()
        await app.present_card("3C00A1B2C3")
        await pilot.pause()
        assert isinstance(app.screen, OutOfServiceScreen)
        shown = texts(app)
        assert "呼叫前台" in shown  # the desk call is still offered
        # Still out of service while the database stays away (the kiosk keeps retrying).
        await wait_until(pilot, lambda: asked.count(False) >= 2, "two retries that fail")
        await pilot.pause()
        assert isinstance(app.screen, OutOfServiceScreen)

        link.restore()
        back = time.monotonic()
        while not isinstance(app.screen, HomeScreen) and time.monotonic() - back < BACK_WITHIN_S:
            await pilot.pause(0.1)
        assert isinstance(app.screen, HomeScreen), f"not back {BACK_WITHIN_S} s after the database"
        # And it serves again: the same card now opens the resident's home.
        await app.present_card("3C00A1B2C3")
        await pilot.pause()
        assert app.actor is not None and app.actor.kind == "resident"


# -- a database that does not answer in time ------------------------------------------------


async def test_a_black_holed_link_puts_the_kiosk_out_of_service_not_frozen(
    black_holed: tuple[Any, KioskContext],
) -> None:
    """The link drops every packet (no reset: the kiosk cannot tell it is gone): the tap fails
    within the TCP user timeout and the out-of-service screen comes up; when the link is back
    the kiosk returns home by itself."""
    from kiosk.ui.lobby_app import LobbyApp

    link, kiosk = black_holed
    pool = link.executor()
    # The app's worker threads (asyncio.to_thread) are the ones inside the private network.
    asyncio.get_running_loop().set_default_executor(pool)
    app = LobbyApp(kiosk.settings, ctx=kiosk, start_devices=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await app.present_card("3C00A1B2C3")
            assert app.actor is not None  # served through the link
            await app.reset_to_home()
            link.blackhole()
            tap = asyncio.create_task(app.present_card("3C00A1B2C3"))
            bound = 5 * FAST.tcp_user_timeout
            started = time.monotonic()
            beats = [started]
            while not tap.done() and time.monotonic() - started < bound:
                await asyncio.sleep(0.05)
                beats.append(time.monotonic())
            assert tap.done(), f"the tap still hangs {bound} s after the link went dead"
            await tap
            waited = beats[-1] - started
            longest = max(b - a for a, b in zip(beats, beats[1:], strict=False))
            # The screen kept running while the tap waited (the tap takes the TCP user timeout).
            assert len(beats) - 1 >= 5, (
                f"the screen ran {len(beats) - 1} times in the {waited:.2f} s the tap took "
                f"(longest pause {longest:.2f} s)"
            )
            await pilot.pause()
            assert isinstance(app.screen, OutOfServiceScreen)
            assert "呼叫前台" in texts(app)

            link.restore()
            back = time.monotonic()
            while (
                not isinstance(app.screen, HomeScreen) and time.monotonic() - back < BACK_WITHIN_S
            ):
                await pilot.pause(0.1)
            assert isinstance(app.screen, HomeScreen)
    finally:
        link.restore()


async def test_a_tap_behind_a_held_sqlite_lock_says_busy_and_the_screen_keeps_running(
    sqlite_demo_url: str,
) -> None:
    """Another process holds the write lock (BEGIN IMMEDIATE); an unknown card's tap, which
    writes the desk's alert, gives up after the busy timeout with "busy, try again", and the
    kiosk's screen keeps running while it waits."""
    import dataclasses
    import sqlite3

    from kiosk.ui.lobby_app import LobbyApp
    from kiosk.ui.screens import MessageScreen

    kiosk = fast_ctx(sqlite_demo_url)
    kiosk.settings = dataclasses.replace(kiosk.settings, unknown_card_alert_after=1)
    holder = sqlite3.connect(sqlite_demo_url.removeprefix("sqlite:///"), isolation_level=None)
    app = LobbyApp(kiosk.settings, ctx=kiosk, start_devices=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            holder.execute("BEGIN IMMEDIATE")
            tap = asyncio.create_task(app.present_card("DEADBEEF01"))
            ticks = 0
            started = time.monotonic()
            while not tap.done() and time.monotonic() - started < FAST.busy_timeout + 9:
                await asyncio.sleep(0.05)
                ticks += 1
            assert tap.done(), "the tap is still waiting for the lock"
            await tap
            assert ticks >= 3  # the event loop was not blocked by the wait
            await pilot.pause()
            assert isinstance(app.screen, MessageScreen)
            assert "系统繁忙，请稍后再试" in texts(app)
            assert app.is_running

            holder.rollback()  # the other writer is done: the kiosk serves again
            await app.reset_to_home()
            await app.present_card("3C00A1B2C3")
            assert app.actor is not None and app.actor.kind == "resident"
    finally:
        holder.close()
        kiosk.database().dispose()
