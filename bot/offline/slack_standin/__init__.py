"""A local stand-in for Slack: the Web API the bot calls, Slack's signed requests to the bot,
and Socket Mode (a WebSocket server the bot connects to, with `SlackStandIn(app_token=...)`).

Used as the fake Slack of the test suite and the benchmarks, and by `deepnote-bot console` to
show what a channel would show.
"""

from bot.offline.slack_standin.blockkit import validate_blocks, validate_message, validate_view
from bot.offline.slack_standin.records import (
    RESPONSE_URL,
    SLACK_LIMITS,
    UPLOAD_URL,
    Call,
    Ephemeral,
    Event,
    EventKind,
    FileShare,
    Limit,
    Message,
    MessageVersion,
    ResponseUrlPost,
    View,
    Violation,
)
from bot.offline.slack_standin.server import SlackStandIn
from bot.offline.slack_standin.signing import Delivery, SlackRequester, sign_request
from bot.offline.slack_standin.socket_mode import (
    Envelope,
    EnvelopeAck,
    SocketConnection,
    SocketModeServer,
)

__all__ = [
    "RESPONSE_URL",
    "SLACK_LIMITS",
    "UPLOAD_URL",
    "Call",
    "Delivery",
    "Envelope",
    "EnvelopeAck",
    "Ephemeral",
    "Event",
    "EventKind",
    "FileShare",
    "Limit",
    "Message",
    "MessageVersion",
    "ResponseUrlPost",
    "SlackRequester",
    "SlackStandIn",
    "SocketConnection",
    "SocketModeServer",
    "View",
    "Violation",
    "sign_request",
    "validate_blocks",
    "validate_message",
    "validate_view",
]
