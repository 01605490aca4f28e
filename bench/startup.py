"""``kiosk bench startup --json``: time to the first painted home screen, headless.

Each run is a fresh Python process (imports included, as a kiosk boots); the parent starts
the clock before spawning and stops it when the child says it painted. The baseline is a
bare Textual app showing one label, measured in the same run. Target: ratio <= 1.3.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BARE = """
import sys
from textual.app import App
from textual.widgets import Label
class Bare(App):
    def compose(self):
        yield Label("hello")
    def on_mount(self):
        self.call_after_refresh(self.painted)
    def painted(self):
        sys.stdout.write("painted\\n"); sys.stdout.flush(); self.exit()
Bare().run(headless=True, size=(80, 24))
"""

KIOSK = """
import sys
from kiosk.config import parse_settings
from kiosk.ui.lobby_app import LobbyApp
class Measured(LobbyApp):
    def on_mount(self):
        super().on_mount()
        self.call_after_refresh(self.painted)
    def painted(self):
        assert type(self.screen).__name__ == "HomeScreen"
        sys.stdout.write("painted\\n"); sys.stdout.flush()
        self.exit_allowed = True
        self.exit()
settings = parse_settings({"database": {"url": sys.argv[1]}}, "<bench>")
Measured(settings, start_devices=False).run(headless=True, size=(80, 24))
"""


def _time(code: str, *args: str) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - start
    proc.wait(timeout=60)
    if line.strip() != "painted":
        raise RuntimeError("the app did not report its first paint")
    return elapsed


def run(argv: list[str] | None = None) -> dict[str, Any]:
    repeats = int((argv or ["7"])[0]) if argv else 7
    db = Path(tempfile.mkdtemp(prefix="kiosk-bench-")) / "startup.db"
    url = f"sqlite:///{db}"
    _time(BARE), _time(KIOSK, url)  # warm the OS file cache for both
    bare, kiosk = [], []
    for _ in range(repeats):  # interleaved, so machine load affects both alike
        bare.append(_time(BARE))
        kiosk.append(_time(KIOSK, url))
    b, k = statistics.median(bare), statistics.median(kiosk)
    return {
        "benchmark": "startup",
        "repeats": repeats,
        "bare_textual_first_paint_s": round(b, 3),
        "kiosk_home_first_paint_s": round(k, 3),
        "ratio": round(k / b, 3),
        "target_ratio": 1.3,
        "met": k / b <= 1.3,
    }
