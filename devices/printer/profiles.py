"""Printer capability profiles from python-escpos (escpos-printer-db), loaded only when used.

A printer URL may name a model: ``serial:///dev/ttyUSB0?profile=TM-T20II``. The profile says
the paper width in dots, whether the model has native QR (``GS ( k``), a cutter and a buzzer,
and its code pages. A model without native QR gets an image (raster) QR; a 58 mm model lays
out 32 columns.

python-escpos is imported lazily (never on the kiosk's start-up path: the import costs 0.3 s)
and through :func:`escpos_quietly`, because it calls ``logging.basicConfig()`` on import and
logs through the root logger: the root logger's handlers and level are put back afterwards.
``ESCPOS_CAPABILITIES_PICKLE_DIR`` is pointed at a cache folder so the capabilities file is
parsed once, not on every start (python-escpos would otherwise make a new temp folder each
time).

Validating a profile *name* (when a URL is parsed) reads python-escpos' ``capabilities.json``
directly, without importing the library.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import json
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

_IMPORT_LOCK = threading.Lock()


class ProfileError(ValueError):
    """An unknown printer profile name."""


@contextlib.contextmanager
def escpos_quietly() -> Iterator[None]:
    """Run python-escpos code, then restore the root logger's handlers and level."""
    root = logging.getLogger()
    with _IMPORT_LOCK:
        handlers, level = list(root.handlers), root.level
        try:
            yield
        finally:
            for handler in list(root.handlers):
                if handler not in handlers:
                    root.removeHandler(handler)
            for handler in handlers:
                if handler not in root.handlers:
                    root.addHandler(handler)
            root.setLevel(level)


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lobby-kiosk" / "escpos"


def import_escpos(module: str) -> Any:
    """Import ``escpos.<module>`` with the capabilities cache set and the root logger kept."""
    if "ESCPOS_CAPABILITIES_PICKLE_DIR" not in os.environ:
        cache = _cache_dir()
        try:
            cache.mkdir(parents=True, exist_ok=True)
            os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(cache)
        except OSError:
            pass  # read-only home: python-escpos falls back to a temp folder
    with escpos_quietly():
        return importlib.import_module(f"escpos.{module}")


@functools.lru_cache(maxsize=1)
def _profile_names() -> frozenset[str]:
    spec = importlib.util.find_spec("escpos")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "capabilities.json"
        if path.exists():
            with open(path, encoding="utf-8") as fh:
                return frozenset(json.load(fh)["profiles"])
    return frozenset()


def profile_names() -> list[str]:
    """Known profile names (sorted), from python-escpos' printer database."""
    return sorted(_profile_names())


def check_profile_name(name: str) -> None:
    """Raise :class:`ProfileError` (one line) unless ``name`` is a known profile."""
    names = _profile_names()
    if name in names:
        return
    close = [n for n in sorted(names) if n.lower() == name.lower()]
    hint = f"did you mean {close[0]!r}?" if close else "see `kiosk devices profiles`"
    shown = name if len(name) <= 40 else name[:40] + "..."
    raise ProfileError(f"unknown printer profile {shown!r} ({hint})")


@dataclass(frozen=True)
class PrinterProfile:
    """What the kiosk uses of a python-escpos profile."""

    name: str
    vendor: str
    width_dots: int | None
    width_mm: int | None
    native_qr: bool
    cut: bool
    buzzer: bool
    code_pages: tuple[str, ...]

    @property
    def paper_mm(self) -> int | None:
        """58 or 80 (roll width) from the printable width, None when the profile doesn't say."""
        if self.width_dots is None:
            return None
        return 58 if self.width_dots <= 432 else 80

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {**asdict(self), "code_pages": list(self.code_pages)}

    def summary(self) -> str:
        """One line: ``TM-T20II (Epson, 576 dots, native QR, cut, buzzer)``."""
        parts = [self.vendor or "?"]
        if self.width_dots:
            parts.append(f"{self.width_dots} dots")
        parts.append("native QR" if self.native_qr else "image QR")
        if self.cut:
            parts.append("cut")
        if self.buzzer:
            parts.append("buzzer")
        return f"{self.name} ({', '.join(parts)})"


@functools.lru_cache(maxsize=64)
def load_profile(name: str) -> PrinterProfile:
    """The profile ``name`` through python-escpos (imported here, lazily)."""
    check_profile_name(name)
    capabilities = import_escpos("capabilities")
    with escpos_quietly():
        profile = capabilities.get_profile(name)
    data: dict[str, Any] = profile.profile_data
    features: dict[str, Any] = data.get("features", {})
    width = (data.get("media") or {}).get("width") or {}
    dots = width.get("pixels")
    mm = width.get("mm")
    return PrinterProfile(
        name=name,
        vendor=str(data.get("vendor", "")),
        width_dots=int(dots) if isinstance(dots, int | float) else None,
        width_mm=int(mm) if isinstance(mm, int | float) else None,
        native_qr=bool(profile.supports("qrCode")),
        cut=bool(features.get("paperFullCut") or features.get("paperPartCut")),
        buzzer=bool(features.get("pulseBel") or features.get("pulseStandard")),
        code_pages=tuple(str(v) for v in (data.get("codePages") or {}).values()),
    )
