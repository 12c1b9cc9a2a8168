"""Slack's Web API as the bot uses it: a few calls, one error type.

Every failure becomes a `SlackError` that says whether trying again later can help, so
callers decide between retrying and reporting without knowing Slack's error codes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.errors import SlackError
from bot.text.mrkdwn import code as inline_code

log = logging.getLogger(__name__)

# Errors that will not go away by trying again: record them and stop.
PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "token_revoked",
        "account_inactive",
        "not_authed",
        "missing_scope",
        "message_not_found",
        "cant_update_message",
        "msg_too_long",
        "invalid_blocks",
        "no_text",
        "user_not_found",
        "restricted_action",
        "team_access_not_granted",
        "channel_is_archived",
        "ekm_access_denied",
    }
)

EXPLAIN = {
    "channel_not_found": "the channel no longer exists or the bot cannot see it",
    "not_in_channel": "the bot is not a member of the channel; invite it with `/invite @Deepnote`",
    "is_archived": "the channel is archived",
    "invalid_auth": "Slack rejected the bot token; an admin must reinstall the app",
    "token_revoked": "the bot token was revoked; an admin must reinstall the app",
    "ratelimited": "Slack asked the bot to slow down",
    "channel_is_archived": "the channel is archived",
    "account_inactive": "the bot's Slack account is deactivated; an admin must reinstall the app",
    "not_authed": "Slack received no bot token; an admin must check SLACK_BOT_TOKEN",
    "missing_scope": "the bot lacks a Slack permission it needs",
    "restricted_action": "the workspace does not let the bot post in this channel",
}

_INVITE = "Invite the bot with `/invite @Deepnote`, or use another channel."
_REINSTALL = "An admin must reinstall the app (and set the new SLACK_BOT_TOKEN)."
_TRY_AGAIN = "Slack is busy or could not be reached; try again in a minute."
# What a person can do about each Slack error: one table, so no caller guesses from the code.
ADVICE = {
    "not_in_channel": _INVITE,
    "channel_not_found": _INVITE,
    "is_archived": "Unarchive the channel, or use another channel.",
    "channel_is_archived": "Unarchive the channel, or use another channel.",
    "restricted_action": "Ask a workspace admin to allow the app to post here, or use another "
    "channel.",
    "invalid_auth": _REINSTALL,
    "token_revoked": _REINSTALL,
    "account_inactive": _REINSTALL,
    "not_authed": _REINSTALL,
    "missing_scope": "An admin must reinstall the app with the scopes in app_manifest.yml.",
    "ratelimited": _TRY_AGAIN,
}


# Calls the bot paces itself (bot/ratelimit.py): a 429 on them goes back to the pacer, which
# holds that channel's (or the workspace's edit) budget for Retry-After, instead of sleeping
# in the one thread that posts for every channel.
PACED_METHODS = ("chat.postMessage", "chat.update")
ThrottleHook = Callable[[str, str | None, float | None], None]


class UnpacedRateLimitRetry(RateLimitErrorRetryHandler):
    """slack_sdk's 429 retry (it sleeps Retry-After, then tries once more), for unpaced calls."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if request.url.rstrip("/").endswith(PACED_METHODS):
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)


def make_web_client(token: str, base_url: str) -> WebClient:
    """A WebClient that retries connection errors, and one short 429 of an unpaced call."""
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=15,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            UnpacedRateLimitRetry(max_retry_count=1),
        ],
    )


def explain(code: str | None) -> str:
    """A sentence-fragment for a Slack error code, for people (mrkdwn).

    >>> explain("<!channel>")
    'Slack answered `&lt;!channel&gt;`'
    """
    return EXPLAIN.get(code or "", f"Slack answered {inline_code(str(code))}")


def advice(err: SlackError) -> str:
    """What the person should do after Slack refused a call (a sentence, mrkdwn).

    >>> advice(SlackError("x", code="ratelimited", status=429, retryable=True))
    'Slack is busy or could not be reached; try again in a minute.'
    >>> advice(SlackError("x", code="not_in_channel"))
    'Invite the bot with `/invite @Deepnote`, or use another channel.'
    """
    if err.code in ADVICE:
        return ADVICE[err.code or ""]
    if err.retryable:
        return _TRY_AGAIN
    return "Try again later; if it keeps failing, tell the admin who installed the bot."


def to_slack_error(exc: Exception) -> SlackError:
    """Classify a slack_sdk failure."""
    if isinstance(exc, SlackApiError):
        resp = exc.response
        status = getattr(resp, "status_code", None)
        code = None
        try:
            code = resp.get("error")
        except Exception:  # a non-JSON body; the status says enough
            code = None
        retry_after: float | None = None
        if status == 429:
            code = code or "ratelimited"
            headers = getattr(resp, "headers", {}) or {}
            for key, value in headers.items():
                if key.lower() == "retry-after":
                    raw = value[0] if isinstance(value, list) else value
                    try:
                        retry_after = float(raw)
                    except (TypeError, ValueError):
                        retry_after = None
        retryable = status == 429 or (status or 0) >= 500 or (code not in PERMANENT)
        return SlackError(
            explain(code), code=code, status=status, retryable=retryable, retry_after=retry_after
        )
    return SlackError(f"Slack could not be reached ({type(exc).__name__})", retryable=True)


def _given(**optional: Any) -> dict[str, Any]:
    """The optional arguments that are set; an empty one is left out, as if not given.

    >>> _given(blocks=[], thread_ts="1.2", metadata=None)
    {'thread_ts': '1.2'}
    """
    return {name: value for name, value in optional.items() if value}


class SlackGateway:
    """The few Web API calls the bot makes, with errors turned into `SlackError`."""

    def __init__(
        self,
        client: WebClient,
        *,
        on_success: Callable[[], None] | None = None,
        on_throttled: ThrottleHook | None = None,
    ) -> None:
        self.client = client
        self.on_success = on_success
        # Told (method, channel, Retry-After) of every 429, so the pacer can slow down.
        self.on_throttled = on_throttled

    def _call(self, method: str, **kwargs: Any) -> Any:
        fn = getattr(self.client, method.replace(".", "_"))
        try:
            result = fn(**kwargs)
            if self.on_success is not None:
                self.on_success()
            return result
        except (SlackApiError, SlackClientError) as exc:
            err = to_slack_error(exc)
            if err.status == 429 and self.on_throttled is not None:
                channel = kwargs.get("channel")
                self.on_throttled(method, str(channel) if channel else None, err.retry_after)
            log.warning(
                "slack call failed",
                extra={"event": "slack_error", "method": method, "code": err.code},
            )
            raise err from None
        except OSError as exc:
            raise to_slack_error(exc) from None

    def post(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        *,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> str:
        """Post a message; return its ts."""
        given = _given(blocks=blocks, thread_ts=thread_ts, metadata=metadata)
        resp = self._call(
            "chat.postMessage", channel=channel, text=text, unfurl_links=False, **given
        )
        return str(resp["ts"])

    def update(
        self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None
    ) -> None:
        """Edit a message in place."""
        args: dict[str, Any] = {"channel": channel, "ts": ts, "text": text}
        if blocks is not None:
            args["blocks"] = blocks
        self._call("chat.update", **args)

    def ephemeral(
        self,
        channel: str,
        user: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        *,
        thread_ts: str | None = None,
    ) -> None:
        """Show a message to one user in a channel (in a thread, with `thread_ts`)."""
        given = _given(blocks=blocks, thread_ts=thread_ts)
        self._call("chat.postEphemeral", channel=channel, user=user, text=text, **given)

    def complete_function(self, execution_id: str, outputs: dict[str, Any]) -> None:
        """Tell Slack a Workflow Builder step succeeded, with its outputs (the bot token may
        complete its own app's functions; the per-execution token is never kept)."""
        self._call("functions.completeSuccess", function_execution_id=execution_id, outputs=outputs)

    def fail_function(self, execution_id: str, error: str) -> None:
        """Tell Slack a Workflow Builder step failed, and why (plain text)."""
        self._call("functions.completeError", function_execution_id=execution_id, error=error)

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        """Open a modal (the trigger_id of a click or command lasts about 3 s, and works once)."""
        self._call("views.open", trigger_id=trigger_id, view=view)

    def update_view(self, view_id: str, view: dict[str, Any], *, hash: str | None = None) -> None:
        """Replace an open modal in place (`hash`: only if nobody changed it since)."""
        given = {"hash": hash} if hash else {}
        self._call("views.update", view_id=view_id, view=view, **given)

    def publish_view(self, user_id: str, view: dict[str, Any]) -> None:
        """Publish a user's App Home tab."""
        self._call("views.publish", user_id=user_id, view=view)

    def upload(
        self, channel: str, thread_ts: str | None, filename: str, content: bytes, title: str
    ) -> None:
        """Share a file in a channel or thread."""
        self._call(
            "files.upload_v2",
            channel=channel,
            thread_ts=thread_ts,
            filename=filename,
            content=content,
            title=title,
        )

    def find_posted(
        self, channel: str, *, run_key: str, kind: str, thread_ts: str | None, oldest: float
    ) -> str | None:
        """The ts of a message the bot already posted for this run (found by its metadata)."""
        if thread_ts:
            resp = self._call(
                "conversations.replies", channel=channel, ts=thread_ts, include_all_metadata=True
            )
        else:
            resp = self._call(
                "conversations.history",
                channel=channel,
                oldest=f"{oldest:.6f}",
                limit=200,
                include_all_metadata=True,
            )
        for message in resp.get("messages") or []:
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("run") == run_key and payload.get("kind") == kind:
                return str(message["ts"])
        return None

    def user_timezone(self, user_id: str) -> str | None:
        """The user's Slack time zone name, if Slack knows it."""
        try:
            resp = self._call("users.info", user=user_id)
        except SlackError:
            return None
        tz = (resp.get("user") or {}).get("tz")
        return str(tz) if tz else None
