"""kill -9 the real bot, again and again, under load: nothing lost, nothing posted twice.

The bot runs as a real subprocess (`python -m bot serve`, HTTP mode) against the Slack
stand-in and the Deepnote simulator, both on the real clock. It is killed at random moments
while commands arrive and runs move, then started again on the same database file.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.offline.simulator import HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID, Simulator
from bot.offline.slack_standin import SlackRequester, SlackStandIn
from tests.conftest import BOT_TOKEN, DEEPNOTE_KEY, SIGNING_SECRET
from tests.e2e.support import BotProcess, process_env

CHANNEL = "C0GENERAL"


@pytest.fixture
def live_fakes() -> Iterator[tuple[SlackStandIn, Simulator]]:
    """The fakes on the real clock, with runs that finish within about a second."""
    with (
        SlackStandIn(bot_token=BOT_TOKEN) as slack,
        Simulator(api_key=DEEPNOTE_KEY, pending_seconds=0.3, running_seconds=0.8) as sim,
    ):
        yield slack, sim


def cards(slack: SlackStandIn) -> list[object]:
    return [m for m in slack.messages(CHANNEL) if m.thread_ts is None]


def requester_for(bot: BotProcess, slack: SlackStandIn) -> SlackRequester:
    """Signed requests into this bot process, as Slack would send them."""
    return SlackRequester(
        bot_url=f"http://127.0.0.1:{bot.port}/slack/events",
        signing_secret=SIGNING_SECRET,
        standin=slack,
    )


def kill_under_load(env: dict[str, str], slack: SlackStandIn, rng: random.Random) -> None:
    """Start the bot six times, send it a few commands, and kill -9 it at a random moment."""
    texts = [
        f"run {SALES_NOTEBOOK_ID} region=Europe",
        f"run {SALES_NOTEBOOK_ID} region=Mars",
        f"run {HELLO_NOTEBOOK_ID}",
    ]
    for _ in range(6):
        bot = BotProcess(env)
        requester = requester_for(bot, slack)
        for _ in range(rng.randint(2, 4)):
            try:
                requester.slash_command(rng.choice(texts), channel_id=CHANNEL)
            except Exception:  # the bot may already be gone: Slack would retry the user
                break
        time.sleep(rng.uniform(0.05, 1.5))
        bot.kill()
        requester.close()


def settled(slack: SlackStandIn, sim: Simulator) -> bool:
    """Every Deepnote run is finished and shown on a card with its one reply."""
    ran = set(sim.runs)
    shown = [json.dumps(c.blocks) for c in cards(slack)]
    followed = all(any(run in s for s in shown) for run in ran)
    finished = all(sim.run_json(r)["status"] in ("success", "error") for r in ran)
    replies_done = all(
        len(slack.thread(CHANNEL, c.ts)) == 1
        for c in cards(slack)
        if any(r in json.dumps(c.blocks) for r in ran)
    )
    return bool(ran) and followed and finished and replies_done


def _unsettled(slack: SlackStandIn, sim: Simulator) -> str:
    """Which Deepnote runs are not yet followed to one reply, and how they stand."""
    shown = [(c, json.dumps(c.blocks)) for c in cards(slack)]
    lines = []
    for run in sim.runs:
        holding = [c for c, text in shown if run in text]
        status = sim.run_json(run)["status"]
        replies = [len(slack.thread(CHANNEL, c.ts)) for c in holding]
        if len(holding) != 1 or status not in ("success", "error") or replies != [1]:
            lines.append(f"{run}: {status}, on {len(holding)} card(s), replies {replies}")
    return "not every started run was followed to one reply:\n" + "\n".join(lines)


def test_kill_9_repeatedly_under_load(
    tmp_path: Path, live_fakes: tuple[SlackStandIn, Simulator]
) -> None:
    slack, sim = live_fakes
    env = process_env(
        slack,
        sim,
        tmp_path / "bot.db",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        PORT="0",
    )
    first = BotProcess(env)
    requester_for(first, slack).slash_command(
        f'schedule {HELLO_NOTEBOOK_ID} "* * * * *" --tz UTC', channel_id=CHANNEL
    )
    slack.wait_for(lambda s: any("Schedule 1" in m.text for m in s.messages(CHANNEL)), timeout=10)
    first.kill()
    began = time.time()
    kill_under_load(env, slack, random.Random(20261125))

    final = BotProcess(env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not settled(slack, sim):
            time.sleep(0.2)
        time.sleep(1.0)  # anything posted twice would show up now
        assert settled(slack, sim), _unsettled(slack, sim)
    finally:
        final.kill()

    # The every-minute schedule ran at most once per minute that began during the test.
    import sqlite3

    minutes = int(time.time() // 60) - int(began // 60) + 1
    fired = (
        sqlite3.connect(tmp_path / "bot.db")
        .execute("SELECT count(*) FROM runs WHERE schedule_id IS NOT NULL")
        .fetchone()[0]
    )
    assert fired <= minutes

    # Exactly one card per bot run, one reply per card, one card per Deepnote run.
    keys = Counter((m.metadata or {}).get("event_payload", {}).get("run") for m in cards(slack))
    assert all(n == 1 for n in keys.values()), keys
    for card in cards(slack):
        assert len(slack.thread(CHANNEL, card.ts)) <= 1
    for run in sim.runs:
        holding = [c for c in cards(slack) if run in json.dumps(c.blocks)]
        assert len(holding) == 1, run
    assert slack.violations == []
