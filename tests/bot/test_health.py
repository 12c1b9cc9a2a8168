"""Start-up checks of Slack and Deepnote (`BotApp.check_connections`) and the health report
they feed, on a real bot against the Slack stand-in and the Deepnote simulator."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from bot.errors import CredentialRejected
from bot.health import CallRecorder, read_health, save_heartbeat
from storage.sqlite import SQLiteDatabase
from tests.conftest import START, Harness


def _me_requests(h: Harness) -> list[float]:
    return [r.received for r in h.deepnote.requests if r.path == "/v2/me"]


def test_both_services_answer_once_and_nothing_is_waited_for(harness: Harness) -> None:
    h = harness
    rejected: list[CredentialRejected] = []
    connections = h.bot.check_connections(rejected.append)
    assert connections.wait_first(5)
    assert connections.waiting() == {}
    assert rejected == []
    answered: list[str] = []
    connections.on_all_answered(lambda: answered.append("now"))
    assert answered == ["now"]
    assert [c.ok for c in h.slack.calls("auth.test")] == [True]
    assert len(_me_requests(h)) == 1
    assert h.bot.calls.slack_ok is not None
    assert h.bot.calls.deepnote_ok is not None
    assert "waiting_for" not in h.bot.health()[1]


def test_an_unreachable_service_is_asked_again_with_doubling_waits(harness: Harness) -> None:
    h = harness
    h.deepnote.inject("GET", "/v2/me", reset=True, times=2)
    connections = h.bot.check_connections(lambda exc: None, first_retry=0.5)
    assert connections.wait_first(5)
    assert list(connections.waiting()) == ["Deepnote"]
    ok, details = h.bot.health()
    assert not ok
    assert "Deepnote could not be reached for GET /v2/me" in details["waiting_for"]["Deepnote"]
    answered = threading.Event()
    connections.on_all_answered(answered.set)
    assert answered.wait(10)
    assert connections.waiting() == {}
    assert "waiting_for" not in h.bot.health()[1]
    first, second, third = _me_requests(h)
    # Waits of 0.5 s then 1 s (the upper bounds leave room for a loaded machine).
    assert 0.45 <= second - first < 1.4
    assert 0.95 <= third - second < 2.5


def test_a_rejected_key_is_reported_and_never_asked_again(harness: Harness) -> None:
    h = harness
    h.deepnote.revoke_key()
    got: list[CredentialRejected] = []
    connections = h.bot.check_connections(got.append, first_retry=0.05)
    assert connections.wait_first(5)
    assert [(e.service, e.setting) for e in got] == [("Deepnote", "DEEPNOTE_API_KEY")]
    time.sleep(0.3)
    assert len(_me_requests(h)) == 1
    assert "DEEPNOTE_API_KEY" in connections.waiting()["Deepnote"]


def test_a_rejected_token_names_slacks_code(harness: Harness) -> None:
    h = harness
    h.slack.inject("auth.test", error="account_inactive")
    got: list[CredentialRejected] = []
    connections = h.bot.check_connections(got.append)
    assert connections.wait_first(5)
    assert [str(e).split(".")[0] for e in got] == [
        "Slack rejected SLACK_BOT_TOKEN (account_inactive)"
    ]
    assert h.config.slack_bot_token not in str(got[0])


def test_shutdown_stops_the_retries(harness: Harness) -> None:
    h = harness
    h.deepnote.inject("GET", "/v2/me", reset=True, times=100)
    connections = h.bot.check_connections(lambda exc: None, first_retry=0.05)
    assert connections.wait_first(5)
    connections.stop()
    time.sleep(0.2)
    asked = len(_me_requests(h))
    time.sleep(0.5)
    assert len(_me_requests(h)) == asked


def test_the_health_command_names_a_service_that_never_answered(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "bot.db")
    db.migrate()
    calls = CallRecorder()
    calls.slack(START)
    save_heartbeat(db, "host:1", START, calls)
    report = read_health(db, START, stale_after=30, require_answers=True)
    assert not report.ok
    assert report.details["waiting_for"] == {"Deepnote": "no answer since the bot started"}
    assert report.details["status"].startswith("waiting for Deepnote: it has not answered")
    # The in-process report judges from the live checks instead (a bot never asked is not
    # waiting for anything).
    assert read_health(db, START, stale_after=30).ok
    calls.deepnote(START)
    save_heartbeat(db, "host:1", START, calls)
    assert read_health(db, START, stale_after=30, require_answers=True).ok
