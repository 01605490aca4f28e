"""The HTTP endpoint providers post payment notifications to: ``POST /notify/<provider>``.

It only verifies and hands the notice to :func:`plugins.billing.service.handle_notification`,
answering with the provider's expected reply (WeChat 204 / 4xx JSON, Alipay ``success``).
It binds to 127.0.0.1 by default: publish it through the estate's reverse proxy (TLS), never
directly. Bodies are limited in size; nothing of a request is logged but its verdict.
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk.context import KioskContext

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024


def make_server(ctx: KioskContext, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A server (not yet started) handing notifications to the billing service."""
    from plugins.billing import service

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            parts = self.path.split("?", 1)[0].strip("/").split("/")
            length = int(self.headers.get("Content-Length") or 0)
            if len(parts) != 2 or parts[0] != "notify" or length > MAX_BODY:
                self._answer(404 if length <= MAX_BODY else 413, b"")
                return
            body = self.rfile.read(length)
            try:
                outcome = service.handle_notification(
                    ctx, parts[1], dict(self.headers.items()), body
                )
            except Exception as exc:  # noqa: BLE001 - the provider retries on 5xx
                log.warning("notification for %s failed: %s", parts[1], type(exc).__name__)
                self._answer(500, b"")
                return
            log.info("notification %s %s: %s", parts[1], outcome.out_trade_no, outcome.verdict)
            self._answer(outcome.http_status, outcome.reply)

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
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
