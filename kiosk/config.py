"""Validated settings for one kiosk or desk.

One TOML file (``config/kiosk.toml`` is the commented, production-shaped example) plus three
environment overrides: ``KIOSK_CONFIG`` picks the file, ``KIOSK_DATABASE_URL`` replaces the
database URL and ``KIOSK_AUDIT_KEY_FILE`` the audit key file. Every problem is reported as one
:class:`ConfigError` naming the file, the key and what is expected, so the CLI can print a single
line instead of a traceback.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from devices.urls import DeviceURLError, parse_device_url

LANGUAGES = ("zh_CN", "en", "ja", "ko")
STAFF_ROLES = ("butler", "cashier", "engineer", "security", "manager")
DEFAULT_DATABASE_URL = "sqlite:///kiosk.db"

T = TypeVar("T")


class ConfigError(Exception):
    """A configuration problem a person can fix: which file, which key, what is expected."""

    def __init__(self, source: str, key: str, expected: str) -> None:
        self.source = source
        self.key = key
        self.expected = expected
        super().__init__(f"{source}: {key}: {expected}")


def _bounded(default: int, maximum: int) -> int:
    """A settings field that the file may set to a whole number from 1 to ``maximum``."""
    return field(default=default, metadata={"maximum": maximum})


@dataclass(frozen=True)
class EstateSettings:
    name: str = "阳光花园"
    name_en: str = "Sunshine Garden"
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True)
class StaffPolicy:
    pin_min_length: int = _bounded(4, 12)
    max_attempts: int = _bounded(5, 100)
    lockout_minutes: int = _bounded(5, 24 * 60)
    # Each lockout in a row doubles the next one, up to this (reset by a successful login).
    lockout_max_minutes: int = _bounded(24 * 60, 7 * 24 * 60)
    # Wrong PINs one kiosk may see in a window before each further one makes it wait (1 s,
    # 2 s, 4 s ... up to the window); failures against this many accounts alert the desk.
    kiosk_free_failures: int = _bounded(10, 1000)
    kiosk_window_minutes: int = _bounded(15, 24 * 60)
    spray_accounts: int = _bounded(3, 100)


# The longest retention period ``[retention]`` accepts, for every kind of record.
RETENTION_MAX_DAYS = 10 * 365


@dataclass(frozen=True)
class RetentionSettings:
    """``[retention]``: after how many days ``kiosk purge`` anonymises personal data, per kind
    of record (see :mod:`kiosk.db.retention`)."""

    visitor_days: int = _bounded(180, RETENTION_MAX_DAYS)
    parcel_days: int = _bounded(365, RETENTION_MAX_DAYS)
    repair_days: int = _bounded(365, RETENTION_MAX_DAYS)
    notification_days: int = _bounded(90, RETENTION_MAX_DAYS)


@dataclass(frozen=True)
class DatabaseTimeouts:
    """How long a database call may wait before it fails (seconds); the kiosk then shows its
    out-of-service screen instead of freezing. ``[database]`` keys of the same names.

    PostgreSQL: ``connect_timeout``, ``statement_timeout`` (server side), ``tcp_user_timeout``
    and TCP keepalives (a link that silently drops packets fails within about
    ``tcp_user_timeout``). SQLite: ``busy_timeout``, how long a write waits for another
    writer's lock.
    """

    connect_timeout: int = _bounded(5, 60)
    statement_timeout: int = _bounded(5, 3600)
    tcp_user_timeout: int = _bounded(10, 600)
    keepalives_idle: int = _bounded(5, 600)
    busy_timeout: int = _bounded(4, 60)


@dataclass(frozen=True)
class DeskWebSettings:
    """``[desk]``: the butler desk served to browsers (``kiosk serve --desk``)."""

    # Origins (scheme://host[:port]) besides the served address itself whose pages may open a
    # desk session, e.g. "https://desk.estate.lan" behind a reverse proxy.
    allowed_origins: tuple[str, ...] = ()
    # Browser sessions at once; each is a desk process (~90 MB).
    max_sessions: int = _bounded(4, 64)
    # A logged-in desk with no key or click logs out.
    idle_logout_minutes: int = _bounded(10, 24 * 60)


@dataclass(frozen=True)
class AuditSettings:
    """Where the audit key lives ("" = no key: an unkeyed chain) and how often to checkpoint.

    The checkpoint file sits beside the key (``audit.key`` -> ``audit.checkpoints``).
    """

    key_file: str = ""
    checkpoint_every: int = _bounded(100, 10**6)


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
    # The languages the kiosk's toggle cycles through, the configured language first.
    languages: tuple[str, ...] = ("zh_CN", "en")
    idle_timeout: int = 60
    unknown_card_alert_after: int = 3
    database_url: str = DEFAULT_DATABASE_URL
    database_timeouts: DatabaseTimeouts = field(default_factory=DatabaseTimeouts)
    desk: DeskWebSettings = field(default_factory=DeskWebSettings)
    devices: dict[str, str] = field(default_factory=dict)
    staff: StaffPolicy = field(default_factory=StaffPolicy)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
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
        self.known: dict[str, set[str]] = {}

    def section(self, name: str) -> dict[str, Any]:
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(self.source, name, "expected a table ([" + name + "])")
        return value

    def get(self, section: str, key: str, kind: type, default: Any) -> Any:
        self.known.setdefault(section, set()).add(key)
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

    def refuse_unknown_keys(self, sections: tuple[str, ...]) -> None:
        """A key nothing read is a typo (``langauge``) that would silently keep the default:
        refuse it, naming the nearest valid key."""
        for section in sections:
            known = sorted(self.known.get(section, ()))
            for key in self.section(section):
                if key in known:
                    continue
                nearest = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                hint = (
                    f"did you mean {nearest[0]!r}?"
                    if nearest
                    else "expected one of " + ", ".join(known)
                )
                raise ConfigError(self.source, f"{section}.{key}", f"unknown key ({hint})")

    def bounded(self, cls: type[T], section: str, **given: Any) -> T:
        """``cls`` with each field declared by :func:`_bounded` read from ``[section]`` (its
        default when the key is not set) and the other fields from ``given``."""
        values = dict(given)
        for f in fields(cls):  # type: ignore[arg-type]
            if "maximum" in f.metadata:
                default = cast(int, f.default)
                values[f.name] = self.positive(section, f.name, default, f.metadata["maximum"])
        return cls(**values)

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
    "estate",
    "kiosk",
    "database",
    "devices",
    "staff",
    "retention",
    "audit",
    "plugins",
    "desk",
    "notify",
}


def _origin(source: str, value: str) -> str:
    """``scheme://host[:port]`` as browsers send it in ``Origin`` (no path, no trailing /)."""
    from urllib.parse import urlsplit

    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ConfigError(
            source,
            "desk.allowed_origins",
            f"expected origins such as https://desk.estate.lan, got {value!r}",
        )
    return f"{parts.scheme}://{parts.netloc}".lower()


def _resolve_sqlite(url: str, base: Path | None) -> str:
    """Relative SQLite paths are relative to the config file, not to wherever the kiosk started."""
    prefix = "sqlite:///"
    if base is None or not url.startswith(prefix) or url == "sqlite:///:memory:":
        return url
    path = url[len(prefix) :]
    if path.startswith("/"):
        return url
    return prefix + str((base / path).resolve())


def _audit_settings(r: _Reader, url: str, base: Path | None) -> AuditSettings:
    """``[audit] key_file`` (or ``$KIOSK_AUDIT_KEY_FILE``), relative to the config file.

    Without one: ``audit.key`` beside a SQLite database, else beside the config file, else none.
    """
    key_file = os.environ.get("KIOSK_AUDIT_KEY_FILE") or r.get("audit", "key_file", str, "")
    if key_file:
        path = Path(key_file).expanduser()
        key_file = str((base / path).resolve() if base is not None else path)
    elif url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        key_file = str(Path(url[len("sqlite:///") :]).parent / "audit.key")
    elif r.source != "<defaults>" and base is not None:
        key_file = str((base / "audit.key").resolve())
    return r.bounded(AuditSettings, "audit", key_file=key_file)


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
    languages = tuple(r.get("kiosk", "languages", list, ["zh_CN", "en"]))
    unknown = [lang for lang in languages if lang not in LANGUAGES]
    if unknown or not languages:
        raise ConfigError(
            source,
            "kiosk.languages",
            f"expected a list from {', '.join(LANGUAGES)}, got {list(languages)!r}",
        )
    if language not in languages:
        languages = (language, *languages)
    languages = tuple(dict.fromkeys(languages))
    kiosk_id = r.get("kiosk", "id", str, "kiosk-1")
    if not kiosk_id.strip():
        raise ConfigError(source, "kiosk.id", "expected a non-empty kiosk id")
    file_url = r.get("database", "url", str, DEFAULT_DATABASE_URL)
    url = os.environ.get("KIOSK_DATABASE_URL") or file_url
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
    staff = r.bounded(StaffPolicy, "staff")
    retention = r.bounded(RetentionSettings, "retention")
    timeouts = r.bounded(DatabaseTimeouts, "database")
    origins = r.get("desk", "allowed_origins", list, [])
    desk = r.bounded(
        DeskWebSettings, "desk", allowed_origins=tuple(_origin(source, o) for o in origins)
    )
    database_url = _resolve_sqlite(url, base)
    audit = _audit_settings(r, database_url, base)
    plugins = r.section("plugins")
    disabled = tuple(r.get("plugins", "disabled", list, []))
    plugin_settings = {k: dict(v) for k, v in plugins.items() if isinstance(v, dict)}
    for k, v in plugins.items():
        if k != "disabled" and not isinstance(v, dict):
            raise ConfigError(source, f"plugins.{k}", "expected a table [plugins." + k + "]")
    settings = Settings(
        source=source,
        estate=estate,
        kiosk_id=kiosk_id,
        lobby=r.get("kiosk", "lobby", str, "A"),
        language=language,
        languages=languages,
        idle_timeout=r.positive("kiosk", "idle_timeout", 60, 3600),
        unknown_card_alert_after=r.positive("kiosk", "unknown_card_alert_after", 3, 100),
        database_url=database_url,
        database_timeouts=timeouts,
        desk=desk,
        devices=devices,
        staff=staff,
        retention=retention,
        audit=audit,
        plugins_disabled=disabled,
        plugin_settings=plugin_settings,
        notify=_notify_settings(r),
    )
    # [devices] names devices and [plugins.*] belong to the plugins: only the core's own
    # sections have a closed set of keys.
    r.refuse_unknown_keys(("estate", "kiosk", "database", "staff", "retention"))
    return settings


_URL_PASSWORD = re.compile(r"(?P<head>://[^:/@\s]*:)(?P<password>[^@\s]*)@")


def redact_url(url: str) -> str:
    """``url`` with its password shown as ``***``: for every place a URL is printed or logged
    (``kiosk init``, ``kiosk doctor``, error messages)."""
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - a malformed URL may still carry a password
        return _URL_PASSWORD.sub(r"\g<head>***@", url)
    return parsed.render_as_string(hide_password=True)


def redact(text: str, url: str) -> str:
    """``text`` (an error message that may quote the URL) without the URL's password."""
    text = _URL_PASSWORD.sub(r"\g<head>***@", text)
    try:
        from sqlalchemy.engine import make_url

        password = make_url(url).password
    except Exception:  # noqa: BLE001
        password = None
    if password:
        text = text.replace(str(password), "***")
    return text


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
