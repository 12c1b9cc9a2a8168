"""HTTP mode: Slack's requests on `/slack/events`, health on `/healthz`.

A small threaded server in front of Bolt's `dispatch`. Bolt checks the signature and the
timestamp of every request before any listener runs; a forged or stale request gets 401.
"""

from __future__ import annotations

import io
import json
import logging
import queue
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_bolt import App, BoltRequest

from bot.web.foreground import Foreground, ForegroundApp

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY = 1_000_000
# Threads started with the server to take connections (more are started when all are busy).
WORKERS = 64


class _Server(ThreadingHTTPServer):
    """A threaded HTTP server whose connections go to threads started in advance.

    `ThreadingHTTPServer` starts a thread per connection, and `Thread.start` waits until the
    new thread has run: under load that costs milliseconds of the accepting thread for every
    connection of a burst. Here `WORKERS` threads wait for connections from the start; only
    when all of them are busy does a connection get a thread of its own, as before.
    """

    # Slack sends bursts: queue up to 128 connections instead of the default 5.
    request_queue_size = 128
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
    ) -> None:
        self._connections: queue.SimpleQueue[tuple[Any, Any] | None] = queue.SimpleQueue()
        self._idle = 0
        self._idle_lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        super().__init__(address, handler)  # binds (and closes again if it cannot)
        self._workers = [
            threading.Thread(target=self._work, name=f"http-{i}", daemon=True)
            for i in range(WORKERS)
        ]
        for worker in self._workers:
            worker.start()

    def process_request(self, request: Any, client_address: Any) -> None:
        """Hand the connection to an idle worker, or to a thread of its own."""
        with self._idle_lock:
            idle = self._idle > 0
            if idle:
                self._idle -= 1
        if idle:
            self._connections.put((request, client_address))
        else:
            super().process_request(request, client_address)

    def _work(self) -> None:
        while True:
            with self._idle_lock:
                self._idle += 1
            item = self._connections.get()
            if item is None:
                return
            self.process_request_thread(*item)

    def server_close(self) -> None:
        """Close the socket and let the workers end."""
        super().server_close()
        for _ in self._workers:
            self._connections.put(None)


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
        foreground = app.foreground if isinstance(app, ForegroundApp) else None
        self.server = _Server((host, port), _make_handler(app, health, foreground))
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


class _Handler(BaseHTTPRequestHandler):
    """One connection: Slack's requests on `EVENTS_PATH`, health on `/healthz`.

    `_make_handler` makes a subclass that knows the app, the health check and the foreground.
    """

    app: App
    health: Callable[[], tuple[bool, dict[str, Any]]]
    foreground: Foreground | None = None

    protocol_version = "HTTP/1.1"
    # An answer goes out in one write: headers and body are buffered until the handler
    # flushes after each request (fewer system calls, each of which gives up and then
    # waits for the interpreter lock). TCP_NODELAY: a write is never held back waiting
    # for the peer's delayed ACK.
    wbufsize = io.DEFAULT_BUFFER_SIZE
    disable_nagle_algorithm = True
    # A kept-alive connection left idle this long is closed, so it holds no thread forever.
    timeout = 60

    # Slack's requests are counted in `foreground` from their request line until they
    # are answered: slow work waits for them (health checks do not count).
    def setup(self) -> None:
        """Start the connection, not yet answering a request of Slack's."""
        self.answering = False
        super().setup()

    def parse_request(self) -> bool:
        """Parse the request line; a request of Slack's enters the foreground."""
        ok = super().parse_request()
        slack = self.command == "POST" and self.path.partition("?")[0] == EVENTS_PATH
        if ok and slack and self.foreground is not None and not self.answering:
            self.foreground.enter()
            self.answering = True
        return ok

    def handle_one_request(self) -> None:
        """Answer one request, then leave the foreground."""
        try:
            super().handle_one_request()
        finally:
            self._answered()

    def finish(self) -> None:
        """Close the connection, leaving the foreground if a request was cut short."""
        try:
            super().finish()
        finally:
            self._answered()

    def _answered(self) -> None:
        if self.foreground is not None and self.answering:
            self.answering = False
            self.foreground.leave()

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: access logs would duplicate the bot's own structured events."""
        return

    def _send(self, status: int, body: str, headers: dict[str, Any] | None = None) -> None:
        """Send a whole answer; JSON unless the headers name another content type."""
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
        """`/healthz`: 200 with the report when the bot can work, else 503."""
        path = self.path.partition("?")[0]
        if path == "/healthz":
            ok, report = self.health()
            self._send(200 if ok else 503, json.dumps(report, default=str))
        else:
            self._send(404, json.dumps({"error": "not_found"}))

    def do_POST(self) -> None:
        """`EVENTS_PATH`: hand the request to Bolt, which checks its signature first."""
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
        response = self.app.dispatch(request)
        self._send(response.status, response.body, response.headers)


def _make_handler(
    app: App,
    health: Callable[[], tuple[bool, dict[str, Any]]],
    foreground: Foreground | None,
) -> type[BaseHTTPRequestHandler]:
    """A handler class serving this app (the server makes one instance per connection)."""
    return type(
        "Handler",
        (_Handler,),
        {"app": app, "health": staticmethod(health), "foreground": foreground},
    )
