"""What ``kiosk doctor`` warns about: settings that are fine for a demo and unsafe for an estate.

Each warning is one line that names the key (or file) and says what to do. A warning does not
fail the doctor (a demo kiosk is allowed to be a demo), but a production kiosk should show none:

- a config file (PINs, provider keys, database passwords) readable by group or others;
- simulated devices (``sim://``) while not running with ``--sim``;
- what the plugins warn about (``kiosk_doctor_checks``): the billing plugin's simulated
  payment gateway among ``providers_enabled``, the visitors plugin's development pass key;
- the demo estate: staff whose demo PIN (2580, 1357, ...) still opens the desk;
- a SQLite database file readable by group or others;
- retention that never runs: no ``kiosk purge`` in the last week.
"""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from kiosk.clock import Clock
    from kiosk.config import Settings

PURGE_EVERY = dt.timedelta(days=7)


def warning(key: str, detail: str) -> dict[str, Any]:
    """A doctor line that warns without failing."""
    return {"check": key, "ok": True, "warning": True, "detail": detail}


def _readable_by_others(path: Path) -> int | None:
    """The file's permission bits when group or others may read it, else None."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    return stat.S_IMODE(mode) if mode & (stat.S_IRGRP | stat.S_IROTH) else None


def config_mode_warning(settings: Settings) -> str | None:
    """One line when the config file may be read by group or others (None when fine)."""
    if settings.source.startswith("<"):
        return None
    mode = _readable_by_others(Path(settings.source))
    if mode is None:
        return None
    return (
        f"{settings.source} is readable by group/others (mode {mode:04o}); it holds PINs, "
        f"keys and database passwords: chmod 600 it"
    )


def config_checks(settings: Settings, plugins: list[str], sim: bool) -> list[dict[str, Any]]:
    """Warnings that need only the settings (and which plugins are loaded)."""
    out: list[dict[str, Any]] = []
    line = config_mode_warning(settings)
    if line:
        out.append(warning("config permissions", line))
    if not sim:
        for name, url in sorted(settings.devices.items()):
            if url.startswith("sim://"):
                out.append(
                    warning(
                        f"devices.{name}",
                        f"{url} is a simulated device: set the real device URL "
                        "(or run the demo with --sim)",
                    )
                )
    key_file = settings.audit.key_file
    if not key_file or not Path(key_file).exists():
        out.append(
            warning(
                "audit.key_file",
                f"no audit key{' at ' + key_file if key_file else ''}: audit events are written "
                "unkeyed, so whoever can write to the database can rewrite them; run kiosk init",
            )
        )
    elif _readable_by_others(Path(key_file)) is not None:
        out.append(warning("audit.key_file", f"{key_file} is readable by others: chmod 600 it"))
    if settings.database_url.startswith("sqlite:///") and ":memory:" not in settings.database_url:
        path = Path(settings.database_url[len("sqlite:///") :])
        mode = _readable_by_others(path)
        if mode is not None:
            out.append(
                warning(
                    "database.url",
                    f"{path} is readable by group/others (mode {mode:04o}); it holds residents' "
                    "personal data: chmod 600 it",
                )
            )
    return out


def database_checks(engine: Engine, clock: Clock) -> list[dict[str, Any]]:
    """Warnings that read the database: demo PINs still valid, retention never run."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from kiosk.db.models import AuditEvent, Staff
    from kiosk.db.retention import ACTION
    from kiosk.demo import DEMO_STAFF
    from kiosk.identity import verify_pin

    out: list[dict[str, Any]] = []
    demo_pins = {number: pin for number, _name, _roles, pin, _uid in DEMO_STAFF}
    with Session(engine) as session:
        staff = session.execute(
            select(Staff.number, Staff.pin_hash).where(
                Staff.number.in_(demo_pins), Staff.active.is_(True)
            )
        ).all()
        open_with_demo = sorted(n for n, h in staff if verify_pin(demo_pins[n], h or ""))
        last_purge = session.scalar(
            select(func.max(AuditEvent.at)).where(AuditEvent.action == ACTION)
        )
    if open_with_demo:
        out.append(
            warning(
                "staff PINs",
                f"demo estate: {', '.join(open_with_demo)} still sign in with the demo PINs; "
                "set new PINs (or deactivate the demo staff) before opening the desk",
            )
        )
    now = clock.now()
    if last_purge is None:
        out.append(
            warning(
                "retention",
                "kiosk purge has never run: personal data is kept past [retention]; run "
                "`kiosk purge` daily (cron or a systemd timer)",
            )
        )
    else:
        if last_purge.tzinfo is None:
            last_purge = last_purge.replace(tzinfo=dt.UTC)
        if now - last_purge > PURGE_EVERY:
            out.append(
                warning(
                    "retention",
                    f"kiosk purge last ran {(now - last_purge).days} days ago: run it daily",
                )
            )
    return out
