"""Faults the bot must survive: Deepnote and Slack failures, two processes, bad databases."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest

from bot.clock import ManualClock
from bot.logs import setup_logging
from bot.offline.simulator import HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID, Simulator
from bot.offline.slack_standin import SlackStandIn
from tests.conftest import BOT_TOKEN, DEEPNOTE_KEY, SIGNING_SECRET, Bots, Harness, start_bot
from tests.e2e.support import run_cli

CHANNEL = "C0GENERAL"


def shown(message: object) -> str:
    return json.dumps(getattr(message, "blocks", None) or getattr(message, "text", ""))


def started(h: Harness, count: int) -> None:
    h.slack.wait_for(lambda s: len(s.calls("chat.update")) >= count)


def cards(h: Harness) -> list[object]:
    return [m for m in h.slack.messages(CHANNEL) if m.thread_ts is None]


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 429, "message": "Too many requests", "retry_after": 3},
        {"status": 429, "message": "Too many requests"},
        {"status": 500, "message": "Internal error"},
        {"status": 502, "message": "Bad gateway"},
        {"status": 503, "message": "Service unavailable"},
        {"reset": True},
        {"malformed": True, "status": 200},
        {"status": 409, "message": "Project is suspended"},
        {"status": 401, "message": "Unauthorized"},
    ],
    ids=["429-retry-after", "429", "500", "502", "503", "reset", "malformed", "409", "401"],
)
def test_status_read_faults_do_not_stop_the_poller(
    harness: Harness, fault: dict[str, object]
) -> None:
    h = harness
    h.command(f"run {SALES_NOTEBOOK_ID} region=Europe")
    h.command(f"run {HELLO_NOTEBOOK_ID}")
    started(h, 2)
    first = next(iter(h.deepnote.runs))
    h.deepnote.inject("GET", f"/v2/runs/{first}", times=4, **fault)  # type: ignore[arg-type]
    for _ in range(60):
        h.advance(2)
    assert h.bot.services.store.open_count() == 0
    for card in cards(h):
        assert "succeeded" in card.text
        assert len(h.slack.thread(CHANNEL, card.ts)) == 1


@pytest.fixture
def following(bots: Bots) -> Harness:
    """A bot that gives a run up after a minute of errors, following one Sales run."""
    h = bots.start(LOST_AFTER_SECONDS="60")
    h.command(f"run {SALES_NOTEBOOK_ID} region=Europe")
    started(h, 1)
    return h


def test_run_gone_404_is_reported_as_lost_not_dropped(
    following: Harness, deepnote: Simulator
) -> None:
    h = following
    run = next(iter(deepnote.runs))
    deepnote.inject("GET", f"/v2/runs/{run}", status=404, message="Run not found", times=1000)
    for _ in range(40):
        h.advance(5)
    card = cards(h)[0]
    assert "no longer followed" in card.text
    reply = shown(h.slack.thread(CHANNEL, card.ts)[0])
    assert "Run not found" in reply
    before = len(deepnote.requests)
    h.advance(60)
    assert len(deepnote.requests) == before  # no longer polled


def test_revoked_key_reported_with_what_to_do(following: Harness, deepnote: Simulator) -> None:
    h = following
    deepnote.revoke_key()
    for _ in range(40):
        h.advance(5)
    card = cards(h)[0]
    reply = shown(h.slack.thread(CHANNEL, card.ts)[0]).replace("\\u2060", "")
    assert "DEEPNOTE_API_KEY" in reply


def test_slack_429_on_edit_is_retried_after_retry_after(harness: Harness) -> None:
    h = harness
    h.command(f"run {HELLO_NOTEBOOK_ID}")
    started(h, 1)
    h.slack.inject("chat.update", status=429, retry_after=0, times=3)
    h.run_until_finished()
    for _ in range(10):
        h.advance(2)
    card = cards(h)[0]
    assert "succeeded" in card.text
    assert len(h.slack.thread(CHANNEL, card.ts)) == 1


def test_slack_5xx_on_reply_is_retried_later(harness: Harness) -> None:
    h = harness
    h.command(f"run {HELLO_NOTEBOOK_ID}")
    started(h, 1)
    h.slack.inject("chat.postMessage", status=503, times=2)
    for _ in range(20):
        h.advance(2)
    card = cards(h)[0]
    assert len(h.slack.thread(CHANNEL, card.ts)) == 1


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "is_archived"])
def test_unrecoverable_slack_errors_are_recorded_reported_and_not_retried(
    harness: Harness, error: str
) -> None:
    h = harness
    h.command(f"run {HELLO_NOTEBOOK_ID}")
    started(h, 1)
    h.slack.inject("chat.update", error=error, times=None, channel=CHANNEL)
    h.slack.inject("chat.postMessage", error=error, times=None, channel=CHANNEL)
    for _ in range(10):
        h.advance(2)
    run = h.bot.services.store.recent_for_user("U0ALICE")[0]
    assert h.bot.services.store.slack_error(run.id) == error
    dms = [m for m in h.slack.all_messages() if m.channel != CHANNEL]
    assert len(dms) == 1
    assert "could not update" in dms[0].text
    calls = len(h.slack.calls())
    for _ in range(10):
        h.advance(30)
    assert len(h.slack.calls()) == calls  # never retried forever


def test_revoked_slack_token_stops_posting_without_a_storm(harness: Harness) -> None:
    h = harness
    h.command(f"run {HELLO_NOTEBOOK_ID}")
    started(h, 1)
    h.slack.revoke()
    for _ in range(10):
        h.advance(2)
    calls = len(h.slack.calls())
    for _ in range(10):
        h.advance(30)
    assert len(h.slack.calls()) == calls


def test_two_processes_on_one_database_post_once(
    tmp_path: Path, slack: SlackStandIn, deepnote: Simulator, clock: ManualClock
) -> None:
    db = tmp_path / "bot.db"
    a = start_bot(slack, deepnote, clock, db)
    b = start_bot(slack, deepnote, clock, db)
    stream = io.StringIO()
    setup_logging("INFO", [], stream=stream)
    try:
        a.command(f"run {SALES_NOTEBOOK_ID} region=Europe")
        b.command(f"run {SALES_NOTEBOOK_ID} region=Mars", channel_id=CHANNEL)
        slack.wait_for(lambda s: len(s.calls("chat.update")) >= 2)
        worked = []
        for _ in range(15):
            clock.advance(seconds=1)
            worked.append((a.bot.tick(), b.bot.tick()))
        assert any(x for x, _ in worked) != any(y for _, y in worked)
        assert "another bot process is following runs on this database" in stream.getvalue()
        for card in cards(a):
            assert len(slack.thread(CHANNEL, card.ts)) == 1
        assert len(cards(a)) == 2
    finally:
        logging.getLogger().handlers.clear()
        a.stop()
        b.stop()


def _serve(env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "DEEPNOTE_API_KEY": DEEPNOTE_KEY,
        "PORT": "0",
        # Start-up asks Slack and Deepnote: never the real ones from a test (nothing listens
        # on port 1, so they count as unreachable and start-up goes on).
        "SLACK_API_URL": "http://127.0.0.1:1/api/",
        "DEEPNOTE_API_URL": "http://127.0.0.1:1",
        **env_extra,
    }
    return run_cli("serve", env=env)


def test_corrupt_database_stops_start_up_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    path.write_bytes(b"this is not a database" * 100)
    proc = _serve({"DATABASE_PATH": str(path)})
    assert proc.returncode == 2
    assert "not a usable SQLite database" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unwritable_database_location_stops_start_up_with_a_clear_message(tmp_path: Path) -> None:
    proc = _serve({"DATABASE_PATH": str(tmp_path / "missing-dir" / "bot.db")})
    assert proc.returncode == 2
    assert "cannot be opened" in proc.stderr
    assert "Traceback" not in proc.stderr


def database_only(h: Harness) -> dict[str, str]:
    """The environment of a CLI command that needs only the bot's database."""
    return {"PATH": "/usr/bin:/bin", "DATABASE_PATH": str(h.config.database_path)}


def test_backup_makes_a_consistent_copy_while_the_bot_runs(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    h.command(f"run {HELLO_NOTEBOOK_ID}")
    started(h, 1)
    target = tmp_path / "copy.db"
    proc = run_cli("backup", str(target), env=database_only(h))
    assert proc.returncode == 0, proc.stderr
    rows = sqlite3.connect(target).execute("SELECT notebook_id FROM runs").fetchall()
    assert rows == [(HELLO_NOTEBOOK_ID,)]


def test_health_endpoint_and_command(harness: Harness) -> None:
    h = harness
    h.command(f"run {HELLO_NOTEBOOK_ID}")
    started(h, 1)
    h.advance(1)
    resp = httpx.get(f"http://127.0.0.1:{h.server.port}/healthz")
    report = resp.json()
    assert report["database"] == "ok"
    assert report["runs_in_flight"] == 1
    assert report["last_deepnote_success_at"] is not None
    assert report["last_slack_success_at"] is not None
    assert "poller_lag_seconds" in report
    # The scheduler is not started in tests (rounds are driven by hand), so: not healthy.
    assert resp.status_code == 503
    proc = run_cli("health", env=database_only(h))
    assert '"runs_in_flight": 1' in proc.stdout


def test_status_read_timeouts_are_retried_later(
    tmp_path: Path, slack: SlackStandIn, deepnote: Simulator, clock: ManualClock
) -> None:
    h = start_bot(slack, deepnote, clock, tmp_path / "bot.db", deepnote_timeout=0.3)
    try:
        h.command(f"run {HELLO_NOTEBOOK_ID}")
        started(h, 1)
        run = next(iter(deepnote.runs))
        deepnote.inject("GET", f"/v2/runs/{run}", delay=1.0, times=2)
        for _ in range(20):
            h.advance(2)
        card = cards(h)[0]
        assert "succeeded" in card.text
        assert len(h.slack.thread(CHANNEL, card.ts)) == 1
    finally:
        h.stop()


def test_refused_socket_mode_token_stops_start_up_with_a_clear_message(tmp_path: Path) -> None:
    with SlackStandIn(bot_token=BOT_TOKEN, app_token="xapp-right-token") as slack:
        proc = _serve(
            {
                "SLACK_APP_TOKEN": "xapp-wrong-token",
                "SLACK_API_URL": slack.api_url,
                "DATABASE_PATH": str(tmp_path / "bot.db"),
            }
        )
    assert proc.returncode == 2
    assert "Slack refused the Socket Mode connection" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "xapp-wrong-token" not in proc.stderr


def test_port_in_use_stops_start_up_with_a_clear_message(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))  # noqa: S104 - the bot binds all interfaces too
        busy.listen()
        proc = _serve(
            {"PORT": str(busy.getsockname()[1]), "DATABASE_PATH": str(tmp_path / "bot.db")}
        )
    assert proc.returncode == 2
    assert "cannot listen on PORT" in proc.stderr
