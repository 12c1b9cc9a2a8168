"""The WSGI front called directly: signature on the raw bytes first, replays, health reads."""

from __future__ import annotations

import io
import json
import time
from typing import Any

from slack_bolt import BoltRequest, BoltResponse

from bot.offline.slack_standin.signing import sign_request
from bot.web.front import SlackFront
from storage.seen_requests import SeenRequests
from storage.sqlite import SQLiteDatabase

SECRET = "front-secret"


class FakeBolt:
    """Stands in for the Bolt app: records what it was asked, answers `status`."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.bodies: list[str] = []

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        self.bodies.append(req.raw_body)
        return BoltResponse(status=self.status, body="")


def make_front(bolt: FakeBolt, health: Any = None) -> SlackFront:
    db = SQLiteDatabase(":memory:")
    db.migrate()
    return SlackFront(
        bolt,  # type: ignore[arg-type]
        health=health or (lambda: (True, {"database": "ok"})),
        signing_secret=SECRET,
        seen=SeenRequests(db),
    )


def call(
    front: SlackFront, body: bytes, headers: dict[str, str], path: str = "/slack/events"
) -> tuple[int, dict[str, Any]]:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "wsgi.input": io.BytesIO(body),
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()},
    }
    seen: list[str] = []
    data = b"".join(front(environ, lambda status, _headers: seen.append(status)))  # type: ignore[arg-type]
    return int(seen[0].split()[0]), json.loads(data) if data else {}


def signed(body: bytes, when: float | None = None) -> dict[str, str]:
    return sign_request(SECRET, body, int(when if when is not None else time.time()))


def test_unsigned_forged_and_stale_requests_never_reach_bolt() -> None:
    bolt = FakeBolt()
    front = make_front(bolt)
    body = b"payload=" + b"[" * 100_000  # would blow a JSON parser's stack
    assert call(front, body, {})[0] == 401
    assert call(front, body, {**signed(body), "X-Slack-Signature": "v0=00"})[0] == 401
    assert call(front, body, signed(body, time.time() - 600))[0] == 401
    assert bolt.bodies == []


def test_a_timestamp_that_is_not_a_number_is_a_bad_request() -> None:
    bolt = FakeBolt()
    front = make_front(bolt)
    for stamp in ("abc", "-5", "1e9", "9" * 40):
        status, answer = call(front, b"a=1", {**signed(b"a=1"), "X-Slack-Request-Timestamp": stamp})
        assert status == 400, stamp
        assert "Unix time" in answer["message"]
    assert bolt.bodies == []


def test_the_same_signed_bytes_are_handled_once() -> None:
    bolt = FakeBolt()
    front = make_front(bolt)
    headers = signed(b"command=%2Fdeepnote&text=run")
    assert call(front, b"command=%2Fdeepnote&text=run", headers)[0] == 200
    status, answer = call(front, b"command=%2Fdeepnote&text=run", headers)
    assert status == 200
    assert answer["error"] == "replayed_request"
    assert "starts nothing" in answer["text"]
    assert len(bolt.bodies) == 1
    # Slack's own retry is signed anew (new timestamp): it is passed on.
    assert (
        call(
            front,
            b"command=%2Fdeepnote&text=run",
            signed(b"command=%2Fdeepnote&text=run", time.time() + 1),
        )[0]
        == 200
    )
    assert len(bolt.bodies) == 2


def test_a_request_bolt_did_not_accept_may_come_again() -> None:
    bolt = FakeBolt(status=404)
    front = make_front(bolt)
    headers = signed(b"a=1")
    assert call(front, b"a=1", headers)[0] == 404
    bolt.status = 200
    assert call(front, b"a=1", headers)[0] == 200
    assert len(bolt.bodies) == 2


def test_body_that_is_not_utf8_is_a_bad_request() -> None:
    front = make_front(FakeBolt())
    assert call(front, b"\xff\xfe", signed(b"\xff\xfe"))[0] == 400


def test_health_is_read_once_a_second_on_one_thread() -> None:
    reads: list[str] = []

    def health() -> tuple[bool, dict[str, Any]]:
        import threading

        reads.append(threading.current_thread().name)
        return False, {"database": "ok"}

    front = make_front(FakeBolt(), health)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/healthz", "wsgi.input": io.BytesIO()}
    statuses: list[str] = []
    for _ in range(50):
        front(environ, lambda status, _h: statuses.append(status))  # type: ignore[arg-type]
    assert statuses == ["503 Service Unavailable"] * 50
    assert len(reads) == 1
    assert reads[0].startswith("health")
    front.close()


def test_unknown_paths_and_methods() -> None:
    front = make_front(FakeBolt())
    assert call(front, b"", {}, path="/other")[0] == 404
    assert call(front, b"", {}, path="/healthz")[0] == 405
