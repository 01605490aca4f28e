"""Start-up: the home shows its tiles before the database is open, a tile pressed in that
moment says the kiosk is still starting, and ``kiosk run|desk`` start without the full command
line."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.config import parse_settings
from kiosk.shell import _quick
from kiosk.ui.scenarios import click
from tests.screens import wait_until
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
        tiles = self._collect_tiles(plugin_context(self.settings))
        self.call_from_thread(self._show_tiles, tiles)

    monkeypatch.setattr(LobbyApp, "_load", load_plugins_only)
    app = LobbyApp(settings, start_devices=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(
            pilot,
            lambda: app.screen.query("#tile-parcels") and app._tiles_painted.is_set(),
            "the tiles painted",
        )
        assert app.ctx is None and app._tiles_painted.is_set()
        assert "Collect parcels" in texts(app)
        await click(pilot.app, pilot, "#tile-parcels")
        await pilot.pause()
        assert "still starting" in texts(app)


def _settings(tmp_path: Any) -> Any:
    return parse_settings(
        {"database": {"url": f"sqlite:///{tmp_path / 'k.db'}"}, "kiosk": {"language": "en"}},
        str(tmp_path / "kiosk.toml"),
    )


async def test_a_kiosk_starting_again_shows_last_starts_tiles_with_its_first_frame(
    monkeypatch: Any, tmp_path: Any
) -> None:
    from kiosk.context import plugin_context
    from kiosk.ui.lobby_app import LobbyApp
    from kiosk.ui.tile_memory import memory_file, remember, signature

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    settings = _settings(tmp_path)
    loaded = LobbyApp(settings)._collect_tiles(plugin_context(settings))
    remember(settings, loaded)
    assert memory_file(settings).is_relative_to(tmp_path / "cache")

    def never_loads(self: LobbyApp) -> None:  # the plugins are still being imported
        return None

    monkeypatch.setattr(LobbyApp, "_load", never_loads)
    app = LobbyApp(settings, start_devices=False, own_process=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert signature(app.tiles) == signature(loaded)
        # In the first composition, before any plugin module is loaded.
        assert app.screen.query("#tile-parcels") and app._tiles_painted.is_set()
        assert "Collect parcels" in texts(app)
        await click(pilot.app, pilot, "#tile-parcels")
        await pilot.pause()
        assert "still starting" in texts(app)


async def test_loaded_tiles_replace_remembered_ones_that_changed(
    monkeypatch: Any, tmp_path: Any
) -> None:
    from kiosk.context import plugin_context
    from kiosk.hookspecs import Tile
    from kiosk.ui.lobby_app import LobbyApp
    from kiosk.ui.tile_memory import memory_file, remember, remembered, signature

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    settings = _settings(tmp_path)
    gone = Tile(id="gone", title="A service since removed", screen=lambda ctx: None, order=1)
    remember(settings, [gone])
    loaded: list[Any] = []

    def plugins_only(self: LobbyApp) -> None:
        tiles = self._collect_tiles(plugin_context(self.settings))
        loaded.extend(tiles)
        self.call_from_thread(self._show_tiles, tiles)
        remember(self.settings, tiles)

    monkeypatch.setattr(LobbyApp, "_load", plugins_only)
    app = LobbyApp(settings, start_devices=False, own_process=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(
            pilot,
            lambda: app.screen.query("#tile-parcels") and remembered(settings)[0].id != "gone",
            "the tiles shown and remembered",
        )
        assert not app.screen.query("#tile-gone")
        assert "Collect parcels" in texts(app)
    assert signature(remembered(settings)) == signature(loaded)
    # A file not to trust is ignored, never a failure.
    memory_file(settings).write_text('{"version": 1, "tiles": [["x", 1]]}', "utf-8")
    assert remembered(settings) == []
    memory_file(settings).write_text("not json", "utf-8")
    assert remembered(settings) == []


def test_remembered_titles_are_translated_before_the_plugins_catalogs_are_read(
    monkeypatch: Any, tmp_path: Any
) -> None:
    from kiosk import i18n
    from kiosk.hookspecs import Tile
    from kiosk.ui.tile_memory import remember, remembered

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    settings = _settings(tmp_path)
    title = "A service only its plugin's catalog translates"
    monkeypatch.setattr(i18n, "_catalogs", {"zh_CN": {title: "只有插件目录翻译的服务"}})
    remember(settings, [Tile(id="x", title=title, screen=lambda ctx: None)])
    monkeypatch.setattr(i18n, "_catalogs", {})  # a new process: no plugin catalog yet
    assert [t.title for t in remembered(settings)] == [title]
    assert i18n.translate("zh_CN", title) == "只有插件目录翻译的服务"
    assert i18n.translate("en", title) == title
    i18n._catalogs["zh_CN"].update({title: "插件目录的译文"})  # its catalog, read later, wins
    assert i18n.translate("zh_CN", title) == "插件目录的译文"


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
