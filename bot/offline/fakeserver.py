"""The small HTTP server under the offline fakes (the Deepnote simulator, the Slack stand-in).

A `FakeServer` binds 127.0.0.1 (port 0: any free port) with a deep listen backlog, reads each
request whole, stamps it with the `time.monotonic()` instant its body was read, and hands it to
the owner's `handle` function, which answers with a `Reply` (or None to drop the connection
without a byte, as a network reset would). Injected faults are shared too: `take_fault` counts
one down. `stop()` wakes the server at once, and `stopping` lets a delayed answer be cut short.
"""

from __future__ import annotations

import json
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

_log = logging.getLogger(__name__)

JSON = "application/json; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
# Like a real API's: the default backlog of 5 drops a burst of connections, which then arrive
# a 1 s SYN retry late (and bunch up in request counts).
BACKLOG = 128


@dataclass(frozen=True)
class Reply:
    """One HTTP answer."""

    status: int
    body: bytes
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = ()


def json_reply(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Reply:
    """An answer with a JSON body.

    >>> json_reply(200, {"ok": True}, [("Retry-After", "1")])
    Reply(status=200, body=b'{"ok": true}', content_type='application/json; charset=utf-8', headers=(('Retry-After', '1'),))
    """  # noqa: E501
    return Reply(status, json.dumps(payload).encode("utf-8"), headers=tuple(headers))


def text_reply(status: int, text: str, content_type: str = TEXT) -> Reply:
    """An answer with a text body (plain text unless `content_type` says otherwise)."""
    return Reply(status, text.encode("utf-8"), content_type=content_type)


@dataclass(frozen=True)
class Request:
    """One request as read off the wire; `received` is when its body had been read."""

    method: str
    target: str
    headers: Mapping[str, str]
    """Header names in lower case."""
    body: bytes
    received: float
    """`time.monotonic()` of this process, for request-rate measurements."""


class Fault(Protocol):
    """An injected fault: it fires `times` more times (None: until it is cleared)."""

    times: int | None


F = TypeVar("F", bound=Fault)


def take_fault(faults: list[F], matches: Callable[[F], bool]) -> F | None:
    """The first fault that `matches`, counted down (and forgotten once used up).

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Once:
    ...     times: int | None
    >>> faults = [Once(1)]
    >>> take_fault(faults, lambda f: True), faults
    (Once(times=0), [])
    """
    for fault in faults:
        if matches(fault):
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    faults.remove(fault)
            return fault
    return None


class Lifecycle:
    """Something started and stopped, usable as a context manager (`with X() as x:`)."""

    def start(self) -> Self:
        """Start serving."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop serving."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class FakeServer(Lifecycle):
    """A threaded HTTP server in a daemon thread, answering with `handle(request)`.

    `keep_alive` speaks HTTP/1.1 (connections are reused) instead of HTTP/1.0; `max_body`
    refuses longer bodies with 413 (and bad lengths with 400), leaving the body unread;
    `not_started` is what `url` says before `start()`.
    """

    def __init__(
        self,
        *,
        handle: Callable[[Request], Reply | None],
        name: str,
        host: str = "127.0.0.1",
        port: int = 0,
        keep_alive: bool = False,
        max_body: int = 64 * 1024 * 1024,
        bad_length: Callable[[int], Reply] | None = None,
        not_started: str | None = None,
    ) -> None:
        self.handle = handle
        self.name = name
        self.not_started = not_started or f"{name} is not running; call start() first"
        self.keep_alive = keep_alive
        self.max_body = max_body
        self.bad_length = bad_length or (
            lambda status: json_reply(status, {"message": "Request body has a bad length"})
        )
        self._address = (host, port)
        self.stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None

    @property
    def running(self) -> bool:
        """Whether the server is started."""
        return self._server is not None

    def start(self) -> Self:
        """Bind the port and serve in a daemon thread (idempotent)."""
        if self._server is None:
            self.stopping.clear()
            self._server = _Server(self._address, self)
            self._wake = socket.socketpair()
            self._thread = threading.Thread(
                target=self._serve_forever,
                args=(self._server, self._wake[0]),
                name=self.name,
                daemon=True,
            )
            self._thread.start()
        return self

    def _serve_forever(self, server: _Server, wake: socket.socket) -> None:
        # Like serve_forever, but stop() wakes it at once instead of waiting for a poll tick.
        with selectors.DefaultSelector() as selector:
            selector.register(server, selectors.EVENT_READ)
            selector.register(wake, selectors.EVENT_READ)
            while not self.stopping.is_set():
                ready = selector.select()
                if not self.stopping.is_set() and any(k.fileobj is server for k, _ in ready):
                    server.handle_request()

    def stop(self) -> None:
        """Stop serving and release the port (idempotent); waits in `stopping` end at once."""
        self.stopping.set()
        server, thread, wake = self._server, self._thread, self._wake
        self._server = self._thread = self._wake = None
        if wake is not None:
            wake[1].send(b"x")
        if thread is not None:
            thread.join(timeout=5)
        if server is not None:
            server.server_close()
        if wake is not None:
            for end in wake:
                end.close()

    @property
    def url(self) -> str:
        """Root URL, e.g. http://127.0.0.1:54321 (RuntimeError, saying `not_started`, if not)."""
        if self._server is None:
            raise RuntimeError(self.not_started)
        host, port = self._server.server_address[:2]
        shown = host if isinstance(host, str) else host.decode()
        return f"http://{shown}:{port}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # handle_request() is only called once the socket is readable: never wait inside it.
    timeout = 0
    request_queue_size = BACKLOG

    def __init__(self, address: tuple[str, int], fake: FakeServer) -> None:
        super().__init__(address, _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # Headers and body leave in one segment: split writes plus Nagle and delayed ACKs would
    # add ~40 ms to every answer on a keep-alive connection.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    # Idle keep-alive connections must not pin handler threads forever.
    timeout = 30

    def setup(self) -> None:
        """Speak HTTP/1.1 (keep-alive) only for servers that ask for it."""
        super().setup()
        if self.server.fake.keep_alive:
            self.protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        # The request line has no credentials; headers are never logged.
        _log.debug(self.server.fake.name + ": " + format, *args)

    def _dispatch(self) -> None:
        fake = self.server.fake
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= fake.max_body:
            # The body is left unread, so this connection cannot carry another request.
            self.close_connection = True
            self._send(fake.bad_length(413 if length > 0 else 400))
            return
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = Request(self.command, self.path, headers, body, time.monotonic())
        reply = fake.handle(request)
        if reply is None:
            # Close without a byte of answer: the client sees the connection drop.
            self.close_connection = True
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)
