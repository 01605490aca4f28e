"""Translations: Chinese first, English; Japanese and Korean for guests; switched at runtime.

Message ids are English. Catalogs are gettext ``.po`` files read directly (no compile step):
the core's in ``kiosk/i18n/locale``, and each plugin registers its own folder with
:func:`register_catalog`, so a third-party plugin brings its translations along.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

LANGUAGES: dict[str, str] = {"zh_CN": "中文", "en": "English", "ja": "日本語", "ko": "한국어"}
DEFAULT_LANGUAGE = "zh_CN"
_HERE = Path(__file__).parent / "locale"

_language = DEFAULT_LANGUAGE
_catalogs: dict[str, dict[str, str]] = {}
_folders: list[Path] = []
_listeners: list[Callable[[str], None]] = []


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unquote(line: str) -> str:
    """The text of a .po string literal; the common escapes are read here (this runs for every
    line of every catalog at start-up), anything rarer by Python's own literal reader."""
    body = line[1:-1]
    if len(line) < 2 or not line.endswith('"'):
        return str(ast.literal_eval(line))  # malformed: its error, as before
    if "\\" not in body and '"' not in body:
        return body
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        nxt = body[i + 1 : i + 2] if ch == "\\" else ""
        if ch == '"' or (ch == "\\" and nxt not in _ESCAPES):
            return str(ast.literal_eval(line))  # unusual: Python's reader decides
        out.append(_ESCAPES[nxt] if nxt else ch)
        i += 2 if nxt else 1
    return "".join(out)


def parse_po(text: str) -> dict[str, str]:
    """msgid -> msgstr of a .po file (plural forms and contexts are not used by the kiosk)."""
    entries: dict[str, str] = {}
    current: dict[str, list[str]] = {}
    key = ""

    def flush() -> None:
        if "msgid" in current and "msgstr" in current:
            msgid, msgstr = "".join(current["msgid"]), "".join(current["msgstr"])
            if msgid and msgstr:
                entries[msgid] = msgstr

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("msgid "):
            flush()
            current = {"msgid": []}
            key, line = "msgid", line[6:]
        elif line.startswith("msgstr "):
            key, line = "msgstr", line[7:]
            current["msgstr"] = []
        if line.startswith('"') and key:
            current.setdefault(key, []).append(_unquote(line))
    flush()
    return entries


def register_catalog(folder: Path | str, domain: str | None = None) -> None:
    """Add a ``locale`` folder (``<folder>/<lang>/LC_MESSAGES/*.po``) to the catalogs."""
    path = Path(folder)
    if path in _folders:
        return
    _folders.append(path)
    for lang in LANGUAGES:
        for po in sorted((path / lang / "LC_MESSAGES").glob(f"{domain or '*'}.po")):
            _catalogs.setdefault(lang, {}).update(parse_po(po.read_text("utf-8")))


def remember_translations(lang: str, texts: dict[str, str]) -> None:
    """Translations known before their catalog is registered (the home's remembered tile
    titles, :mod:`kiosk.ui.tile_memory`); a catalog registered later takes precedence."""
    catalog = _catalogs.setdefault(lang, {})
    for msgid, msgstr in texts.items():
        if msgstr and msgstr != msgid:
            catalog.setdefault(msgid, msgstr)


def translate(lang: str, msgid: str) -> str:
    """``msgid`` in ``lang``, whatever the current language."""
    return _catalogs.get(lang, {}).get(msgid, msgid)


def set_language(lang: str) -> None:
    """Switch the language of every later ``_()`` call and tell the listeners (the UI)."""
    global _language
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}")
    _language = lang
    for listener in list(_listeners):
        listener(lang)


def language() -> str:
    return _language


def on_language_change(listener: Callable[[str], None]) -> None:
    _listeners.append(listener)


def gettext(msgid: str) -> str:
    """``msgid`` in the current language. English msgids fall through for ``en``, and for
    Japanese and Korean where a text has no translation yet (the visitor path has one)."""
    return translate(_language, msgid)


def next_language(languages: tuple[str, ...] | list[str], current: str | None = None) -> str:
    """The language after ``current`` in ``languages`` (a kiosk's toggle cycles through the
    configured ones); the first when ``current`` is not among them."""
    current = current or _language
    if current not in languages:
        return languages[0]
    return languages[(list(languages).index(current) + 1) % len(languages)]


def N_(msgid: str) -> str:
    """Mark a string for extraction without translating it now (translated when shown)."""
    return msgid


_ = gettext
register_catalog(_HERE, "kiosk")
