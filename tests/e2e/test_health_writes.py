"""Health reports a database that cannot be written; Slack errors get the right advice
(issue 12, item 11).

The health test runs the real `deepnote-bot serve` and `deepnote-bot health` in subprocesses
and makes the database files unwritable under them: immutable (`chattr +i`) when the tests
run as root, whom file modes do not stop, else read-only modes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.offline.simulator import HELLO_NOTEBOOK_ID, Simulator
from bot.offline.slack_standin import SlackStandIn
from tests.conftest import BOT_TOKEN, DEEPNOTE_KEY, SIGNING_SECRET, Harness
from tests.e2e.support import ROOT, BotProcess, process_env

CHANNEL = "C0GENERAL"


@pytest.fixture
def live_fakes() -> Iterator[tuple[SlackStandIn, Simulator]]:
    """The fakes on the real clock."""
    with (
        SlackStandIn(bot_token=BOT_TOKEN) as slack,
        Simulator(api_key=DEEPNOTE_KEY) as sim,
    ):
        yield slack, sim


def healthz(port: int) -> tuple[int, dict[str, Any]]:
    """GET /healthz: the status code and the report."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def healthz_until(port: int, wanted: int, timeout: float = 5.0) -> tuple[int, dict[str, Any]]:
    """GET /healthz until it answers `wanted` (or the time is up): the last answer."""
    deadline = time.monotonic() + timeout
    status, report = healthz(port)
    while status != wanted and time.monotonic() < deadline:
        time.sleep(0.2)
        status, report = healthz(port)
    return status, report


class Unwritable:
    """Makes files unwritable, also through descriptors already open when run as root."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = [p for p in paths if p.exists()]
        self.root = os.geteuid() == 0
        if self.root and shutil.which("chattr") is None:
            pytest.skip("running as root without chattr: cannot make the database unwritable")

    def __enter__(self) -> Unwritable:
        if self.root:
            done = subprocess.run(["chattr", "+i", *map(str, self.paths)], capture_output=True)
            if done.returncode != 0:
                pytest.skip(f"chattr +i is not supported here: {done.stderr!r}")
        else:
            for path in self.paths:
                path.chmod(0o444)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.root:
            subprocess.run(["chattr", "-i", *map(str, self.paths)], check=True)
        else:
            for path in self.paths:
                path.chmod(0o644)


def test_health_reports_a_database_that_cannot_be_written(
    tmp_path: Path, live_fakes: tuple[SlackStandIn, Simulator]
) -> None:
    slack, sim = live_fakes
    db = tmp_path / "bot.db"
    env = process_env(slack, sim, db, SLACK_SIGNING_SECRET=SIGNING_SECRET, PORT="0")
    bot = BotProcess(env)
    try:
        deadline = time.monotonic() + 10
        while healthz(bot.port)[0] != 200:
            assert time.monotonic() < deadline, "the bot never became healthy"
            time.sleep(0.1)
        with Unwritable([db, Path(f"{db}-wal")]) as files:
            cli = subprocess.run(
                [sys.executable, "-m", "bot", "health"],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert cli.returncode == 1, cli.stdout + cli.stderr
            report = json.loads(cli.stdout)
            assert report["database"].startswith("cannot write")
            assert "check the file's permissions" in report["status"]
            if files.root:
                # The running bot's own connections fail to write too: /healthz says so
                # (once its cached report, at most a second old, is renewed).
                status, report = healthz_until(bot.port, 503)
                assert status == 503
                assert report["database"].startswith("cannot write")
                assert "database" in report["status"]
        status, report = healthz_until(bot.port, 200)
        assert status == 200, report
        assert report["database"] == "ok"
    finally:
        bot.kill()
        if bot.proc.stderr is not None:
            bot.proc.stderr.close()


def test_slack_busy_on_the_first_card_still_starts_the_run_and_posts_it_later(
    harness: Harness,
) -> None:
    h = harness
    h.slack.inject("chat.postMessage", error="ratelimited", status=429, retry_after=0, times=1)
    h.command(f"run {HELLO_NOTEBOOK_ID}")
    h.slack.wait_for(lambda s: len(s.calls("chat.postMessage")) >= 1)
    wait_until_started = time.monotonic() + 10
    while not h.deepnote.runs and time.monotonic() < wait_until_started:
        time.sleep(0.05)
    assert len(h.deepnote.runs) == 1  # a 429 is no refusal: the run started
    h.advance(1)  # the next round posts the card that Slack asked to wait
    posted = [c for c in h.slack.calls("chat.postMessage") if c.ok]
    assert len(posted) == 1
    assert "Hello world" in str(posted[0].args.get("text"))
    said = json.dumps([p.payload for p in h.slack.response_url_posts])
    assert "not started" not in said


def test_bot_not_in_the_channel_says_invite(harness: Harness) -> None:
    h = harness
    h.slack.kick(CHANNEL)
    h.command(f"run {HELLO_NOTEBOOK_ID}")
    h.slack.wait_for(lambda s: len(s.response_url_posts) >= 1)
    text = json.dumps(h.slack.response_url_posts[-1].payload)
    assert "The run was not started" in text
    assert "/invite @Deepnote" in text
