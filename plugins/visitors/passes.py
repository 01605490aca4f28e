"""Signed payloads in visitor QR codes: a pass (``KP1.<pass id>.<mac>``) and an invite
(``KI1.<code>.<mac>``), signed with :mod:`kiosk.signing`.

The key comes from ``[plugins.visitors] pass_key`` or ``KIOSK_VISITOR_PASS_KEY``; without one
a fixed development key is used and a warning logged (passes from such a kiosk are forgeable).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk import signing
from kiosk.signing import DEV_KEY, MAC_HEX

if TYPE_CHECKING:
    from kiosk.context import KioskContext

__all__ = ["DEV_KEY", "MAC_HEX", "PREFIX", "KEY_SETTING", "pass_key", "sign", "verify"]
PREFIX = {"pass": "KP1", "invite": "KI1"}
KEY_SETTING = ("visitors", "pass_key", "KIOSK_VISITOR_PASS_KEY")


def pass_key(ctx: KioskContext) -> bytes:
    """The signing key: config, then environment, then the development key (with a warning)."""
    return signing.signing_key(ctx.settings, *KEY_SETTING)


def sign(key: bytes, kind: str, ident: str) -> str:
    """The QR payload for ``ident`` (a pass id or an invite code)."""
    return signing.sign(key, PREFIX[kind], kind, ident)


def verify(key: bytes, kind: str, payload: str) -> str | None:
    """The id inside a genuine payload of ``kind``, or None (wrong kind, malformed, forged)."""
    return signing.verify(key, PREFIX[kind], kind, payload)
