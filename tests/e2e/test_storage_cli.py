"""The storage commands and start-up rules, as a person at a terminal meets them: copying an
installation into PostgreSQL, backups, health, refusing a disk that is wiped, secrets kept."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import psycopg
import pytest

from bot.offline.pgserver import PostgresServer
from bot.offline.simulator import HELLO_NOTEBOOK_ID, Simulator
from bot.offline.slack_standin import SlackRequester, SlackStandIn
from tests.conftest import SIGNING_SECRET
from tests.e2e.support import BotProcess, process_env, run_cli

CHANNEL = "C0GENERAL"


def serve_env(slack: SlackStandIn, deepnote: Simulator, target: Path | str, **extra: str) -> dict:
    return process_env(
        slack, deepnote, target, SLACK_SIGNING_SECRET=SIGNING_SECRET, PORT="0", **extra
    )


def schedule_once(bot: BotProcess, slack: SlackStandIn) -> None:
    """Make a schedule through Slack and wait for its confirmation."""
    requester = SlackRequester(
        bot_url=f"http://127.0.0.1:{bot.port}/slack/events",
        signing_secret=SIGNING_SECRET,
        standin=slack,
    )
    requester.slash_command(
        f'schedule {HELLO_NOTEBOOK_ID} "0 9 * * *" --tz UTC', channel_id=CHANNEL
    )
    slack.wait_for(lambda s: any("Schedule 1" in m.text for m in s.messages(CHANNEL)), timeout=20)
    requester.close()


def counts(output: str) -> dict[str, tuple[int, int]]:
    found = re.findall(r"^\s+(\w+): (\d+) rows copied, (\d+) in the target$", output, re.M)
    return {table: (int(a), int(b)) for table, a, b in found}


def test_migrate_db_copies_an_installation_and_is_safe_to_rerun(
    tmp_path: Path, slack: SlackStandIn, deepnote: Simulator, postgres_url: str
) -> None:
    sqlite_path = tmp_path / "bot.db"
    bot = BotProcess(serve_env(slack, deepnote, sqlite_path))
    schedule_once(bot, slack)
    assert bot.terminate() == 0

    args = ("migrate-db", "--from", f"sqlite:///{sqlite_path}", "--to", postgres_url)
    first = run_cli(*args, env={"PATH": ""})
    assert first.returncode == 0, first.stderr
    copied = counts(first.stdout)
    assert copied["schedules"] == (1, 1)
    assert copied["audit"][0] >= 1
    again = run_cli(*args, env={"PATH": ""})
    assert again.returncode == 0, again.stderr
    assert counts(again.stdout) == copied  # nothing doubled
    assert "Running it again is safe" in again.stdout

    # The bot started on PostgreSQL has the schedule, and new ids continue after the old ones.
    bot = BotProcess(serve_env(slack, deepnote, postgres_url))
    schedule_once(bot, slack)  # waits for "Schedule 1"; the new one is schedule 2
    slack.wait_for(lambda s: any("Schedule 2" in m.text for m in s.messages(CHANNEL)), timeout=20)
    bot.terminate()
    with psycopg.connect(postgres_url) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM schedules ORDER BY id")]
    assert ids == [1, 2]


def test_migrate_db_from_a_missing_file_says_so(tmp_path: Path, postgres_url: str) -> None:
    done = run_cli(
        "migrate-db", "--from", f"sqlite:///{tmp_path}/nope.db", "--to", postgres_url, env={}
    )
    assert done.returncode == 2
    assert "No database at" in done.stderr


def test_on_heroku_without_database_url_the_bot_refuses_to_start(
    tmp_path: Path, slack: SlackStandIn, deepnote: Simulator
) -> None:
    env = serve_env(slack, deepnote, tmp_path / "bot.db", DYNO="web.1")
    done = run_cli("serve", env=env)
    assert done.returncode == 2
    assert "DATABASE_URL is not set, and this is Heroku" in done.stderr
    assert "ALLOW_EPHEMERAL_STORAGE=1" in done.stderr
    assert not (tmp_path / "bot.db").exists()  # refused before anything was written
    # Opting in to losing state starts it.
    bot = BotProcess({**env, "ALLOW_EPHEMERAL_STORAGE": "1"})
    assert bot.terminate() == 0


def test_on_heroku_with_postgres_the_bot_starts_and_health_names_backend_and_leader(
    slack: SlackStandIn, deepnote: Simulator, postgres_url: str
) -> None:
    # With a password in the URL (the test server trusts local connections and ignores it).
    url = postgres_url.replace("postgres@", "postgres:pw-6d1f0a-secret@")
    env = serve_env(slack, deepnote, url, DYNO="web.1", LOG_LEVEL="DEBUG")
    bot = BotProcess(env)
    try:
        holder = bot.wait_for_log("leader", timeout=20)["holder"]
        health = run_cli("health", env=env)
    finally:
        bot.terminate()
    assert "pw-6d1f0a-secret" not in "".join(bot.lines) + health.stdout + health.stderr
    report = json.loads(health.stdout)
    assert health.returncode == 0, health.stdout + health.stderr
    assert report["storage"].startswith("PostgreSQL database t_")
    assert report["leader"] == holder


def test_backup_on_postgres_is_a_pg_dump_that_restores(
    tmp_path: Path,
    slack: SlackStandIn,
    deepnote: Simulator,
    postgres_url: str,
    postgres_server: PostgresServer,
) -> None:
    env = serve_env(slack, deepnote, postgres_url)
    bot = BotProcess(env)
    schedule_once(bot, slack)
    dump = tmp_path / "bot.dump"
    done = run_cli("backup", str(dump), env=env)  # while the bot runs
    bot.terminate()
    assert done.returncode == 0, done.stderr
    assert "Backed up PostgreSQL database t_" in done.stdout
    assert "pg_restore --no-owner" in done.stdout
    again = run_cli("backup", str(dump), env=env)
    assert again.returncode == 4
    assert "already exists" in again.stderr
    restored = postgres_server.create_database()
    subprocess.run(
        ["pg_restore", "--no-owner", f"--dbname={restored}", str(dump)],
        check=True,
        capture_output=True,
    )
    with psycopg.connect(restored) as conn:
        (count,) = conn.execute("SELECT count(*) FROM schedules").fetchone() or (0,)
    assert count == 1
    postgres_server.drop_database(restored)


def test_backup_on_postgres_without_pg_dump_explains_how(
    tmp_path: Path, slack: SlackStandIn, deepnote: Simulator, postgres_url: str
) -> None:
    env = {**serve_env(slack, deepnote, postgres_url), "PATH": ""}
    done = run_cli("backup", str(tmp_path / "x.dump"), env=env)
    assert done.returncode == 5
    assert "pg_dump is not installed here" in done.stderr
    assert not (tmp_path / "x.dump").exists()
    assert f'pg_dump --format=custom --no-owner --file="{tmp_path}/x.dump"' in done.stderr
    assert "pg_restore" in done.stderr


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_an_unreachable_database_is_explained_without_its_password(
    slack: SlackStandIn, deepnote: Simulator, scheme: str
) -> None:
    url = f"{scheme}://bot:hunter2-pg-secret@127.0.0.1:1/deepnote"
    done = run_cli("serve", env=serve_env(slack, deepnote, url))
    assert done.returncode == 2
    assert "PostgreSQL database deepnote on 127.0.0.1:1 cannot be used" in done.stderr
    assert "Check DATABASE_URL" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout
