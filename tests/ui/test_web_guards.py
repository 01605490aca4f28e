"""The browser desk's guards, attacked over real HTTP on 127.0.0.1 (aiohttp client).

The server is kiosk's DeskServer as ``kiosk serve --desk`` runs it; behind it, a stand-in for
the desk process (tests/fixtures/web_stand_in.py) records what it is told, so a session costs
a small process instead of a whole desk. test_web_desk.py drives the real desk in Chromium.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from kiosk.i18n import language, set_language
from kiosk.ui.web import MAX_COLUMNS, MAX_ROWS, DeskServer

STAND_IN = Path(__file__).resolve().parents[1] / "fixtures" / "web_stand_in.py"
ALLOWED = "https://desk.estate.lan"
FOREIGN = "http://evil.example"
WAIT_S = 20.0  # starting a process on a busy machine


@dataclass
class Served:
    server: DeskServer
    base: str
    record: Path

    @property
    def own_origin(self) -> str:
        return self.base

    def ws(self, query: str = "") -> str:
        return self.base.replace("http:", "ws:") + "/ws" + query

    def records(self) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines()]


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {WAIT_S} s")
        await asyncio.sleep(0.05)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    record = tmp_path / "stand-in.jsonl"
    server = DeskServer(
        shlex.join([sys.executable, str(STAND_IN), str(record)]),
        host="127.0.0.1",
        port=0,
        title="Butler desk",
        allowed_origins=[ALLOWED],
        max_sessions=2,
    )
    runner = web.AppRunner(await server._make_app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield Served(server, f"http://127.0.0.1:{port}", record)
        # Every closed session's desk process has been told to quit and has ended.
        await until(lambda: server.sessions == 0, "every session ending")
    finally:
        await runner.cleanup()


async def refused_status(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str]
) -> int | None:
    """The HTTP status a websocket handshake was refused with (None: it was accepted)."""
    try:
        ws = await session.ws_connect(url, headers=headers)
    except aiohttp.WSServerHandshakeError as exc:
        return exc.status
    await ws.close()
    return None


async def test_a_foreign_page_cannot_open_a_desk_session(served: Served) -> None:
    async with aiohttp.ClientSession() as http:
        assert await refused_status(http, served.ws(), {"Origin": FOREIGN}) == 403
        assert await refused_status(http, served.ws(), {"Origin": "null"}) == 403
        assert await refused_status(http, served.ws(), {}) == 403  # no browser of ours
        # The page itself, fetched by a script of a foreign page, is refused too.
        async with http.get(served.base + "/", headers={"Origin": FOREIGN}) as page:
            assert page.status == 403
    assert served.records() == []  # no desk process was ever started
    assert served.server.sessions == 0


async def test_dns_rebinding_is_refused_by_host_name(served: Served) -> None:
    """A foreign name pointed at the desk's address: Origin and Host agree, but the name is
    not this machine's, an address, or an allowed origin's."""
    rebound = f"evil.example:{served.base.rsplit(':', 1)[1]}"
    async with aiohttp.ClientSession() as http:
        headers = {"Host": rebound, "Origin": f"http://{rebound}"}
        assert await refused_status(http, served.ws(), headers) == 403
        async with http.get(served.base + "/", headers={"Host": rebound}) as page:
            assert page.status == 403
        async with http.get(served.base + "/", headers={"Host": 'x"><script>'}) as page:
            assert page.status in (400, 403)


async def test_the_desk_itself_and_allowed_origins_open_sessions(served: Served) -> None:
    async with aiohttp.ClientSession() as http:
        for origin in (served.own_origin, ALLOWED):
            ws = await http.ws_connect(served.ws(), headers={"Origin": origin})
            await until(lambda: served.server.sessions == 1, "the session starting")
            await ws.close()
            await until(lambda: served.server.sessions == 0, "the session ending")
    starts = [r for r in served.records() if r["type"] == "start"]
    assert len(starts) == 2


async def test_sessions_beyond_the_limit_are_refused_with_a_clear_page(served: Served) -> None:
    before = language()
    set_language("en")
    try:
        async with aiohttp.ClientSession() as http:
            own = {"Origin": served.own_origin}
            first = await http.ws_connect(served.ws(), headers=own)
            second = await http.ws_connect(served.ws(), headers=own)
            await until(lambda: served.server.sessions == 2, "two sessions")
            assert await refused_status(http, served.ws(), own) == 503
            async with http.get(served.base + "/") as page:
                assert page.status == 503
                body = await page.text()
            assert "All 2 desk sessions are in use" in body
            await until(
                lambda: len([r for r in served.records() if r["type"] == "start"]) == 2,
                "two desk processes",
            )

            await first.close()  # one desk closed: room again
            await until(lambda: served.server.sessions == 1, "the first session ending")
            async with http.get(served.base + "/") as page:
                assert page.status == 200
            third = await http.ws_connect(served.ws(), headers=own)
            await until(lambda: served.server.sessions == 2, "the third session")
            await until(
                lambda: len([r for r in served.records() if r["type"] == "start"]) == 3,
                "the third desk process",
            )
            await third.close()
            await second.close()
    finally:
        set_language(before)


async def test_a_huge_terminal_is_clamped_before_the_desk_sees_it(served: Served) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(
            served.ws("?width=3000&height=3000"), headers={"Origin": served.own_origin}
        )
        await until(lambda: any(r["type"] == "start" for r in served.records()), "the start")
        await ws.send_json(["resize", {"width": 100000, "height": 50000}])
        await ws.send_json(["resize", {"width": "9999", "height": -5}])
        await until(
            lambda: len([r for r in served.records() if r["type"] == "resize"]) == 2,
            "both resizes",
        )
        await ws.close()
    records = served.records()
    start = next(r for r in records if r["type"] == "start")
    assert (start["width"], start["height"]) == (MAX_COLUMNS, MAX_ROWS)
    sizes = [(r["width"], r["height"]) for r in records if r["type"] == "resize"]
    assert sizes[0] == (MAX_COLUMNS, MAX_ROWS)
    assert sizes[1][0] == MAX_COLUMNS and 0 < sizes[1][1] <= MAX_ROWS


async def test_every_response_carries_the_security_headers(served: Served) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("/", "/static/js/textual.js", "/nothing-here"):
            async with http.get(served.base + path) as response:
                csp = response.headers.get("Content-Security-Policy", "")
                assert "frame-ancestors 'none'" in csp, path
                assert "default-src 'self'" in csp, path
                assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0]
                assert response.headers.get("X-Frame-Options") == "DENY", path
                assert response.headers.get("X-Content-Type-Options") == "nosniff", path
                assert response.headers.get("Referrer-Policy") == "no-referrer", path


def test_desk_settings_are_read_and_a_bad_origin_is_a_clear_config_error() -> None:
    from kiosk.config import ConfigError, parse_settings

    desk = parse_settings(
        {
            "desk": {
                "allowed_origins": ["https://Desk.Estate.lan/"],
                "max_sessions": 2,
                "idle_logout_minutes": 15,
            }
        },
        "kiosk.toml",
    ).desk
    assert desk.allowed_origins == ("https://desk.estate.lan",)
    assert (desk.max_sessions, desk.idle_logout_minutes) == (2, 15)
    defaults = parse_settings({}, "kiosk.toml").desk
    assert defaults.allowed_origins == () and 0 < defaults.max_sessions <= 4
    with pytest.raises(ConfigError) as bad:
        parse_settings({"desk": {"allowed_origins": ["desk.estate.lan/app"]}}, "kiosk.toml")
    assert bad.value.key == "desk.allowed_origins" and "https://desk.estate.lan" in str(bad.value)
    with pytest.raises(ConfigError):
        parse_settings({"desk": {"max_sessions": 0}}, "kiosk.toml")


def test_kiosk_serve_hands_the_desk_settings_to_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    import kiosk.ui.web
    from kiosk.cli import app

    cfg = tmp_path / "desk.toml"
    cfg.write_text(
        '[database]\nurl = "sqlite:///desk.db"\n'
        '[desk]\nallowed_origins = ["https://desk.estate.lan"]\nmax_sessions = 2\n',
        encoding="utf-8",
    )
    seen: list[tuple[Any, ...]] = []
    monkeypatch.setattr(kiosk.ui.web, "serve_desk", lambda *args: seen.append(args))
    for name in ("KIOSK_CONFIG", "KIOSK_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["serve", "--desk", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    (args,) = seen
    assert args[1:] == ("127.0.0.1", 8000, ("https://desk.estate.lan",), 2)
