"""The home remembers its tiles: a kiosk that starts again (each morning, after a power cut or
a crash) shows them with its first frame, before pluggy and the plugins are imported.

What is kept is what the home draws of a tile (id, title msgid and its translations, order,
audience, icon, whether it needs a resident), never a screen: until the plugins are loaded a remembered tile answers
"still starting", as a tile shown before the database is open always has. When the plugins are
loaded their tiles replace the remembered ones (the home is composed again only if they differ:
a plugin disabled or added since) and are remembered for the next start. On the very first
start, or when the file is missing, unreadable or not ours, the tiles come as the plugins load.

The file is per kiosk and config file, under ``$XDG_CACHE_HOME/lobby-kiosk`` (default
``~/.cache``): a cache, safe to delete. Only the standard library is imported here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk.config import Settings
    from kiosk.hookspecs import Tile

log = logging.getLogger(__name__)

VERSION = 1
_FIELDS = ("id", "title", "order", "audience", "icon", "needs_resident")
_AUDIENCES = ("resident", "all", "staff")


def memory_file(settings: Settings) -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    key = f"{settings.kiosk_id}\0{settings.source}".encode()
    return Path(cache) / "lobby-kiosk" / f"home-{hashlib.sha256(key).hexdigest()[:16]}.json"


def signature(tiles: Sequence[Any]) -> list[tuple[Any, ...]]:
    """What the home draws of ``tiles``: two lists with the same signature look the same."""
    return [tuple(getattr(t, f) for f in _FIELDS) for t in tiles]


def _not_loaded(ctx: Any) -> Any:
    raise RuntimeError("a remembered tile has no screen until the plugins are loaded")


class RememberedTile:
    """What the home draws of a :class:`kiosk.hookspecs.Tile` (that module imports pluggy,
    which a first frame does without); its screen says the plugins are not loaded yet."""

    __slots__ = _FIELDS

    def __init__(self, *values: Any) -> None:
        for name, value in zip(_FIELDS, values, strict=True):
            setattr(self, name, value)

    @staticmethod
    def screen(ctx: Any) -> Any:
        return _not_loaded(ctx)


def remembered(settings: Settings) -> list[Tile]:
    """The tiles of this kiosk's last start, or [] (first start, or a file not to trust)."""
    path = memory_file(settings)
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.info("tile memory %s not read: %s", path, exc)
        return []
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return []
    rows = data.get("tiles")
    if not isinstance(rows, list):
        return []
    titles = data.get("titles", {})
    if isinstance(titles, dict):  # the plugins' catalogs are not registered yet
        from kiosk import i18n

        for lang, texts in titles.items():
            if lang in i18n.LANGUAGES and isinstance(texts, dict):
                i18n.remember_translations(
                    lang, {k: v for k, v in texts.items() if isinstance(v, str)}
                )
    tiles = []
    for row in rows:
        if not (isinstance(row, list) and len(row) == len(_FIELDS)):
            return []
        tid, title, order, audience, icon, needs = row
        if not (
            isinstance(tid, str)
            and isinstance(title, str)
            and isinstance(order, int)
            and audience in _AUDIENCES
            and isinstance(icon, str)
            and isinstance(needs, bool)
        ):
            return []
        tiles.append(RememberedTile(tid, title, order, audience, icon, needs))
    return tiles  # type: ignore[return-value]


def remember(settings: Settings, tiles: Sequence[Tile]) -> None:
    """Keep ``tiles`` for the next start (written only when they changed; atomically, so a
    power cut mid-write leaves the old file or none)."""
    path = memory_file(settings)
    from kiosk import i18n

    titles = {
        lang: {t.title: i18n.translate(lang, t.title) for t in tiles} for lang in i18n.LANGUAGES
    }
    text = json.dumps(
        {"version": VERSION, "tiles": signature(tiles), "titles": titles}, ensure_ascii=False
    )
    try:
        if path.exists() and path.read_text("utf-8") == text:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(text, "utf-8")
        os.replace(partial, path)
    except OSError as exc:  # a read-only home: the next start simply waits for the plugins
        log.info("tile memory %s not written: %s", path, exc)
