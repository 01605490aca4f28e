"""The HTTP endpoint providers post payment notifications to: ``POST /notify/<provider>``.

It only verifies and hands the notice to :func:`plugins.billing.service.handle_notification`,
answering with the provider's expected reply (WeChat 204 / 4xx JSON, Alipay ``success``).
It binds to 127.0.0.1 by default: publish it through the estate's reverse proxy (TLS), never
directly. Nothing of a request is logged but its verdict.

What a stranger can make it do is bounded: a body needs a plain ``Content-Length`` of at most
:data:`MAX_BODY` (missing, negative, malformed, repeated or chunked is refused before anything
is read, and never more than that is read); a slow sender is cut off after
:data:`READ_TIMEOUT`; forged notices are counted, not stored one row each (see
:func:`plugins.billing.service.handle_notification`), and a client address that sent more than
:data:`REJECT_BUDGET` of them in a minute gets ``429`` for its further rejected ones.
A verified notice is always applied, whoever sent it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk.context import KioskContext

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024
READ_TIMEOUT = 10  # seconds for a request's headers and body
REJECT_BUDGET = 20  # rejected notices per client address per window before 429
REJECT_WINDOW = dt.timedelta(minutes=1)


class ClientThrottle:
    """Rejected notices per client address in the current window."""

    def __init__(self, budget: int = REJECT_BUDGET, window: dt.timedelta = REJECT_WINDOW) -> None:
        self.budget, self.window = budget, window
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[dt.datetime, int]] = {}

    def reject(self, client: str, now: dt.datetime) -> bool:
        """Count a rejection from ``client``; True when it is over its budget (throttled)."""
        with self._lock:
            if len(self._seen) > 10_000:  # many addresses: forget the stale windows
                self._seen = {c: v for c, v in self._seen.items() if now - v[0] < self.window}
            start, n = self._seen.get(client, (now, 0))
            if now - start >= self.window:
                start, n = now, 0
            self._seen[client] = (start, n + 1)
            return n + 1 > self.budget


def _body_length(headers: Any) -> tuple[int, int]:
    """(length, 0) from a plain, single, in-limit Content-Length, else (0, HTTP status)."""
    if headers.get("Transfer-Encoding") is not None:
        return 0, 411
    values = headers.get_all("Content-Length") or []
    if not values:
        return 0, 411
    text = values[0].strip()
    if len(values) > 1 or not (text.isascii() and text.isdigit()) or len(text) > 12:
        return 0, 400
    length = int(text)
    return (length, 0) if length <= MAX_BODY else (0, 413)


def make_server(ctx: KioskContext, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A server (not yet started) handing notifications to the billing service."""
    from kiosk.errors import Refused
    from plugins.billing import service

    throttle = ClientThrottle()

    class Handler(BaseHTTPRequestHandler):
        timeout = READ_TIMEOUT

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            parts = self.path.split("?", 1)[0].strip("/").split("/")
            if len(parts) != 2 or parts[0] != "notify":
                self._refuse(404)
                return
            length, problem = _body_length(self.headers)
            if problem:
                self._refuse(problem)
                return
            body = self.rfile.read(length)
            if len(body) != length:
                self._refuse(400)
                return
            try:
                outcome = service.handle_notification(
                    ctx, parts[1], dict(self.headers.items()), body
                )
            except Refused:  # no such provider here
                self._refuse(404)
                return
            except Exception as exc:  # noqa: BLE001 - the provider retries on 5xx
                log.warning("notification for %s failed: %s", parts[1][:32], type(exc).__name__)
                self._answer(500, b"")
                return
            if outcome.verdict == "rejected":
                if throttle.reject(self.client_address[0], ctx.clock.now()):
                    self._refuse(429)
                    return
            else:
                log.info("notification %s %s: %s", parts[1], outcome.out_trade_no, outcome.verdict)
            self._answer(outcome.http_status, outcome.reply)

        def _refuse(self, status: int) -> None:
            self.close_connection = True  # whatever else the client sent is not read
            self._answer(status, b"")

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def serve_in_background(
    ctx: KioskContext, host: str = "127.0.0.1", port: int = 0
) -> ThreadingHTTPServer:
    server = make_server(ctx, host, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
