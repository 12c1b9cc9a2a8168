"""HTTP mode: Slack's requests on `/slack/events`, health on `/healthz`.

A small threaded server in front of Bolt's `dispatch`. Bolt checks the signature and the
timestamp of every request before any listener runs; a forged or stale request gets 401.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_bolt import App, BoltRequest

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY = 1_000_000


class _Server(ThreadingHTTPServer):
    # Slack sends bursts: queue up to 128 connections instead of the default 5.
    request_queue_size = 128
    daemon_threads = True


class BotHTTPServer:
    """Serves a Bolt app over HTTP in background threads."""

    def __init__(
        self,
        app: App,
        *,
        health: Callable[[], tuple[bool, dict[str, Any]]],
        host: str = "0.0.0.0",  # noqa: S104 - Slack must reach it; deployments put it behind TLS
        port: int = 3000,
    ) -> None:
        self.server = _Server((host, port), _make_handler(app, health))
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0)."""
        return int(self.server.server_address[1])

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        """Serve in the calling thread until shut down."""
        self.server.serve_forever()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()


def _make_handler(
    app: App, health: Callable[[], tuple[bool, dict[str, Any]]]
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return  # access logs would duplicate the bot's own structured events

        def _send(self, status: int, body: str, headers: dict[str, Any] | None = None) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            content_type_set = False
            for key, values in (headers or {}).items():
                for value in values if isinstance(values, list | tuple) else [values]:
                    if key.lower() == "content-length":
                        continue
                    content_type_set = content_type_set or key.lower() == "content-type"
                    self.send_header(key, str(value))
            if not content_type_set:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path = self.path.partition("?")[0]
            if path == "/healthz":
                ok, report = health()
                self._send(200 if ok else 503, json.dumps(report, default=str))
            else:
                self._send(404, json.dumps({"error": "not_found"}))

        def do_POST(self) -> None:
            path, _, query = self.path.partition("?")
            if path != EVENTS_PATH:
                self._send(404, json.dumps({"error": "not_found"}))
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, json.dumps({"error": "too_large"}))
                return
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            request = BoltRequest(body=body, query=query, headers=dict(self.headers.items()))
            response = app.dispatch(request)
            self._send(response.status, response.body, response.headers)

    return Handler
