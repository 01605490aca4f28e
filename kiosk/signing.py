"""Signed payloads for QR codes a guard or a kiosk scans back: ``<PREFIX>.<id>.<mac>``.

The MAC is HMAC-SHA256 over the kind and the id with a key from the plugin's settings,
truncated to 96 bits (24 hex characters; enough against guessing at a kiosk, short enough for
a small QR). Visitor passes and invites (``KP1``/``KI1``) and item release passes (``KR1``)
are signed this way. Without a configured key a fixed development key is used and a warning
logged once per plugin (codes from such a kiosk are forgeable; ``kiosk doctor`` says so).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.config import Settings

log = logging.getLogger(__name__)
DEV_KEY = "lobby-kiosk-development-pass-key"
MAC_HEX = 24
_warned: set[str] = set()
_HEX = frozenset("0123456789abcdef")


def configured_key(settings: Settings, plugin: str, setting: str, env: str) -> str:
    """``[plugins.<plugin>] <setting>``, then the environment variable ``env``; "" when unset."""
    return str(settings.plugin(plugin).get(setting, "")) or os.environ.get(env, "")


def signing_key(settings: Settings, plugin: str, setting: str, env: str) -> bytes:
    """The signing key: config, then environment, then the development key (with a warning)."""
    key = configured_key(settings, plugin, setting, env)
    if not key:
        if plugin not in _warned:
            log.warning("no %s signing key configured: using the development key", plugin)
            _warned.add(plugin)
        key = DEV_KEY
    return key.encode("utf-8")


def uses_dev_key(settings: Settings, plugin: str, setting: str, env: str) -> bool:
    """Whether codes are signed with the public development key (for ``kiosk doctor``)."""
    key = configured_key(settings, plugin, setting, env)
    return not key or key == DEV_KEY


def mac(key: bytes, kind: str, ident: str) -> str:
    return hmac.new(key, f"{kind}:{ident}".encode(), hashlib.sha256).hexdigest()[:MAC_HEX]


def sign(key: bytes, prefix: str, kind: str, ident: str) -> str:
    """The QR payload for ``ident`` of ``kind``, written ``<prefix>.<ident>.<mac>``."""
    return f"{prefix}.{ident}.{mac(key, kind, ident)}"


def verify(key: bytes, prefix: str, kind: str, payload: str) -> str | None:
    """The id inside a genuine payload of ``kind``, or None (wrong kind, malformed, forged).

    Total over any text a scanner or a person can type: anything but a well-formed payload is
    None, never an exception (``hmac.compare_digest`` raises on non-ASCII text, ``encode`` on
    a lone surrogate)."""
    parts = payload.strip().split(".")
    if len(parts) != 3 or parts[0].upper() != prefix:
        return None
    ident, given = parts[1], parts[2].lower()
    if not ident or not ident.isascii() or not ident.isprintable():
        return None
    if len(given) != MAC_HEX or not set(given) <= _HEX:
        return None
    if not hmac.compare_digest(given, mac(key, kind, ident)):
        return None
    return ident
