"""The Slack stand-in's workspace: channels, users, messages, views, faults and the lock."""

from __future__ import annotations

import itertools
import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.clock import Clock, SystemClock
from bot.offline.fakeserver import FakeServer, Reply, Request, json_reply
from bot.offline.slack_standin.blockkit import validate_message, validate_view
from bot.offline.slack_standin.forms import ApiError, blocks_of, text_arg
from bot.offline.slack_standin.functions import FunctionExecutions
from bot.offline.slack_standin.records import (
    TRIGGER_LIFETIME,
    ApiFault,
    Bucket,
    Call,
    ChannelState,
    Ephemeral,
    Event,
    FileShare,
    Limit,
    Message,
    ResponseUrl,
    ResponseUrlPost,
    Trigger,
    Upload,
    User,
    View,
    Violation,
    ts_key,
)

_log = logging.getLogger(__name__)


class Workspace:
    """A Slack workspace's state, the rules its Web API methods share, and its HTTP server."""

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
        self._host = host
        self._http = FakeServer(
            handle=self._serve,
            name="slack-standin",
            host=host,
            port=port,
            not_started="SlackStandIn is not started; call start() or use it as a context",
        )
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self._clock: Clock = clock or SystemClock()
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
        self._uploads: dict[str, Upload] = {}
        self._views: dict[str, View] = {}
        self._homes: dict[str, str] = {}
        self._modal_stacks: dict[str | None, list[str]] = {}
        self._response_urls: dict[str, ResponseUrl] = {}
        self._response_posts: list[ResponseUrlPost] = []
        self._triggers: dict[str, Trigger] = {}
        self._faults: list[ApiFault] = []
        self._channels: dict[str, ChannelState] = {}
        self._users: dict[str, User] = {}
        # Workflow Builder step executions (function_executed, functions.complete*).
        self.functions = FunctionExecutions(app_id)
        self._revoked = False
        self._limits: dict[str, Limit] = {}
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._write_times: dict[str, list[datetime]] = {}

        self._add_default_users()

    def _add_default_users(self) -> None:
        """Alice and Bob, in two time zones, and the bot user itself."""
        self.set_user("U0ALICE", tz="Europe/Prague", name="Alice Example")
        self.set_user("U0BOB", tz="America/New_York", name="Bob Example")
        self._users[self.bot_user_id] = User(self.bot_user_id, "Deepnote", "UTC", is_bot=True)

    @property
    def url(self) -> str:
        """Root URL, e.g. http://127.0.0.1:54321 (the stand-in must be started)."""
        return self._http.url

    def _serve(self, request: Request) -> Reply:
        """Answer one HTTP request (the `SlackStandIn` does)."""
        raise NotImplementedError

    def set_user(
        self, user_id: str, *, tz: str = "UTC", name: str | None = None, email: str | None = None
    ) -> None:
        """Add or change a user; `tz` is an IANA zone name such as "Europe/Prague"."""
        try:
            ZoneInfo(tz)  # fail here, not later in users.info
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {tz!r}") from exc
        with self._lock:
            self._users[user_id] = User(user_id, name or user_id, tz, email=email)

    # --------------------------------------------- state the Web API method modules share

    def has_user(self, user_id: str) -> bool:
        """Whether the workspace knows this user."""
        return user_id in self._users

    def existing_message(self, channel: str, ts: str | None, error: str) -> Message:
        """Message `ts` in `channel`, or the Web API `error` when there is none."""
        message = self.find_message(channel, ts) if ts else None
        if message is None:
            raise ApiError(error)
        return message

    def add_message(self, message: Message) -> None:
        """Post `message` at the end of its channel."""
        self._messages.setdefault(message.channel, []).append(message)

    def remove_message(self, message: Message) -> None:
        """Delete `message` from its channel."""
        self._messages[message.channel].remove(message)

    def add_ephemeral(self, ephemeral: Ephemeral) -> None:
        """Show an ephemeral message."""
        self._ephemerals.append(ephemeral)

    def find_ephemeral(self, message_ts: str) -> Ephemeral | None:
        """The ephemeral message with this ts, if there is one."""
        return next((e for e in self._ephemerals if e.message_ts == message_ts), None)

    def new_upload(self, filename: str, length: int) -> str:
        """Expect an upload of `length` bytes; its file id."""
        file_id = f"F{next(self._ids):010d}"
        self._uploads[file_id] = Upload(file_id, filename, length)
        return file_id

    def find_upload(self, file_id: str) -> Upload | None:
        """The upload with this file id, if there is one."""
        return self._uploads.get(file_id)

    def add_file(self, share: FileShare) -> None:
        """Keep a completed file upload."""
        self._files.append(share)

    def view_with_external_id(self, external_id: str) -> View | None:
        """The view whose `external_id` is this, if there is one."""
        return next(
            (v for v in self._views.values() if v.view.get("external_id") == external_id), None
        )

    def store_view(self, record: View) -> None:
        """Keep `record` as the current state of its view."""
        self._views[record.id] = record

    def modal_stack(self, user: str | None) -> list[str]:
        """The ids of the modals `user` has open, bottom first."""
        return list(self._modal_stacks.get(user, []))

    def open_modal(self, record: View) -> None:
        """Open `record` as the only modal of its user."""
        self.store_view(record)
        self._modal_stacks[record.user] = [record.id]

    def push_modal(self, record: View) -> None:
        """Open `record` on top of its user's modals."""
        self.store_view(record)
        self._modal_stacks.setdefault(record.user, []).append(record.id)

    def publish_home(self, record: View) -> None:
        """Make `record` its user's Home tab."""
        assert record.user is not None
        self.store_view(record)
        self._homes[record.user] = record.id

    # ----------------------------------------------------------------- queries

    def all_messages(self, channel: str | None = None) -> list[Message]:
        """Every message (thread replies too), in one channel or in all, oldest first."""
        with self._lock:
            if channel is not None:
                return list(self._messages.get(self._resolve(channel) or channel, []))
            every = [m for ms in self._messages.values() for m in ms]
            return sorted(every, key=lambda m: ts_key(m.ts))

    def thread(self, channel: str, ts: str) -> list[Message]:
        """The replies under message `ts` (not the parent itself), oldest first."""
        with self._lock:
            resolved = self._resolve(channel) or channel
            return [m for m in self._messages.get(resolved, []) if m.is_reply and m.thread_ts == ts]

    def view(self, view_id: str) -> View | None:
        """A modal or Home tab by id."""
        with self._lock:
            return self._views.get(view_id)

    def home(self, user: str) -> View | None:
        """The Home tab last published for `user`."""
        with self._lock:
            view_id = self._homes.get(user)
            return self._views[view_id] if view_id else None

    def user_info(self, user_id: str) -> dict[str, Any] | None:
        """The user object users.info would return, or None for an unknown user."""
        with self._lock:
            user = self._users.get(user_id)
            return self.user_json(user) if user else None

    def channel_state(self, channel: str) -> ChannelState:
        """A channel's state, made up on first mention (a "C0NAME" id is named "name")."""
        state = self._channels.get(channel)
        if state is None:
            prefix = channel[:2]
            name = (
                channel[2:].lower()
                if prefix in ("C0", "G0") and len(channel) > 2
                else channel.lower()
            )
            state = ChannelState(name=name, private=channel.startswith("G"))
            self._channels[channel] = state
        return state

    def _resolve(self, channel: str | None) -> str | None:
        """A user id as a channel means the bot's DM with that user, as on Slack."""
        if not channel:
            return None
        if channel[0] in "UW" and channel in self._users:
            return "D" + channel[1:]
        return channel

    def existing_channel(self, value: object) -> str:
        """The channel a Web API argument names, or channel_not_found."""
        channel = self._resolve(str(value) if value else None)
        if channel is None or self.channel_state(channel).deleted:
            raise ApiError("channel_not_found")
        return channel

    def writable_channel(self, value: object) -> str:
        """The channel a Web API argument names, if the bot may post there."""
        channel = self.existing_channel(value)
        state = self.channel_state(channel)
        if state.archived:
            raise ApiError("is_archived")
        if not state.member:
            raise ApiError("not_in_channel")
        return channel

    def message_content(
        self,
        method: str,
        args: dict[str, Any],
        channel: str,
        now: datetime,
        *,
        require_text: bool,
    ) -> tuple[str, list[dict[str, Any]]]:
        """A message's text and blocks from `args`, checked as Slack checks them."""
        text = args.get("text")
        blocks = args.get("blocks")
        if require_text and not text and not blocks and not args.get("attachments"):
            raise ApiError("no_text")
        problems = validate_message(text, blocks)
        if problems:
            raise self.record_violation(method, problems, channel, now, args)
        return (str(text) if text is not None else ""), blocks_of(blocks)

    def record_violation(
        self,
        method: str,
        problems: list[str],
        channel: str | None,
        now: datetime,
        args: dict[str, Any],
    ) -> ApiError:
        """Keep a request rejected for its content; the ApiError to answer it with."""
        self._violations.append(Violation(method, problems, now, channel, dict(args)))
        too_long = any(p.startswith("text is ") for p in problems)
        return ApiError(
            "msg_too_long" if too_long else "invalid_blocks",
            errors=problems,
            response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
        )

    def checked_view(
        self, method: str, args: dict[str, Any], kind: Literal["modal", "home"], now: datetime
    ) -> dict[str, Any]:
        """The `view` argument, checked as Slack checks a modal or Home tab."""
        view = args.get("view")
        problems = validate_view(view, kind=kind)
        if problems:
            raise self.record_violation(method, problems, None, now, args)
        assert isinstance(view, dict)
        return view

    def use_trigger(self, args: dict[str, Any], now: datetime) -> tuple[str, str | None]:
        """Spend the trigger_id in `args`; it and the user it was issued to."""
        trigger_id = text_arg(args, "trigger_id") or text_arg(args, "interactivity_pointer")
        if trigger_id is None:
            raise ApiError(
                "invalid_arguments", response_metadata={"messages": ["trigger_id is required"]}
            )
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            return trigger_id, None  # hand-made trigger ids in tests are taken on trust
        if now - trigger.issued > TRIGGER_LIFETIME:
            raise ApiError("expired_trigger_id")
        if trigger.used:
            raise ApiError("exchanged_trigger_id")
        trigger.used = True
        return trigger_id, trigger.user

    def thread_root(self, channel: str | None, thread_ts: str | None) -> str | None:
        """Replying to a reply lands under its parent, as on Slack."""
        if channel is None or thread_ts is None:
            return thread_ts
        target = self.find_message(channel, thread_ts)
        if target is not None and target.is_reply:
            return target.thread_ts
        return thread_ts

    def find_message(self, channel: str, ts: str | None) -> Message | None:
        """Message `ts` in `channel`, if there is one."""
        return next((m for m in self._messages.get(channel, []) if m.ts == ts), None)

    def store_message(self, message: Message) -> None:
        """Replace a stored message with its new state (same channel and ts)."""
        stored = self._messages[message.channel]
        index = next(i for i, m in enumerate(stored) if m.ts == message.ts)
        stored[index] = message

    def next_ts(self, now: datetime) -> str:
        """A fresh message ts at `now`, later than every ts handed out before."""
        micros = max(int(now.timestamp() * 1_000_000), self._last_ts_us + 1)
        self._last_ts_us = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def new_view_id(self) -> str:
        """A fresh view id."""
        return f"V{next(self._ids):010d}"

    def new_hash(self, now: datetime) -> str:
        """A fresh view hash."""
        return f"{int(now.timestamp())}.{next(self._ids):08x}"

    def _take_fault(self, method: str, args: Mapping[str, Any]) -> ApiFault | None:
        """The fault armed for this call, if any, once its delay has passed (outside the lock)."""
        with self._lock:
            channel = self._resolve(text_arg(args, "channel") or text_arg(args, "channel_id"))
            fault = next(
                (
                    f
                    for f in self._faults
                    if f.method in (method, "*") and f.channel in (None, channel)
                ),
                None,
            )
            if fault is not None and fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
        if fault is not None and fault.delay > 0:
            time.sleep(fault.delay)
        return fault

    @staticmethod
    def _fault_reply(fault: ApiFault) -> Reply:
        headers: dict[str, str] = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(max(0, math.ceil(fault.retry_after)))
        return json_reply(fault.status, {"ok": False, "error": fault.error}, headers.items())

    def _take_rate_token(self, method: str, channel: str | None, now: datetime) -> int | None:
        """None if the call may go ahead under the limits in force, else whole seconds to wait."""
        limit = self._limits.get(method)
        if limit is None or (limit.per_channel and channel is None):
            return None
        key = (limit.group or method, channel if limit.per_channel and channel else "*")
        capacity = float(max(1, limit.burst))
        bucket = self._buckets.setdefault(key, Bucket(capacity, now))
        elapsed = max(0.0, (now - bucket.last).total_seconds())
        bucket.tokens = min(capacity, bucket.tokens + elapsed * limit.rate)
        bucket.last = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / limit.rate))

    def _record_call(
        self, method: str, args: dict[str, Any], token: str | None, now: datetime, reply: Reply
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

    def message_json(self, message: Message) -> dict[str, Any]:
        """A message as the Web API returns it."""
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

    def user_json(self, user: User) -> dict[str, Any]:
        """A user as users.info returns it."""
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

    def channel_json(self, channel: str, state: ChannelState) -> dict[str, Any]:
        """A channel as conversations.info returns it."""
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

    def view_json(self, record: View) -> dict[str, Any]:
        """A view as the views.* methods return it."""
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
