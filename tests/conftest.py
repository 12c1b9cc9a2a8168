"""Shared fixtures: real local servers for Slack and Deepnote, a real SQLite file, a bot.

Nothing of the project is mocked: the bot talks HTTP to the Slack stand-in and to the
Deepnote simulator on 127.0.0.1, and Slack's side of the conversation is played by signed
HTTP requests into the bot's own HTTP endpoint.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from bot.app import BotApp, build_app
from bot.clock import ManualClock
from bot.config import Config, load_config
from bot.deepnote.client import DeepnoteClient
from bot.offline.simulator import Simulator
from bot.offline.slack_standin import SlackRequester, SlackStandIn
from bot.slack.gateway import make_web_client
from bot.web.http_server import BotHTTPServer
from storage.engine import is_postgres_url, open_database
from storage.records import RunRecord

pytest_plugins = ["tests.pg"]

# CI runs the property tests with a fixed seed, so a landing never depends on luck;
# locally they explore new examples on every run.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

SIGNING_SECRET = "test-signing-secret-5f2b9c0d1e"
BOT_TOKEN = "xoxb-test-bot-token-8d7c6b5a4f"
DEEPNOTE_KEY = "dn-test-api-key-1a2b3c4d5e6f"
START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

# Reference data copied into the repository (with its licences): tests read nothing outside it.
DATA = Path(__file__).resolve().parent / "data"


def run_record(**changes: Any) -> RunRecord:
    """A run as the store keeps it, with plain defaults for the fields a test leaves out."""
    fields: dict[str, Any] = {
        "id": "run-1",
        "notebook_id": "nb",
        "notebook_name": "Sales",
        "user_id": "U1",
        "team_id": "T1",
        "channel_id": "C1",
        "status": "running",
        "created_at": START,
    }
    return RunRecord(**{**fields, **changes})


def bot_env(
    slack: SlackStandIn, deepnote: Simulator, db_path: Path | str, **extra: str
) -> dict[str, str]:
    """The environment a bot under test is configured from; `db_path` is a SQLite file or a
    PostgreSQL URL."""
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "DEEPNOTE_API_KEY": DEEPNOTE_KEY,
        "DEEPNOTE_API_URL": deepnote.url,
        **_database_env(db_path),
        "POLL_INTERVAL_SECONDS": "1",
        # Tests drive rounds faster than real time: pacing and the request budget are
        # real-time limits, tested on their own (test_pacing.py) and measured in bench/.
        "SLACK_CHANNEL_PACE_SECONDS": "0",
        "DEEPNOTE_REQUESTS_PER_SECOND": "1000",
    }
    env.update(extra)
    return env


def _database_env(target: Path | str) -> dict[str, str]:
    """DATABASE_URL for a PostgreSQL URL, DATABASE_PATH for a SQLite file."""
    if is_postgres_url(str(target)):
        return {"DATABASE_URL": str(target)}
    return {"DATABASE_PATH": str(target)}


@dataclass
class Harness:
    """A running bot wired to the fakes, plus handles to drive it."""

    config: Config
    bot: BotApp
    server: BotHTTPServer
    slack: SlackStandIn
    deepnote: Simulator
    clock: ManualClock
    requester: SlackRequester
    sleeps: list[float] = field(default_factory=list)

    def command(self, text: str, **kwargs: Any) -> Any:
        """Type `/deepnote <text>` in Slack."""
        return self.requester.slash_command(text, **kwargs)

    def advance(self, seconds: float) -> None:
        """Let time pass and run one background round."""
        self.clock.advance(seconds=seconds)
        self.bot.tick()

    def run_until_finished(self, limit: int = 30) -> None:
        """Advance a second at a time until no run is being followed."""
        for _ in range(limit):
            self.advance(1)
            if self.bot.services.store.open_count() == 0:
                self.bot.tick()
                return
        raise AssertionError("runs did not finish")

    def stop(self) -> None:
        """Stop the bot (as a clean shutdown would)."""
        self.server.stop()
        self.bot.shutdown()
        self.bot.services.db.close()


def start_bot(
    slack: SlackStandIn,
    deepnote: Simulator,
    clock: ManualClock,
    db_path: Path | str,
    *,
    deepnote_timeout: float = 10.0,
    **extra: str,
) -> Harness:
    """Build and start a bot against the fakes (HTTP mode, port 0)."""
    config = load_config(bot_env(slack, deepnote, db_path, **extra))
    sleeps: list[float] = []
    client = DeepnoteClient(
        base_url=config.deepnote_api_url,
        api_key=config.deepnote_api_key,
        sleep=sleeps.append,
        timeout=deepnote_timeout,
    )
    bot = build_app(
        config,
        slack=make_web_client(config.slack_bot_token, config.slack_api_url),
        deepnote=client,
        db=open_database(db_path),
        clock=clock,
    )
    server = BotHTTPServer(
        bot.bolt, health=bot.health, host="127.0.0.1", port=0, signing_secret=SIGNING_SECRET
    )
    server.start()
    requester = SlackRequester(
        bot_url=f"http://127.0.0.1:{server.port}/slack/events",
        signing_secret=SIGNING_SECRET,
        standin=slack,
    )
    return Harness(config, bot, server, slack, deepnote, clock, requester, sleeps)


@pytest.fixture
def clock() -> ManualClock:
    """A clock that moves only when a test says so."""
    return ManualClock(START)


@pytest.fixture
def slack(clock: ManualClock) -> Iterator[SlackStandIn]:
    """The local stand-in for Slack's Web API."""
    with SlackStandIn(bot_token=BOT_TOKEN, clock=clock) as standin:
        yield standin


@pytest.fixture
def deepnote(clock: ManualClock) -> Iterator[Simulator]:
    """The Deepnote API simulator, on the test's clock."""
    with Simulator(api_key=DEEPNOTE_KEY, clock=clock) as sim:
        yield sim


class Bots:
    """Starts bots on one database file; stops whichever are still running at the end."""

    def __init__(
        self, slack: SlackStandIn, deepnote: Simulator, clock: ManualClock, path: Path | str
    ) -> None:
        self.slack, self.deepnote, self.clock, self.path = slack, deepnote, clock, path
        self.running: list[Harness] = []

    def start(self, **extra: str) -> Harness:
        """Start one more bot on the shared file, with `extra` settings."""
        h = start_bot(self.slack, self.deepnote, self.clock, self.path, **extra)
        self.running.append(h)
        return h

    def stop(self, h: Harness) -> None:
        """Stop this bot before the test ends (a restart)."""
        self.running.remove(h)
        h.stop()


@pytest.fixture
def bots(
    database_target: str, slack: SlackStandIn, deepnote: Simulator, clock: ManualClock
) -> Iterator[Bots]:
    """A factory of bots sharing one database (for restarts and two processes); a test may
    also start one bot with its own settings. The database is a SQLite file, or PostgreSQL
    where the module's `engine` fixture says so."""
    factory = Bots(slack, deepnote, clock, database_target)
    yield factory
    for h in list(factory.running):
        factory.stop(h)


@pytest.fixture
def harness(bots: Bots) -> Harness:
    """A running bot in HTTP mode against the fakes, with a real SQLite file."""
    return bots.start()
