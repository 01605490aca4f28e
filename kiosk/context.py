"""The context handed to every hook and screen: settings, database, clock, plugins, printing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kiosk.clock import Clock, SystemClock
from kiosk.config import Settings

if TYPE_CHECKING:
    from kiosk.db import Database
    from kiosk.plugins import KioskPlugins


@dataclass
class KioskContext:
    """One per process. ``db`` and ``plugins`` are filled in once loaded (the UI paints first)."""

    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    db: Database | None = None
    plugins: KioskPlugins | None = None
    devices: dict[str, Any] = field(default_factory=dict)
    printing: Any = None

    @property
    def kiosk_id(self) -> str:
        return self.settings.kiosk_id

    @property
    def lobby(self) -> str:
        return self.settings.lobby

    def database(self) -> Database:
        """The database, or a clear error when it has not been opened yet."""
        if self.db is None:
            from kiosk.db import DatabaseUnavailable

            raise DatabaseUnavailable("the database is not open yet")
        return self.db


def open_context(settings: Settings, clock: Clock | None = None, load: bool = True) -> KioskContext:
    """Build a context with the database and plugins loaded (CLI, tests, headless runs)."""
    from kiosk.db import Database
    from kiosk.plugins import load_plugins

    ctx = KioskContext(settings=settings, clock=clock or SystemClock())
    if load:
        ctx.plugins = load_plugins(settings.plugins_disabled)
        ctx.db = Database(settings.database_url)
    return ctx
