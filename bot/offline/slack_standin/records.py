"""What the Slack stand-in records: calls, messages, ephemerals, files, views, events.

Plain records, the limits Slack enforces, and the events a person would notice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
TEXT_LIMIT = 40_000
SECTION_TEXT_LIMIT = 3_000
SECTION_FIELD_LIMIT = 2_000
HEADER_TEXT_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
PRIVATE_METADATA_LIMIT = 3_000
RESPONSE_URL_USES = 5
RESPONSE_URL_LIFETIME = timedelta(minutes=30)
TRIGGER_LIFETIME = timedelta(seconds=3)

# Pseudo-method names under which the upload URL and response_url POSTs are recorded and faulted.
UPLOAD_URL = "upload_url"
RESPONSE_URL = "response_url"

# Methods that take the app-level token (`xapp-`), not the bot token.
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
JSON_FIELDS = ("blocks", "attachments", "view", "files", "metadata")

EventKind = Literal[
    "message",
    "message_changed",
    "message_deleted",
    "ephemeral",
    "ephemeral_deleted",
    "file",
    "view",
    "response",
]


@dataclass(frozen=True)
class Call:
    """One HTTP request the stand-in answered, as Slack would have seen it."""

    method: str
    args: dict[str, Any]
    token: str | None
    at: datetime
    http_status: int
    ok: bool
    error: str | None = None

    @property
    def channel(self) -> str | None:
        """The channel the call named, if any."""
        value = self.args.get("channel", self.args.get("channel_id"))
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class MessageVersion:
    """A message's content as it was before an edit."""

    text: str
    blocks: list[dict[str, Any]]
    at: datetime


@dataclass(frozen=True)
class Message:
    """A message in a channel, in its current state; `edits` holds the versions it replaced."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    user: str
    posted_at: datetime
    thread_ts: str | None = None
    reply_broadcast: bool = False
    edits: list[MessageVersion] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    bot_id: str | None = None
    via: str = "api"

    @property
    def is_reply(self) -> bool:
        """True when the message sits in a thread under another message."""
        return self.thread_ts is not None and self.thread_ts != self.ts


@dataclass(frozen=True)
class Ephemeral:
    """A message only `user` saw; `replaces` names the ephemeral it replaced, if any."""

    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]]
    message_ts: str
    at: datetime
    thread_ts: str | None = None
    via: str = "api"
    replaces: str | None = None


@dataclass(frozen=True)
class FileShare:
    """An uploaded file; `channel` is None when it was uploaded without being shared."""

    file_id: str
    filename: str
    title: str
    content: bytes
    channel: str | None
    thread_ts: str | None
    initial_comment: str | None
    ts: str
    at: datetime

    @property
    def size(self) -> int:
        """Length of the content in bytes."""
        return len(self.content)


@dataclass(frozen=True)
class View:
    """A modal or Home tab in its current state; `versions` holds the view dicts it replaced."""

    id: str
    kind: Literal["modal", "home"]
    user: str | None
    view: dict[str, Any]
    hash: str
    at: datetime
    root_view_id: str
    previous_view_id: str | None = None
    trigger_id: str | None = None
    versions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def blocks(self) -> list[dict[str, Any]]:
        """The view's blocks."""
        blocks = self.view.get("blocks", [])
        return blocks if isinstance(blocks, list) else []

    @property
    def callback_id(self) -> str | None:
        """The view's callback_id, if set."""
        value = self.view.get("callback_id")
        return value if isinstance(value, str) else None

    @property
    def private_metadata(self) -> str:
        """The view's private_metadata ('' when unset)."""
        value = self.view.get("private_metadata", "")
        return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class ResponseUrlPost:
    """One POST to a response_url and how it was answered."""

    url: str
    payload: dict[str, Any]
    at: datetime
    http_status: int
    error: str | None
    channel: str
    user: str


@dataclass(frozen=True)
class Violation:
    """A request Slack would have rejected (or, for a missing fallback text, should have)."""

    method: str
    errors: list[str]
    at: datetime
    channel: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """Something a person looking at Slack would notice, in the order it happened."""

    kind: EventKind
    channel: str | None
    user: str | None
    ts: str | None
    thread_ts: str | None
    text: str
    via: str
    record: Message | Ephemeral | FileShare | View | ResponseUrlPost


def message_event(kind: EventKind, message: Message, *, via: str | None = None) -> Event:
    """The event a person sees when a message appears, changes or goes."""
    return Event(
        kind,
        message.channel,
        message.user,
        message.ts,
        message.thread_ts,
        message.text,
        via or message.via,
        message,
    )


def ephemeral_event(kind: EventKind, ephemeral: Ephemeral, *, via: str | None = None) -> Event:
    """The event a person sees for an ephemeral message."""
    return Event(
        kind,
        ephemeral.channel,
        ephemeral.user,
        ephemeral.message_ts,
        ephemeral.thread_ts,
        ephemeral.text,
        via or ephemeral.via,
        ephemeral,
    )


def view_event(record: View) -> Event:
    """The event a person sees when a modal or Home tab opens or changes."""
    title = record.view.get("title")
    text = str(title.get("text", "")) if isinstance(title, dict) else record.kind
    return Event("view", None, record.user, None, None, text, "api", record)


def ts_key(ts: str) -> tuple[int, int]:
    """A Slack timestamp as a sortable pair of integers."""
    seconds, _, micros = ts.partition(".")
    return int(seconds), int(micros or 0)


def max_in_window(times: Iterable[datetime], window: timedelta = timedelta(seconds=1)) -> int:
    """Most moments within any half-open `window` (e.g. calls to one channel in one second).

    >>> t = datetime(2026, 1, 1)
    >>> max_in_window([t, t + timedelta(seconds=0.5), t + timedelta(seconds=1)])
    2
    """
    ordered = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


@dataclass
class ApiFault:
    """An injected Web API fault: which calls it hits, how often, what it answers."""

    method: str
    error: str | None
    status: int
    retry_after: float | None
    remaining: int | None
    delay: float
    channel: str | None

    @property
    def answers(self) -> bool:
        """False for a pure delay: the call then goes on to be served normally."""
        return self.error is not None or self.status != 200 or self.retry_after is not None


@dataclass
class ChannelState:
    """A channel's name and standing (private, archived, member, deleted)."""

    name: str
    private: bool = False
    archived: bool = False
    member: bool = True
    deleted: bool = False


@dataclass
class User:
    """A workspace member as users.info shows one."""

    id: str
    real_name: str
    tz: str
    is_bot: bool = False
    email: str | None = None


@dataclass
class Upload:
    """A file announced with files.getUploadURLExternal, and its bytes once sent."""

    file_id: str
    filename: str
    length: int
    content: bytes | None = None


@dataclass
class ResponseUrl:
    """A response_url handed out, with what it may still do."""

    id: str
    channel: str
    user: str
    created: datetime
    original: tuple[Literal["message", "ephemeral"], str] | None
    uses: int = 0


@dataclass
class Trigger:
    """A trigger_id handed out with an interaction."""

    user: str
    issued: datetime
    used: bool = False


@dataclass
class Bucket:
    """A token bucket of one limit: for one channel, or for the whole workspace."""

    tokens: float
    last: datetime


@dataclass(frozen=True)
class Limit:
    """A token bucket: `rate` calls a second on average, up to `burst` at once after a pause.

    `per_channel` counts each channel apart (Slack's posting limit); otherwise one bucket
    serves the whole workspace (the Web API's tiers). Methods with the same `group` share one
    bucket.
    """

    rate: float
    burst: int
    per_channel: bool = False
    group: str | None = None


# Slack's published limits (see the Web API's rate-limit page): about one message a second
# per channel with short bursts, and chat.update in Tier 3 (50+ a minute per workspace, bursts
# allowed). Burst sizes are not published: these are a model, configurable per call.
SLACK_LIMITS: dict[str, Limit] = {
    "chat.postMessage": Limit(1.0, 3, per_channel=True),
    "chat.update": Limit(50 / 60, 10),
    "chat.delete": Limit(50 / 60, 10),
    "chat.postEphemeral": Limit(100 / 60, 20),
    "files.completeUploadExternal": Limit(20 / 60, 5),
}
