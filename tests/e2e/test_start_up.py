"""First contact: what the real `deepnote-bot serve` does at start-up with a token Slack
rejects, a key Deepnote rejects, or a service it cannot reach, and what `backup` and the
`--help` of `serve`, `health` and `backup` say.

The bot runs as a subprocess against the Slack stand-in and the Deepnote simulator on the
real clock.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.offline.simulator import Simulator
from bot.offline.slack_standin import SlackStandIn
from storage.sqlite import SQLiteDatabase
from tests.conftest import BOT_TOKEN, DEEPNOTE_KEY, SIGNING_SECRET
from tests.e2e.support import BotProcess, process_env, run_cli

WRONG_TOKEN = "xoxb-not-the-installed-token-7f3e2d1c"
WRONG_KEY = "dn-not-a-key-deepnote-knows-9a8b7c"


@pytest.fixture
def fakes() -> Iterator[tuple[SlackStandIn, Simulator]]:
    """Slack and Deepnote on the real clock, each accepting only its own token or key."""
    with (
        SlackStandIn(bot_token=BOT_TOKEN) as slack,
        Simulator(api_key=DEEPNOTE_KEY) as sim,
    ):
        yield slack, sim


def _env(fakes: tuple[SlackStandIn, Simulator], tmp_path: Path, **extra: str) -> dict[str, str]:
    slack, sim = fakes
    return process_env(
        slack, sim, tmp_path / "bot.db", SLACK_SIGNING_SECRET=SIGNING_SECRET, PORT="0", **extra
    )


def _json_lines(text: str) -> list[dict[str, Any]]:
    found = []
    for line in text.splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def _free_port() -> int:
    """A port nothing listens on (yet)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- rejected credentials -------------------------------------------------------------------


def test_a_token_slack_rejects_stops_start_up_with_one_message(
    fakes: tuple[SlackStandIn, Simulator], tmp_path: Path
) -> None:
    started = time.monotonic()
    proc = run_cli("serve", env=_env(fakes, tmp_path, SLACK_BOT_TOKEN=WRONG_TOKEN))
    took = time.monotonic() - started
    assert proc.returncode == 3, proc.stderr
    assert took < 10
    assert (
        "The bot cannot start: Slack rejected SLACK_BOT_TOKEN (invalid_auth). Copy the Bot "
        "User OAuth Token" in proc.stderr
    )
    rejected = [e for e in _json_lines(proc.stderr) if e.get("event") == "credential_rejected"]
    assert [(e["service"], e["setting"], e["level"]) for e in rejected] == [
        ("Slack", "SLACK_BOT_TOKEN", "ERROR")
    ]
    assert not any(e.get("event") in ("ready", "waiting") for e in _json_lines(proc.stderr))
    assert WRONG_TOKEN not in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_revoked_slack_token_stops_start_up(
    fakes: tuple[SlackStandIn, Simulator], tmp_path: Path
) -> None:
    slack, _ = fakes
    slack.revoke()
    proc = run_cli("serve", env=_env(fakes, tmp_path))
    assert proc.returncode == 3, proc.stderr
    assert "Slack rejected SLACK_BOT_TOKEN (token_revoked)" in proc.stderr
    assert BOT_TOKEN not in proc.stderr


def test_a_key_deepnote_rejects_stops_start_up_with_one_message(
    fakes: tuple[SlackStandIn, Simulator], tmp_path: Path
) -> None:
    started = time.monotonic()
    proc = run_cli("serve", env=_env(fakes, tmp_path, DEEPNOTE_API_KEY=WRONG_KEY))
    took = time.monotonic() - started
    assert proc.returncode == 3, proc.stderr
    assert took < 10
    assert (
        "The bot cannot start: Deepnote rejected DEEPNOTE_API_KEY (HTTP 401). Create a key"
        in proc.stderr
    )
    rejected = [e for e in _json_lines(proc.stderr) if e.get("event") == "credential_rejected"]
    assert [(e["service"], e["setting"]) for e in rejected] == [("Deepnote", "DEEPNOTE_API_KEY")]
    assert WRONG_KEY not in proc.stderr
    assert "Traceback" not in proc.stderr


def test_both_rejected_are_named_in_one_message(
    fakes: tuple[SlackStandIn, Simulator], tmp_path: Path
) -> None:
    env = _env(fakes, tmp_path, SLACK_BOT_TOKEN=WRONG_TOKEN, DEEPNOTE_API_KEY=WRONG_KEY)
    proc = run_cli("serve", env=env)
    assert proc.returncode == 3, proc.stderr
    message = proc.stderr[proc.stderr.index("The bot cannot start:") :]
    assert "Slack rejected SLACK_BOT_TOKEN" in message
    assert "Deepnote rejected DEEPNOTE_API_KEY" in message


# --- ready means connected ------------------------------------------------------------------


def test_ready_only_after_one_auth_test_and_one_v2_me_and_no_bolt_warning(
    fakes: tuple[SlackStandIn, Simulator], tmp_path: Path
) -> None:
    slack, sim = fakes
    started = time.monotonic()
    bot = BotProcess(_env(fakes, tmp_path))
    took = time.monotonic() - started
    try:
        assert [c.ok for c in slack.calls("auth.test")] == [True]
        assert [r.path for r in sim.requests if r.path == "/v2/me"] == ["/v2/me"]
        resp = httpx.get(f"http://127.0.0.1:{bot.port}/healthz", timeout=5)
        assert "waiting_for" not in resp.json()
    finally:
        assert bot.terminate() == 0
    stderr = "".join(bot.lines)
    # slack_bolt used to warn at every start: "As you gave `client` as well, `token` will be
    # unused." (it read SLACK_BOT_TOKEN from the environment next to the bot's client).
    assert "will be unused" not in stderr
    assert not [e for e in bot.events() if e["logger"].startswith("slack")]
    assert not [e for e in bot.events() if e.get("event", "").endswith("_unreachable")]
    assert took < 10


def test_deepnote_unreachable_at_start_is_waited_for_then_healthy(
    fakes: tuple[SlackStandIn, Simulator], tmp_path: Path
) -> None:
    port = _free_port()
    env = _env(fakes, tmp_path, DEEPNOTE_API_URL=f"http://127.0.0.1:{port}")
    bot = BotProcess(env, until="waiting")
    later: Simulator | None = None
    try:
        assert bot.ready["waiting_for"] == ["Deepnote"]
        health = f"http://127.0.0.1:{bot.port}/healthz"
        resp = httpx.get(health, timeout=5)
        assert resp.status_code == 503
        assert list(resp.json()["waiting_for"]) == ["Deepnote"]
        assert "Connection refused" in resp.json()["waiting_for"]["Deepnote"]
        assert resp.json()["status"].startswith("waiting for Deepnote")
        cli = _until(lambda: run_cli("health", env=env), lambda p: "waiting_for" in p.stdout)
        assert cli.returncode == 1
        assert json.loads(cli.stdout)["waiting_for"] == {
            "Deepnote": "no answer since the bot started"
        }

        later = Simulator(api_key=DEEPNOTE_KEY, port=port).start()
        ready = bot.wait_for_log("ready", timeout=20)
        assert ready["port"] == bot.port
        resp = _until(lambda: httpx.get(health, timeout=5), lambda r: r.status_code == 200)
        assert resp.json()["status"] == "ok"
        cli = _until(lambda: run_cli("health", env=env), lambda p: p.returncode == 0)
        assert "waiting_for" not in cli.stdout
    finally:
        bot.terminate()
        if later is not None:
            later.stop()
    tries = [e for e in bot.events() if e.get("event") == "deepnote_unreachable"]
    # One warning per attempt, each retry waiting twice as long as the one before.
    assert [e["attempt"] for e in tries] == list(range(1, len(tries) + 1))
    assert [e["retry_in_seconds"] for e in tries] == [2.0**n for n in range(len(tries))]
    assert all(e["level"] == "WARNING" for e in tries)
    assert [e["attempt"] for e in bot.events() if e.get("event") == "deepnote_answered"] == [
        len(tries) + 1
    ]


def test_slack_failing_at_start_is_retried_until_it_answers(
    fakes: tuple[SlackStandIn, Simulator], tmp_path: Path
) -> None:
    slack, _ = fakes
    slack.inject("auth.test", status=503, times=2)
    bot = BotProcess(_env(fakes, tmp_path), until="waiting")
    try:
        assert bot.ready["waiting_for"] == ["Slack"]
        resp = httpx.get(f"http://127.0.0.1:{bot.port}/healthz", timeout=5)
        assert resp.status_code == 503
        assert resp.json()["waiting_for"] == {
            "Slack": "Slack answered auth.test with HTTP 503, service_unavailable"
        }
        bot.wait_for_log("ready", timeout=15)
    finally:
        bot.terminate()
    assert [c.http_status for c in slack.calls("auth.test")] == [503, 503, 200]
    # Nothing but the bot's own one line per failed attempt: no slack_sdk ERROR lines.
    assert not [e for e in bot.events() if e["level"] == "ERROR"]


def test_socket_mode_waits_for_slack_then_connects(tmp_path: Path) -> None:
    app_token = "xapp-1-A0TEST-1234-start-up-app-token"
    with (
        SlackStandIn(bot_token=BOT_TOKEN, app_token=app_token) as slack,
        Simulator(api_key=DEEPNOTE_KEY) as sim,
    ):
        slack.inject("apps.connections.open", status=503, times=2)
        env = process_env(slack, sim, tmp_path / "bot.db", SLACK_APP_TOKEN=app_token)
        bot = BotProcess(env)
        try:
            assert bot.ready["mode"] == "socket"
            slack.socket_mode.wait_for_connections(1)
        finally:
            assert bot.terminate() == 0
    tries = [e for e in bot.events() if e.get("event") == "socket_mode_unreachable"]
    assert [(e["attempt"], e["retry_in_seconds"], e["error"]) for e in tries] == [
        (1, 1.0, "HTTP 503"),
        (2, 2.0, "HTTP 503"),
    ]


def _until(get: Any, good: Any, timeout: float = 15.0) -> Any:
    """Call `get` until `good(result)`, at most `timeout` seconds; the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = get()
        if good(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.3)


# --- backup ---------------------------------------------------------------------------------


@pytest.fixture
def live_db(tmp_path: Path) -> Path:
    """A bot database with one row to copy."""
    path = tmp_path / "live" / "bot.db"
    path.parent.mkdir()
    db = SQLiteDatabase(path)
    db.migrate()
    db.execute_write(
        "INSERT INTO aliases (team_id, name, notebook_id, notebook_name, created_by, created_at)"
        " VALUES ('T1', 'sales', 'nb1', 'Sales', 'U1', '2026-12-01T09:00:00+00:00')"
    )
    db.close()
    return path


def _db_env(path: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "DATABASE_PATH": str(path)}


def test_backup_writes_a_copy_and_says_how_to_restore(live_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "bot-copy.db"
    proc = run_cli("backup", str(target), env=_db_env(live_db))
    assert proc.returncode == 0, proc.stderr
    assert f"Backed up {live_db} to {target}." in proc.stdout
    assert f"To restore it: stop the bot, copy {target} over DATABASE_PATH ({live_db})" in (
        proc.stdout
    )
    rows = sqlite3.connect(target).execute("SELECT name, notebook_id FROM aliases").fetchall()
    assert rows == [("sales", "nb1")]


def test_backup_into_a_missing_folder_says_so(live_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "no-such-folder" / "bot-copy.db"
    proc = run_cli("backup", str(target), env=_db_env(live_db))
    assert proc.returncode == 3
    assert proc.stderr.strip() == (
        f"The folder {target.parent} does not exist: create it first (mkdir -p "
        f"{target.parent}) or choose a file in an existing folder."
    )
    assert not target.parent.exists()


def test_backup_onto_an_existing_file_refuses_and_keeps_it(live_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "yesterday.db"
    target.write_bytes(b"yesterday's backup")
    proc = run_cli("backup", str(target), env=_db_env(live_db))
    assert proc.returncode == 4
    assert f"{target} already exists; a backup never overwrites a file." in proc.stderr
    assert "cannot start" not in proc.stderr
    assert "Traceback" not in proc.stderr
    assert target.read_bytes() == b"yesterday's backup"


def test_backup_onto_a_folder_asks_for_a_file_name(live_db: Path, tmp_path: Path) -> None:
    proc = run_cli("backup", str(tmp_path), env=_db_env(live_db))
    assert proc.returncode == 4
    assert f"{tmp_path} is a folder: give the backup a file name inside it" in proc.stderr


def test_backup_without_a_database_says_which_path_it_read(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here.db"
    proc = run_cli("backup", str(tmp_path / "copy.db"), env=_db_env(missing))
    assert proc.returncode == 2
    assert f"There is no database at {missing} to back up" in proc.stderr
    assert not (tmp_path / "copy.db").exists()


# --- --help ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("serve", ['"ready" once it is connected and both have answered', "3 when Slack rejects"]),
        ("health", ["It reads the database only", "1 otherwise"]),
        ("backup", ["To restore: stop the bot", "3 when PATH's folder does not exist"]),
    ],
)
def test_help_describes_the_command_and_its_exit_statuses(command: str, says: list[str]) -> None:
    proc = run_cli(command, "--help", env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for phrase in [*says, "Exit status: 0"]:
        assert phrase in text


def test_health_of_an_unreachable_postgresql_is_unhealthy_without_its_password() -> None:
    """`deepnote-bot health` against a PostgreSQL server that is not there says unhealthy
    (exit 1, as for any other reason), names the server, and never shows the password."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": "postgresql://bot:s3cret-pw@127.0.0.1:1/botdb",
    }
    done = run_cli("health", env=env)
    assert done.returncode == 1, done.stderr
    assert "unhealthy" in done.stderr
    assert "127.0.0.1:1" in done.stderr
    assert "s3cret-pw" not in done.stderr + done.stdout
