"""Signed payloads in visitor QR codes: a pass (``KP1.<pass id>.<mac>``) and an invite
(``KI1.<code>.<mac>``).

The MAC is HMAC-SHA256 over the kind and the id with the estate's key, truncated to 96 bits
(24 hex characters; enough against guessing at a kiosk, short enough for a small QR). The key
comes from ``[plugins.visitors] pass_key`` or ``KIOSK_VISITOR_PASS_KEY``; without one a fixed
development key is used and a warning logged (passes from such a kiosk are forgeable).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.context import KioskContext

log = logging.getLogger(__name__)
DEV_KEY = "lobby-kiosk-development-pass-key"
MAC_HEX = 24
PREFIX = {"pass": "KP1", "invite": "KI1"}
_warned = False


def pass_key(ctx: KioskContext) -> bytes:
    """The signing key: config, then environment, then the development key (with a warning)."""
    key = str(ctx.settings.plugin("visitors").get("pass_key", "")) or os.environ.get(
        "KIOSK_VISITOR_PASS_KEY", ""
    )
    if not key:
        global _warned
        if not _warned:
            log.warning("no visitor pass key configured: using the development key")
            _warned = True
        key = DEV_KEY
    return key.encode("utf-8")


def _mac(key: bytes, kind: str, ident: str) -> str:
    return hmac.new(key, f"{kind}:{ident}".encode(), hashlib.sha256).hexdigest()[:MAC_HEX]


def sign(key: bytes, kind: str, ident: str) -> str:
    """The QR payload for ``ident`` (a pass id or an invite code)."""
    return f"{PREFIX[kind]}.{ident}.{_mac(key, kind, ident)}"


_HEX = frozenset("0123456789abcdef")


def verify(key: bytes, kind: str, payload: str) -> str | None:
    """The id inside a genuine payload of ``kind``, or None (wrong kind, malformed, forged).

    Total over any text a scanner or a person can type: anything but a well-formed payload is
    None, never an exception (``hmac.compare_digest`` raises on non-ASCII text, ``encode`` on
    a lone surrogate)."""
    parts = payload.strip().split(".")
    if len(parts) != 3 or parts[0].upper() != PREFIX[kind]:
        return None
    ident, mac = parts[1], parts[2].lower()
    if not ident or not ident.isascii() or not ident.isprintable():
        return None
    if len(mac) != MAC_HEX or not set(mac) <= _HEX:
        return None
    if not hmac.compare_digest(mac, _mac(key, kind, ident)):
        return None
    return ident
