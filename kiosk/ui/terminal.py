"""A kiosk whose terminal goes away must leave, not spin.

When the console or the ssh session or terminal multiplexer a kiosk runs in ends, the UI's
input thread reads end-of-file in a loop: the kiosk keeps a core busy with no screen, its
devices still held, and a service manager never sees it exit to start it again. A hang-up
signal does not always arrive (not when a parent such as ``make`` holds the session), but the
terminal's descriptor stops being a terminal at once; the kiosk checks it every second.
"""

from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger(__name__)


def exit_when_terminal_lost(app: Any, fd: int = 0, every: float = 1.0) -> bool:
    """Exit ``app`` once ``fd`` is no longer a terminal; False (no watch) when it isn't one
    now (tests, pipes, the browser desk's own pty is one)."""
    if not os.isatty(fd):
        return False

    def check() -> None:
        if not os.isatty(fd):
            log.warning("the terminal is gone: %s exits", type(app).__name__)
            app.exit()

    app.set_interval(every, check)
    return True
