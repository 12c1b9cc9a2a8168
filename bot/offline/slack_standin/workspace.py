"""The Slack stand-in's workspace: channels, users, messages, views, faults and the lock."""

from __future__ import annotations

import itertools
import json
import logging
import math
import threading
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.clock import Clock, SystemClock
from bot.offline.fakeserver import FakeServer, Reply, Request, json_reply
from bot.offline.slack_standin.blockkit import validate_message, validate_view
from bot.offline.slack_standin.forms import ApiError, blocks_of, text_arg
from bot.offline.slack_standin.records import (
    RATE_BURST,
    TRIGGER_LIFETIME,
    ApiFault,
    Bucket,
    Call,
    ChannelState,
    Ephemeral,
    Event,
    FileShare,
    Message,
    ResponseUrl,
    ResponseUrlPost,
    Trigger,
    Upload,
    User,
    View,
    Violation,
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
        self._revoked = False
        self._rate: float | None = None
        self._buckets: dict[str, Bucket] = {}
        self._write_times: dict[str, list[datetime]] = {}

        self.set_user("U0ALICE", tz="Europe/Prague", name="Alice Example")
        self.set_user("U0BOB", tz="America/New_York", name="Bob Example")
        self._users[bot_user_id] = User(bot_user_id, "Deepnote", "UTC", is_bot=True)

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

    def _channel(self, channel: str) -> ChannelState:
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

    def _existing_channel(self, value: object) -> str:
        channel = self._resolve(str(value) if value else None)
        if channel is None or self._channel(channel).deleted:
            raise ApiError("channel_not_found")
        return channel

    def _writable_channel(self, value: object) -> str:
        channel = self._existing_channel(value)
        state = self._channel(channel)
        if state.archived:
            raise ApiError("is_archived")
        if not state.member:
            raise ApiError("not_in_channel")
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
            raise ApiError("no_text")
        problems = validate_message(text, blocks)
        if problems:
            raise self._violation(method, problems, channel, now, args)
        return (str(text) if text is not None else ""), blocks_of(blocks)

    def _violation(
        self,
        method: str,
        problems: list[str],
        channel: str | None,
        now: datetime,
        args: dict[str, Any],
    ) -> ApiError:
        self._violations.append(Violation(method, problems, now, channel, dict(args)))
        too_long = any(p.startswith("text is ") for p in problems)
        return ApiError(
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

    def _take_fault(self, method: str, args: Mapping[str, Any]) -> ApiFault | None:
        with self._lock:
            channel = self._resolve(text_arg(args, "channel") or text_arg(args, "channel_id"))
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
    def _fault_reply(fault: ApiFault) -> Reply:
        headers: dict[str, str] = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(max(0, math.ceil(fault.retry_after)))
        return json_reply(fault.status, {"ok": False, "error": fault.error}, headers.items())

    def _take_rate_token(self, channel: str, now: datetime) -> int | None:
        """None if the call may go ahead, else the whole seconds to wait."""
        if self._rate is None:
            return None
        capacity = 1.0 + RATE_BURST
        bucket = self._buckets.setdefault(channel, Bucket(capacity, now))
        elapsed = max(0.0, (now - bucket.last).total_seconds())
        bucket.tokens = min(capacity, bucket.tokens + elapsed * self._rate)
        bucket.last = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / self._rate))

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

    def _user_json(self, user: User) -> dict[str, Any]:
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

    def _channel_json(self, channel: str, state: ChannelState) -> dict[str, Any]:
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
