"""The butler desk in a browser (``kiosk serve --desk``), served by textual-serve.

Every browser session runs its own ``kiosk desk`` process (Textual's web driver) with the same
config, so each session opens on the staff login screen. The page tells the browser where its
websocket is; that address is taken from the request's own host, so a desk served on
``0.0.0.0`` works from any PC that reaches it by address or by this machine's name.

Guards around textual-serve's server (``[desk]`` in the config):

- Only pages of the served address itself, or of ``allowed_origins``, may open a session: a
  websocket (or any request) carrying another ``Origin`` is refused (403), so a foreign web
  page cannot drive a desk through a staff member's browser. The ``Host`` must be an address,
  this machine's name or an allowed origin's host (DNS rebinding).
- At most ``max_sessions`` sessions (desk processes) at once; the page says so when full.
- The terminal size a browser asks for is clamped (``MAX_COLUMNS`` x ``MAX_ROWS``) before the
  desk process sees it.
- Every response carries a Content-Security-Policy (no framing, scripts and styles only from
  the desk itself), ``X-Frame-Options: DENY``, ``nosniff`` and ``no-referrer``.
- The desk process itself logs staff out after ``idle_logout_minutes`` (see DeskApp).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import ipaddress
import logging
import re
import shlex
import socket
import sys
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from kiosk.i18n import _

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
MAX_COLUMNS, MAX_ROWS = 300, 100
MIN_COLUMNS, MIN_ROWS = 20, 8
MAX_MESSAGE = 64 * 1024  # one websocket message from the browser (keys, a paste)
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def desk_command(config: str | None) -> str:
    """The shell command textual-serve runs per browser session."""
    args = [sys.executable, "-c", "from kiosk.cli import main; main()", "desk"]
    if config:
        args += ["--config", config]
    return shlex.join(args)


def clamp_size(width: Any, height: Any) -> tuple[int, int]:
    """A terminal size the desk process can afford to paint."""
    w = to_int(str(width), 80)
    h = to_int(str(height), 24)
    return max(MIN_COLUMNS, min(w, MAX_COLUMNS)), max(MIN_ROWS, min(h, MAX_ROWS))


class ClampedAppService(AppService):
    """textual-serve's per-session process manager; sizes are clamped on the way in."""

    async def start(self, width: int, height: int) -> None:
        await super().start(*clamp_size(width, height))

    async def set_terminal_size(self, width: int, height: int) -> None:
        await super().set_terminal_size(*clamp_size(width, height))


def _sha256(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def page_script_hashes(template: str) -> list[str] | None:
    """CSP sources for the page's inline scripts and handlers; None when one is templated."""
    scripts = re.findall(r"<script>(.*?)</script>", template, re.S)
    handlers = re.findall(r"\son[a-zA-Z]+=\"([^\"]*)\"", template)
    if any("{{" in s or "{%" in s for s in scripts + handlers):
        return None
    sources = [_sha256(s) for s in scripts]
    if handlers:
        sources += ["'unsafe-hashes'", *sorted({_sha256(h) for h in handlers})]
    return sources


def _host_name(host: str) -> str:
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0][1:]
    return name.lower().rstrip(".")


class DeskServer(Server):
    """textual-serve's server, with the page's URLs following the address the browser used,
    and the guards listed in this module's docstring."""

    def __init__(
        self,
        command: str,
        host: str = "127.0.0.1",
        port: int = 8000,
        title: str | None = None,
        allowed_origins: Iterable[str] = (),
        max_sessions: int = 4,
    ) -> None:
        super().__init__(command, host=host, port=port, title=title)
        self.allowed_origins = frozenset(o.lower().rstrip("/") for o in allowed_origins)
        self.max_sessions = max_sessions
        self.sessions = 0
        names = {h.split("//", 1)[-1] for h in self.allowed_origins}
        self.allowed_hosts = {_host_name(n) for n in names} | LOOPBACK
        for name in (host, socket.gethostname(), socket.getfqdn()):
            if name:
                self.allowed_hosts.add(name.lower().rstrip("."))
        template = (Path(self.templates_path) / "app_index.html").read_text(encoding="utf-8")
        hashes = page_script_hashes(template)
        self._script_src = " ".join(["'self'", *(hashes or ["'unsafe-inline'"])])

    # -- the guards ---------------------------------------------------------------------------

    def host_allowed(self, host: str) -> bool:
        """The ``Host`` is an address, this machine's name, or an allowed origin's host."""
        if not _HOST.match(host):
            return False
        name = _host_name(host)
        if name in self.allowed_hosts:
            return True
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True

    def origin_allowed(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin", "").lower().rstrip("/")
        return origin in self.allowed_origins or origin == self.own_origin(request)

    @staticmethod
    def own_origin(request: web.Request) -> str:
        return f"{request.scheme}://{request.host}".lower()

    @web.middleware
    async def guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not self.host_allowed(request.host):
            log.warning("desk: refused a request for host %r", request.host)
            return web.Response(status=403, text="unknown host name; see [desk] allowed_origins")
        # Browsers send Origin with every websocket; other requests carry one when a page of
        # some site made them. A missing Origin on a websocket is no browser of ours either.
        needs_origin = request.path == "/ws"
        if (needs_origin or "Origin" in request.headers) and not self.origin_allowed(request):
            log.warning(
                "desk: refused %s from origin %r", request.path, request.headers.get("Origin")
            )
            return web.Response(status=403, text="this page may not open a desk session")
        return await handler(request)

    async def security_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        host = request.host if _HOST.match(request.host) else "'none'"
        response.headers["Content-Security-Policy"] = "; ".join(
            [
                "default-src 'self'",
                f"script-src {self._script_src}",
                "style-src 'self' 'unsafe-inline'",
                "img-src 'self' data:",
                "font-src 'self' data:",
                f"connect-src 'self' ws://{host} wss://{host}",
                "frame-ancestors 'none'",
                "base-uri 'none'",
                "form-action 'none'",
                "object-src 'none'",
            ]
        )
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self.guard)
        app.on_response_prepare.append(self.security_headers)
        return app

    # -- pages and sessions -------------------------------------------------------------------

    def full_page(self) -> web.Response:
        message = _("All {n} desk sessions are in use.").format(n=self.max_sessions)
        advice = _("Close a desk tab on another PC, or try again in a few minutes.")
        page = (
            "<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(self.title)}</title></head>"
            f"<body><h1>{html.escape(message)}</h1><p>{html.escape(advice)}</p></body></html>"
        )
        return web.Response(status=503, text=page, content_type="text/html")

    async def handle_index(self, request: web.Request) -> Any:
        if self.sessions >= self.max_sessions:
            return self.full_page()
        # No await between setting the URL and rendering: requests cannot interleave here.
        self.public_url = f"{request.scheme}://{request.host}"
        return await super().handle_index(request)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """textual-serve's session handler, counted, with the terminal size clamped."""
        if self.sessions >= self.max_sessions:
            log.warning("desk: all %d sessions in use; refused one more", self.max_sessions)
            raise web.HTTPServiceUnavailable(text="all desk sessions are in use")
        self.sessions += 1
        try:
            return await self._session(request)
        finally:
            self.sessions -= 1

    async def _session(self, request: web.Request) -> web.WebSocketResponse:
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=MAX_MESSAGE)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        app_service: AppService | None = None
        try:
            await websocket.prepare(request)
            app_service = ClampedAppService(
                self.command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,  # type: ignore[arg-type]
                download_manager=self.download_manager,
                debug=self.debug,
            )
            await app_service.start(width, height)
            try:
                await self._process_messages(websocket, app_service)
            finally:
                await app_service.stop()
        except asyncio.CancelledError:
            await websocket.close()
        except Exception:
            log.exception("desk session failed")
        finally:
            if app_service is not None:
                await app_service.stop()
        return websocket


def serve_desk(
    config: str | None,
    host: str,
    port: int,
    allowed_origins: Iterable[str] = (),
    max_sessions: int = 4,
) -> None:
    """Serve the desk until interrupted (ctrl+c or SIGTERM)."""
    DeskServer(
        desk_command(config),
        host=host,
        port=port,
        title="Butler desk",
        allowed_origins=allowed_origins,
        max_sessions=max_sessions,
    ).serve()
