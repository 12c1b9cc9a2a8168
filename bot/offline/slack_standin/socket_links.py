"""What the Socket Mode stand-in keeps of each WebSocket connection, envelope and ack.

The records tests read (`SocketConnection`, `Envelope`, `EnvelopeAck`), the close codes of
RFC 6455 they name, and the live state of one connection (`Link`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import State
from websockets.sync.server import ServerConnection

CLOSE_NORMAL = int(CloseCode.NORMAL_CLOSURE)
CLOSE_GOING_AWAY = int(CloseCode.GOING_AWAY)
CLOSE_PROTOCOL_ERROR = int(CloseCode.PROTOCOL_ERROR)
CLOSE_UNSUPPORTED = int(CloseCode.UNSUPPORTED_DATA)
CLOSE_INVALID_DATA = int(CloseCode.INVALID_DATA)
CLOSE_POLICY = int(CloseCode.POLICY_VIOLATION)
CLOSE_TOO_BIG = int(CloseCode.MESSAGE_TOO_BIG)
# Codes that name no close frame: none was sent (1005) or the socket just went away (1006).
_NO_CODE = frozenset({int(CloseCode.NO_STATUS_RCVD), int(CloseCode.ABNORMAL_CLOSURE)})


EnvelopeType = Literal["slash_commands", "interactive", "events_api"]


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


class LinkConnection(ServerConnection):
    """A `websockets` connection that reports each ping, pong and close the client sends."""

    on_control: Callable[[Opcode], None] | None = None

    def process_event(self, event: Any) -> None:
        """Let `websockets` handle the event, then report it if it is a control frame."""
        super().process_event(event)
        report = self.on_control
        control = (Opcode.PING, Opcode.PONG, Opcode.CLOSE)
        if report is not None and isinstance(event, Frame) and event.opcode in control:
            report(event.opcode)


class Link:
    """A connection and what the stand-in knows of it; read only under the server's lock."""

    def __init__(self, link_id: str, connection: LinkConnection, opened_at: datetime) -> None:
        self.id = link_id
        self.connection = connection
        self.opened_at = opened_at
        self.closed_at: datetime | None = None
        self.close_code: int | None = None  # set for a connection turned away, else read live
        self.closed_by: Literal["client", "server"] | None = None
        self.pings = 0
        self.pongs = 0
        self.greeted = False  # envelopes may follow (the 101 answer and hello go first)
        self.retiring = False  # told to reconnect: no more envelopes, open until the client goes
        self.turned_away = False  # one connection too many: told so and closed
        self.send_lock = threading.Lock()  # an envelope never overtakes the hello

    def send(self, text: str) -> None:
        """Send one text message (ConnectionClosed if the connection is gone)."""
        with self.send_lock:
            self.connection.send(text)

    @property
    def deliverable(self) -> bool:
        """Whether envelopes may go to this connection now."""
        return (
            self.greeted
            and not self.retiring
            and self.closed_at is None
            and self.connection.protocol.state is State.OPEN
        )

    def snapshot(self) -> SocketConnection:
        """The record of this connection as it is now."""
        code, by = (self.close_code, self.closed_by) if self.turned_away else self._closing()
        return SocketConnection(
            self.id,
            self.deliverable,
            self.opened_at,
            self.closed_at,
            code,
            by,
            self.pings,
            self.pongs,
        )

    def _closing(self) -> tuple[int | None, Literal["client", "server"] | None]:
        """The close code and who sent the first close frame, as far as the handshake went."""
        protocol = self.connection.protocol
        sent, received = protocol.close_sent, protocol.close_rcvd
        by: Literal["client", "server"]
        if received is not None and (sent is None or protocol.close_rcvd_then_sent):
            code, by = received.code, "client"
        elif sent is not None:
            code, by = sent.code, "server"
        else:
            return None, None  # open, or the socket went away without a close frame
        return (None if code in _NO_CODE else code), by


def ticket_of(path: str) -> str:
    """The ticket in a connection URL's query.

    >>> ticket_of("/link/?ticket=abc&app_id=A0")
    'abc'
    >>> ticket_of("/link/")
    ''
    """
    return parse_qs(urlsplit(path).query).get("ticket", [""])[0]
