"""The context handed to every hook and screen: settings, database, clock, plugins, printing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from kiosk.clock import Clock, as_utc, clock_from_env
from kiosk.config import Settings

if TYPE_CHECKING:
    from kiosk.db import Database
    from kiosk.plugins import KioskPlugins


@dataclass
class KioskContext:
    """One per process. ``db`` and ``plugins`` are filled in once loaded (the UI paints first)."""

    settings: Settings
    clock: Clock = field(default_factory=clock_from_env)
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

    @property
    def zone(self) -> ZoneInfo:
        """The estate's time zone: dates and times are shown and reasoned about in it."""
        return ZoneInfo(self.settings.estate.timezone)

    def today(self) -> dt.date:
        """Today in the estate's time zone (due dates, rent periods, reports)."""
        return self.clock.now().astimezone(self.zone).date()

    def local_time(self, at: dt.datetime) -> str:
        """``at`` (stored UTC) in the estate's zone, as people read it on a slip or screen."""
        return as_utc(at).astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def database(self) -> Database:
        """The database, or a clear error when it has not been opened yet."""
        if self.db is None:
            from kiosk.db import DatabaseUnavailable

            raise DatabaseUnavailable("the database is not open yet")
        return self.db


def open_context(settings: Settings, clock: Clock | None = None, load: bool = True) -> KioskContext:
    """Build a context with the database and plugins loaded (CLI, tests, headless runs)."""
    ctx = (
        plugin_context(settings, clock)
        if load
        else KioskContext(settings, clock or clock_from_env())
    )
    if load:
        attach_database(ctx)
    return ctx


def plugin_context(settings: Settings, clock: Clock | None = None) -> KioskContext:
    """A context with the plugins loaded and no database yet: enough for the home screen's
    tiles (declared by the plugins' light modules), which a kiosk shows before the ORM is
    imported."""
    from kiosk.plugins import load_plugins

    ctx = KioskContext(settings=settings, clock=clock or clock_from_env())
    ctx.plugins = load_plugins(settings.plugins_disabled)
    return ctx


def attach_database(ctx: KioskContext) -> KioskContext:
    """Open the context's database (imports SQLAlchemy: the slow part of a start)."""
    from kiosk.audit import key_for
    from kiosk.db import Database

    settings = ctx.settings
    ctx.db = Database(
        settings.database_url,
        timeouts=settings.database_timeouts,
        audit_key=key_for(settings),
    )
    return ctx
