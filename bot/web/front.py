"""The WSGI app behind the HTTP server: `POST /slack/events` and `GET /healthz`.

Nothing of a request's body is parsed before its signature is checked on the raw bytes:
an unsigned, forged or stale request gets 401 and costs one HMAC. A signed request is then
claimed in `SeenRequests`, so the same bytes sent again within the signature window start
nothing, and only then goes to Bolt, whose `dispatch` counts it in the foreground
(`ForegroundApp`). The server (waitress) has already read the whole body, within its size
limit, before this app sees it, so a slow sender never holds up the bot's background work.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk.signature import SignatureVerifier

from storage.seen_requests import SeenRequests

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
# A health report is read from the database at most this often, however many checks arrive.
HEALTH_CACHE_SECONDS = 1.0

Health = Callable[[], tuple[bool, dict[str, Any]]]
REPLAY_TEXT = (
    "This request was already received and answered; a repeat of it starts nothing. "
    "Type the command again to run it again."
)


class _Answer(Exception):
    """Stop handling a request and send this answer instead."""

    def __init__(self, status: int, error: str, message: str, **extra: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": error, "message": message, **extra}


class SlackFront:
    """A WSGI app: checks, then hands Slack's requests to Bolt; answers health checks."""

    def __init__(
        self,
        app: App,
        *,
        health: Health,
        signing_secret: str,
        seen: SeenRequests,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.seen = seen
        self.clock = clock
        self._health = health
        self._verifier = SignatureVerifier(signing_secret) if signing_secret else None
        # One thread reads every health report, so health checks use one database connection
        # however many server threads answer them.
        self._health_reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="health")
        self._health_lock = threading.Lock()
        self._health_at = -float("inf")
        self._health_report: tuple[bool, dict[str, Any]] = (False, {})

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer one request."""
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "")
        try:
            if path == HEALTH_PATH and method in ("GET", "HEAD"):
                ok, report = self.health()
                return _send(start_response, 200 if ok else 503, report)
            if path == EVENTS_PATH and method == "POST":
                return self._events(environ, start_response)
            if path in (HEALTH_PATH, EVENTS_PATH):
                raise _Answer(405, "method_not_allowed", f"{method} is not allowed on {path}.")
            raise _Answer(404, "not_found", "Nothing is served at this path.")
        except _Answer as answer:
            return _send(start_response, answer.status, answer.body)

    def health(self) -> tuple[bool, dict[str, Any]]:
        """The health report, read at most once every `HEALTH_CACHE_SECONDS`."""
        with self._health_lock:
            now = time.monotonic()
            if now - self._health_at >= HEALTH_CACHE_SECONDS:
                self._health_report = self._health_reader.submit(self._health).result()
                self._health_at = now
            return self._health_report

    def close(self) -> None:
        """Let the health reader thread end."""
        self._health_reader.shutdown(wait=False)

    def _events(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """A request of Slack's: signature, replay check, then Bolt."""
        raw = _body(environ)
        try:
            text = raw.decode("utf-8")  # only decoded: nothing is parsed before the signature
        except UnicodeDecodeError:
            raise _Answer(400, "bad_request", "The request body is not UTF-8 text.") from None
        claim = self._verify(environ, raw)
        query = environ.get("QUERY_STRING", "")
        try:
            response = self.app.dispatch(
                BoltRequest(body=text, query=query, headers=_headers(environ))
            )
        except Exception:
            self._release(claim)
            raise
        if not 200 <= response.status < 300:
            self._release(claim)  # not accepted: Slack may send it again
        return _send_bolt(start_response, response)

    def _verify(self, environ: WSGIEnvironment, raw: bytes) -> tuple[int, str] | None:
        """Check the signature on the raw bytes and claim it; the claim, if any, to release."""
        if self._verifier is None:
            return None
        stamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE")
        if stamp is None or signature is None:
            raise _Answer(401, "unsigned", "The request carries no Slack signature.")
        if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
            raise _Answer(
                400, "bad_request", "X-Slack-Request-Timestamp must be a Unix time in seconds."
            )
        if not self._verifier.is_valid(raw, stamp, signature):
            raise _Answer(401, "invalid_signature", "The Slack signature is wrong or too old.")
        timestamp = int(stamp)
        if _is_suggestion(raw):
            # An options request only reads, and Slack sends the same bytes again when the
            # same text is typed again within a second: never refused as a replay.
            return None
        if not self.seen.claim(timestamp, signature, now=self.clock()):
            log.warning(
                "replayed request refused", extra={"event": "replay_refused", "ts": timestamp}
            )
            # 200 with a message: the sender sees why nothing happened, as Slack shows it.
            raise _Answer(
                200, "replayed_request", REPLAY_TEXT, response_type="ephemeral", text=REPLAY_TEXT
            )
        return timestamp, signature

    def _release(self, claim: tuple[int, str] | None) -> None:
        if claim is not None:
            self.seen.release(*claim)


def _is_suggestion(raw: bytes) -> bool:
    """Whether a (signed) request is a select menu's options request (`block_suggestion`).

    >>> _is_suggestion(b'payload=%7B%22type%22%3A+%22block_suggestion%22%7D')
    True
    >>> _is_suggestion(b"payload=%7B%22type%22%3A%22block_actions%22%7D"), _is_suggestion(b"x")
    (False, False)
    """
    if not raw.startswith(b"payload=") or b"block_suggestion" not in raw:
        return False
    try:
        fields = parse_qs(raw.decode("utf-8"), max_num_fields=1)
        payload = json.loads(fields["payload"][0])
    except (ValueError, KeyError, IndexError):
        return False
    return isinstance(payload, dict) and payload.get("type") == "block_suggestion"


def _body(environ: WSGIEnvironment) -> bytes:
    """The whole body, already read by the server within its size limit."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise _Answer(400, "bad_request", "Content-Length is not a number.") from None
    stream = environ["wsgi.input"]
    return bytes(stream.read(length)) if length > 0 else b""


def _headers(environ: WSGIEnvironment) -> dict[str, str | Sequence[str]]:
    """The request's headers by their HTTP names, as Bolt reads them."""
    headers: dict[str, str | Sequence[str]] = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    return headers


def _send(start_response: StartResponse, status: int, body: dict[str, Any]) -> list[bytes]:
    """A JSON answer."""
    data = json.dumps(body, default=str).encode("utf-8")
    start_response(
        _status_line(status),
        [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(data)))],
    )
    return [data]


def _send_bolt(start_response: StartResponse, response: BoltResponse) -> list[bytes]:
    """Bolt's answer as it made it; JSON unless it names another content type."""
    data = response.body.encode("utf-8")
    headers: list[tuple[str, str]] = []
    for key, values in response.headers.items():
        if key.lower() == "content-length":
            continue
        for value in values if isinstance(values, list | tuple) else [values]:
            headers.append((key, str(value)))
    if not any(key.lower() == "content-type" for key, _ in headers):
        headers.append(("Content-Type", "application/json; charset=utf-8"))
    headers.append(("Content-Length", str(len(data))))
    start_response(_status_line(response.status), headers)
    return [data]


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"
