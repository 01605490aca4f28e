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
            current.setdefault(key, []).append(ast.literal_eval(line))
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
    return _catalogs.get(_language, {}).get(msgid, msgid)


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
