"""The butler desk in a browser (``kiosk serve --desk``), served by textual-serve.

Every browser session runs its own ``kiosk desk`` process (Textual's web driver) with the same
config, so each session opens on the staff login screen. The page tells the browser where its
websocket is; that address is taken from the request's own host, so a desk served on
``0.0.0.0`` works from any PC that reaches it by name or address.
"""

from __future__ import annotations

import shlex
import sys
from typing import Any

from textual_serve.server import Server

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def desk_command(config: str | None) -> str:
    """The shell command textual-serve runs per browser session."""
    args = [sys.executable, "-c", "from kiosk.cli import main; main()", "desk"]
    if config:
        args += ["--config", config]
    return shlex.join(args)


class DeskServer(Server):
    """textual-serve's server, with the page's URLs following the address the browser used."""

    async def handle_index(self, request: Any) -> Any:
        # No await between setting the URL and rendering: requests cannot interleave here.
        self.public_url = f"{request.scheme}://{request.host}"
        return await super().handle_index(request)


def serve_desk(config: str | None, host: str, port: int) -> None:
    """Serve the desk until interrupted (ctrl+c or SIGTERM)."""
    DeskServer(desk_command(config), host=host, port=port, title="Butler desk").serve()
