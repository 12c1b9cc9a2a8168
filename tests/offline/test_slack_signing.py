"""Slack's side of the conversation as the stand-in plays it: signed requests, and a real Bolt
app round trip."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from slack_bolt import App, BoltRequest
from slack_sdk.signature import Clock as SignatureClock
from slack_sdk.signature import SignatureVerifier

from bot.offline.slack_standin import (
    SlackRequester,
    SlackStandIn,
    sign_request,
)
from tests.offline.test_slack_standin import button, web

SECRET = "test-signing-secret"


# --------------------------------------------------------------------------- signing


class _FixedClock(SignatureClock):
    def __init__(self, now: int) -> None:
        self._now = now

    def now(self) -> float:
        return float(self._now)


def test_sign_request_matches_slack_sdk() -> None:
    body = "token=x&team_id=T0TEST&text=hello+world"
    headers = sign_request(SECRET, body, 1_700_000_000)
    assert SignatureVerifier(SECRET, clock=_FixedClock(1_700_000_100)).is_valid_request(
        body, headers
    )
    assert not SignatureVerifier("other", clock=_FixedClock(1_700_000_100)).is_valid_request(
        body, headers
    )
    assert not SignatureVerifier(SECRET, clock=_FixedClock(1_700_000_301)).is_valid_request(
        body, headers
    )
    assert sign_request(SECRET, body.encode(), 1_700_000_000) == headers


@dataclass
class _Seen:
    headers: dict[str, str]
    body: bytes


@dataclass
class _Endpoint:
    """A bot endpoint that only checks signatures, to see exactly what the requester sends."""

    url: str
    seen: list[_Seen] = field(default_factory=list)


@pytest.fixture
def endpoint() -> Iterator[_Endpoint]:
    verifier = SignatureVerifier(SECRET)
    seen: list[_Seen] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = dict(self.headers.items())
            seen.append(_Seen(headers, body))
            valid = verifier.is_valid_request(body, headers)
            self.send_response(200 if valid else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield _Endpoint(f"http://127.0.0.1:{server.server_address[1]}/slack/events", seen)
    server.shutdown()
    server.server_close()


def test_slash_commands_are_form_encoded_and_signed_like_slacks(
    slack: SlackStandIn, endpoint: _Endpoint
) -> None:
    with SlackRequester(bot_url=endpoint.url, signing_secret=SECRET, standin=slack) as requester:
        delivery = requester.slash_command("run “Daily report”", user_id="U0BOB")
    assert delivery.status_code == 200
    assert delivery.elapsed < 3
    [request] = endpoint.seen
    form = [tuple(pair.split("=", 1)) for pair in request.body.decode().split("&")]
    assert [k for k, _ in form] == [
        "token", "team_id", "team_domain", "channel_id", "channel_name", "user_id", "user_name",
        "command", "text", "api_app_id", "is_enterprise_install", "response_url", "trigger_id",
    ]  # fmt: skip
    fields = dict(httpx.QueryParams(request.body.decode()))
    assert fields["text"] == "run “Daily report”"
    assert (fields["user_id"], fields["user_name"], fields["channel_name"]) == (
        "U0BOB",
        "bob",
        "general",
    )
    assert fields["response_url"] == delivery.response_url
    assert fields["trigger_id"] == delivery.trigger_id
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_interactions_and_events_are_signed_with_slacks_extras(
    slack: SlackStandIn, endpoint: _Endpoint
) -> None:
    requester = SlackRequester(bot_url=endpoint.url, signing_secret=SECRET, standin=slack)
    clicked = requester.interaction(
        {
            "type": "block_actions",
            "channel": {"id": "C1"},
            "message": {"ts": "1700000000.000100"},
            "actions": [{"action_id": "go", "value": "1"}],
        }
    )
    first = requester.event({"type": "app_mention", "text": "<@U0BOT> hi", "channel": "C1"})
    retried = requester.event({"type": "app_mention"}, retry_num=1, event_id=first.event_id)
    requester.close()

    assert [d.status_code for d in (clicked, first, retried)] == [200, 200, 200]
    payload = json.loads(dict(httpx.QueryParams(endpoint.seen[0].body.decode()))["payload"])
    assert payload["response_url"] == clicked.response_url
    assert payload["trigger_id"]
    assert payload["team"]["id"] == "T0TEST"
    assert payload["user"]["id"] == "U0ALICE"
    envelope = json.loads(endpoint.seen[1].body)
    assert envelope["type"] == "event_callback"
    assert envelope["event"]["event_ts"]
    assert envelope["authorizations"][0]["user_id"] == "U0BOT"
    assert json.loads(endpoint.seen[2].body)["event_id"] == first.event_id
    assert endpoint.seen[2].headers["X-Slack-Retry-Num"] == "1"
    assert endpoint.seen[2].headers["X-Slack-Retry-Reason"] == "http_timeout"


def test_forged_requests_fail_verification(slack: SlackStandIn, endpoint: _Endpoint) -> None:
    requester = SlackRequester(bot_url=endpoint.url, signing_secret=SECRET, standin=slack)
    body = "command=%2Fdeepnote&text=hi"
    answers = [
        requester.forge(body).status_code,
        requester.forge(body, signing_secret="not-the-secret").status_code,
        requester.forge(body, timestamp=requester.now() - 301).status_code,
        requester.forge(body, signature="v0=" + "0" * 64).status_code,
        requester.forge(body, signed=False).status_code,
        requester.send_raw(body, {"X-Slack-Signature": "v0=zz"}).status_code,
    ]
    requester.close()
    assert answers == [200, 401, 401, 401, 401, 401]


# --------------------------------------------------------------------------- a real Bolt app


@pytest.fixture
def bolt(slack: SlackStandIn) -> Iterator[tuple[App, str]]:
    app = App(client=web(slack), signing_secret=SECRET)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            response = app.dispatch(BoltRequest(body=body, headers=dict(self.headers.items())))
            payload = response.body.encode()
            self.send_response(response.status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    server.shutdown()
    server.server_close()


def test_a_bolt_app_round_trip(slack: SlackStandIn, bolt: tuple[App, str]) -> None:
    app, url = bolt

    @app.command("/deepnote")
    def command(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        ack("On it")
        respond(f"You said {command['text']}")

    @app.action("go")
    def clicked(ack: Any, respond: Any) -> None:
        ack()
        respond(text="Clicked", replace_original=True)

    @app.event("app_mention")
    def mentioned(event: dict[str, Any], say: Any) -> None:
        say(text="Hello", thread_ts=event["ts"])

    requester = SlackRequester(bot_url=url, signing_secret=SECRET, standin=slack)
    delivery = requester.slash_command("hi")
    assert (delivery.status_code, delivery.text) == (200, "On it")
    slack.wait_for(lambda s: bool(s.ephemerals("C0GENERAL", "U0ALICE")))
    assert slack.ephemerals()[0].text == "You said hi"

    ts = web(slack).chat_postMessage(channel="C1", text="Run?", blocks=[
        {"type": "actions", "elements": [button("Go")]}
    ])["ts"]  # fmt: skip
    requester.interaction(
        {
            "type": "block_actions",
            "channel": {"id": "C1"},
            "message": {"ts": ts},
            "container": {"type": "message", "message_ts": ts, "channel_id": "C1"},
            "actions": [{"type": "button", "action_id": "go", "block_id": "b", "value": "1"}],
        }
    )
    slack.wait_for(lambda s: (m := s.message("C1", ts)) is not None and m.text == "Clicked")

    said = slack.user_message("C1", "<@U0BOT> hello")
    requester.event(
        {
            "type": "app_mention",
            "user": "U0ALICE",
            "text": said.text,
            "ts": said.ts,
            "channel": "C1",
        }
    )
    slack.wait_for(lambda s: [m.text for m in s.thread("C1", said.ts)] == ["Hello"])
    assert requester.forge("command=%2Fdeepnote", signing_secret="wrong").status_code == 401
    requester.close()
    assert slack.violations == []
