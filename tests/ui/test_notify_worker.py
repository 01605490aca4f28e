"""The kiosk shell delivers the outbox in a background thread, and stops it when it leaves."""

from __future__ import annotations

import dataclasses
import threading

from kiosk.config import NotifySettings
from kiosk.context import KioskContext
from kiosk.db.models import Notification
from kiosk.notify import queue_notification
from tests.screens import wait_until


async def test_the_lobby_shell_runs_the_dispatcher_and_stops_it_on_exit(
    ui_ctx: KioskContext,
) -> None:
    import gc

    from kiosk.ui.lobby_app import LobbyApp

    ctx = ui_ctx
    ctx.settings = dataclasses.replace(ctx.settings, notify=NotifySettings())
    with ctx.database().write() as s:
        note = queue_notification(
            s, channel="desk", template="visitor.waiting", at=ctx.clock.now(),
            payload={"message": "visitor for 3-1205 waits"},
        )  # fmt: skip
        note_id = note.id
    app = LobbyApp(ctx.settings, ctx=ctx, start_devices=False, own_process=True)
    try:
        async with app.run_test(size=(100, 40)) as pilot:

            def sent() -> bool:
                with ctx.database().read() as s:
                    return s.get(Notification, note_id).state == "sent"

            await wait_until(pilot, sent, "the first pass, at start-up")
            worker = app.dispatcher
            assert worker.is_alive()
            with ctx.database().read() as s:
                assert s.get(Notification, note_id).state == "sent"
        worker.join(timeout=10)
        assert not worker.is_alive()
        assert "notify-dispatcher" not in [t.name for t in threading.enumerate()]
    finally:
        gc.unfreeze()  # the test process is not a kiosk
