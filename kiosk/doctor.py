"""``kiosk doctor``: is this kiosk ready? Config, database, migrations, plugins, devices."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kiosk.config import Settings, redact, redact_url

if TYPE_CHECKING:
    from kiosk.clock import Clock


def run_checks(
    settings: Settings, *, sim: bool = False, clock: Clock | None = None
) -> list[dict[str, Any]]:
    """Each check: ``{"check": name, "ok": bool, "detail": text}``; never raises. Insecure
    settings (:mod:`kiosk.hardening`) add ``"warning": True`` lines that do not fail; ``sim``
    says simulated devices and payments are intended (a demo)."""
    from kiosk import hardening
    from kiosk.clock import SystemClock

    checks: list[dict[str, Any]] = [
        {"check": "config", "ok": True, "detail": f"{settings.source} (kiosk {settings.kiosk_id})"}
    ]
    from kiosk.plugins import load_plugins

    plugins = load_plugins(settings.plugins_disabled)
    names = [p.name for p in plugins.info()]
    checks.append(
        {
            "check": "plugins",
            "ok": True,
            "detail": f"{len(names)} loaded: {', '.join(names) or 'none'}",
        }
    )
    for f in plugins.failures:
        checks.append(
            {
                "check": f"plugin {f.plugin}",
                "ok": False,
                "detail": f"disabled at {f.stage}: {f.error}",
            }
        )
    try:
        from sqlalchemy import text

        from kiosk.db import Database
        from kiosk.db.migrate import status

        db = Database(settings.database_url)
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks.append(
            {"check": "database", "ok": True, "detail": redact_url(settings.database_url)}
        )
        _applied, missing = status(db.engine, plugins)
        checks.append(
            {
                "check": "migrations",
                "ok": not missing,
                "detail": "current"
                if not missing
                else f"pending: {', '.join(missing)} (run kiosk init)",
            }
        )
        if not missing:
            checks.extend(hardening.database_checks(db.engine, clock or SystemClock()))
        db.dispose()
    except Exception as exc:  # noqa: BLE001 - report, do not crash
        checks.append(
            {
                "check": "database",
                "ok": False,
                "detail": f"unreachable: {type(exc).__name__}: "
                + redact(str(exc), settings.database_url),
            }
        )
    checks.extend(_device_checks(settings))
    checks.extend(hardening.config_checks(settings, names, sim))
    for found in plugins.call_flat("kiosk_doctor_checks", settings=settings, sim=sim):
        checks.append(hardening.warning(found.key, found.message))
    from kiosk.notify_channels import doctor_checks

    checks.extend(doctor_checks(settings))
    return checks


def _device_checks(settings: Settings) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    try:
        from devices.urls import DeviceURLError, parse_device_url
    except ImportError:
        return [{"check": "devices", "ok": True, "detail": "device support not installed"}]
    for name, url in settings.devices.items():
        try:
            parsed = parse_device_url(name, url)
        except DeviceURLError as exc:
            out.append({"check": f"device {name}", "ok": False, "detail": str(exc)})
            continue
        out.append({"check": f"device {name}", "ok": True, "detail": f"{parsed.kind} at {url}"})
    return out
