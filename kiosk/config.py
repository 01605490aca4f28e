"""Validated settings for one kiosk or desk.

One TOML file (``config/kiosk.toml`` is the commented, production-shaped example) plus two
environment overrides: ``KIOSK_CONFIG`` picks the file and ``KIOSK_DATABASE_URL`` replaces the
database URL. Every problem is reported as one :class:`ConfigError` naming the file, the key and
what is expected, so the CLI can print a single line instead of a traceback.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from devices.urls import DeviceURLError, parse_device_url

LANGUAGES = ("zh_CN", "en")
STAFF_ROLES = ("butler", "cashier", "engineer", "security", "manager")
DEFAULT_DATABASE_URL = "sqlite:///kiosk.db"


class ConfigError(Exception):
    """A configuration problem a person can fix: which file, which key, what is expected."""

    def __init__(self, source: str, key: str, expected: str) -> None:
        self.source = source
        self.key = key
        self.expected = expected
        super().__init__(f"{source}: {key}: {expected}")


@dataclass(frozen=True)
class EstateSettings:
    name: str = "阳光花园"
    name_en: str = "Sunshine Garden"
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True)
class StaffPolicy:
    pin_min_length: int = 4
    max_attempts: int = 5
    lockout_minutes: int = 5


@dataclass(frozen=True)
class RetentionSettings:
    visitor_days: int = 180
    parcel_days: int = 365


@dataclass(frozen=True)
class NotifySettings:
    """``[notify]``: apprise URLs per audience (``{unit}``, ``{phone}``, ``{email}``, ``{name}``
    filled per recipient), quiet hours for non-urgent messages, when to give up, links."""

    resident: tuple[str, ...] = ()
    desk: tuple[str, ...] = ()
    engineering: tuple[str, ...] = ()
    quiet_hours: str = ""  # "22:00-07:00" in the estate's zone; "" = none
    give_up_after: int = 24 * 3600  # seconds
    link_base: str = ""  # e.g. "https://kiosk.estate.lan:8090": where `kiosk serve --links` is
    link_minutes: int = 30
    secret: str = ""  # keys link signatures and code digests (else $KIOSK_SECRET_KEY)

    @property
    def configured(self) -> bool:
        return bool(self.resident or self.desk or self.engineering)


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _notify_settings(r: _Reader) -> NotifySettings:
    known = {f for f in NotifySettings.__dataclass_fields__}
    table = r.section("notify")
    for key in table:
        if key not in known:
            raise ConfigError(
                r.source, f"notify.{key}", "unknown key (expected " + ", ".join(sorted(known)) + ")"
            )
    urls: dict[str, tuple[str, ...]] = {}
    for audience in ("resident", "desk", "engineering"):
        value = r.get("notify", audience, list, [])
        for url in value:
            from kiosk.notify_channels import check_url

            problem = check_url(url)
            if problem:
                raise ConfigError(r.source, f"notify.{audience}", problem)
        urls[audience] = tuple(value)
    quiet = r.get("notify", "quiet_hours", str, "").strip()
    if quiet:
        parts = quiet.split("-")
        try:
            if len(parts) != 2:
                raise ValueError(quiet)
            for part in parts:
                hh, mm = part.strip().split(":")
                if not (0 <= int(hh) < 24 and 0 <= int(mm) < 60):
                    raise ValueError(part)
        except ValueError:
            raise ConfigError(
                r.source,
                "notify.quiet_hours",
                f"expected HH:MM-HH:MM such as 22:00-07:00, got {quiet!r}",
            ) from None
    give_up = r.get("notify", "give_up_after", str, "24h").strip().lower()
    try:
        seconds = int(give_up[:-1]) * _DURATION_UNITS[give_up[-1:]]
        if seconds <= 0:
            raise ValueError(give_up)
    except (KeyError, ValueError):
        raise ConfigError(
            r.source,
            "notify.give_up_after",
            f"expected a duration such as 30m, 24h or 2d, got {give_up!r}",
        ) from None
    base = r.get("notify", "link_base", str, "").strip().rstrip("/")
    if base and not base.startswith(("http://", "https://")):
        raise ConfigError(
            r.source, "notify.link_base", f"expected an http(s):// address, got {base!r}"
        )
    return NotifySettings(
        resident=urls["resident"],
        desk=urls["desk"],
        engineering=urls["engineering"],
        quiet_hours=quiet,
        give_up_after=seconds,
        link_base=base,
        link_minutes=r.positive("notify", "link_minutes", 30, 7 * 24 * 60),
        secret=r.get("notify", "secret", str, ""),
    )


@dataclass(frozen=True)
class Settings:
    """Everything a kiosk or desk process needs to know, validated."""

    source: str = "<defaults>"
    estate: EstateSettings = field(default_factory=EstateSettings)
    kiosk_id: str = "kiosk-1"
    lobby: str = "A"
    language: str = "zh_CN"
    idle_timeout: int = 60
    unknown_card_alert_after: int = 3
    database_url: str = DEFAULT_DATABASE_URL
    devices: dict[str, str] = field(default_factory=dict)
    staff: StaffPolicy = field(default_factory=StaffPolicy)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    plugins_disabled: tuple[str, ...] = ()
    plugin_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    notify: NotifySettings = field(default_factory=NotifySettings)

    def plugin(self, name: str) -> dict[str, Any]:
        """The ``[plugins.NAME]`` section (empty when absent)."""
        return dict(self.plugin_settings.get(name, {}))


class _Reader:
    """Pulls typed values out of the parsed TOML, remembering which keys it consumed."""

    def __init__(self, source: str, data: dict[str, Any]) -> None:
        self.source = source
        self.data = data

    def section(self, name: str) -> dict[str, Any]:
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(self.source, name, "expected a table ([" + name + "])")
        return value

    def get(self, section: str, key: str, kind: type, default: Any) -> Any:
        table = self.section(section)
        if key not in table:
            return default
        value = table[key]
        # bool is an int in Python; a TOML `true` where a number belongs is a mistake.
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(
                self.source, f"{section}.{key}", f"expected an integer, got {value!r}"
            )
        if kind is str and not isinstance(value, str):
            raise ConfigError(self.source, f"{section}.{key}", f"expected a string, got {value!r}")
        if kind is list and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise ConfigError(
                self.source, f"{section}.{key}", f"expected a list of strings, got {value!r}"
            )
        return value

    def positive(self, section: str, key: str, default: int, maximum: int = 10**9) -> int:
        value = self.get(section, key, int, default)
        if not 0 < value <= maximum:
            raise ConfigError(
                self.source,
                f"{section}.{key}",
                f"expected a number from 1 to {maximum}, got {value}",
            )
        return int(value)


_KNOWN_SECTIONS = {
    "estate", "kiosk", "database", "devices", "staff", "retention", "plugins", "notify",
}  # fmt: skip


def _resolve_sqlite(url: str, base: Path | None) -> str:
    """Relative SQLite paths are relative to the config file, not to wherever the kiosk started."""
    prefix = "sqlite:///"
    if base is None or not url.startswith(prefix) or url == "sqlite:///:memory:":
        return url
    path = url[len(prefix) :]
    if path.startswith("/"):
        return url
    return prefix + str((base / path).resolve())


def parse_settings(data: dict[str, Any], source: str, base: Path | None = None) -> Settings:
    """Validate parsed TOML into :class:`Settings`; raises :class:`ConfigError`."""
    r = _Reader(source, data)
    for name in data:
        if name not in _KNOWN_SECTIONS:
            raise ConfigError(
                source,
                name,
                "unknown section (expected one of " + ", ".join(sorted(_KNOWN_SECTIONS)) + ")",
            )
    estate = EstateSettings(
        name=r.get("estate", "name", str, EstateSettings.name),
        name_en=r.get("estate", "name_en", str, EstateSettings.name_en),
        timezone=r.get("estate", "timezone", str, EstateSettings.timezone),
    )
    try:
        ZoneInfo(estate.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            source,
            "estate.timezone",
            f"expected an IANA zone such as Asia/Shanghai, got {estate.timezone!r}",
        ) from None
    language = r.get("kiosk", "language", str, "zh_CN")
    if language not in LANGUAGES:
        raise ConfigError(
            source, "kiosk.language", f"expected one of {', '.join(LANGUAGES)}, got {language!r}"
        )
    kiosk_id = r.get("kiosk", "id", str, "kiosk-1")
    if not kiosk_id.strip():
        raise ConfigError(source, "kiosk.id", "expected a non-empty kiosk id")
    url = os.environ.get("KIOSK_DATABASE_URL") or r.get(
        "database", "url", str, DEFAULT_DATABASE_URL
    )
    if not url.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
        raise ConfigError(
            source,
            "database.url",
            f"expected sqlite:///PATH or postgresql+psycopg://USER@HOST/DB, got {url!r}",
        )
    devices: dict[str, str] = {}
    for name, value in r.section("devices").items():
        if not isinstance(value, str) or "://" not in value:
            raise ConfigError(
                source,
                f"devices.{name}",
                f"expected a device URL such as sim://printer, got {value!r}",
            )
        try:
            parse_device_url(name, value)
        except DeviceURLError as exc:
            raise ConfigError(source, f"devices.{name}", str(exc)) from None
        devices[name] = value
    staff = StaffPolicy(
        pin_min_length=r.positive("staff", "pin_min_length", 4, 12),
        max_attempts=r.positive("staff", "max_attempts", 5, 100),
        lockout_minutes=r.positive("staff", "lockout_minutes", 5, 24 * 60),
    )
    retention = RetentionSettings(
        visitor_days=r.positive("retention", "visitor_days", 180, 3650),
        parcel_days=r.positive("retention", "parcel_days", 365, 3650),
    )
    plugins = r.section("plugins")
    disabled = tuple(r.get("plugins", "disabled", list, []))
    plugin_settings = {k: dict(v) for k, v in plugins.items() if isinstance(v, dict)}
    for k, v in plugins.items():
        if k != "disabled" and not isinstance(v, dict):
            raise ConfigError(source, f"plugins.{k}", "expected a table [plugins." + k + "]")
    return Settings(
        source=source,
        estate=estate,
        kiosk_id=kiosk_id,
        lobby=r.get("kiosk", "lobby", str, "A"),
        language=language,
        idle_timeout=r.positive("kiosk", "idle_timeout", 60, 3600),
        unknown_card_alert_after=r.positive("kiosk", "unknown_card_alert_after", 3, 100),
        database_url=_resolve_sqlite(url, base),
        devices=devices,
        staff=staff,
        retention=retention,
        plugins_disabled=disabled,
        plugin_settings=plugin_settings,
        notify=_notify_settings(r),
    )


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Load settings from ``path``, else ``$KIOSK_CONFIG``, else built-in defaults."""
    chosen = path or os.environ.get("KIOSK_CONFIG")
    if not chosen:
        return parse_settings({}, "<defaults>", Path.cwd())
    p = Path(chosen)
    source = str(p)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(source, "(file)", "file not found") from None
    except OSError as exc:
        raise ConfigError(source, "(file)", f"cannot be read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(source, "(file)", "expected UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "(syntax)", f"invalid TOML: {exc}") from None
    return parse_settings(data, source, p.resolve().parent)
