"""A local stand-in for Slack's Web API, served over real HTTP on 127.0.0.1.

`slack_sdk.WebClient(token=..., base_url=standin.api_url)` works against it unchanged. It keeps
what a workspace would show (messages after edits, threads, ephemerals, files, views), records
every call, checks Block Kit the way Slack does (and a little stricter), and can be told to fail:

>>> with SlackStandIn() as slack:
...     slack.inject("chat.postMessage", error="channel_not_found")
...     slack.api_url.startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

import http.server
import inspect
import itertools
import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, BlockElement

from bot.clock import Clock, SystemClock
from bot.offline.slack_standin.socket_mode import SocketModeServer

_log = logging.getLogger(__name__)

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

_RATE_LIMITED_METHODS = frozenset({"chat.postMessage", "chat.update"})
# Methods that take the app-level token (`xapp-`), not the bot token.
_APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
_RATE_BURST = 1
_JSON_FIELDS = ("blocks", "attachments", "view", "files", "metadata")

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


# --------------------------------------------------------------------------- records


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


# --------------------------------------------------------------------------- Block Kit checks


def validate_blocks(
    blocks: object, *, limit: int = MESSAGE_BLOCK_LIMIT, pointer: str = "/blocks"
) -> list[str]:
    """Problems Slack would report for a list of blocks, each with its JSON pointer; [] if none.

    >>> validate_blocks([{"type": "divider"}])
    []
    >>> validate_blocks([{"type": "nope"}])
    ['unknown block type "nope" [json-pointer:/blocks/0]']
    """
    if not isinstance(blocks, list):
        return [f"must be an array of blocks [json-pointer:{pointer}]"]
    errors: list[str] = []
    if len(blocks) > limit:
        errors.append(f"no more than {limit} items allowed [json-pointer:{pointer}]")
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        at = f"{pointer}/{index}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errors.append(f"a block must be an object with a string type [json-pointer:{at}]")
            continue
        errors.extend(_check_block(block, at))
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in block_ids:
                errors.append(f"duplicate block_id {block_id!r} [json-pointer:{at}/block_id]")
            block_ids.add(block_id)
    return errors


def validate_message(text: object, blocks: object) -> list[str]:
    """Problems with a message's `text` and `blocks` together (blocks may be None).

    >>> validate_message("", [{"type": "divider"}])
    ['a message with blocks needs a non-empty text fallback [json-pointer:/text]']
    """
    errors: list[str] = []
    if isinstance(text, str) and len(text) > TEXT_LIMIT:
        errors.append(
            f"text is {len(text)} characters, more than {TEXT_LIMIT} [json-pointer:/text]"
        )
    if blocks is not None:
        errors.extend(validate_blocks(blocks))
        if blocks and not (isinstance(text, str) and text.strip()):
            errors.append(
                "a message with blocks needs a non-empty text fallback [json-pointer:/text]"
            )
    return errors


def validate_view(view: object, *, kind: Literal["modal", "home"]) -> list[str]:
    """Problems Slack would report for a modal or Home tab view.

    >>> validate_view({"type": "home", "blocks": []}, kind="home")
    []
    """
    if not isinstance(view, dict):
        return ["view must be an object [json-pointer:/view]"]
    errors: list[str] = []
    if view.get("type") != kind:
        errors.append(f"view type must be {kind!r} [json-pointer:/view/type]")
    blocks = view.get("blocks", [])
    errors.extend(validate_blocks(blocks, limit=VIEW_BLOCK_LIMIT, pointer="/view/blocks"))
    metadata = view.get("private_metadata", "")
    if not isinstance(metadata, str) or len(metadata) > PRIVATE_METADATA_LIMIT:
        errors.append(
            f"private_metadata must be a string of at most {PRIVATE_METADATA_LIMIT} characters "
            "[json-pointer:/view/private_metadata]"
        )
    for key in ("callback_id", "external_id"):
        value = view.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            errors.append(f"must be a string of at most 255 characters [json-pointer:/view/{key}]")
    if kind == "modal":
        errors.extend(_check_text(view.get("title"), "/view/title", limit=24, plain_only=True))
        for key in ("submit", "close"):
            if key in view:
                errors.extend(_check_text(view[key], f"/view/{key}", limit=24, plain_only=True))
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and "submit" not in view:
            errors.append("a modal with input blocks needs a submit button [json-pointer:/view]")
    return errors


def _check_block(block: dict[str, Any], at: str) -> list[str]:
    try:
        parsed = Block.parse(block)
    except (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError) as exc:
        return [f"cannot be read as a {block['type']} block: {exc} [json-pointer:{at}]"]
    if parsed is None:
        return [f'unknown block type "{block["type"]}" [json-pointer:{at}]']
    errors: list[str] = []
    try:
        parsed.validate_json()
    except SlackObjectFormationError as exc:
        errors.append(f"{exc} [json-pointer:{at}]")
    errors.extend(_check_block_content(block, at))
    for path, node in _walk(block, at):
        if node.get("type") == "button":
            errors.extend(
                _check_text(
                    node.get("text"), f"{path}/text", limit=BUTTON_TEXT_LIMIT, plain_only=True
                )
            )
            value = node.get("value")
            if isinstance(value, str) and len(value) > 2000:
                errors.append(f"must be at most 2000 characters [json-pointer:{path}/value]")
    return errors


def _check_block_content(block: dict[str, Any], at: str) -> list[str]:
    """Checks slack_sdk does not make: text objects, element types, Slack's own limits."""
    errors: list[str] = []
    kind = block["type"]
    if kind == "section":
        if "text" in block:
            errors.extend(_check_text(block["text"], f"{at}/text", limit=SECTION_TEXT_LIMIT))
        fields = block.get("fields")
        if isinstance(fields, list):
            if len(fields) > 10:
                errors.append(f"no more than 10 items allowed [json-pointer:{at}/fields]")
            for index, item in enumerate(fields):
                errors.extend(_check_text(item, f"{at}/fields/{index}", limit=SECTION_FIELD_LIMIT))
        if "accessory" in block:
            errors.extend(_check_element(block["accessory"], f"{at}/accessory"))
    elif kind == "header":
        errors.extend(
            _check_text(block.get("text"), f"{at}/text", limit=HEADER_TEXT_LIMIT, plain_only=True)
        )
    elif kind in ("actions", "context"):
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            errors.append(f"must be a non-empty array [json-pointer:{at}/elements]")
        else:
            action_ids: set[str] = set()
            for index, element in enumerate(elements):
                errors.extend(_check_element(element, f"{at}/elements/{index}"))
                action_id = element.get("action_id") if isinstance(element, dict) else None
                if isinstance(action_id, str):
                    if action_id in action_ids:
                        errors.append(
                            f"duplicate action_id {action_id!r} "
                            f"[json-pointer:{at}/elements/{index}/action_id]"
                        )
                    action_ids.add(action_id)
    elif kind == "input":
        errors.extend(_check_text(block.get("label"), f"{at}/label", limit=2000, plain_only=True))
        errors.extend(_check_element(block.get("element"), f"{at}/element"))
    elif kind == "rich_text":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            errors.append(f"must be a non-empty array [json-pointer:{at}/elements]")
    return errors


def _check_element(element: object, at: str) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [f"an element must be an object with a string type [json-pointer:{at}]"]
    if element["type"] in ("plain_text", "mrkdwn"):
        return _check_text(element, at, limit=SECTION_TEXT_LIMIT)
    try:
        parsed = BlockElement.parse(element)
    except (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError) as exc:
        return [f"cannot be read as a {element['type']} element: {exc} [json-pointer:{at}]"]
    if parsed is None:
        return [f'unknown element type "{element["type"]}" [json-pointer:{at}]']
    return []


def _check_text(obj: object, at: str, *, limit: int, plain_only: bool = False) -> list[str]:
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if not isinstance(obj, dict) or obj.get("type") not in allowed:
        wanted = " or ".join(allowed)
        return [f"must be a text object of type {wanted} [json-pointer:{at}]"]
    text = obj.get("text")
    if not isinstance(text, str):
        return [f"must be a string [json-pointer:{at}/text]"]
    if not text:
        return [f"must be more than 0 characters [json-pointer:{at}/text]"]
    if len(text) > limit:
        return [
            f"must be less than {limit + 1} characters (is {len(text)}) [json-pointer:{at}/text]"
        ]
    return []


def _walk(node: object, at: str) -> list[tuple[str, dict[str, Any]]]:
    """Every dict inside `node` with its JSON pointer, `node` first."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        found.append((at, node))
        for key, value in node.items():
            found.extend(_walk(value, f"{at}/{key}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_walk(value, f"{at}/{index}"))
    return found


# --------------------------------------------------------------------------- request parsing


class _ApiError(Exception):
    """Ends a Web API method with ok:false."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def _parse_args(query: str, content_type: str, body: bytes) -> dict[str, Any]:
    """Arguments from the query string and a form, multipart or JSON body (the body wins)."""
    args: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    media = content_type.split(";")[0].strip().lower()
    if not body:
        pass
    elif media == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError as exc:
            raise _ApiError("invalid_json") from exc
        if not isinstance(decoded, dict):
            raise _ApiError("invalid_json")
        args.update(decoded)
    elif media == "multipart/form-data":
        for name, _filename, content in _parse_multipart(content_type, body):
            args[name] = content.decode("utf-8", errors="replace")
    else:
        form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        args.update({k: v[-1] for k, v in form.items()})
    for name in _JSON_FIELDS:
        value = args.get(name)
        if isinstance(value, str):
            try:
                args[name] = json.loads(value) if value.strip() else None
            except ValueError as exc:
                raise _ApiError(
                    f"invalid_{name}_format" if name == "blocks" else "invalid_arguments"
                ) from exc
    return args


def _parse_multipart(content_type: str, body: bytes) -> list[tuple[str, str | None, bytes]]:
    """The parts of a multipart/form-data body as (field name, filename, bytes)."""
    boundary = ""
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary:
        return []
    parts: list[tuple[str, str | None, bytes]] = []
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, content = chunk.partition(b"\r\n\r\n")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        name, filename = "", None
        for line in head.decode("utf-8", errors="replace").split("\r\n"):
            if line.lower().startswith("content-disposition:"):
                for param in line.split(";")[1:]:
                    key, _, value = param.strip().partition("=")
                    if key == "name":
                        name = value.strip('"')
                    elif key == "filename":
                        filename = value.strip('"')
        parts.append((name, filename, content))
    return parts


def _text_arg(args: Mapping[str, Any], name: str) -> str | None:
    value = args.get(name)
    if value is None or value == "":
        return None
    return str(value)


def _flag(value: object) -> bool:
    return value is True or str(value).lower() in ("true", "1", "yes")


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


def _blocks_of(value: object) -> list[dict[str, Any]]:
    return [b for b in value if isinstance(b, dict)] if isinstance(value, list) else []


# --------------------------------------------------------------------------- internal state


@dataclass
class _Fault:
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
class _ChannelState:
    name: str
    private: bool = False
    archived: bool = False
    member: bool = True
    deleted: bool = False


@dataclass
class _User:
    id: str
    real_name: str
    tz: str
    is_bot: bool = False
    email: str | None = None


@dataclass
class _Upload:
    file_id: str
    filename: str
    length: int
    content: bytes | None = None


@dataclass
class _ResponseUrl:
    id: str
    channel: str
    user: str
    created: datetime
    original: tuple[Literal["message", "ephemeral"], str] | None
    uses: int = 0


@dataclass
class _Trigger:
    user: str
    issued: datetime
    used: bool = False


@dataclass
class _Bucket:
    tokens: float
    last: datetime


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


def _json_reply(status: int, payload: Mapping[str, Any], **headers: str) -> _Reply:
    return _Reply(status, json.dumps(payload).encode(), headers=tuple(headers.items()))


# --------------------------------------------------------------------------- the stand-in


class SlackStandIn:
    """A fake Slack workspace and Web API on a local port; see the module docstring.

    With an app-level `app_token` it also serves Socket Mode (`self.socket_mode`).
    """

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test",  # noqa: S107 - a fake token for a fake Slack
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        team_id: str = "T0TEST",
        team_domain: str = "test-workspace",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        app_id: str = "A0TEST",
        app_token: str | None = None,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self._host = host
        self._port = port
        self._clock: Clock = clock or SystemClock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        # Socket Mode: served only when the stand-in has an app-level token.
        self.socket_mode = SocketModeServer(self, clock=self._clock, host=host)

        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._dispatch_lock = threading.Lock()
        self._pending_events: deque[Event] = deque()
        self._subscribers: list[Callable[[Event], None]] = []
        self._ids = itertools.count(1)
        self._last_ts_us = 0

        self._calls: list[Call] = []
        self._violations: list[Violation] = []
        self._messages: dict[str, list[Message]] = {}
        self._ephemerals: list[Ephemeral] = []
        self._files: list[FileShare] = []
        self._uploads: dict[str, _Upload] = {}
        self._views: dict[str, View] = {}
        self._homes: dict[str, str] = {}
        self._modal_stacks: dict[str | None, list[str]] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._response_posts: list[ResponseUrlPost] = []
        self._triggers: dict[str, _Trigger] = {}
        self._faults: list[_Fault] = []
        self._channels: dict[str, _ChannelState] = {}
        self._users: dict[str, _User] = {}
        self._revoked = False
        self._rate: float | None = None
        self._buckets: dict[str, _Bucket] = {}
        self._write_times: dict[str, list[datetime]] = {}

        self.set_user("U0ALICE", tz="Europe/Prague", name="Alice Example")
        self.set_user("U0BOB", tz="America/New_York", name="Bob Example")
        self._users[bot_user_id] = _User(bot_user_id, "Deepnote", "UTC", is_bot=True)
        self._methods: dict[str, Callable[[dict[str, Any], datetime, list[Event]], dict[str, Any]]]
        self._methods = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "users.info": self._users_info,
            "conversations.info": self._conversations_info,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> SlackStandIn:
        """Start serving in a daemon thread (idempotent)."""
        if self._server is None:
            server = _Server((self._host, self._port), _Handler)
            server.standin = self
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.02},  # how long stop() waits at most
                name="slack-standin",
                daemon=True,
            )
            self._thread.start()
        if self.app_token is not None:
            self.socket_mode.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        self.socket_mode.stop()
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Root URL, e.g. http://127.0.0.1:54321 (the stand-in must be started)."""
        if self._server is None:
            raise RuntimeError("SlackStandIn is not started; call start() or use it as a context")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        """What `WebClient(base_url=...)` takes: the root URL plus /api/."""
        return f"{self.url}/api/"

    # ----------------------------------------------------------------- workspace set-up

    def set_user(
        self, user_id: str, *, tz: str = "UTC", name: str | None = None, email: str | None = None
    ) -> None:
        """Add or change a user; `tz` is an IANA zone name such as "Europe/Prague"."""
        try:
            ZoneInfo(tz)  # fail here, not later in users.info
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {tz!r}") from exc
        with self._lock:
            self._users[user_id] = _User(user_id, name or user_id, tz, email=email)

    def add_channel(self, channel: str, *, name: str | None = None, private: bool = False) -> None:
        """Name a channel (any channel id works without this; its name is then derived)."""
        with self._lock:
            state = self._channel(channel)
            state.name = name or state.name
            state.private = private

    def archive(self, channel: str) -> None:
        """Archive a channel: writes to it answer `is_archived`."""
        with self._lock:
            self._channel(channel).archived = True

    def kick(self, channel: str) -> None:
        """Remove the bot from a channel: writes to it answer `not_in_channel`."""
        with self._lock:
            self._channel(channel).member = False

    def delete_channel(self, channel: str) -> None:
        """Delete a channel: every call naming it answers `channel_not_found`."""
        with self._lock:
            self._channel(channel).deleted = True

    def restore_channel(self, channel: str) -> None:
        """Undo archive(), kick() and delete_channel() for a channel."""
        with self._lock:
            state = self._channel(channel)
            state.archived = state.deleted = False
            state.member = True

    def revoke(self, revoked: bool = True) -> None:
        """Revoke the bot token: every Web API call answers `token_revoked` (False undoes it)."""
        with self._lock:
            self._revoked = revoked

    def inject(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int = 200,
        retry_after: float | None = None,
        times: int | None = 1,
        delay: float = 0.0,
        channel: str | None = None,
    ) -> None:
        """Make the next `times` calls of `method` fail (None: until clear_faults()).

        `method` is a Web API method, "*" for any, or UPLOAD_URL / RESPONSE_URL. status=429 answers
        `ratelimited` with a Retry-After header (whole seconds, rounded up); status 5xx answers that
        status; `error` alone answers ok:false with it; `delay` (seconds, real time) waits first
        and, with nothing else set, then serves the call normally. `channel` limits the fault to
        calls naming that channel.
        """
        if times is not None and times < 1:
            raise ValueError("times must be at least 1, or None for 'until cleared'")
        if status == 429 and error is None:
            error = "ratelimited"
        elif status >= 500 and error is None:
            error = "internal_error" if status == 500 else "service_unavailable"
        with self._lock:
            self._faults.append(
                _Fault(method, error, status, retry_after, times, delay, self._resolve(channel))
            )

    def clear_faults(self) -> None:
        """Forget every injected fault that has not fired yet."""
        with self._lock:
            self._faults.clear()

    def enforce_channel_rate(self, per_second: float | None) -> None:
        """Answer 429 to chat.postMessage/chat.update beyond `per_second` per channel.

        A burst of one extra call is allowed. None turns enforcement off. Time is the clock's.
        """
        if per_second is not None and per_second <= 0:
            raise ValueError("per_second must be positive")
        with self._lock:
            self._rate = per_second
            self._buckets.clear()

    def new_response_url(
        self, *, channel: str = "C0GENERAL", user: str = "U0ALICE", message_ts: str | None = None
    ) -> str:
        """A response_url for an interaction by `user` in `channel` (on message `message_ts`)."""
        with self._lock:
            url_id = f"R{next(self._ids):08d}"
            original: tuple[Literal["message", "ephemeral"], str] | None = None
            if message_ts is not None:
                is_ephemeral = any(e.message_ts == message_ts for e in self._ephemerals)
                original = ("ephemeral" if is_ephemeral else "message", message_ts)
            self._response_urls[url_id] = _ResponseUrl(
                url_id, self._resolve(channel) or channel, user, self._clock.now(), original
            )
        return f"{self.url}/response/{url_id}"

    def new_trigger_id(self, user: str = "U0ALICE") -> str:
        """A trigger_id as Slack sends with an interaction: one views.open/push, within 3 s."""
        with self._lock:
            number = next(self._ids)
            trigger_id = f"{number}.{1000 + number}.{number * 7919:x}trigger"
            self._triggers[trigger_id] = _Trigger(user, self._clock.now())
            return trigger_id

    def new_ts(self) -> str:
        """A fresh message timestamp, later than every one handed out so far."""
        with self._lock:
            return self._next_ts(self._clock.now())

    def user_message(
        self, channel: str, text: str, *, user: str = "U0ALICE", thread_ts: str | None = None
    ) -> Message:
        """Record a message a person wrote (e.g. the one an app_mention event is about)."""
        with self._lock:
            now = self._clock.now()
            resolved = self._resolve(channel) or channel
            message = Message(
                channel=resolved,
                ts=self._next_ts(now),
                text=text,
                blocks=[],
                user=user,
                posted_at=now,
                thread_ts=thread_ts,
                via="user",
            )
            self._messages.setdefault(resolved, []).append(message)
            self._queue(_message_event("message", message))
            self._changed.notify_all()
        self._deliver_events()
        return message

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call `callback` with every Event from now on; returns a function that unsubscribes."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    # ----------------------------------------------------------------- what happened

    def calls(self, method: str | None = None) -> list[Call]:
        """Every call answered so far (of `method` only, if given), oldest first."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def messages(self, channel: str) -> list[Message]:
        """What the channel shows: top-level messages and broadcast replies, after edits."""
        with self._lock:
            resolved = self._resolve(channel) or channel
            return [
                m for m in self._messages.get(resolved, []) if not m.is_reply or m.reply_broadcast
            ]

    def all_messages(self, channel: str | None = None) -> list[Message]:
        """Every message (thread replies too), in one channel or in all, oldest first."""
        with self._lock:
            if channel is not None:
                return list(self._messages.get(self._resolve(channel) or channel, []))
            every = [m for ms in self._messages.values() for m in ms]
            return sorted(every, key=lambda m: _ts_key(m.ts))

    def thread(self, channel: str, ts: str) -> list[Message]:
        """The replies under message `ts` (not the parent itself), oldest first."""
        with self._lock:
            resolved = self._resolve(channel) or channel
            return [m for m in self._messages.get(resolved, []) if m.is_reply and m.thread_ts == ts]

    def message(self, channel: str, ts: str) -> Message | None:
        """One message by its ts, in its current state."""
        with self._lock:
            return self._find_message(self._resolve(channel) or channel, ts)

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[Ephemeral]:
        """Ephemeral messages shown so far, filtered by channel and/or user."""
        with self._lock:
            resolved = self._resolve(channel)
            return [
                e
                for e in self._ephemerals
                if (resolved is None or e.channel == resolved) and (user is None or e.user == user)
            ]

    def files(self, channel: str | None = None) -> list[FileShare]:
        """Files completed so far (shared in `channel` only, if given)."""
        with self._lock:
            resolved = self._resolve(channel)
            return [f for f in self._files if resolved is None or f.channel == resolved]

    @property
    def views(self) -> list[View]:
        """Every modal opened or pushed, in its current state, in the order they were opened."""
        with self._lock:
            return [v for v in self._views.values() if v.kind == "modal"]

    def view(self, view_id: str) -> View | None:
        """A modal or Home tab by id."""
        with self._lock:
            return self._views.get(view_id)

    def home(self, user: str) -> View | None:
        """The Home tab last published for `user`."""
        with self._lock:
            view_id = self._homes.get(user)
            return self._views[view_id] if view_id else None

    @property
    def response_url_posts(self) -> list[ResponseUrlPost]:
        """Every POST to a response_url, accepted or not."""
        with self._lock:
            return list(self._response_posts)

    @property
    def violations(self) -> list[Violation]:
        """Every request rejected for its content (Block Kit, text length, view rules)."""
        with self._lock:
            return list(self._violations)

    def user_info(self, user_id: str) -> dict[str, Any] | None:
        """The user object users.info would return, or None for an unknown user."""
        with self._lock:
            user = self._users.get(user_id)
            return self._user_json(user) if user else None

    def channel_info(self, channel: str) -> dict[str, Any] | None:
        """The channel object conversations.info would return, or None if deleted."""
        with self._lock:
            resolved = self._resolve(channel) or channel
            state = self._channel(resolved)
            return None if state.deleted else self._channel_json(resolved, state)

    def max_calls_per_channel_per_second(self, channel: str | None = None) -> int:
        """Most chat.postMessage/chat.update calls to one channel within any 1 s (clock time).

        Counts every authenticated attempt, including ones answered 429.
        """
        with self._lock:
            if channel is not None:
                series = [self._write_times.get(self._resolve(channel) or channel, [])]
            else:
                series = list(self._write_times.values())
        return max((_max_in_window(times, timedelta(seconds=1)) for times in series), default=0)

    def wait_for(self, predicate: Callable[[SlackStandIn], bool], timeout: float = 5.0) -> None:
        """Block until `predicate(self)` is true, re-checking on every recorded call.

        Raises AssertionError describing the predicate and what was recorded after `timeout`
        seconds (real time: this waits for the bot's background work).
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(self._timeout_report(predicate, timeout))
                self._changed.wait(remaining)

    # ----------------------------------------------------------------- HTTP entry points

    def _serve(self, verb: str, target: str, headers: Mapping[str, str], body: bytes) -> _Reply:
        try:
            return self._route(verb, target, headers, body)
        except Exception:
            # A bug here must show up as a failed call in the test, not as a hung connection.
            _log.exception("the Slack stand-in failed on %s %s", verb, target)
            return _json_reply(500, {"ok": False, "error": "standin_internal_error"})

    def _route(self, verb: str, target: str, headers: Mapping[str, str], body: bytes) -> _Reply:
        parts = urlsplit(target)
        path = parts.path
        if path.startswith("/api/") and len(path) > len("/api/"):
            return self._serve_api(path[len("/api/") :], parts.query, headers, body)
        if path.startswith("/upload/") and verb == "POST":
            return self._serve_upload(path[len("/upload/") :], headers, body)
        if path.startswith("/response/") and verb == "POST":
            return self._serve_response_url(path[len("/response/") :], body)
        return _json_reply(404, {"ok": False, "error": "not_found"})

    def _serve_api(
        self, method: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> _Reply:
        parse_error: str | None = None
        try:
            args = _parse_args(query, headers.get("content-type", ""), body)
        except _ApiError as exc:
            args, parse_error = {}, exc.error
        token = _bearer(headers.get("authorization"))
        field_token = args.pop("token", None)
        token = token or (str(field_token) if field_token else None)
        fault = self._take_fault(method, args)
        if fault is not None and fault.delay > 0:
            time.sleep(fault.delay)
        events: list[Event] = []
        with self._lock:
            now = self._clock.now()
            if fault is not None and fault.answers:
                reply = self._fault_reply(fault)
            elif parse_error is not None:
                reply = _json_reply(200, {"ok": False, "error": parse_error})
            else:
                reply = self._answer(method, args, token, now, events)
            self._record_call(method, args, token, now, reply)
            for event in events:
                self._queue(event)
        self._deliver_events()
        return reply

    def _answer(
        self,
        method: str,
        args: dict[str, Any],
        token: str | None,
        now: datetime,
        events: list[Event],
    ) -> _Reply:
        app_level = method in _APP_TOKEN_METHODS
        if self._revoked and not app_level:
            return _json_reply(200, {"ok": False, "error": "token_revoked"})
        expected = self.app_token if app_level else self.bot_token
        if expected is None or token != expected:
            return _json_reply(200, {"ok": False, "error": "invalid_auth"})
        handler = self._methods.get(method)
        if handler is None:
            return _json_reply(200, {"ok": False, "error": "unknown_method"})
        if method in _RATE_LIMITED_METHODS:
            channel = self._resolve(_text_arg(args, "channel"))
            if channel is not None:
                self._write_times.setdefault(channel, []).append(now)
                wait = self._take_rate_token(channel, now)
                if wait is not None:
                    return _json_reply(
                        429, {"ok": False, "error": "ratelimited"}, **{"Retry-After": str(wait)}
                    )
        try:
            payload = handler(args, now, events)
        except _ApiError as exc:
            return _json_reply(200, {"ok": False, "error": exc.error, **exc.extra})
        return _json_reply(200, {"ok": True, **payload})

    def _serve_upload(self, file_id: str, headers: Mapping[str, str], body: bytes) -> _Reply:
        content = body
        content_type = headers.get("content-type", "")
        if content_type.lower().startswith("multipart/form-data"):
            parts = _parse_multipart(content_type, body)
            chosen = [p for p in parts if p[1] is not None or p[0] == "file"] or parts
            content = chosen[0][2] if chosen else b""
        args: dict[str, Any] = {"file_id": file_id, "length": len(content)}
        fault = self._take_fault(UPLOAD_URL, args)
        if fault is not None and fault.delay > 0:
            time.sleep(fault.delay)
        with self._lock:
            now = self._clock.now()
            upload = self._uploads.get(file_id)
            if fault is not None and fault.answers:
                reply = self._fault_reply(fault)
            elif upload is None:
                reply = _Reply(404, b"file_not_found", "text/plain; charset=utf-8")
            else:
                upload.content = content
                reply = _Reply(200, f"OK - {len(content)}".encode(), "text/plain; charset=utf-8")
            self._record_call(UPLOAD_URL, args, None, now, reply)
        return reply

    def _serve_response_url(self, url_id: str, body: bytes) -> _Reply:
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        args: dict[str, Any] = payload if isinstance(payload, dict) else {}
        fault = self._take_fault(RESPONSE_URL, args)
        if fault is not None and fault.delay > 0:
            time.sleep(fault.delay)
        events: list[Event] = []
        with self._lock:
            now = self._clock.now()
            record = self._response_urls.get(url_id)
            if fault is not None and fault.answers:
                reply = self._fault_reply(fault)
            elif record is None:
                reply = _json_reply(404, {"ok": False, "error": "invalid_url"})
            elif now - record.created > RESPONSE_URL_LIFETIME:
                reply = _json_reply(404, {"ok": False, "error": "expired_url"})
            elif record.uses >= RESPONSE_URL_USES:
                reply = _json_reply(404, {"ok": False, "error": "used_url"})
            elif not isinstance(payload, dict):
                reply = _json_reply(400, {"ok": False, "error": "invalid_payload"})
            else:
                reply = self._respond(record, payload, now, events)
            self._record_call(RESPONSE_URL, args, None, now, reply)
            if record is not None:
                answer = json.loads(reply.body)
                post = ResponseUrlPost(
                    url=f"{self.url}/response/{url_id}",
                    payload=args,
                    at=now,
                    http_status=reply.status,
                    error=None if answer.get("ok") else str(answer.get("error")),
                    channel=record.channel,
                    user=record.user,
                )
                self._response_posts.append(post)
                self._queue(
                    Event(
                        "response",
                        post.channel,
                        post.user,
                        None,
                        None,
                        str(args.get("text", "")),
                        RESPONSE_URL,
                        post,
                    )
                )
            for event in events:
                self._queue(event)
        self._deliver_events()
        return reply

    # ----------------------------------------------------------------- Web API methods

    def _auth_test(
        self, args: dict[str, Any], now: datetime, events: list[Event]
    ) -> dict[str, Any]:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": "Test Workspace",
            "user": "deepnote",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(
        self, args: dict[str, Any], now: datetime, events: list[Event]
    ) -> dict[str, Any]:
        """A one-use Socket Mode URL on the stand-in's WebSocket server."""
        return {"url": self.socket_mode.issue_url()}

    def _chat_post_message(
        self, args: dict[str, Any], now: datetime, events: list[Event]
    ) -> dict[str, Any]:
        channel = self._writable_channel(args.get("channel"))
        text, blocks = self._message_content(
            "chat.postMessage", args, channel, now, require_text=True
        )
        thread_ts = self._thread_root(channel, _text_arg(args, "thread_ts"))
        message = Message(
            channel=channel,
            ts=self._next_ts(now),
            text=text,
            blocks=blocks,
            user=self.bot_user_id,
            posted_at=now,
            thread_ts=thread_ts,
            reply_broadcast=thread_ts is not None and _flag(args.get("reply_broadcast")),
            attachments=_blocks_of(args.get("attachments")),
            metadata=args.get("metadata") if isinstance(args.get("metadata"), dict) else None,
            bot_id=self.bot_id,
        )
        self._messages.setdefault(channel, []).append(message)
        events.append(_message_event("message", message))
        return {"channel": channel, "ts": message.ts, "message": self._message_json(message)}

    def _chat_update(
        self, args: dict[str, Any], now: datetime, events: list[Event]
    ) -> dict[str, Any]:
        channel = self._writable_channel(args.get("channel"))
        ts = _text_arg(args, "ts")
        current = self._find_message(channel, ts) if ts else None
        if current is None:
            raise _ApiError("message_not_found")
        if current.user != self.bot_user_id:
            raise _ApiError("cant_update_message")
        text = str(args["text"]) if args.get("text") is not None else current.text
        blocks = args.get("blocks", current.blocks)
        problems = validate_message(text, blocks)
        if problems:
            raise self._violation("chat.update", problems, channel, now, args)
        updated = replace(
            current,
            text=text,
            blocks=_blocks_of(blocks),
            attachments=_blocks_of(args["attachments"])
            if "attachments" in args
            else current.attachments,
            edits=[*current.edits, MessageVersion(current.text, current.blocks, now)],
        )
        self._store_message(updated)
        events.append(_message_event("message_changed", updated))
        return {
            "channel": channel,
            "ts": updated.ts,
            "text": updated.text,
            "message": self._message_json(updated),
        }

    def _chat_delete(
        self, args: dict[str, Any], now: datetime, events: list[Event]
    ) -> dict[str, Any]:
        channel = self._writable_channel(args.get("channel"))
        ts = _text_arg(args, "ts")
        current = self._find_message(channel, ts) if ts else None
        if current is None:
            raise _ApiError("message_not_found")
        if current.user != self.bot_user_id:
            raise _ApiError("cant_delete_message")
        self._messages[channel].remove(current)
        events.append(_message_event("message_deleted", current))
        return {"channel": channel, "ts": current.ts}

    def _chat_post_ephemeral(
        self, args: dict[str, Any], now: datetime, events: list[Event]
    ) -> dict[str, Any]:
        channel = self._writable_channel(args.get("channel"))
        user = _text_arg(args, "user")
        if user is None:
            raise _ApiError(
                "invalid_arguments", response_metadata={"messages": ["user is required"]}
            )
        if user not in self._users:
            raise _ApiError("user_not_found")
        text, blocks = self._message_content(
            "chat.postEphemeral", args, channel, now, require_text=True
        )
        ephemeral = Ephemeral(
            channel=channel,
            user=user,
            text=text,
            blocks=blocks,
            message_ts=self._next_ts(now),
            at=now,
            thread_ts=_text_arg(args, "thread_ts"),
        )
        self._ephemerals.append(ephemeral)
        events.append(_ephemeral_event("ephemeral", ephemeral))
        return {"message_ts": ephemeral.message_ts}

    def _chat_get_permalink(
        self, args: dict[str, Any], now: datetime, events: list[Event]
    ) -> dict[str, Any]:
        channel = self._existing_channel(args.get("channel"))
        ts = _text_arg(args, "message_ts")
        message = self._find_message(channel, ts) if ts else None
        if message is None:
            raise _ApiError("message_not_found")
        link = f"{self.url}/archives/{channel}/p{message.ts.replace('.', '')}"
        if message.is_reply:
            link += f"?thread_ts={message.thread_ts}&cid={channel}"
        return {"channel": channel, "permalink": link}

    def _users_info(
        self, args: dict[str, Any], now: datetime, events: list[Event]
    ) -> dict[str, Any]:
        user = self._users.get(_text_arg(args, "user") or "")
        if user is None:
            raise _ApiError("user_not_found")
        return {"user": self._user_json(user)}

    def _conversations_info(
        self, args: dict[str, Any], now: datetime, events: list[Event]
    ) -> dict[str, Any]:
        channel = self._existing_channel(args.get("channel"))
        return {"channel": self._channel_json(channel, self._channel(channel))}

    def _conversations_history(
        self, args: dict[str, Any], now: datetime, events: list[Event]
    ) -> dict[str, Any]:
        """Top-level messages newest first, after `oldest`; metadata only when asked for."""
        channel = self._existing_channel(args.get("channel"))
        oldest = float(_text_arg(args, "oldest") or 0)
        limit = int(_text_arg(args, "limit") or 100)
        with_meta = str(args.get("include_all_metadata", "")).lower() in ("true", "1")
        top = [
            m
            for m in self._messages.get(channel, [])
            if not m.is_reply and _ts_key(m.ts) >= _ts_key(f"{oldest:.6f}")
        ]
        top.sort(key=lambda m: _ts_key(m.ts), reverse=True)
        return {
            "messages": [self._history_json(m, with_meta) for m in top[:limit]],
            "has_more": len(top) > limit,
        }

    def _conversations_replies(
        self, args: dict[str, Any], now: datetime, events: list[Event]
    ) -> dict[str, Any]:
        """A thread: its parent first, then the replies oldest first."""
        channel = self._existing_channel(args.get("channel"))
        ts = _text_arg(args, "ts")
        parent = self._find_message(channel, ts) if ts else None
        if parent is None:
            raise _ApiError("thread_not_found")
        with_meta = str(args.get("include_all_metadata", "")).lower() in ("true", "1")
        replies = [m for m in self._messages.get(channel, []) if m.is_reply and m.thread_ts == ts]
        thread = [parent, *replies]
        return {"messages": [self._history_json(m, with_meta) for m in thread], "has_more": False}

    def _history_json(self, message: Message, with_metadata: bool) -> dict[str, Any]:
        shape = self._message_json(message)
        if not with_metadata:
            shape.pop("metadata", None)
        elif message.metadata:
            shape["metadata"] = message.metadata
        return shape

    def _views_open(
        self, args: dict[str, Any], now: datetime, events: list[Event]
    ) -> dict[str, Any]:
        trigger_id, user = self._use_trigger(args, now)
        view = self._checked_view("views.open", args, "modal", now)
        view_id = self._new_view_id()
        record = View(
            view_id, "modal", user, view, self._new_hash(now), now, view_id, None, trigger_id
        )
        self._views[view_id] = record
        self._modal_stacks[user] = [view_id]
        events.append(_view_event(record))
        return {"view": self._view_json(record)}

    def _views_push(
        self, args: dict[str, Any], now: datetime, events: list[Event]
    ) -> dict[str, Any]:
        trigger_id, user = self._use_trigger(args, now)
        view = self._checked_view("views.push", args, "modal", now)
        stack = self._modal_stacks.setdefault(user, [])
        if len(stack) >= 3:
            raise _ApiError("push_limit_reached")
        view_id = self._new_view_id()
        root = stack[0] if stack else view_id
        previous = stack[-1] if stack else None
        record = View(
            view_id, "modal", user, view, self._new_hash(now), now, root, previous, trigger_id
        )
        self._views[view_id] = record
        stack.append(view_id)
        events.append(_view_event(record))
        return {"view": self._view_json(record)}

    def _views_update(
        self, args: dict[str, Any], now: datetime, events: list[Event]
    ) -> dict[str, Any]:
        view_id = _text_arg(args, "view_id")
        external_id = _text_arg(args, "external_id")
        if view_id is None and external_id is None:
            raise _ApiError(
                "invalid_arguments",
                response_metadata={"messages": ["view_id or external_id is required"]},
            )
        current = self._views.get(view_id) if view_id else None
        if current is None and external_id is not None:
            current = next(
                (v for v in self._views.values() if v.view.get("external_id") == external_id), None
            )
        if current is None:
            raise _ApiError("not_found")
        expected = _text_arg(args, "hash")
        if expected is not None and expected != current.hash:
            raise _ApiError("hash_conflict")
        view = self._checked_view("views.update", args, current.kind, now)
        updated = replace(
            current,
            view=view,
            hash=self._new_hash(now),
            at=now,
            versions=[*current.versions, current.view],
        )
        self._views[current.id] = updated
        events.append(_view_event(updated))
        return {"view": self._view_json(updated)}

    def _views_publish(
        self, args: dict[str, Any], now: datetime, events: list[Event]
    ) -> dict[str, Any]:
        user = _text_arg(args, "user_id")
        if user is None:
            raise _ApiError(
                "invalid_arguments", response_metadata={"messages": ["user_id is required"]}
            )
        if user not in self._users:
            raise _ApiError("user_not_found")
        view = self._checked_view("views.publish", args, "home", now)
        current = self._views.get(self._homes.get(user, ""))
        expected = _text_arg(args, "hash")
        if current is not None and expected is not None and expected != current.hash:
            raise _ApiError("hash_conflict")
        if current is None:
            view_id = self._new_view_id()
            record = View(view_id, "home", user, view, self._new_hash(now), now, view_id)
        else:
            record = replace(
                current,
                view=view,
                hash=self._new_hash(now),
                at=now,
                versions=[*current.versions, current.view],
            )
        self._views[record.id] = record
        self._homes[user] = record.id
        events.append(_view_event(record))
        return {"view": self._view_json(record)}

    def _files_get_upload_url(
        self, args: dict[str, Any], now: datetime, events: list[Event]
    ) -> dict[str, Any]:
        filename = _text_arg(args, "filename")
        length = _text_arg(args, "length")
        if filename is None or length is None or not length.isdigit():
            raise _ApiError(
                "invalid_arguments",
                response_metadata={"messages": ["filename and a numeric length are required"]},
            )
        file_id = f"F{next(self._ids):010d}"
        self._uploads[file_id] = _Upload(file_id, filename, int(length))
        return {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(
        self, args: dict[str, Any], now: datetime, events: list[Event]
    ) -> dict[str, Any]:
        entries = args.get("files")
        if not isinstance(entries, list) or not entries:
            raise _ApiError(
                "invalid_arguments", response_metadata={"messages": ["files is required"]}
            )
        channels: list[str | None] = []
        if _text_arg(args, "channel_id"):
            channels.append(self._writable_channel(args["channel_id"]))
        for name in str(args.get("channels") or "").split(","):
            if name.strip():
                channels.append(self._writable_channel(name.strip()))
        if args.get("blocks") is not None:
            problems = validate_blocks(args["blocks"])
            if problems:
                raise self._violation(
                    "files.completeUploadExternal",
                    problems,
                    channels[0] if channels else None,
                    now,
                    args,
                )
        thread_ts = _text_arg(args, "thread_ts")
        if thread_ts is not None and not channels:
            raise _ApiError(
                "invalid_arguments", response_metadata={"messages": ["thread_ts needs a channel"]}
            )
        uploads: list[tuple[_Upload, str]] = []
        for entry in entries:
            upload = self._uploads.get(str(entry.get("id"))) if isinstance(entry, dict) else None
            if upload is None or upload.content is None:
                raise _ApiError("file_not_found")
            title = entry.get("title") or upload.filename
            uploads.append((upload, str(title)))
        comment = _text_arg(args, "initial_comment")
        answer: list[dict[str, Any]] = []
        for upload, title in uploads:
            shares: dict[str, list[dict[str, str]]] = {}
            for channel in channels or [None]:
                root = self._thread_root(channel, thread_ts) if channel else None
                share = FileShare(
                    file_id=upload.file_id,
                    filename=upload.filename,
                    title=title,
                    content=upload.content or b"",
                    channel=channel,
                    thread_ts=root,
                    initial_comment=comment,
                    ts=self._next_ts(now),
                    at=now,
                )
                self._files.append(share)
                events.append(
                    Event(
                        "file",
                        channel,
                        self.bot_user_id,
                        share.ts,
                        root,
                        comment or title,
                        "api",
                        share,
                    )
                )
                if channel is not None:
                    where = {"ts": share.ts, **({"thread_ts": root} if root else {})}
                    shares.setdefault(channel, []).append(where)
            answer.append(
                {
                    "id": upload.file_id,
                    "name": upload.filename,
                    "title": title,
                    "size": len(upload.content or b""),
                    "permalink": f"{self.url}/files/{self.bot_user_id}/{upload.file_id}",
                    "shares": {"public": shares} if shares else {},
                }
            )
        return {"files": answer}

    # ----------------------------------------------------------------- response_url

    def _respond(
        self, record: _ResponseUrl, payload: dict[str, Any], now: datetime, events: list[Event]
    ) -> _Reply:
        text = str(payload.get("text") or "")
        blocks = payload.get("blocks")
        if not _flag(payload.get("delete_original")):
            problems = validate_message(text, blocks)
            if problems:
                self._violations.append(
                    Violation(RESPONSE_URL, problems, now, record.channel, dict(payload))
                )
                return _json_reply(
                    400, {"ok": False, "error": "invalid_blocks", "errors": problems}
                )
        if self._channel(record.channel).deleted:
            return _json_reply(404, {"ok": False, "error": "channel_not_found"})
        record.uses += 1
        original = record.original
        if _flag(payload.get("delete_original")) and original is not None:
            self._delete_original(record, original, events)
            record.original = None
        elif _flag(payload.get("replace_original")) and original is not None:
            self._replace_original(record, original, text, _blocks_of(blocks), now, events)
        elif payload.get("response_type") == "in_channel":
            thread_ts = self._thread_root(record.channel, _text_arg(payload, "thread_ts"))
            message = Message(
                channel=record.channel,
                ts=self._next_ts(now),
                text=text,
                blocks=_blocks_of(blocks),
                user=self.bot_user_id,
                posted_at=now,
                thread_ts=thread_ts,
                bot_id=self.bot_id,
                via=RESPONSE_URL,
            )
            self._messages.setdefault(record.channel, []).append(message)
            events.append(_message_event("message", message))
            record.original = record.original or ("message", message.ts)
        else:
            ephemeral = Ephemeral(
                channel=record.channel,
                user=record.user,
                text=text,
                blocks=_blocks_of(blocks),
                message_ts=self._next_ts(now),
                at=now,
                thread_ts=_text_arg(payload, "thread_ts"),
                via=RESPONSE_URL,
            )
            self._ephemerals.append(ephemeral)
            events.append(_ephemeral_event("ephemeral", ephemeral))
            record.original = record.original or ("ephemeral", ephemeral.message_ts)
        return _json_reply(200, {"ok": True})

    def _delete_original(
        self,
        record: _ResponseUrl,
        original: tuple[Literal["message", "ephemeral"], str],
        events: list[Event],
    ) -> None:
        kind, ts = original
        if kind == "message":
            message = self._find_message(record.channel, ts)
            if message is not None:
                self._messages[record.channel].remove(message)
                events.append(_message_event("message_deleted", message, via=RESPONSE_URL))
            return
        gone = next((e for e in self._ephemerals if e.message_ts == ts), None)
        if gone is not None:
            events.append(_ephemeral_event("ephemeral_deleted", gone, via=RESPONSE_URL))

    def _replace_original(
        self,
        record: _ResponseUrl,
        original: tuple[Literal["message", "ephemeral"], str],
        text: str,
        blocks: list[dict[str, Any]],
        now: datetime,
        events: list[Event],
    ) -> None:
        kind, ts = original
        if kind == "message":
            current = self._find_message(record.channel, ts)
            if current is not None:
                updated = replace(
                    current,
                    text=text,
                    blocks=blocks,
                    edits=[*current.edits, MessageVersion(current.text, current.blocks, now)],
                )
                self._store_message(updated)
                events.append(_message_event("message_changed", updated, via=RESPONSE_URL))
            return
        previous = next((e for e in self._ephemerals if e.message_ts == ts), None)
        ephemeral = Ephemeral(
            channel=record.channel,
            user=record.user,
            text=text,
            blocks=blocks,
            message_ts=self._next_ts(now),
            at=now,
            thread_ts=previous.thread_ts if previous else None,
            via=RESPONSE_URL,
            replaces=ts,
        )
        self._ephemerals.append(ephemeral)
        record.original = ("ephemeral", ephemeral.message_ts)
        events.append(_ephemeral_event("ephemeral", ephemeral))

    # ----------------------------------------------------------------- helpers (lock held)

    def _channel(self, channel: str) -> _ChannelState:
        state = self._channels.get(channel)
        if state is None:
            prefix = channel[:2]
            name = (
                channel[2:].lower()
                if prefix in ("C0", "G0") and len(channel) > 2
                else channel.lower()
            )
            state = _ChannelState(name=name, private=channel.startswith("G"))
            self._channels[channel] = state
        return state

    def _resolve(self, channel: str | None) -> str | None:
        """A user id as a channel means the bot's DM with that user, as on Slack."""
        if not channel:
            return None
        if channel[0] in "UW" and channel in self._users:
            return "D" + channel[1:]
        return channel

    def _existing_channel(self, value: object) -> str:
        channel = self._resolve(str(value) if value else None)
        if channel is None or self._channel(channel).deleted:
            raise _ApiError("channel_not_found")
        return channel

    def _writable_channel(self, value: object) -> str:
        channel = self._existing_channel(value)
        state = self._channel(channel)
        if state.archived:
            raise _ApiError("is_archived")
        if not state.member:
            raise _ApiError("not_in_channel")
        return channel

    def _message_content(
        self,
        method: str,
        args: dict[str, Any],
        channel: str,
        now: datetime,
        *,
        require_text: bool,
    ) -> tuple[str, list[dict[str, Any]]]:
        text = args.get("text")
        blocks = args.get("blocks")
        if require_text and not text and not blocks and not args.get("attachments"):
            raise _ApiError("no_text")
        problems = validate_message(text, blocks)
        if problems:
            raise self._violation(method, problems, channel, now, args)
        return (str(text) if text is not None else ""), _blocks_of(blocks)

    def _violation(
        self,
        method: str,
        problems: list[str],
        channel: str | None,
        now: datetime,
        args: dict[str, Any],
    ) -> _ApiError:
        self._violations.append(Violation(method, problems, now, channel, dict(args)))
        too_long = any(p.startswith("text is ") for p in problems)
        return _ApiError(
            "msg_too_long" if too_long else "invalid_blocks",
            errors=problems,
            response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
        )

    def _checked_view(
        self, method: str, args: dict[str, Any], kind: Literal["modal", "home"], now: datetime
    ) -> dict[str, Any]:
        view = args.get("view")
        problems = validate_view(view, kind=kind)
        if problems:
            raise self._violation(method, problems, None, now, args)
        assert isinstance(view, dict)
        return view

    def _use_trigger(self, args: dict[str, Any], now: datetime) -> tuple[str, str | None]:
        trigger_id = _text_arg(args, "trigger_id") or _text_arg(args, "interactivity_pointer")
        if trigger_id is None:
            raise _ApiError(
                "invalid_arguments", response_metadata={"messages": ["trigger_id is required"]}
            )
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            return trigger_id, None  # hand-made trigger ids in tests are taken on trust
        if now - trigger.issued > TRIGGER_LIFETIME:
            raise _ApiError("expired_trigger_id")
        if trigger.used:
            raise _ApiError("exchanged_trigger_id")
        trigger.used = True
        return trigger_id, trigger.user

    def _thread_root(self, channel: str | None, thread_ts: str | None) -> str | None:
        """Replying to a reply lands under its parent, as on Slack."""
        if channel is None or thread_ts is None:
            return thread_ts
        target = self._find_message(channel, thread_ts)
        if target is not None and target.is_reply:
            return target.thread_ts
        return thread_ts

    def _find_message(self, channel: str, ts: str | None) -> Message | None:
        return next((m for m in self._messages.get(channel, []) if m.ts == ts), None)

    def _store_message(self, message: Message) -> None:
        stored = self._messages[message.channel]
        index = next(i for i, m in enumerate(stored) if m.ts == message.ts)
        stored[index] = message

    def _next_ts(self, now: datetime) -> str:
        micros = max(int(now.timestamp() * 1_000_000), self._last_ts_us + 1)
        self._last_ts_us = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _new_view_id(self) -> str:
        return f"V{next(self._ids):010d}"

    def _new_hash(self, now: datetime) -> str:
        return f"{int(now.timestamp())}.{next(self._ids):08x}"

    def _take_fault(self, method: str, args: Mapping[str, Any]) -> _Fault | None:
        with self._lock:
            channel = self._resolve(_text_arg(args, "channel") or _text_arg(args, "channel_id"))
            for fault in self._faults:
                if fault.method not in (method, "*"):
                    continue
                if fault.channel is not None and fault.channel != channel:
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                return fault
        return None

    @staticmethod
    def _fault_reply(fault: _Fault) -> _Reply:
        headers: dict[str, str] = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(max(0, math.ceil(fault.retry_after)))
        return _json_reply(fault.status, {"ok": False, "error": fault.error}, **headers)

    def _take_rate_token(self, channel: str, now: datetime) -> int | None:
        """None if the call may go ahead, else the whole seconds to wait."""
        if self._rate is None:
            return None
        capacity = 1.0 + _RATE_BURST
        bucket = self._buckets.setdefault(channel, _Bucket(capacity, now))
        elapsed = max(0.0, (now - bucket.last).total_seconds())
        bucket.tokens = min(capacity, bucket.tokens + elapsed * self._rate)
        bucket.last = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / self._rate))

    def _record_call(
        self, method: str, args: dict[str, Any], token: str | None, now: datetime, reply: _Reply
    ) -> None:
        ok, error = False, None
        if reply.content_type.startswith("application/json"):
            answer = json.loads(reply.body)
            ok, error = bool(answer.get("ok")), answer.get("error")
        else:
            ok = reply.status == 200
            error = None if ok else reply.body.decode(errors="replace")
        self._calls.append(Call(method, args, token, now, reply.status, ok, error))
        self._changed.notify_all()

    def _queue(self, event: Event) -> None:
        self._pending_events.append(event)

    def _deliver_events(self) -> None:
        """Hand queued events to subscribers in order, outside the state lock."""
        with self._dispatch_lock:
            while self._pending_events:
                event = self._pending_events.popleft()
                with self._lock:
                    subscribers = list(self._subscribers)
                for callback in subscribers:
                    try:
                        callback(event)
                    except Exception:
                        _log.exception("a SlackStandIn subscriber failed on %s", event.kind)

    # ----------------------------------------------------------------- JSON shapes

    def _message_json(self, message: Message) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "type": "message",
            "user": message.user,
            "bot_id": message.bot_id,
            "app_id": self.app_id,
            "text": message.text,
            "ts": message.ts,
            "team": self.team_id,
        }
        if message.blocks:
            shape["blocks"] = message.blocks
        if message.attachments:
            shape["attachments"] = message.attachments
        if message.thread_ts is not None:
            shape["thread_ts"] = message.thread_ts
        if message.edits:
            shape["edited"] = {"user": message.user, "ts": self._ts_of(message.edits[-1].at)}
        return shape

    @staticmethod
    def _ts_of(when: datetime) -> str:
        micros = int(when.timestamp() * 1_000_000)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _user_json(self, user: _User) -> dict[str, Any]:
        zone = ZoneInfo(user.tz)
        local = self._clock.now().astimezone(zone)
        offset = local.utcoffset() or timedelta(0)
        handle = user.real_name.split()[0].lower() if user.real_name.strip() else user.id.lower()
        profile: dict[str, Any] = {"real_name": user.real_name, "display_name": handle}
        if user.email:
            profile["email"] = user.email
        return {
            "id": user.id,
            "team_id": self.team_id,
            "name": handle,
            "real_name": user.real_name,
            "deleted": False,
            "is_bot": user.is_bot,
            "tz": user.tz,
            "tz_label": local.tzname() or user.tz,
            "tz_offset": int(offset.total_seconds()),
            "profile": profile,
        }

    def _channel_json(self, channel: str, state: _ChannelState) -> dict[str, Any]:
        is_im = channel.startswith("D")
        return {
            "id": channel,
            "name": state.name,
            "is_channel": not is_im and not state.private,
            "is_group": state.private,
            "is_im": is_im,
            "is_private": state.private or is_im,
            "is_archived": state.archived,
            "is_member": state.member,
            "created": 1_700_000_000,
        }

    def _view_json(self, record: View) -> dict[str, Any]:
        shape = {
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "clear_on_close": False,
            "notify_on_close": False,
            **record.view,
        }
        shape.update(
            id=record.id,
            team_id=self.team_id,
            app_id=self.app_id,
            bot_id=self.bot_id,
            app_installed_team_id=self.team_id,
            hash=record.hash,
            root_view_id=record.root_view_id,
            previous_view_id=record.previous_view_id,
            state={"values": {}},
        )
        return shape

    def _timeout_report(self, predicate: Callable[[SlackStandIn], bool], timeout: float) -> str:
        try:
            described = inspect.getsource(predicate).strip()
        except (OSError, TypeError):
            described = getattr(predicate, "__qualname__", repr(predicate))
        lines = [f"wait_for timed out after {timeout:g}s; the condition was: {described}"]
        recent = self._calls[-10:]
        lines.append(f"{len(self._calls)} calls recorded; the last {len(recent)}:")
        for call in recent:
            outcome = "ok" if call.ok else f"{call.error} (HTTP {call.http_status})"
            where = f" {call.channel}" if call.channel else ""
            lines.append(f"  {call.method}{where} -> {outcome}")
        for channel, stored in self._messages.items():
            lines.append(f"channel {channel}: {len(stored)} message(s)")
            for message in stored[-3:]:
                lines.append(f"  {message.ts}: {message.text[:80]!r}")
        lines.append(f"ephemerals: {len(self._ephemerals)}, files: {len(self._files)}")
        lines.append(f"violations: {[v.errors for v in self._violations] or 'none'}")
        return "\n".join(lines)


def _message_event(kind: EventKind, message: Message, *, via: str | None = None) -> Event:
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


def _ephemeral_event(kind: EventKind, ephemeral: Ephemeral, *, via: str | None = None) -> Event:
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


def _view_event(record: View) -> Event:
    title = record.view.get("title")
    text = str(title.get("text", "")) if isinstance(title, dict) else record.kind
    return Event("view", None, record.user, None, None, text, "api", record)


def _ts_key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    return int(seconds), int(micros or 0)


def _max_in_window(times: list[datetime], window: timedelta) -> int:
    ordered = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


# --------------------------------------------------------------------------- HTTP plumbing


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 makes bursts of connections wait a 1 s SYN retry
    standin: SlackStandIn


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.server.standin._serve(self.command, self.path, headers, body)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("slack stand-in: " + format, *args)
