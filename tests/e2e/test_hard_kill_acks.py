"""kill -9 the real bot right after it acknowledged slash commands: none is lost.

Slack never retries a slash command it got a 200 for. The bot runs as a real subprocess
(`python -m bot serve`, HTTP mode) against the Slack stand-in and the Deepnote simulator; N
signed `/deepnote run` commands arrive at once, the bot is killed (SIGKILL) as soon as the N
acknowledgements are in (or a moment later, while their work is under way), and started again
on the same database. Every acknowledged command must end with exactly one run and its card,
or a message telling the person it was not carried out.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.offline.simulator import HELLO_NOTEBOOK_ID, Simulator
from bot.offline.slack_standin import SlackRequester, SlackStandIn
from tests.conftest import SIGNING_SECRET
from tests.e2e.support import process_env
from tests.e2e.test_kill_restart import BotProcess, live_fakes

__all__ = ["live_fakes"]  # the fixture, shared with the kill/restart test

CHANNEL = "C0GENERAL"
USER = "U0ALICE"
N = 20


def kill_env(tmp_path: Path, slack: SlackStandIn, sim: Simulator) -> dict[str, str]:
    """A bot subprocess's settings for the kill tests (HTTP mode, any free port)."""
    # Slack's pace is not what these judge (test_kill_restart.py kills a paced bot): without
    # it, N cards in one channel settle in seconds rather than N × Slack's second.
    return process_env(
        slack,
        sim,
        tmp_path / "bot.db",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        PORT="0",
        SLACK_CHANNEL_PACE_SECONDS="0",
    )


def _acknowledged_then_killed(bot: BotProcess, slack: SlackStandIn, delay: float) -> list[str]:
    """Send N commands at once, kill -9 `delay` s after the last acknowledgement; their
    response_urls."""
    requester = SlackRequester(
        bot_url=f"http://127.0.0.1:{bot.port}/slack/events",
        signing_secret=SIGNING_SECRET,
        standin=slack,
    )
    with requester, ThreadPoolExecutor(N) as pool:
        acks = list(
            pool.map(
                lambda _: requester.slash_command(f"run {HELLO_NOTEBOOK_ID}", channel_id=CHANNEL),
                range(N),
            )
        )
        if delay:
            time.sleep(delay)
        bot.kill()
    assert [a.status_code for a in acks] == [200] * N
    return [str(a.response_url) for a in acks]


def _cards(slack: SlackStandIn) -> list[object]:
    return [m for m in slack.messages(CHANNEL) if m.thread_ts is None]


def _explanations(slack: SlackStandIn, urls: list[str]) -> Counter[str]:
    """How many 'restarted before it could act' messages each command's response_url got
    (a direct message counts for the command it names)."""
    told: Counter[str] = Counter()
    for post in slack.response_url_posts:
        if post.http_status == 200 and "The bot restarted" in json.dumps(post.payload):
            told[post.url] += 1
    dms = [m for m in slack.messages(USER) if "The bot restarted" in m.text]
    told["dm"] = len(dms)
    assert set(told) - {"dm"} <= set(urls)
    return told


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.3])
def test_every_acknowledged_command_survives_a_hard_kill(
    tmp_path: Path, live_fakes: tuple[SlackStandIn, Simulator], delay: float
) -> None:
    slack, sim = live_fakes
    env = kill_env(tmp_path, slack, sim)
    urls = _acknowledged_then_killed(BotProcess(env), slack, delay)

    final = BotProcess(env)
    try:

        def accounted() -> int:
            return len(_cards(slack)) + sum(_explanations(slack, urls).values())

        def runs_on_cards() -> bool:
            shown = [json.dumps(c.blocks) for c in _cards(slack)]
            return all(any(run in card for card in shown) for run in sim.runs)

        # Settled: every command accounted for, and every Deepnote run on its card (a run
        # adopted after the restart gets its id on the card with its next edit).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (accounted() < N or not runs_on_cards()):
            time.sleep(0.2)
        time.sleep(1.5)  # anything done twice would show up now
    finally:
        final.kill()

    told = _explanations(slack, urls)
    cards = _cards(slack)
    # Every command has its card or was explained. A run the kill left half-started gets
    # both its card (saying it did not start) and a direct message; any other command gets
    # either a card or a message through its response_url, never both.
    assert len(cards) + sum(told.values()) >= N, (len(cards), told)
    assert len(cards) + sum(n for url, n in told.items() if url != "dm") <= N, (len(cards), told)
    # One card per run the bot keeps, one Deepnote run per card: nothing started twice.
    keys = Counter((c.metadata or {}).get("event_payload", {}).get("run") for c in cards)
    assert all(n == 1 for n in keys.values()), keys
    assert len(sim.runs) <= len(cards)
    for run in sim.runs:
        assert sum(run in json.dumps(c.blocks) for c in cards) == 1, run
    # Each command is told at most once through its response_url (direct messages are one
    # per half-started run, several of which a kill can leave).
    assert all(n == 1 for url, n in told.items() if n and url != "dm"), told
    assert slack.violations == []


def test_commands_too_old_to_redo_are_explained(
    tmp_path: Path, live_fakes: tuple[SlackStandIn, Simulator]
) -> None:
    """Commands found unfinished long after they were acknowledged are not carried out; each
    person is told, through the command's response_url, to run it again."""
    slack, sim = live_fakes
    env = kill_env(tmp_path, slack, sim)
    urls = _acknowledged_then_killed(BotProcess(env), slack, 0.0)
    with sqlite3.connect(tmp_path / "bot.db") as db:
        # As if the bot had stayed down for ten minutes (the response_urls are still valid).
        rows = db.execute("SELECT id, received_at FROM intents WHERE done_at IS NULL").fetchall()
        for intent_id, received in rows:
            older = (
                time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 600)) + received[19:]
            )
            db.execute("UPDATE intents SET received_at = ? WHERE id = ?", (older, intent_id))
    left = len(rows)
    started = len(sim.runs)

    final = BotProcess(env)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and sum(_explanations(slack, urls).values()) < left:
            time.sleep(0.2)
        time.sleep(1.0)
    finally:
        final.kill()
    told = _explanations(slack, urls)
    assert sum(told.values()) == left > 0, (told, left)
    assert len(sim.runs) == started  # nothing new started for the old commands
    post = next(p for p in slack.response_url_posts if "restarted before" in json.dumps(p.payload))
    assert f"/deepnote run {HELLO_NOTEBOOK_ID}" in post.payload["text"]
    assert "run it again" in post.payload["text"]


def test_a_change_under_way_at_the_kill_is_not_done_twice(
    tmp_path: Path, live_fakes: tuple[SlackStandIn, Simulator]
) -> None:
    """A command that changes something and had begun when the bot was killed is not repeated
    (it may have been done); the person is told to check."""
    slack, sim = live_fakes
    env = kill_env(tmp_path, slack, sim)
    bot = BotProcess(env)
    with SlackRequester(
        bot_url=f"http://127.0.0.1:{bot.port}/slack/events",
        signing_secret=SIGNING_SECRET,
        standin=slack,
    ) as requester:
        ack = requester.slash_command(
            f'schedule {HELLO_NOTEBOOK_ID} "every day at 9:00" --tz UTC', channel_id=CHANNEL
        )
        bot.kill()
    assert ack.status_code == 200
    with sqlite3.connect(tmp_path / "bot.db") as db:
        # As if the kill had come in the middle of its work.
        db.execute("UPDATE intents SET started_at = received_at WHERE done_at IS NULL")
        open_intents = db.execute("SELECT count(*) FROM intents WHERE done_at IS NULL").fetchone()
        schedules = db.execute("SELECT count(*) FROM schedules").fetchone()
    assert open_intents == (1,)  # killed before its work finished
    final = BotProcess(env)
    try:
        slack.wait_for(
            lambda s: sum(_explanations(s, [str(ack.response_url)]).values()) == open_intents[0],
            timeout=20,
        )
        time.sleep(1.0)
    finally:
        final.kill()
    with sqlite3.connect(tmp_path / "bot.db") as db:
        assert db.execute("SELECT count(*) FROM schedules").fetchone() == schedules
    post = next(p for p in slack.response_url_posts if "restarted" in json.dumps(p.payload))
    assert "cannot tell whether it was done" in post.payload["text"]
    assert "/deepnote schedules" in post.payload["text"]
