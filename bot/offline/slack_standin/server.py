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

import inspect
import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import cached_property, partial
from typing import Any, Literal
from urllib.parse import urlsplit

from bot.offline.fakeserver import Lifecycle, Reply, Request, json_reply
from bot.offline.slack_standin import chat, conversations, files, functions, responses, views
from bot.offline.slack_standin.forms import ApiError, bearer, parse_args, parse_multipart, text_arg
from bot.offline.slack_standin.records import (
    APP_TOKEN_METHODS,
    RESPONSE_URL,
    RESPONSE_URL_LIFETIME,
    RESPONSE_URL_USES,
    UPLOAD_URL,
    ApiFault,
    Call,
    Ephemeral,
    Event,
    FileShare,
    Limit,
    Message,
    ResponseUrl,
    ResponseUrlPost,
    Trigger,
    View,
    Violation,
    max_in_window,
    message_event,
)
from bot.offline.slack_standin.socket_mode import SocketModeServer
from bot.offline.slack_standin.workspace import Workspace

_log = logging.getLogger(__name__)

ApiMethod = Callable[[Workspace, dict[str, Any], datetime, list[Event]], dict[str, Any]]
METHODS: dict[str, ApiMethod] = {
    "auth.test": conversations.auth_test,
    "chat.postMessage": chat.chat_post_message,
    "chat.update": chat.chat_update,
    "chat.delete": chat.chat_delete,
    "chat.postEphemeral": chat.chat_post_ephemeral,
    "chat.getPermalink": chat.chat_get_permalink,
    "users.info": conversations.users_info,
    "conversations.info": conversations.conversations_info,
    "conversations.history": conversations.conversations_history,
    "conversations.replies": conversations.conversations_replies,
    "views.open": views.views_open,
    "views.push": views.views_push,
    "views.update": views.views_update,
    "views.publish": views.views_publish,
    "files.getUploadURLExternal": files.files_get_upload_url,
    "files.completeUploadExternal": files.files_complete_upload,
    "functions.completeSuccess": lambda ws, args, now, _: functions.complete_success(
        ws.functions, args, now
    ),
    "functions.completeError": lambda ws, args, now, _: functions.complete_error(
        ws.functions, args, now
    ),
}


class SlackStandIn(Workspace, Lifecycle):
    """A fake Slack workspace and Web API on a local port; see the module docstring.

    With an app-level `app_token` it also serves Socket Mode (`self.socket_mode`).
    """

    @cached_property
    def socket_mode(self) -> SocketModeServer:
        """Socket Mode, served only when the stand-in has an app-level token."""
        return SocketModeServer(self, clock=self._clock, host=self._host)

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> SlackStandIn:
        """Start serving in a daemon thread (idempotent)."""
        self._http.start()
        if self.app_token is not None:
            self.socket_mode.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        self.socket_mode.stop()
        self._http.stop()

    @property
    def api_url(self) -> str:
        """What `WebClient(base_url=...)` takes: the root URL plus /api/."""
        return f"{self.url}/api/"

    # ----------------------------------------------------------------- set-up and records

    def add_channel(self, channel: str, *, name: str | None = None, private: bool = False) -> None:
        """Name a channel (any channel id works without this; its name is then derived)."""
        with self._lock:
            state = self.channel_state(channel)
            state.name = name or state.name
            state.private = private

    def archive(self, channel: str) -> None:
        """Archive a channel: writes to it answer `is_archived`."""
        with self._lock:
            self.channel_state(channel).archived = True

    def kick(self, channel: str) -> None:
        """Remove the bot from a channel: writes to it answer `not_in_channel`."""
        with self._lock:
            self.channel_state(channel).member = False

    def delete_channel(self, channel: str) -> None:
        """Delete a channel: every call naming it answers `channel_not_found`."""
        with self._lock:
            self.channel_state(channel).deleted = True

    def restore_channel(self, channel: str) -> None:
        """Undo archive(), kick() and delete_channel() for a channel."""
        with self._lock:
            state = self.channel_state(channel)
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
                ApiFault(method, error, status, retry_after, times, delay, self._resolve(channel))
            )

    def clear_faults(self) -> None:
        """Forget every injected fault that has not fired yet."""
        with self._lock:
            self._faults.clear()

    def enforce_channel_rate(self, per_second: float | None) -> None:
        """Answer 429 to chat.postMessage/chat.update beyond `per_second` per channel.

        Posts and edits share one bucket per channel, with a burst of one extra call. None
        turns enforcement off. Time is the clock's. (`enforce_limits` models Slack's own.)
        """
        if per_second is not None and per_second <= 0:
            raise ValueError("per_second must be positive")
        shared = Limit(per_second or 1.0, 2, per_channel=True, group="channel writes")
        self.enforce_limits(
            None if per_second is None else {"chat.postMessage": shared, "chat.update": shared}
        )

    def enforce_limits(self, limits: Mapping[str, Limit] | None) -> None:
        """Answer 429 `ratelimited` with a Retry-After header past these limits, per method.

        `SLACK_LIMITS` models Slack's published ones; None turns enforcement off (the default).
        Every bucket starts full. Time is the clock's.
        """
        if limits is not None and any(limit.rate <= 0 for limit in limits.values()):
            raise ValueError("every rate must be positive")
        with self._lock:
            self._limits = dict(limits or {})
            self._buckets.clear()

    def rate_limited_calls(self, method: str | None = None) -> list[Call]:
        """Every call answered 429 (of `method`, if given)."""
        return [c for c in self.calls(method) if c.http_status == 429]

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
            self._response_urls[url_id] = ResponseUrl(
                url_id, self._resolve(channel) or channel, user, self._clock.now(), original
            )
        return f"{self.url}/response/{url_id}"

    def new_trigger_id(self, user: str = "U0ALICE") -> str:
        """A trigger_id as Slack sends with an interaction: one views.open/push, within 3 s."""
        with self._lock:
            number = next(self._ids)
            trigger_id = f"{number}.{1000 + number}.{number * 7919:x}trigger"
            self._triggers[trigger_id] = Trigger(user, self._clock.now())
            return trigger_id

    def new_ts(self) -> str:
        """A fresh message timestamp, later than every one handed out so far."""
        with self._lock:
            return self.next_ts(self._clock.now())

    def user_message(
        self, channel: str, text: str, *, user: str = "U0ALICE", thread_ts: str | None = None
    ) -> Message:
        """Record a message a person wrote (e.g. the one an app_mention event is about)."""
        with self._lock:
            now = self._clock.now()
            resolved = self._resolve(channel) or channel
            message = Message(
                channel=resolved,
                ts=self.next_ts(now),
                text=text,
                blocks=[],
                user=user,
                posted_at=now,
                thread_ts=thread_ts,
                via="user",
            )
            self._messages.setdefault(resolved, []).append(message)
            self._queue(message_event("message", message))
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

    def message(self, channel: str, ts: str) -> Message | None:
        """One message by its ts, in its current state."""
        with self._lock:
            return self.find_message(self._resolve(channel) or channel, ts)

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

    def channel_info(self, channel: str) -> dict[str, Any] | None:
        """The channel object conversations.info would return, or None if deleted."""
        with self._lock:
            resolved = self._resolve(channel) or channel
            state = self.channel_state(resolved)
            return None if state.deleted else self.channel_json(resolved, state)

    def max_calls_per_channel_per_second(self, channel: str | None = None) -> int:
        """Most chat.postMessage/chat.update calls to one channel within any 1 s (clock time).

        Counts every authenticated attempt, including ones answered 429.
        """
        with self._lock:
            if channel is not None:
                series = [self._write_times.get(self._resolve(channel) or channel, [])]
            else:
                series = list(self._write_times.values())
        return max((max_in_window(times, timedelta(seconds=1)) for times in series), default=0)

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

    # ----------------------------------------------------------------- HTTP entry points

    def _serve(self, request: Request) -> Reply:
        """Answer one HTTP request; a bug in the stand-in answers 500."""
        verb, target = request.method, request.target
        try:
            return self._route(verb, target, request.headers, request.body)
        except Exception:
            # A bug here must show up as a failed call in the test, not as a hung connection.
            _log.exception("the Slack stand-in failed on %s %s", verb, target)
            return json_reply(500, {"ok": False, "error": "standin_internal_error"})

    def _route(self, verb: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        parts = urlsplit(target)
        path = parts.path
        if path.startswith("/api/") and len(path) > len("/api/"):
            return self._serve_api(path[len("/api/") :], parts.query, headers, body)
        if path.startswith("/upload/") and verb == "POST":
            return self._serve_upload(path[len("/upload/") :], headers, body)
        if path.startswith("/response/") and verb == "POST":
            return self._serve_response_url(path[len("/response/") :], body)
        return json_reply(404, {"ok": False, "error": "not_found"})

    def _serve_api(self, method: str, query: str, headers: Mapping[str, str], body: bytes) -> Reply:
        parse_error: str | None = None
        try:
            args = parse_args(query, headers.get("content-type", ""), body)
        except ApiError as exc:
            args, parse_error = {}, exc.error
        token = bearer(headers.get("authorization"))
        field_token = args.pop("token", None)
        token = token or (str(field_token) if field_token else None)
        fault = self._take_fault(method, args)
        events: list[Event] = []
        with self._lock:
            now = self._clock.now()
            if fault is not None and fault.answers:
                reply = self._fault_reply(fault)
            elif parse_error is not None:
                reply = json_reply(200, {"ok": False, "error": parse_error})
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
    ) -> Reply:
        app_level = method in APP_TOKEN_METHODS
        if self._revoked and not app_level:
            return json_reply(200, {"ok": False, "error": "token_revoked"})
        expected = self.app_token if app_level else self.bot_token
        # A step's own token (sent with function_executed) may complete it, as on Slack.
        own_step = method.startswith("functions.") and self.functions.accepts(token)
        if (expected is None or token != expected) and not own_step:
            return json_reply(200, {"ok": False, "error": "invalid_auth"})
        handler = self._method(method)
        if handler is None:
            return json_reply(200, {"ok": False, "error": "unknown_method"})
        channel = self._resolve(text_arg(args, "channel"))
        if method in ("chat.postMessage", "chat.update") and channel is not None:
            self._write_times.setdefault(channel, []).append(now)
        wait = self._take_rate_token(method, channel, now)
        if wait is not None:
            return json_reply(
                429, {"ok": False, "error": "ratelimited"}, [("Retry-After", str(wait))]
            )
        try:
            payload = handler(args, now, events)
        except ApiError as exc:
            return json_reply(200, {"ok": False, "error": exc.error, **exc.extra})
        return json_reply(200, {"ok": True, **payload})

    def _serve_upload(self, file_id: str, headers: Mapping[str, str], body: bytes) -> Reply:
        content = body
        content_type = headers.get("content-type", "")
        if content_type.lower().startswith("multipart/form-data"):
            parts = parse_multipart(content_type, body)
            chosen = [p for p in parts if p[1] is not None or p[0] == "file"] or parts
            content = chosen[0][2] if chosen else b""
        args: dict[str, Any] = {"file_id": file_id, "length": len(content)}
        fault = self._take_fault(UPLOAD_URL, args)
        with self._lock:
            now = self._clock.now()
            upload = self._uploads.get(file_id)
            if fault is not None and fault.answers:
                reply = self._fault_reply(fault)
            elif upload is None:
                reply = Reply(404, b"file_not_found", "text/plain; charset=utf-8")
            else:
                upload.content = content
                reply = Reply(200, f"OK - {len(content)}".encode(), "text/plain; charset=utf-8")
            self._record_call(UPLOAD_URL, args, None, now, reply)
        return reply

    def _serve_response_url(self, url_id: str, body: bytes) -> Reply:
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        args: dict[str, Any] = payload if isinstance(payload, dict) else {}
        fault = self._take_fault(RESPONSE_URL, args)
        events: list[Event] = []
        with self._lock:
            now = self._clock.now()
            record = self._response_urls.get(url_id)
            if fault is not None and fault.answers:
                reply = self._fault_reply(fault)
            elif record is None:
                reply = json_reply(404, {"ok": False, "error": "invalid_url"})
            elif now - record.created > RESPONSE_URL_LIFETIME:
                reply = json_reply(404, {"ok": False, "error": "expired_url"})
            elif record.uses >= RESPONSE_URL_USES:
                reply = json_reply(404, {"ok": False, "error": "used_url"})
            elif not isinstance(payload, dict):
                reply = json_reply(400, {"ok": False, "error": "invalid_payload"})
            else:
                reply = responses.respond(self, record, payload, now, events)
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

    def _method(
        self, name: str
    ) -> Callable[[dict[str, Any], datetime, list[Event]], dict[str, Any]] | None:
        """The Web API method `name`, bound to this workspace (None if Slack has no such)."""
        if name == "apps.connections.open":
            return self._apps_connections_open
        method = METHODS.get(name)
        return None if method is None else partial(method, self)

    def _apps_connections_open(
        self, args: dict[str, Any], now: datetime, events: list[Event]
    ) -> dict[str, Any]:
        """A one-use Socket Mode URL on the stand-in's WebSocket server."""
        return {"url": self.socket_mode.issue_url()}
