"""``kiosk bench startup --json``: time from process start to the home screen **with its
tiles**, as a person starting the kiosk sees it.

Each run is a fresh process started the way an estate starts one, ``kiosk run --config CFG
--sim`` (the ``kiosk`` console script), on a pseudo-terminal like a real screen; the parent
starts the clock before spawning and stops it when the app says the tiles are painted (the
kiosk writes ``tiles`` to the file descriptor named by ``KIOSK_STARTUP_PROBE`` after the
refresh that shows them). The baseline is a bare Textual app showing one label on a
pseudo-terminal too, measured in the same run, interleaved. Target: ratio <= 1.5.

A kiosk remembers its home's tiles (:mod:`kiosk.ui.tile_memory`), so a kiosk starting again --
each morning, after a power cut -- shows them with its first frame: that is the ``ratio``.
``first_start_s`` and ``first_start_ratio`` are the same start with the memory removed before
each run (a kiosk's very first start, or one after its plugins changed): its tiles come once
pluggy and the plugins are imported.
"""

from __future__ import annotations

import contextlib
import os
import pty
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET = 1.5

BARE = """
import os
from textual.app import App
from textual.widgets import Label
class Bare(App):
    def compose(self):
        yield Label("hello")
    def on_mount(self):
        self.call_after_refresh(self.painted)
    def painted(self):
        os.write(int(os.environ["KIOSK_STARTUP_PROBE"]), b"tiles\\n")
Bare().run()
"""


def _kiosk_command() -> list[str]:
    script = Path(sys.executable).with_name("kiosk")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kiosk.cli"]


def _time(command: list[str], cwd: Path, forget: bool = False, settle: bool = False) -> float:
    """Seconds from spawning ``command`` on a pty to its probe line; the process is then ended.
    ``forget``: the kiosk's tile memory is removed first (a first start); ``settle``: the
    process is ended only once it has finished starting and remembered its tiles."""
    cache = cwd / "cache"
    if forget:
        shutil.rmtree(cache, ignore_errors=True)
    read_end, write_end = os.pipe()
    leader, follower = pty.openpty()
    env = {**os.environ, "KIOSK_STARTUP_PROBE": str(write_end), "TERM": "xterm-256color",
           "COLUMNS": "80", "LINES": "24", "XDG_CACHE_HOME": str(cache)}  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, stdin=follower, stdout=follower, stderr=subprocess.DEVNULL, env=env,
        pass_fds=(write_end,), cwd=cwd, start_new_session=True,
    )  # fmt: skip
    os.close(follower)
    os.close(write_end)
    got = b""
    deadline = start + 60
    try:
        while b"tiles" not in got:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise RuntimeError(f"{command[-3:]} did not show its home screen within 60 s")
            ready, _w, _x = select.select([read_end, leader], [], [], left)
            if leader in ready:
                with contextlib.suppress(OSError):
                    os.read(leader, 65536)  # the screen output: drained, not looked at
            if read_end in ready:
                chunk = os.read(read_end, 64)
                if not chunk:
                    raise RuntimeError(f"{command[-3:]} ended before its home screen")
                got += chunk
        took = time.perf_counter() - start
        while settle and not list((cache / "lobby-kiosk").glob("home-*.json")):
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{command[-3:]} did not remember its tiles within 60 s")
            ready, _w, _x = select.select([leader], [], [], 0.1)
            if ready:
                with contextlib.suppress(OSError):
                    os.read(leader, 65536)
        return took
    finally:
        proc.kill()
        proc.wait(timeout=30)
        os.close(read_end)
        os.close(leader)


def _compile_bytecode() -> None:
    """Bytecode for the project's packages, as an installed kiosk has (pip compiles it; an
    editable checkout writes it on first use, except under PYTHONDONTWRITEBYTECODE): the bare
    app's Textual comes compiled from site-packages, so both start from bytecode."""
    import compileall

    import kiosk

    root = Path(kiosk.__file__).resolve().parent.parent
    for package in ("kiosk", "devices", "plugins"):
        if (root / package).is_dir():
            compileall.compile_dir(root / package, quiet=2)


def run(argv: list[str] | None = None) -> dict[str, Any]:
    repeats = int(argv[0]) if argv else 7
    _compile_bytecode()
    home = Path(tempfile.mkdtemp(prefix="kiosk-bench-"))
    config = home / "kiosk.toml"
    config.write_text(
        '[estate]\nname = "阳光花园"\ntimezone = "Asia/Shanghai"\n'
        '[kiosk]\nid = "bench-startup"\nlobby = "A"\nlanguage = "zh_CN"\n'
        f'[database]\nurl = "sqlite:///{home / "kiosk.db"}"\n',
        "utf-8",
    )
    kiosk = [*_kiosk_command(), "run", "--config", str(config), "--sim"]
    subprocess.run(
        [*_kiosk_command(), "init", "--config", str(config)],
        check=True, capture_output=True, cwd=home,
    )  # fmt: skip
    bare_cmd = [sys.executable, "-c", BARE]
    # Warm the OS file cache for both; the kiosk's first start runs to the end (it remembers
    # its tiles then, as every kiosk that has run once has).
    _time(bare_cmd, home), _time(kiosk, home, settle=True)
    bare, tiles, first = [], [], []
    for _ in range(repeats):  # interleaved, so machine load affects all alike
        bare.append(_time(bare_cmd, home))
        first.append(_time(kiosk, home, forget=True, settle=True))
        tiles.append(_time(kiosk, home))
    b, k, f = statistics.median(bare), statistics.median(tiles), statistics.median(first)
    shutil.rmtree(home, ignore_errors=True)
    return {
        "benchmark": "startup",
        "repeats": repeats,
        "entry_point": "kiosk run --config CFG --sim (on a pty)",
        "bare_textual_first_paint_s": round(b, 3),
        "kiosk_home_with_tiles_s": round(k, 3),
        "ratio": round(k / b, 3),
        "first_start_s": round(f, 3),
        "first_start_ratio": round(f / b, 3),
        "target_ratio": TARGET,
        "met": k / b <= TARGET,
    }
