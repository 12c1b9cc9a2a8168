"""Slack's side of Socket Mode for the stand-in: a WebSocket server on 127.0.0.1.

The bot's Socket Mode client calls `apps.connections.open` with the app-level token, gets a
one-use `ws://127.0.0.1:PORT/link/?ticket=...` URL and connects. Each connection is greeted with
`hello`, as Slack does; envelopes (`slash_commands`, `interactive`, `events_api`) then go to one
open connection each, in turn, and the bot's acknowledgements (`{"envelope_id": ...,
"payload": {...}}`) are recorded with when they arrived. Up to ten connections are served; an
eleventh is told `too_many_websockets` and closed.

The WebSocket protocol itself (RFC 6455: handshake, frames, pings, the closing handshake) is
the `websockets` package's sync server; this module adds what Slack does on top of it.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode, Opcode
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from bot.clock import Clock
from bot.offline.slack_standin.payloads import (
    StandIn,
    event_callback,
    fill_interaction,
    slash_command_fields,
)
from bot.offline.slack_standin.socket_links import (
    CLOSE_GOING_AWAY,
    CLOSE_NORMAL,
    CLOSE_POLICY,
    CLOSE_PROTOCOL_ERROR,
    CLOSE_UNSUPPORTED,
    Envelope,
    EnvelopeAck,
    EnvelopeType,
    Link,
    LinkConnection,
    SocketConnection,
    ticket_of,
)

_log = logging.getLogger(__name__)

MAX_CONNECTIONS = 10
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
HANDSHAKE_TIMEOUT = 5.0
CLOSE_WAIT = 1.0  # how long a connection being closed may take to answer with its close
_DEBUG_HOST = "applink-standin"

__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_NORMAL",
    "CLOSE_POLICY",
    "CLOSE_PROTOCOL_ERROR",
    "Envelope",
    "EnvelopeAck",
    "SocketConnection",
    "SocketModeServer",
]


# --------------------------------------------------------------------------- the server


class SocketModeServer:
    """Slack's Socket Mode endpoint, owned by a `SlackStandIn` (see the module docstring).

    It is started by the stand-in when the stand-in has an app-level token.
    """

    def __init__(
        self,
        standin: StandIn,
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
        self._server: Server | None = None
        self._serving: threading.Thread | None = None
        self._tickets: set[str] = set()
        self._links: dict[str, Link] = {}
        self._numbers = itertools.count(1)
        self._turn = itertools.count()
        self._event_ids = itertools.count(1)
        self._envelopes: list[Envelope] = []
        self._sent: dict[str, float] = {}
        self._acks: list[EnvelopeAck] = []

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> SocketModeServer:
        """Listen and accept connections in a daemon thread (idempotent)."""
        if self._server is None:
            server = serve(
                self._serve_connection,
                self._host,
                self._port,
                process_request=self._check_request,
                process_response=self._take_ticket,
                compression=None,
                open_timeout=HANDSHAKE_TIMEOUT,
                ping_interval=None,  # Slack's pings are sent on demand, with ping()
                close_timeout=CLOSE_WAIT,
                max_size=MAX_MESSAGE_BYTES,
                create_connection=LinkConnection,
                logger=_log,
            )
            self._server = server
            # Connection threads inherit this thread's daemon flag: none outlives the process.
            self._serving = threading.Thread(
                target=server.serve_forever, name="slack-standin-ws", daemon=True
            )
            self._serving.start()
        return self

    def stop(self) -> None:
        """Close every connection (1001, going away) and stop listening (idempotent)."""
        server, serving = self._server, self._serving
        if server is None:
            return
        server.shutdown(code=CloseCode.GOING_AWAY, reason="server stopping")
        if serving is not None:
            serving.join(timeout=5)

    @property
    def url(self) -> str:
        """Root URL of the WebSocket server, e.g. ws://127.0.0.1:54321 (must be started)."""
        server = self._server
        if server is None:
            raise RuntimeError(
                "Socket Mode is not running: give SlackStandIn an app_token and start it"
            )
        host, port = server.socket.getsockname()[:2]
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
        link = self._deliver(json.dumps(message), envelope_id, connection_id)
        envelope = Envelope(
            envelope_id, kind, payload, link.id, self._clock.now(), accepts_response_payload
        )
        with self._changed:
            self._envelopes.append(envelope)
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
            self._send_quietly(link, json.dumps(body))
        return len(links)

    def ping(self, payload: bytes = b"standin-ping") -> int:
        """Ping every open connection (pongs are counted); returns how many were pinged.

        The payload must not be empty: slack_sdk's reader waits for more than 2 bytes.
        """
        if not payload:
            raise ValueError("a ping needs a payload")
        links = self._open_links()
        for link in links:
            try:
                link.connection.ping(payload)
            except (ConnectionClosed, RuntimeError):  # gone, or this payload is still unanswered
                continue
        return len(links)

    def close_connection(self, connection_id: str, code: int = CLOSE_GOING_AWAY) -> None:
        """Close one connection with a close frame, as Slack does when it drops one."""
        with self._lock:
            link = self._links[connection_id]
        link.connection.close(code, "closed by the stand-in")

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

    def _open_links(self) -> list[Link]:
        with self._lock:
            return [link for link in self._links.values() if link.deliverable]

    def _pick(self, connection_id: str | None) -> Link:
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

    def _deliver(self, text: str, envelope_id: str, connection_id: str | None) -> Link:
        """Send an envelope to the next open connection; the one it went to."""
        while True:
            with self._lock:
                link = self._pick(connection_id)
                self._sent[envelope_id] = time.monotonic()  # before sending: acks are quick
            if self._send_quietly(link, text):
                return link  # else Slack would try another connection; so do we

    def _send_quietly(self, link: Link, text: str) -> bool:
        try:
            link.send(text)
            return True
        except ConnectionClosed:
            self._ended(link)
            return False

    def _ended(self, link: Link) -> None:
        """The connection is gone: record when, how and by whom."""
        with self._changed:
            if link.closed_at is None:
                link.closed_at = self._clock.now()
            self._changed.notify_all()

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse an upgrade to anything but /link with a ticket issued and not yet used."""
        if urlsplit(request.path).path.rstrip("/") != "/link":
            return connection.respond(404, "not_found")
        if request.headers.get("Sec-WebSocket-Version") != "13":
            refused = connection.respond(426, "WebSocket version 13 only")
            refused.headers["Sec-WebSocket-Version"] = "13"
            return refused
        with self._lock:
            issued = ticket_of(request.path) in self._tickets
        return None if issued else connection.respond(401, "invalid_ticket")

    def _take_ticket(
        self, connection: ServerConnection, request: Request, response: Response
    ) -> Response | None:
        """Use up the ticket of an accepted upgrade, as Slack does: one connection each."""
        if response.status_code != 101:
            return None
        with self._lock:
            ticket = ticket_of(request.path)
            if ticket not in self._tickets:  # another connection used it meanwhile
                return connection.respond(401, "invalid_ticket")
            self._tickets.discard(ticket)
        return None

    def _serve_connection(self, connection: ServerConnection) -> None:
        """Serve one connection until it closes: hello (or a refusal), then acks."""
        assert isinstance(connection, LinkConnection)
        link, others = self._admit(connection)
        try:
            if link.turned_away:
                self._turn_away(link)
                return
            self._greet(link, others)
            for message in connection:
                if isinstance(message, bytes):
                    connection.close(CLOSE_UNSUPPORTED, "text frames only")
                    continue
                self._received(link, message)
        except ConnectionClosed as closed:
            _log.debug("Socket Mode connection ended: %s", closed)
        finally:
            self._ended(link)

    def _admit(self, connection: LinkConnection) -> tuple[Link, int]:
        """Record a new connection; how many others are open (past the limit, it is refused)."""
        with self._changed:
            now = self._clock.now()
            link = Link(f"ws-{next(self._numbers)}", connection, now)
            others = sum(1 for other in self._links.values() if other.closed_at is None)
            if others >= self.max_connections:
                link.turned_away = True
                link.closed_at, link.close_code, link.closed_by = now, CLOSE_POLICY, "server"
            connection.on_control = lambda opcode: self._counted(link, opcode)
            self._links[link.id] = link
            self._changed.notify_all()
        return link, others

    def _counted(self, link: Link, opcode: Opcode) -> None:
        with self._changed:
            if opcode is Opcode.PING:
                link.pings += 1
            elif opcode is Opcode.PONG:
                link.pongs += 1  # a close frame changes nothing here but wakes wait_for()
            self._changed.notify_all()

    def _turn_away(self, link: Link) -> None:
        """What Slack does past ten connections; slack_sdk then asks for a new URL."""
        refusal = {
            "type": "disconnect",
            "reason": "too_many_websockets",
            "debug_info": {"host": _DEBUG_HOST},
        }
        link.connection.send(json.dumps(refusal))
        link.connection.close(CLOSE_POLICY, "too many connections")

    def _greet(self, link: Link, others: int) -> None:
        """Say hello; envelopes may go to the connection from then on."""
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
            link.connection.send(json.dumps(hello))

    def _received(self, link: Link, text: str) -> None:
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
