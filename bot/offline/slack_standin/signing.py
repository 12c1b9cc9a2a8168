"""Slack's side of the conversation with the bot's HTTP endpoint: signed requests.

`sign_request` makes the two headers Slack adds; `SlackRequester` sends slash commands,
interactions and events to the bot exactly as Slack does, with response_urls and trigger_ids
issued by a `SlackStandIn`, and can forge unsigned, wrongly signed or stale requests.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.clock import Clock, SystemClock
from bot.offline.slack_standin.payloads import (
    VERIFICATION_TOKEN,
    event_callback,
    fill_interaction,
    slash_command_fields,
)
from bot.offline.slack_standin.records import View
from bot.offline.slack_standin.server import SlackStandIn
from bot.offline.slack_standin.shortcuts import (
    block_suggestion,
    global_shortcut,
    message_shortcut,
    view_select,
)

# Slack still sends this deprecated token with every request; nobody should check it.
FORM = "application/x-www-form-urlencoded"


def sign_request(signing_secret: str, body: bytes | str, timestamp: int) -> dict[str, str]:
    """The X-Slack-Request-Timestamp and X-Slack-Signature headers Slack sends with `body`.

    >>> sign_request("secret", "a=1", 1700000000)["X-Slack-Signature"][:3]
    'v0='
    """
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + str(timestamp).encode() + b":" + raw
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


@dataclass(frozen=True)
class Delivery:
    """How the bot answered one request, plus the ids Slack handed it with the request."""

    status_code: int
    text: str
    elapsed: float
    headers: dict[str, str]
    response_url: str | None = None
    trigger_id: str | None = None
    event_id: str | None = None

    def json(self) -> Any:
        """The answer's body parsed as JSON."""
        return json.loads(self.text)


class SlackRequester:
    """Plays Slack towards the bot's request URL (Bolt's default path is /slack/events).

    Timestamps for signatures come from `clock` (default: the system clock); the bot's
    signature check must use the same notion of time or it rejects them as stale.
    """

    def __init__(
        self,
        *,
        bot_url: str,
        signing_secret: str,
        standin: SlackStandIn,
        team_id: str = "T0TEST",
        clock: Clock | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.bot_url = bot_url
        self.signing_secret = signing_secret
        self.standin = standin
        self.team_id = team_id
        self._clock: Clock = clock or SystemClock()
        self._http = httpx.Client(timeout=timeout)
        self._event_ids = itertools.count(1)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> SlackRequester:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def now(self) -> int:
        """The current Unix time by the requester's clock, as Slack puts it in the header."""
        return int(self._clock.now().timestamp())

    # ----------------------------------------------------------------- what Slack sends

    def slash_command_form(
        self,
        text: str,
        *,
        user_id: str = "U0ALICE",
        channel_id: str = "C0GENERAL",
        command: str = "/deepnote",
    ) -> list[tuple[str, str]]:
        """The form fields of a slash command, in Slack's order, with a fresh response_url."""
        return slash_command_fields(
            self.standin,
            self.team_id,
            text,
            user_id=user_id,
            channel_id=channel_id,
            command=command,
        )

    def slash_command(
        self,
        text: str,
        *,
        user_id: str = "U0ALICE",
        channel_id: str = "C0GENERAL",
        command: str = "/deepnote",
    ) -> Delivery:
        """Send a signed slash command, form-encoded exactly as Slack sends it."""
        form = self.slash_command_form(
            text, user_id=user_id, channel_id=channel_id, command=command
        )
        fields = dict(form)
        return self._send(
            urlencode(form).encode(),
            FORM,
            response_url=fields["response_url"],
            trigger_id=fields["trigger_id"],
        )

    def interaction(self, payload: dict[str, Any], *, fill: bool = True) -> Delivery:
        """Send an interaction (`payload=<json>` form field), signed.

        With `fill`, keys Slack always sends and the payload lacks are added: token, team,
        api_app_id, user, a fresh trigger_id and, for message interactions, a response_url.
        """
        body = dict(payload)
        if fill:
            fill_interaction(self.standin, self.team_id, body)
        trigger_id = body.get("trigger_id")
        response_url = body.get("response_url")
        return self._send(
            urlencode({"payload": json.dumps(body)}).encode(),
            FORM,
            response_url=response_url if isinstance(response_url, str) else None,
            trigger_id=trigger_id if isinstance(trigger_id, str) else None,
        )

    def _named(self, user_id: str) -> tuple[str, str]:
        info = self.standin.user_info(user_id)
        return user_id, str(info["name"]) if info else user_id.lower()

    def shortcut(self, callback_id: str, *, user_id: str = "U0ALICE") -> Delivery:
        """Use a global shortcut (signed, with a fresh trigger_id)."""
        user = self._named(user_id)
        return self.interaction(global_shortcut(callback_id, user=user, team_id=self.team_id))

    def message_shortcut(
        self,
        callback_id: str,
        message: Mapping[str, Any],
        *,
        channel_id: str = "C0GENERAL",
        user_id: str = "U0ALICE",
    ) -> Delivery:
        """Use a message shortcut on `message` (a dict with ts, text, blocks...), signed, with
        a fresh trigger_id and a response_url for that message."""
        channel = self.standin.channel_info(channel_id)
        payload = message_shortcut(
            callback_id,
            message=message,
            channel=(channel_id, str(channel["name"]) if channel else channel_id.lower()),
            user=self._named(user_id),
            team_id=self.team_id,
        )
        return self.interaction(payload)

    def suggest(
        self, view: View, action_id: str, value: str, *, block_id: str, user_id: str = "U0ALICE"
    ) -> Delivery:
        """Type `value` into an external select of an open modal: the options request."""
        payload = block_suggestion(
            view,
            action_id=action_id,
            block_id=block_id,
            value=value,
            user=self._named(user_id),
            team_id=self.team_id,
        )
        return self.interaction(payload)

    def choose(
        self,
        view: View,
        action_id: str,
        option: Mapping[str, Any],
        *,
        block_id: str,
        user_id: str = "U0ALICE",
        values: Mapping[str, Any] | None = None,
    ) -> Delivery:
        """Choose `option` in a select of an open modal (its id and hash go with it)."""
        payload = view_select(
            view,
            action_id=action_id,
            block_id=block_id,
            option=option,
            user=self._named(user_id),
            team_id=self.team_id,
            values=values,
        )
        return self.interaction(payload)

    def event(
        self,
        event: dict[str, Any],
        *,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        event_id: str | None = None,
    ) -> Delivery:
        """Send an Events API `event_callback` envelope, signed; pass the first delivery's
        `event_id` with `retry_num` to replay it as Slack's retry."""
        event_id = event_id or f"Ev{next(self._event_ids):08d}TEST"
        envelope = event_callback(
            self.standin, self.team_id, event, event_id=event_id, event_time=self.now()
        )
        extra: dict[str, str] = {}
        if retry_num is not None:
            extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return self._send(
            json.dumps(envelope).encode(), "application/json", extra=extra, event_id=event_id
        )

    def url_verification(self, challenge: str = "challenge-token") -> Delivery:
        """Send the handshake Slack makes when the request URL is configured."""
        body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
        return self._send(json.dumps(body).encode(), "application/json")

    # ----------------------------------------------------------------- for security tests

    def forge(
        self,
        body: bytes | str,
        *,
        signing_secret: str | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
        signed: bool = True,
        content_type: str = FORM,
    ) -> Delivery:
        """Send `body` signed wrongly on purpose: another secret, a stale `timestamp`, a given
        `signature`, or (signed=False) no signature headers at all."""
        raw = body.encode() if isinstance(body, str) else body
        headers = {"Content-Type": content_type}
        if signed:
            stamp = self.now() if timestamp is None else timestamp
            headers.update(sign_request(signing_secret or self.signing_secret, raw, stamp))
            if signature is not None:
                headers["X-Slack-Signature"] = signature
        return self.send_raw(raw, headers)

    def send_raw(self, body: bytes | str, headers: Mapping[str, str]) -> Delivery:
        """POST `body` with exactly `headers` to the bot."""
        raw = body.encode() if isinstance(body, str) else body
        started = time.perf_counter()
        response = self._http.post(self.bot_url, content=raw, headers=dict(headers))
        elapsed = time.perf_counter() - started
        return Delivery(response.status_code, response.text, elapsed, dict(response.headers))

    # ----------------------------------------------------------------- internals

    def _send(
        self,
        body: bytes,
        content_type: str,
        *,
        extra: Mapping[str, str] | None = None,
        response_url: str | None = None,
        trigger_id: str | None = None,
        event_id: str | None = None,
    ) -> Delivery:
        headers = {
            "Content-Type": content_type,
            **sign_request(self.signing_secret, body, self.now()),
        }
        headers.update(extra or {})
        delivery = self.send_raw(body, headers)
        return Delivery(
            delivery.status_code,
            delivery.text,
            delivery.elapsed,
            delivery.headers,
            response_url=response_url,
            trigger_id=trigger_id,
            event_id=event_id,
        )
