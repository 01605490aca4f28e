"""Real servers on 127.0.0.1 for the notification tests: a JSON webhook and an SMTP server."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    path: str
    body: dict[str, Any]


@dataclass
class Webhook:
    """``json://127.0.0.1:PORT/...`` target. ``mode``: ok, fail (HTTP 500), slow (answers after
    ``delay`` s); ``stop()`` takes it down (connection refused), ``start()`` brings it back."""

    port: int = field(default_factory=free_port)
    mode: str = "ok"
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def start(self) -> Webhook:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                if hook.delay:
                    time.sleep(hook.delay)  # the slow channel itself, not synchronisation
                if hook.mode == "fail":
                    self.send_response(500)
                    self.end_headers()
                    return
                with hook._cond:
                    hook.received.append(Received(self.path, json.loads(raw)))
                    hook._cond.notify_all()
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def messages(self) -> list[str]:
        with self._cond:
            return [r.body.get("message", "") for r in self.received]


@dataclass
class Mail:
    to: list[str]
    subject: str
    body: str
    html: str = ""


class SmtpServer:
    """aiosmtpd on 127.0.0.1 collecting every message."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.mails: list[Mail] = []
        server = self

        class Handler:
            async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
                part = msg.get_body(preferencelist=("plain", "html"))
                body = part.get_content() if part is not None else ""
                html = "".join(
                    p.get_content() for p in msg.walk() if p.get_content_type() == "text/html"
                )
                server.mails.append(Mail(list(envelope.rcpt_tos), str(msg["subject"]), body, html))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def url(self, to: str = "{email}") -> str:
        return (
            f"mailto://127.0.0.1:{self.port}?from=kiosk@estate.test&to={to}"
            "&smtp=127.0.0.1&mode=insecure"
        )

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.controller.stop()
