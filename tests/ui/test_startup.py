"""Start-up: the home shows its tiles before the database is open, a tile pressed in that
moment says the kiosk is still starting, and ``kiosk run|desk`` start without the full command
line."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.config import parse_settings
from kiosk.shell import _quick
from tests.ui.test_lobby import texts


async def test_the_tiles_show_before_the_database_and_a_press_meanwhile_is_answered(
    monkeypatch: Any, tmp_path: Any
) -> None:
    from kiosk.context import plugin_context
    from kiosk.ui.lobby_app import LobbyApp

    settings = parse_settings(
        {"database": {"url": f"sqlite:///{tmp_path / 'k.db'}"}, "kiosk": {"language": "en"}},
        "<test>",
    )

    def load_plugins_only(self: LobbyApp) -> None:  # the database is still being opened
        self.call_from_thread(self._show_tiles, plugin_context(self.settings))

    monkeypatch.setattr(LobbyApp, "_load", load_plugins_only)
    app = LobbyApp(settings, start_devices=False)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(200):
            if app.screen.query("#tile-parcels") and app._tiles_painted.is_set():
                break
            await pilot.pause(0.05)
        assert app.ctx is None and app._tiles_painted.is_set()
        assert "Collect parcels" in texts(app)
        await pilot.click("#tile-parcels")
        await pilot.pause()
        assert "still starting" in texts(app)


@pytest.mark.parametrize(
    ("argv", "quick"),
    [
        (["run"], ("lobby", None, False)),
        (["run", "-c", "k.toml", "--sim"], ("lobby", "k.toml", True)),
        (["desk", "--config=d.toml"], ("desk", "d.toml", False)),
        (["run", "--help"], None),  # the full command line answers
        (["run", "--cfg", "x"], None),  # a typo: the full command line says what is wrong
        (["report", "parking"], None),
        ([], None),
    ],
)
def test_only_a_plain_run_or_desk_takes_the_quick_start(argv: list[str], quick: Any) -> None:
    assert _quick(argv) == quick
