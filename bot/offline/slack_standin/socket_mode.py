"""Slack's side of Socket Mode for the stand-in: a WebSocket server (RFC 6455) on 127.0.0.1.

The bot's Socket Mode client calls `apps.connections.open` with the app-level token, gets a
one-use `ws://127.0.0.1:PORT/link/?ticket=...` URL and connects. Each connection is greeted with
`hello`, as Slack does; envelopes (`slash_commands`, `interactive`, `events_api`) then go to one
open connection each, in turn, and the bot's acknowledgements (`{"envelope_id": ...,
"payload": {...}}`) are recorded with when they arrived. Up to ten connections are served; an
eleventh is told `too_many_websockets` and closed. Only the standard library is used.

>>> accept_key("dGhlIHNhbXBsZSBub25jZQ==")  # the example of RFC 6455, section 1.3
's3pPLMBiTxaQ9kYGzzhZRbK+xOo='
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import itertools
import json
import logging
import select
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs, urlsplit

from bot.clock import Clock
from bot.offline.slack_standin.payloads import (
    event_callback,
    fill_interaction,
    slash_command_fields,
)

if TYPE_CHECKING:
    from bot.offline.slack_standin.server import SlackStandIn

_log = logging.getLogger(__name__)

WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_CONNECTIONS = 10
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
HANDSHAKE_LIMIT = 16 * 1024
HANDSHAKE_TIMEOUT = 5.0
SEND_TIMEOUT = 5.0  # a client that reads nothing for this long is taken for gone
CLOSE_WAIT = 1.0  # how long a connection the server closed may take to answer with its close
_POLL = 0.05  # reads wake this often to notice stop() and close deadlines

OP_CONTINUATION, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
CLOSE_NORMAL, CLOSE_GOING_AWAY, CLOSE_PROTOCOL_ERROR, CLOSE_UNSUPPORTED = 1000, 1001, 1002, 1003
CLOSE_INVALID_DATA, CLOSE_POLICY, CLOSE_TOO_BIG = 1007, 1008, 1009

_DEBUG_HOST = "applink-standin"

EnvelopeType = Literal["slash_commands", "interactive", "events_api"]


# --------------------------------------------------------------------------- frames


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept answer to a client's Sec-WebSocket-Key."""
    digest = hashlib.sha1((key + WEBSOCKET_GUID).encode(), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode()


def encode_frame(
    opcode: int, payload: bytes = b"", *, fin: bool = True, mask: bytes | None = None
) -> bytes:
    """One frame: unmasked as a server sends it, or masked with 4-byte `mask` as a client must.

    >>> encode_frame(OP_TEXT, b"hi")
    b'\\x81\\x02hi'
    >>> encode_frame(OP_PONG, b"hi", mask=b"\\x01\\x01\\x01\\x01")
    b'\\x8a\\x82\\x01\\x01\\x01\\x01ih'
    """
    first = (0x80 if fin else 0) | opcode
    masked = 0x80 if mask is not None else 0
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", first, masked | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", first, masked | 126, length)
    else:
        header = struct.pack("!BBQ", first, masked | 127, length)
    if mask is None:
        return header + payload
    return header + mask + _xor(payload, mask)


def _xor(data: bytes, mask: bytes) -> bytes:
    if not data:
        return b""
    size = len(data)
    key = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big")


@dataclass(frozen=True)
class Frame:
    """One frame as read off the wire, unmasked."""

    fin: bool
    opcode: int
    payload: bytes
    masked: bool


class ProtocolError(Exception):
    """A peer broke RFC 6455; `code` is the close code to answer with."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def read_frame(read: Callable[[int], bytes], *, limit: int = MAX_MESSAGE_BYTES) -> Frame:
    """Read one frame with `read(n)`, which returns exactly n bytes (or raises EOFError).

    >>> data = iter([b"\\x81\\x02", b"hi"])
    >>> read_frame(lambda n: next(data))
    Frame(fin=True, opcode=1, payload=b'hi', masked=False)
    """
    first, second = read(2)
    if first & 0x70:
        raise ProtocolError(CLOSE_PROTOCOL_ERROR, "reserved bits set without an extension")
    fin, opcode = bool(first & 0x80), first & 0x0F
    masked, length = bool(second & 0x80), second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", read(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", read(8))
    if opcode >= 0x8:
        if opcode not in (OP_CLOSE, OP_PING, OP_PONG):
            raise ProtocolError(CLOSE_PROTOCOL_ERROR, f"unknown control opcode {opcode:#x}")
        if length > 125 or not fin:
            raise ProtocolError(CLOSE_PROTOCOL_ERROR, "control frames are short and unfragmented")
    elif opcode not in (OP_CONTINUATION, OP_TEXT, OP_BINARY):
        raise ProtocolError(CLOSE_PROTOCOL_ERROR, f"unknown data opcode {opcode:#x}")
    if length > limit:
        raise ProtocolError(CLOSE_TOO_BIG, f"a frame of {length} bytes is over {limit}")
    mask = read(4) if masked else b""
    data = read(length) if length else b""
    return Frame(fin, opcode, _xor(data, mask) if masked else data, masked)


class _Reader:
    """Exact reads from a socket that wake every `_POLL` seconds to ask `give_up()`."""

    def __init__(self, sock: socket.socket, give_up: Callable[[], bool]) -> None:
        self._sock = sock
        self.give_up = give_up
        self._buffer = bytearray()

    def _fill(self) -> None:
        readable, _, _ = select.select([self._sock], [], [], _POLL)
        if not readable:
            if self.give_up():
                raise EOFError("gave up waiting")
            return
        chunk = self._sock.recv(65536)
        if not chunk:
            raise EOFError("the peer closed the connection")
        self._buffer += chunk

    def read_exact(self, size: int) -> bytes:
        """Exactly `size` bytes."""
        while len(self._buffer) < size:
            self._fill()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def read_until(self, marker: bytes, limit: int) -> bytes:
        """Everything up to and including `marker`; ProtocolError past `limit` bytes."""
        while marker not in self._buffer:
            if len(self._buffer) > limit:
                raise ProtocolError(CLOSE_TOO_BIG, "handshake too long")
            self._fill()
        end = self._buffer.index(marker) + len(marker)
        data = bytes(self._buffer[:end])
        del self._buffer[:end]
        return data


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class SocketConnection:
    """One WebSocket connection as the stand-in saw it.

    `open` is True while envelopes may be delivered over it: greeted, not told to reconnect,
    not closing. `closed_at` is set once the socket is gone. `close_code` is that of the close
    frame that ended it (sent or received), None when the socket simply went away; `closed_by`
    says which side ended it. `pings` counts the client's pings, `pongs` its answers to ours.
    """

    id: str
    open: bool
    opened_at: datetime
    closed_at: datetime | None
    close_code: int | None
    closed_by: Literal["client", "server"] | None
    pings: int
    pongs: int


@dataclass(frozen=True)
class Envelope:
    """One delivery to the bot over a connection."""

    envelope_id: str
    type: EnvelopeType
    payload: dict[str, Any]
    connection_id: str
    sent_at: datetime
    accepts_response_payload: bool


@dataclass(frozen=True)
class EnvelopeAck:
    """The bot's acknowledgement of an envelope; `payload` is None when it carried none.

    `elapsed` is real seconds from delivery to the ack (None for an envelope never sent).
    """

    envelope_id: str
    payload: dict[str, Any] | None
    connection_id: str
    at: datetime
    elapsed: float | None


class _Link:
    """A connection's socket and mutable state; read only under the server's lock."""

    def __init__(self, link_id: str, sock: socket.socket, opened_at: datetime) -> None:
        self.id = link_id
        self.sock = sock
        self.opened_at = opened_at
        self.closed_at: datetime | None = None
        self.close_code: int | None = None
        self.closed_by: Literal["client", "server"] | None = None
        self.pings = 0
        self.pongs = 0
        self.close_deadline: float | None = None  # set once the server sent its close frame
        self.greeted = False  # envelopes may follow (the 101 answer and hello go first)
        self.retiring = False  # told to reconnect: no more envelopes, open until the client goes
        self.send_lock = threading.Lock()

    def send(self, data: bytes) -> None:
        with self.send_lock:
            self.sock.sendall(data)

    @property
    def deliverable(self) -> bool:
        return (
            self.greeted
            and not self.retiring
            and self.closed_at is None
            and self.close_deadline is None
        )

    def snapshot(self) -> SocketConnection:
        return SocketConnection(
            self.id,
            self.deliverable,
            self.opened_at,
            self.closed_at,
            self.close_code,
            self.closed_by,
            self.pings,
            self.pongs,
        )


class _Refused(Exception):
    def __init__(self, status: int, reason: str, **headers: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers


_STATUS_TEXT = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    426: "Upgrade Required",
    503: "Service Unavailable",
}


# --------------------------------------------------------------------------- the server


class SocketModeServer:
    """Slack's Socket Mode endpoint, owned by a `SlackStandIn` (see the module docstring).

    It is started by the stand-in when the stand-in has an app-level token.
    """

    def __init__(
        self,
        standin: SlackStandIn,
        *,
        clock: Clock,
        host: str = "127.0.0.1",
        port: int = 0,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self._standin = standin
        self._clock = clock
        self._host = host
        self._port = port
        self.max_connections = max_connections
        self._lock = threading.RLock()  # re-entrant: wait_for's predicate reads the records
        self._changed = threading.Condition(self._lock)
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._tickets: set[str] = set()
        self._links: dict[str, _Link] = {}
        self._numbers = itertools.count(1)
        self._turn = itertools.count()
        self._event_ids = itertools.count(1)
        self._envelopes: list[Envelope] = []
        self._sent: dict[str, float] = {}
        self._acks: list[EnvelopeAck] = []

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> SocketModeServer:
        """Listen and accept connections in a daemon thread (idempotent)."""
        if self._listener is None:
            self._stopping.clear()
            listener = socket.create_server((self._host, self._port))
            self._listener = listener
            self._accepting = threading.Thread(
                target=self._accept_loop, args=(listener,), name="slack-standin-ws", daemon=True
            )
            self._accepting.start()
        return self

    def stop(self) -> None:
        """Close every connection (1001, going away) and stop listening (idempotent)."""
        listener, accepting = self._listener, self._accepting
        if listener is None:
            return
        self._listener = self._accepting = None
        self._stopping.set()  # no new connection is accepted or greeted from now on
        with contextlib.suppress(OSError):  # wakes accept() so that it sees the flag
            socket.create_connection(listener.getsockname()[:2], timeout=1).close()
        if accepting is not None:
            accepting.join(timeout=5)
        listener.close()
        with self._lock:
            links = [link for link in self._links.values() if link.closed_at is None]
            threads, self._threads = self._threads, []
        for link in links:
            self._close(link, CLOSE_GOING_AWAY, "server stopping")
        for thread in threads:
            thread.join(timeout=HANDSHAKE_TIMEOUT + CLOSE_WAIT)

    @property
    def url(self) -> str:
        """Root URL of the WebSocket server, e.g. ws://127.0.0.1:54321 (must be started)."""
        listener = self._listener
        if listener is None:
            raise RuntimeError(
                "Socket Mode is not running: give SlackStandIn an app_token and start it"
            )
        host, port = listener.getsockname()[:2]
        return f"ws://{host!s}:{port}"

    def issue_url(self) -> str:
        """A new one-use connection URL, as `apps.connections.open` returns."""
        base = self.url
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
        return f"{base}/link/?ticket={ticket}&app_id={self._standin.app_id}"

    # ----------------------------------------------------------------- what happened

    @property
    def connections(self) -> list[SocketConnection]:
        """Every connection so far, open or closed, oldest first."""
        with self._lock:
            return [link.snapshot() for link in self._links.values()]

    @property
    def open_connections(self) -> list[SocketConnection]:
        """The connections envelopes may go to now."""
        return [c for c in self.connections if c.open]

    @property
    def envelopes(self) -> list[Envelope]:
        """Every envelope delivered, oldest first."""
        with self._lock:
            return list(self._envelopes)

    @property
    def acks(self) -> list[EnvelopeAck]:
        """Every acknowledgement received, in the order it arrived."""
        with self._lock:
            return list(self._acks)

    def acks_for(self, envelope_id: str) -> list[EnvelopeAck]:
        """The acknowledgements of one envelope (more than one is a bug in the bot)."""
        with self._lock:
            return [a for a in self._acks if a.envelope_id == envelope_id]

    def wait_for(self, predicate: Callable[[SocketModeServer], bool], timeout: float = 5.0) -> None:
        """Block until `predicate(self)` is true, re-checking whenever a connection opens or
        closes, an envelope goes out or an ack comes in; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    described = getattr(predicate, "__qualname__", repr(predicate))
                    raise AssertionError(
                        f"wait_for({described}) timed out after {timeout:g}s; {self._report()}"
                    )
                self._changed.wait(remaining)

    def wait_for_connections(self, count: int = 1, timeout: float = 5.0) -> list[SocketConnection]:
        """Block until at least `count` connections are open; returns the open ones."""
        self.wait_for(lambda server: len(server.open_connections) >= count, timeout)
        return self.open_connections

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The payload of the envelope's first ack ({} if it had none), waiting up to `timeout`.

        Raises AssertionError, describing what was delivered and acknowledged, on timeout.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                ack = next((a for a in self._acks if a.envelope_id == envelope_id), None)
                if ack is not None:
                    return dict(ack.payload or {})
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"no ack for envelope {envelope_id} after {timeout:g}s; {self._report()}"
                    )
                self._changed.wait(remaining)

    # ----------------------------------------------------------------- deliveries

    def send_slash_command(
        self,
        text: str,
        *,
        user_id: str = "U0ALICE",
        channel_id: str = "C0GENERAL",
        command: str = "/deepnote",
        connection_id: str | None = None,
    ) -> str:
        """Deliver a slash command (fields as Slack posts them, fresh response_url and
        trigger_id); returns the envelope id."""
        fields = slash_command_fields(
            self._standin,
            self._standin.team_id,
            text,
            user_id=user_id,
            channel_id=channel_id,
            command=command,
        )
        payload = dict(fields)
        return self.send_envelope(
            "slash_commands", payload, accepts_response_payload=True, connection_id=connection_id
        )

    def send_interactive(
        self, payload: Mapping[str, Any], *, fill: bool = True, connection_id: str | None = None
    ) -> str:
        """Deliver an interaction payload (block_actions, view_submission...); returns the
        envelope id. With `fill`, keys Slack always sends are added as SlackRequester does."""
        body = dict(payload)
        if fill:
            fill_interaction(self._standin, self._standin.team_id, body)
        accepts = body.get("type") in ("view_submission", "block_suggestion")
        return self.send_envelope(
            "interactive", body, accepts_response_payload=accepts, connection_id=connection_id
        )

    def send_event(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        connection_id: str | None = None,
    ) -> str:
        """Deliver an Events API `event_callback` (pass the first delivery's `event_id` with
        `retry_attempt` to replay it as Slack's retry); returns the envelope id."""
        event_id = event_id or f"Ev{next(self._event_ids):08d}SOCK"
        body = event_callback(
            self._standin,
            self._standin.team_id,
            dict(event),
            event_id=event_id,
            event_time=int(self._clock.now().timestamp()),
        )
        return self.send_envelope(
            "events_api",
            body,
            accepts_response_payload=False,
            connection_id=connection_id,
            extra={"retry_attempt": retry_attempt, "retry_reason": retry_reason},
        )

    def send_envelope(
        self,
        kind: EnvelopeType,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool,
        connection_id: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """Deliver `payload` in an envelope of type `kind` to one open connection (the next in
        turn, or `connection_id`); returns the envelope id. RuntimeError if none is open."""
        envelope_id = str(uuid.uuid4())
        message = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
            **(extra or {}),
        }
        frame = encode_frame(OP_TEXT, json.dumps(message).encode())
        while True:
            with self._lock:
                link = self._pick(connection_id)
                self._sent[envelope_id] = time.monotonic()  # before sending: acks are quick
            try:
                link.send(frame)
                break
            except OSError:
                self._gone(link)  # Slack would try another connection; so do we
        with self._changed:
            self._envelopes.append(
                Envelope(
                    envelope_id,
                    kind,
                    payload,
                    link.id,
                    self._clock.now(),
                    accepts_response_payload,
                )
            )
            self._changed.notify_all()
        return envelope_id

    def request_refresh(self, reason: str = "refresh_requested") -> int:
        """Tell every open connection to reconnect (`{"type": "disconnect"}`), as Slack does
        every few hours; returns how many were told. Those connections get no more envelopes
        but stay open (not `open` in `connections`) until the client closes them."""
        with self._changed:
            links = [link for link in self._links.values() if link.deliverable]
            for link in links:
                link.retiring = True
            self._changed.notify_all()
        body = {"type": "disconnect", "reason": reason, "debug_info": {"host": _DEBUG_HOST}}
        for link in links:
            self._send_quietly(link, encode_frame(OP_TEXT, json.dumps(body).encode()))
        return len(links)

    def ping(self, payload: bytes = b"standin-ping") -> int:
        """Ping every open connection (pongs are counted); returns how many were pinged.

        The payload must not be empty: slack_sdk's reader waits for more than 2 bytes.
        """
        if not payload:
            raise ValueError("a ping needs a payload")
        links = self._open_links()
        for link in links:
            self._send_quietly(link, encode_frame(OP_PING, payload))
        return len(links)

    def close_connection(self, connection_id: str, code: int = CLOSE_GOING_AWAY) -> None:
        """Close one connection with a close frame, as Slack does when it drops one."""
        with self._lock:
            link = self._links[connection_id]
        self._close(link, code, "closed by the stand-in")

    # ----------------------------------------------------------------- internals

    def _report(self) -> str:
        """What happened so far, for timeout messages (lock held)."""
        links = [link.snapshot() for link in self._links.values()]
        lines = [
            f"{sum(1 for c in links if c.open)} of {len(links)} connection(s) open",
            f"{len(self._envelopes)} envelope(s) sent, {len(self._acks)} ack(s) received:",
        ]
        acked = {a.envelope_id for a in self._acks}
        for envelope in self._envelopes[-10:]:
            text = envelope.payload.get("text") or envelope.payload.get("type") or ""
            state = "acked" if envelope.envelope_id in acked else "NOT acked"
            where = envelope.connection_id
            lines.append(f"  {envelope.type} {str(text)[:60]!r} via {where}: {state}")
        return "\n".join(lines)

    def _open_links(self) -> list[_Link]:
        with self._lock:
            return [link for link in self._links.values() if link.deliverable]

    def _pick(self, connection_id: str | None) -> _Link:
        """The connection for the next envelope (lock held)."""
        candidates = [link for link in self._links.values() if link.deliverable]
        if connection_id is not None:
            candidates = [link for link in candidates if link.id == connection_id]
        if not candidates:
            wanted = f"connection {connection_id}" if connection_id else "Socket Mode connection"
            raise RuntimeError(
                f"no open {wanted}: is the bot running with SLACK_APP_TOKEN and SLACK_API_URL "
                "pointing at this stand-in? (wait_for_connections() waits for one)"
            )
        return candidates[next(self._turn) % len(candidates)]

    def _send_quietly(self, link: _Link, data: bytes) -> bool:
        try:
            link.send(data)
            return True
        except OSError:
            self._gone(link)
            return False

    def _gone(self, link: _Link) -> None:
        """The socket went away without a close frame."""
        with self._changed:
            if link.closed_at is None:
                link.closed_at = self._clock.now()
            self._changed.notify_all()
        with contextlib.suppress(OSError):  # it may be gone already
            link.sock.shutdown(socket.SHUT_RDWR)

    def _close(self, link: _Link, code: int, reason: str) -> None:
        """Start the closing handshake from the server's side (the reader finishes it)."""
        with self._changed:
            if link.closed_at is not None or link.close_deadline is not None:
                return
            link.close_deadline = time.monotonic() + CLOSE_WAIT
            link.close_code, link.closed_by = code, "server"
            self._changed.notify_all()
        payload = struct.pack("!H", code) + reason.encode()[:123]
        if self._send_quietly(link, encode_frame(OP_CLOSE, payload)):
            with contextlib.suppress(OSError):
                link.sock.shutdown(socket.SHUT_WR)

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            if self._stopping.is_set():
                sock.close()
                return
            thread = threading.Thread(
                target=self._serve_connection, args=(sock,), name="slack-standin-ws-conn"
            )
            thread.daemon = True
            with self._lock:
                self._threads = [t for t in self._threads if t.is_alive()]
                self._threads.append(thread)
            thread.start()

    def _serve_connection(self, sock: socket.socket) -> None:
        link: _Link | None = None
        try:
            sock.settimeout(SEND_TIMEOUT)  # reads wait in select(), so this bounds sends only
            deadline = time.monotonic() + HANDSHAKE_TIMEOUT
            reader = _Reader(sock, lambda: self._stopping.is_set() or time.monotonic() > deadline)
            link = self._handshake(sock, reader)
            if link is None:
                return
            reader.give_up = self._deadline_passed(link)
            if link.close_deadline is None:
                self._read_messages(link, reader)
            else:
                self._drain(reader)  # turned away: let the client read why, then close
        except (OSError, EOFError, ProtocolError) as exc:
            _log.debug("Socket Mode connection ended: %s", exc)
        finally:
            if link is not None:
                with self._changed:
                    if link.closed_at is None:
                        link.closed_at = self._clock.now()
                    self._changed.notify_all()
            sock.close()

    @staticmethod
    def _deadline_passed(link: _Link) -> Callable[[], bool]:
        """True once a connection the server closed took too long to close its side."""

        def passed() -> bool:
            deadline = link.close_deadline
            return deadline is not None and time.monotonic() > deadline

        return passed

    def _handshake(self, sock: socket.socket, reader: _Reader) -> _Link | None:
        """Answer the HTTP Upgrade request: the new link (already closing if there are too
        many), or None if the request was refused."""
        try:
            request = reader.read_until(b"\r\n\r\n", HANDSHAKE_LIMIT).decode("latin-1")
            ticket, key = self._check_upgrade(request)
            with self._changed:
                if self._stopping.is_set():
                    raise _Refused(503, "stopping")
                if ticket not in self._tickets:
                    raise _Refused(401, "invalid_ticket")
                self._tickets.discard(ticket)  # one use, as on Slack
                now = self._clock.now()
                link = _Link(f"ws-{next(self._numbers)}", sock, now)
                others = sum(1 for other in self._links.values() if other.closed_at is None)
                too_many = others >= self.max_connections
                if too_many:
                    link.closed_at, link.close_code, link.closed_by = now, CLOSE_POLICY, "server"
                    link.close_deadline = time.monotonic() + CLOSE_WAIT
                self._links[link.id] = link
                self._changed.notify_all()
        except _Refused as refused:
            body = refused.reason.encode()
            head = [
                f"HTTP/1.1 {refused.status} {_STATUS_TEXT.get(refused.status, 'Error')}",
                "Content-Type: text/plain; charset=utf-8",
                f"Content-Length: {len(body)}",
                "Connection: close",
                *(f"{name}: {value}" for name, value in refused.headers.items()),
            ]
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            return None
        accept = (
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n"
        ).encode()
        if too_many:
            # What Slack does past ten connections; slack_sdk then asks for a new URL.
            refusal = {
                "type": "disconnect",
                "reason": "too_many_websockets",
                "debug_info": {"host": _DEBUG_HOST},
            }
            close = struct.pack("!H", CLOSE_POLICY) + b"too many connections"
            link.send(
                accept
                + encode_frame(OP_TEXT, json.dumps(refusal).encode())
                + encode_frame(OP_CLOSE, close)
            )
            sock.shutdown(socket.SHUT_WR)
            return link
        hello = {
            "type": "hello",
            "num_connections": others + 1,
            "debug_info": {
                "host": _DEBUG_HOST,
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self._standin.app_id},
        }
        with link.send_lock:  # an envelope picked as soon as it is greeted waits for the hello
            with self._changed:
                link.greeted = True
                self._changed.notify_all()
            link.sock.sendall(accept + encode_frame(OP_TEXT, json.dumps(hello).encode()))
        return link

    @staticmethod
    def _check_upgrade(request: str) -> tuple[str, str]:
        """The ticket and Sec-WebSocket-Key of a valid upgrade request, else _Refused."""
        lines = request.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or parts[0] != "GET" or parts[2] != "HTTP/1.1":
            raise _Refused(400, "expected GET ... HTTP/1.1")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        target = urlsplit(parts[1])
        if target.path.rstrip("/") != "/link":
            raise _Refused(404, "not_found")
        if headers.get("upgrade", "").lower() != "websocket" or "upgrade" not in [
            token.strip().lower() for token in headers.get("connection", "").split(",")
        ]:
            raise _Refused(400, "not a WebSocket upgrade")
        if headers.get("sec-websocket-version") != "13":
            raise _Refused(426, "WebSocket version 13 only", **{"Sec-WebSocket-Version": "13"})
        key = headers.get("sec-websocket-key", "")
        try:
            valid_key = len(base64.b64decode(key, validate=True)) == 16
        except (binascii.Error, ValueError):
            valid_key = False
        if not valid_key:
            raise _Refused(400, "bad Sec-WebSocket-Key")
        ticket = parse_qs(target.query).get("ticket", [""])[0]
        return ticket, key

    def _read_messages(self, link: _Link, reader: _Reader) -> None:
        """Serve one connection until it closes: pongs, close handshake, acks."""
        kind: int | None = None
        parts: list[bytes] = []
        size = 0
        while True:
            try:
                frame = read_frame(reader.read_exact)
                if not frame.masked:
                    raise ProtocolError(CLOSE_PROTOCOL_ERROR, "a client's frames must be masked")
                if frame.opcode == OP_CONTINUATION and kind is None:
                    raise ProtocolError(CLOSE_PROTOCOL_ERROR, "continuation of nothing")
                if frame.opcode in (OP_TEXT, OP_BINARY) and kind is not None:
                    raise ProtocolError(CLOSE_PROTOCOL_ERROR, "new message inside a fragmented one")
            except ProtocolError as exc:
                _log.info("Socket Mode client broke the protocol: %s", exc.reason)
                self._close(link, exc.code, exc.reason)
                self._drain(reader)
                return
            if frame.opcode == OP_PING:
                with self._changed:
                    link.pings += 1
                    self._changed.notify_all()
                self._send_quietly(link, encode_frame(OP_PONG, frame.payload))
                continue
            if frame.opcode == OP_PONG:
                with self._changed:
                    link.pongs += 1
                    self._changed.notify_all()
                continue
            if frame.opcode == OP_CLOSE:
                self._closed_by_client(link, frame.payload)
                return
            if link.close_deadline is not None:
                continue  # closing: data is no longer read
            if frame.opcode != OP_CONTINUATION:
                kind = frame.opcode
            parts.append(frame.payload)
            size += len(frame.payload)
            if size > MAX_MESSAGE_BYTES:
                self._close(link, CLOSE_TOO_BIG, "message too big")
                self._drain(reader)
                return
            if not frame.fin:
                continue
            data, opcode = b"".join(parts), kind
            kind, parts, size = None, [], 0
            if opcode == OP_BINARY:
                self._close(link, CLOSE_UNSUPPORTED, "text frames only")
                self._drain(reader)
                return
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                self._close(link, CLOSE_INVALID_DATA, "text must be UTF-8")
                self._drain(reader)
                return
            self._received(link, text)

    def _drain(self, reader: _Reader) -> None:
        """After the server's close frame: wait for the client's close (or EOF, or the
        deadline), ignoring anything else."""
        while True:
            frame = read_frame(reader.read_exact)
            if frame.opcode == OP_CLOSE:
                return

    def _closed_by_client(self, link: _Link, payload: bytes) -> None:
        code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
        with self._changed:
            answering = link.close_deadline is None
            if answering:
                link.close_code, link.closed_by = code, "client"
            link.closed_at = link.closed_at or self._clock.now()
            self._changed.notify_all()
        if answering:
            echo = struct.pack("!H", code if code is not None else CLOSE_NORMAL)
            self._send_quietly(link, encode_frame(OP_CLOSE, echo))

    def _received(self, link: _Link, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            _log.info("Socket Mode client sent text that is not JSON: %.80r", text)
            return
        if not isinstance(message, dict) or not isinstance(message.get("envelope_id"), str):
            _log.info("Socket Mode client sent a message that is not an ack: %.80r", text)
            return
        payload = message.get("payload")
        envelope_id = message["envelope_id"]
        arrived = time.monotonic()
        with self._changed:
            sent = self._sent.get(envelope_id)
            self._acks.append(
                EnvelopeAck(
                    envelope_id,
                    payload if isinstance(payload, dict) else None,
                    link.id,
                    self._clock.now(),
                    None if sent is None else arrived - sent,
                )
            )
            self._changed.notify_all()
