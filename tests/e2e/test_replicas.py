"""Two `deepnote-bot serve` replicas on one PostgreSQL: kill -9 the leader, again and again.

Both replicas answer Slack; one of them (the leader, holding the poller lease) follows runs,
fires schedules and delivers the outbox. Runs are in flight and an every-minute schedule is
due while the leader is killed several times, and a fresh replica joins after each kill:
every run still gets exactly one card and one result reply, no schedule slot fires twice, and
the survivor takes over within 15 s (the takeover times are printed).
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Iterator

import psycopg
import pytest

from bot.offline.simulator import HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID, Simulator
from bot.offline.slack_standin import SlackRequester, SlackStandIn
from tests.conftest import BOT_TOKEN, DEEPNOTE_KEY, SIGNING_SECRET, Bots
from tests.e2e.support import BotProcess, process_env
from tests.e2e.test_interactions import click, opened_form, submit, unchanged_state, wait_cards

CHANNEL = "C0GENERAL"
KILLS = 3
TAKEOVER_LIMIT = 15.0


@pytest.fixture(name="engine")
def _engine() -> str:
    """Several replicas need PostgreSQL."""
    return "postgresql"


def test_a_button_and_a_form_work_on_whichever_replica_slack_picks(bots: Bots) -> None:
    one, two = bots.start(), bots.start()
    assert one.bot.tick()  # the first to try leads
    assert not two.bot.tick()  # the other answers Slack but does no background work
    one.command(f"run {SALES_NOTEBOOK_ID} region=Europe top_n=7")
    (card,) = wait_cards(one, 1)
    # The click lands on the other replica; the form's submission on the first again.
    assert click(two, card, "rerun_form", user="U0BOB").status_code == 200
    view = opened_form(two)
    assert submit(one, view, unchanged_state(view), user="U0BOB").status_code == 200
    second = wait_cards(one, 2)[1]
    assert "U0BOB" in json.dumps(second.blocks)
    one.run_until_finished()
    for posted in wait_cards(one, 2):
        assert len(one.slack.thread(CHANNEL, posted.ts)) == 1
    # The leader stops: the other replica takes the background work over at its next round.
    bots.stop(one)
    assert two.bot.tick()
    assert two.slack.violations == []


@pytest.fixture
def live_fakes() -> Iterator[tuple[SlackStandIn, Simulator]]:
    """The fakes on the real clock; runs last a few seconds, so some are always in flight."""
    with (
        SlackStandIn(bot_token=BOT_TOKEN) as slack,
        Simulator(api_key=DEEPNOTE_KEY, pending_seconds=0.5, running_seconds=2.5) as sim,
    ):
        yield slack, sim


def cards(slack: SlackStandIn) -> list[object]:
    """The run cards in the channel (not the schedule's confirmation)."""
    return [m for m in slack.messages(CHANNEL) if m.thread_ts is None and "Schedule" not in m.text]


def command(bot: BotProcess, slack: SlackStandIn, text: str) -> None:
    """Type `/deepnote <text>` into this replica (as Slack's load balancer would route it)."""
    requester = SlackRequester(
        bot_url=f"http://127.0.0.1:{bot.port}/slack/events",
        signing_secret=SIGNING_SECRET,
        standin=slack,
    )
    try:
        assert requester.slash_command(text, channel_id=CHANNEL).status_code == 200
    finally:
        requester.close()


def leading(bot: BotProcess) -> bool:
    """Whether this replica has logged that it became the leader."""
    return any(e.get("event") == "leader" for e in bot.events())


def wait_for_leader(replicas: list[BotProcess], timeout: float) -> BotProcess:
    """The first of `replicas` to become the leader, waiting for one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for bot in replicas:
            if leading(bot):
                return bot
        time.sleep(0.05)
    raise AssertionError(f"no replica took over within {timeout} s")


def settled(slack: SlackStandIn, sim: Simulator) -> bool:
    """Every Deepnote run is finished and shown on a card with its one reply."""
    ran = set(sim.runs)
    shown = [json.dumps(c.blocks) for c in cards(slack)]
    followed = all(any(run in s for s in shown) for run in ran)
    finished = all(sim.run_json(r)["status"] in ("success", "error") for r in ran)
    replies = all(
        len(slack.thread(CHANNEL, c.ts)) >= 1
        for c in cards(slack)
        if any(r in json.dumps(c.blocks) for r in ran)
    )
    return bool(ran) and followed and finished and replies


def test_two_replicas_survive_repeated_leader_kills(
    postgres_url: str, live_fakes: tuple[SlackStandIn, Simulator]
) -> None:
    slack, sim = live_fakes
    # POLL_INTERVAL_SECONDS=1: leases of 5 s (the production ceiling is 10 s).
    env = process_env(
        slack,
        sim,
        postgres_url,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        PORT="0",
        POLL_INTERVAL_SECONDS="1",
    )
    rng = random.Random(20261203)
    texts = [f"run {SALES_NOTEBOOK_ID} region=Europe", f"run {HELLO_NOTEBOOK_ID}"]
    replicas = [BotProcess(env), BotProcess(env)]
    began = time.time()
    takeovers: list[float] = []
    try:
        leader = wait_for_leader(replicas, timeout=20)
        command(leader, slack, f'schedule {HELLO_NOTEBOOK_ID} "* * * * *" --tz UTC')
        for _ in range(KILLS):
            for _ in range(3):  # runs in flight, started on either replica
                command(rng.choice(replicas), slack, rng.choice(texts))
            time.sleep(rng.uniform(0.5, 2.0))
            leader.kill()
            killed_at = time.monotonic()
            replicas.remove(leader)
            replicas.append(BotProcess(env))  # a fresh replica joins as a follower
            command(replicas[0], slack, rng.choice(texts))  # the survivor answers meanwhile
            leader = wait_for_leader(replicas, timeout=30)
            takeovers.append(time.monotonic() - killed_at)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not settled(slack, sim):
            time.sleep(0.2)
        time.sleep(1.5)  # anything posted twice would show up now
        assert settled(slack, sim), "not every started run was followed to its reply"
    finally:
        for bot in replicas:
            bot.kill()
    print(f"takeover after kill -9 of the leader: {', '.join(f'{t:.1f} s' for t in takeovers)}")
    assert max(takeovers) < TAKEOVER_LIMIT, takeovers

    # Exactly one card per run, one reply per card, one card per Deepnote run.
    keys = Counter((m.metadata or {}).get("event_payload", {}).get("run") for m in cards(slack))
    assert all(n == 1 for n in keys.values()), keys
    for card in cards(slack):
        started = any(run in json.dumps(card.blocks) for run in sim.runs)
        if not started:
            # Killed before its create request went out: the card says nothing was started
            # (and the person was told to run it again); there is no result to reply with.
            assert "could not be started" in card.text, card
        assert len(slack.thread(CHANNEL, card.ts)) == int(started), card
    for run in sim.runs:
        assert len([c for c in cards(slack) if run in json.dumps(c.blocks)]) == 1, run
    # No slot of the every-minute schedule fired twice.
    with psycopg.connect(postgres_url) as conn:
        slots = [
            row[0][:16]
            for row in conn.execute("SELECT created_at FROM runs WHERE schedule_id IS NOT NULL")
        ]
    minutes = int(time.time() // 60) - int(began // 60) + 1
    assert len(slots) <= minutes
    assert len(set(slots)) == len(slots), slots
    assert slack.violations == []
    print(f"runs: {len(sim.runs)}, cards: {len(keys)}, scheduled runs: {len(slots)}")


def test_connections_cut_by_the_server_are_replaced_without_losing_a_run(
    bots: Bots, postgres_url: str
) -> None:
    h = bots.start()
    h.command(f"run {SALES_NOTEBOOK_ID} region=Europe")
    (card,) = wait_cards(h, 1)
    # The server ends every session of the bot's database (a failover, a restart, an idle cut).
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        cut = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert cut is not None
    assert cut[0] >= 1
    h.run_until_finished()
    assert len(h.slack.thread(CHANNEL, card.ts)) == 1
    assert h.slack.violations == []
