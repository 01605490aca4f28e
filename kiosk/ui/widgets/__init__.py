"""Widgets shared by the shells and the plugins' screens.

Imported lazily by name (``from kiosk.ui.widgets import QRView``): the QR and signature
widgets pull in qrcode and PIL, which the home screen's first paint does not need.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "KioskBar": "kiosk.ui.widgets.chrome",
    "Keypad": "kiosk.ui.widgets.keypad",
    "QRView": "kiosk.ui.widgets.qr",
    "SignaturePad": "kiosk.ui.widgets.signature",
}
__all__ = list(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(name)
    return getattr(import_module(_WHERE[name]), name)
