"""The butler desk in a browser: ``kiosk serve --desk`` driven by headless Chromium.

Uses Debian's chromium (``/usr/bin/chromium``; ``make venv`` installs it when it can) through
playwright. Without it the browser test skips with the reason, except under ``CI=true``
where it fails: CI must show the desk works in a browser.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, need_chromium

KIOSK = [sys.executable, "-c", "from kiosk.cli import main; main()"]
ALERT = "Printer A-1 is out of paper"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def desk_config(tmp_path: Path, url: str) -> Path:
    """A desk without devices, in English (the test reads the tab labels)."""
    cfg = tmp_path / "desk.toml"
    cfg.write_text(
        '[estate]\nname = "阳光花园"\nname_en = "Sunshine Garden"\ntimezone = "Asia/Shanghai"\n'
        '[kiosk]\nid = "web-desk"\nlobby = "A"\nlanguage = "en"\n'
        f'[database]\nurl = "{url}"\n',
        encoding="utf-8",
    )
    return cfg


def open_alert_kinds(url: str) -> list[str]:
    """The kinds of the alerts open for lobby A's desk, as the database has them now."""
    from kiosk.db import Database
    from kiosk.notify import open_alerts

    db = Database(url)
    try:
        with db.read() as session:
            return sorted(a.kind for a in open_alerts(session, "A"))
    finally:
        db.dispose()


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}


@pytest.fixture
def served_desk(tmp_path: Path, sqlite_demo_url: str) -> Iterator[str]:
    """``kiosk serve --desk`` on a free port over the demo estate, with one open alert for the
    desk of lobby A; yields its URL."""
    import datetime as dt

    from kiosk.db import Database
    from kiosk.notify import raise_alert

    db = Database(sqlite_demo_url)
    with db.write() as session:
        raise_alert(
            session, "printer", ALERT, at=dt.datetime.now(dt.UTC), severity="urgent", lobby="A"
        )
    db.dispose()
    port = free_port()
    log = (tmp_path / "serve.log").open("w+b")
    server = subprocess.Popen(
        [*KIOSK, "serve", "--desk", "--port", str(port)]
        + ["--config", str(desk_config(tmp_path, sqlite_demo_url))],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=clean_env(),
        start_new_session=True,  # its desk sessions are in its process group: stop them all
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 15
        while True:
            if server.poll() is not None:
                log.seek(0)
                pytest.fail(f"kiosk serve exited {server.returncode}: {log.read().decode()}")
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("kiosk serve --desk did not answer within 15 s")
            time.sleep(0.1)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


@pytest.mark.skipif(
    "faketime" in os.environ.get("LD_PRELOAD", ""),
    reason="under libfaketime (make test-anyday) keys typed into the served desk through "
    "Chromium stall; the browser login runs in make test, on the real clock",
)
def test_desk_in_headless_chromium_needs_staff_login(
    served_desk: str, sqlite_demo_url: str, tmp_path: Path
) -> None:
    need_chromium()
    from playwright.sync_api import sync_playwright

    received: list[str] = []  # what the desk process wrote to the browser's terminal

    def screen_text() -> str:
        return "".join(received)

    def on_websocket(ws):  # type: ignore[no-untyped-def]
        ws.on(
            "framereceived",
            lambda data: received.append(
                data.decode("utf-8", "replace") if isinstance(data, bytes) else data
            ),
        )

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.route("**/fonts.googleapis.com/**", lambda route: route.abort())  # offline
            page.on("websocket", on_websocket)
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))
            page.goto(served_desk)

            def wait_for(text: str, seconds: float, since: int = 0) -> bool:
                # Playwright delivers websocket frames only while it runs: poll through it.
                deadline = time.monotonic() + seconds
                while text not in "".join(received[since:]):
                    if time.monotonic() > deadline:
                        return False
                    page.wait_for_timeout(100)
                return True

            assert wait_for("Staff number", 20), "the desk's login screen never appeared"
            assert "Alerts" not in screen_text()  # nothing of the desk before the login
            page.locator(".xterm-helper-textarea").focus()
            page.keyboard.type("S001")
            # Keys reach the focused widget before Tab moves the focus: wait for the PIN field
            # to repaint focused (its placeholder, "PIN") before typing into it.
            mark = len(received)
            page.keyboard.press("Tab")
            assert wait_for("IN", 5, since=mark), "the PIN field never took the focus"
            mark = len(received)
            page.keyboard.type("2580")
            assert wait_for("••••", 5, since=mark), "the PIN did not go into the PIN field"
            # The desk opens its database in a worker; a submit before that says the desk is
            # still starting and leaves the PIN in place, so submitting again is safe. A submit
            # it took is never repeated: the PIN check may take seconds on a loaded machine, and
            # another Enter would land on the desk's first screen.
            mark = len(received)
            for _attempt in range(30):
                tried = len(received)
                page.keyboard.press("Enter")
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    since = "".join(received[tried:])
                    if "Alerts" in since or "still starting" in since:
                        break
                    page.wait_for_timeout(100)
                if "still starting" in "".join(received[tried:]):
                    page.wait_for_timeout(300)
                    continue
                if wait_for("Alerts", 30, since=mark):
                    break
                page.screenshot(path=str(tmp_path / "login-failed.png"))
                pytest.fail("staff S001 / 2580 did not reach the desk: " + screen_text()[-500:])
            else:
                pytest.fail("the desk was still starting after 30 tries: " + screen_text()[-500:])
            assert wait_for("Log out", 5, since=mark)
            # The alerts panel read the database in the desk's process: it shows the alert and
            # counts what is open for lobby A (the fixture's alert, and any the desk's own
            # start-up raised since: the count is checked against the database, not assumed).
            assert wait_for(ALERT, 20, since=mark), "the alert never reached the desk"
            deadline = time.monotonic() + 20
            while True:
                shown = re.findall(r"(\d+) open", "".join(received[mark:]))
                kinds = open_alert_kinds(sqlite_demo_url)
                if shown and int(shown[-1]) == len(kinds):
                    break
                if time.monotonic() > deadline:
                    pytest.fail(f"the desk counts {shown[-1:]} open; the database has {kinds}")
                page.wait_for_timeout(200)
            assert "printer" in kinds
            shot = tmp_path / "desk.png"
            page.screenshot(path=str(shot))
            # The desk's Content-Security-Policy leaves its own page working; it only keeps the
            # page from fetching textual-serve's font stylesheet from the internet.
            blocked = [m for m in console if "Content Security Policy" in m]
            assert all("fonts.googleapis.com" in m for m in blocked), blocked
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")


def test_serve_needs_desk_and_warns_off_loopback(tmp_path: Path, sqlite_demo_url: str) -> None:
    cfg = str(desk_config(tmp_path, sqlite_demo_url))
    bare = subprocess.run(
        [*KIOSK, "serve", "--config", cfg], capture_output=True, text=True, env=clean_env()
    )
    assert bare.returncode == 2 and "pass --desk or --links" in bare.stderr
    with socket.socket() as taken:  # a port in use: the warning, then a one-line refusal
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = subprocess.run(
            [*KIOSK, "serve", "--desk", "--host", "0.0.0.0", "--port", port, "--config", cfg],
            capture_output=True,
            text=True,
            env=clean_env(),
            timeout=60,
        )
    assert result.returncode == 1, result.stderr
    assert "only on the estate network" in result.stderr
    assert f"cannot serve on 0.0.0.0:{port}" in result.stderr


async def test_served_desk_refuses_a_foreign_page_and_sends_its_headers(
    served_desk: str,
) -> None:
    """``kiosk serve --desk`` as deployed: a foreign Origin gets 403 and starts no desk; the
    desk's own page opens a session; the page carries the anti-framing headers."""
    import aiohttp

    own = served_desk.rstrip("/")
    ws_url = own.replace("http:", "ws:") + "/ws"

    async def attempt() -> tuple[int | None, bool, dict[str, str]]:
        async with aiohttp.ClientSession() as http:
            try:
                await http.ws_connect(ws_url, headers={"Origin": "http://evil.example"})
                foreign: int | None = None
            except aiohttp.WSServerHandshakeError as exc:
                foreign = exc.status
            ws = await http.ws_connect(ws_url, headers={"Origin": own})
            # The desk process paints its login screen into the session.
            deadline = time.monotonic() + 30
            painted = False
            while not painted and time.monotonic() < deadline:
                try:
                    msg = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
                except TimeoutError:
                    break
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    break
                painted = msg.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT)
            await ws.close()
            async with http.get(served_desk) as page:
                headers = dict(page.headers)
        return foreign, painted, headers

    foreign, painted, headers = await attempt()
    assert foreign == 403
    assert painted, "the desk's own page got no session"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
