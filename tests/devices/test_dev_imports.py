"""devices/ is a standalone library: no kiosk, textual, plugins or escpos on import."""

from __future__ import annotations

import subprocess
import sys


def test_importing_devices_pulls_in_no_ui_core_or_escpos() -> None:
    code = (
        "import logging, sys\n"
        "import devices.urls, devices.qr, devices.printer, devices.cards, devices.sim\n"
        "import devices.receipt_decode, devices.probe, devices.sim.console\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('kiosk', 'textual', 'plugins', 'escpos')]\n"
        "assert not bad, bad\n"
        "assert not logging.getLogger().handlers, 'root logger touched'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
