"""HTTP mode: Slack's requests on `/slack/events`, health on `/healthz`, served by waitress.

waitress parses HTTP/1.1 strictly (a bad or negative Content-Length is a 400, chunked bodies
are decoded, the connection is closed after an error answer, so no unread bytes become a
second request) and reads each request whole, within the limits below, on its own I/O
thread before a worker thread runs the app (`SlackFront`). The limits:

- `MAX_BODY`: Slack's requests are a few KiB (a modal's state at most some hundreds); a larger
  body gets 413 and the connection is closed.
- `MAX_HEADERS`: all headers of a request together.
- `CONNECTIONS`: connections open at once; more wait in the kernel's backlog.
- `IDLE_TIMEOUT`: a connection that sends nothing for this long is closed.
- `WORKERS`: the fixed number of threads answering requests (and so of their SQLite
  connections).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from waitress.server import create_server

from bot.web.front import EVENTS_PATH, SlackFront
from storage.seen_requests import SeenRequests
from storage.sqlite import SQLiteDatabase

__all__ = ["EVENTS_PATH", "MAX_BODY", "WORKERS", "BotHTTPServer"]

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
MAX_HEADERS = 32 * 1024
CONNECTIONS = 200
IDLE_TIMEOUT = 30
WORKERS = 32


class BotHTTPServer:
    """Serves a Bolt app over HTTP (waitress) in a background thread."""

    def __init__(
        self,
        app: App,
        *,
        health: Callable[[], tuple[bool, dict[str, Any]]],
        host: str = "0.0.0.0",  # noqa: S104 - Slack must reach it; deployments put it behind TLS
        port: int = 3000,
        signing_secret: str,
        seen: SeenRequests | None = None,
    ) -> None:
        if seen is None:  # remembered for this process only
            memory = SQLiteDatabase(":memory:")
            memory.migrate()
            seen = SeenRequests(memory)
        self.seen = seen
        self.front = SlackFront(app, health=health, signing_secret=signing_secret, seen=seen)
        self.server = create_server(
            self.front,
            host=host,
            port=port,
            threads=WORKERS,
            connection_limit=CONNECTIONS,
            channel_timeout=IDLE_TIMEOUT,
            cleanup_interval=min(10, IDLE_TIMEOUT),
            max_request_body_size=MAX_BODY,
            max_request_header_size=MAX_HEADERS,
            expose_tracebacks=False,
            ident="deepnote-bot",
        )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0)."""
        return int(self.server.effective_port)

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        """Serve in the calling thread until `stop`."""
        self.server.run()

    def stop(self) -> None:
        """Stop taking requests, close every connection, and let the workers end."""
        if self._thread is not None and self._thread.is_alive():
            # The I/O loop owns its sockets: close them from inside it.
            try:
                self.server.trigger.pull_trigger(self._close_all)
            except OSError:
                # Its wake-up pipe is closed already (the loop is ending): close from here
                # once it has ended.
                self._thread.join(timeout=5)
                self._close_all()
            else:
                self._thread.join(timeout=5)
        else:
            self._close_all()
        self.server.task_dispatcher.shutdown(timeout=5)
        self.front.close()
        self.seen.close()

    def _close_all(self) -> None:
        for channel in list(self.server._map.values()):
            if channel is not self.server:
                channel.close()
        self.server.close()
