"""kill -9 the real bot right after it acknowledged mentions, button clicks and form
submissions: none is lost, none is done twice.

Slack does not send again what it got a 200 for. The bot runs as a real subprocess
(`python -m bot serve`, HTTP mode) against the Slack stand-in and the Deepnote simulator; N
signed requests arrive at once, the bot is killed (SIGKILL) as soon as the N acknowledgements
are in, and started again on the same database. Every acknowledged request must end with
exactly one run and its card, or a message telling the person it was not carried out.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bot.offline.simulator import HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID, Simulator
from bot.offline.slack_standin import Message, SlackRequester, SlackStandIn
from bot.offline.slack_standin.payloads import VERIFICATION_TOKEN
from tests.e2e.support import BotProcess
from tests.e2e.test_hard_kill_acks import kill_env
from tests.e2e.test_interactions import unchanged_state
from tests.e2e.test_kill_restart import live_fakes, requester_for

__all__ = ["live_fakes"]  # the fixture, shared with the kill/restart test

CHANNEL = "C0GENERAL"
TEAM = "T0TEST"
USER = "U0ALICE"
N = 10
RESTARTED = "The bot restarted"

Send = Callable[[SlackRequester, int], Any]


def _cards(slack: SlackStandIn) -> list[Message]:
    """Every run card in the channel, threads included."""
    return [
        m
        for m in slack.all_messages(CHANNEL)
        if m.metadata and m.metadata.get("event_payload", {}).get("kind") == "card"
    ]


def _explanations(slack: SlackStandIn) -> int:
    """Messages telling the person the bot restarted: through a response_url, as an
    ephemeral, or in a direct message."""
    by_url = sum(
        post.http_status == 200 and RESTARTED in json.dumps(post.payload)
        for post in slack.response_url_posts
    )
    ephemerals = sum(RESTARTED in e.text for e in slack.ephemerals())
    dms = sum(RESTARTED in m.text for m in slack.messages(USER))
    return by_url + ephemerals + dms


def _send_then_kill(bot: BotProcess, slack: SlackStandIn, send: Send, db: Path) -> None:
    """Send N requests at once and kill -9 the bot as soon as all are acknowledged; each was
    stored with what Slack sent, but never the app's verification token."""
    with requester_for(bot, slack) as requester, ThreadPoolExecutor(N) as pool:
        acks = list(pool.map(lambda i: send(requester, i), range(N)))
        bot.kill()
    assert [a.status_code for a in acks] == [200] * N
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT payload FROM intents WHERE done_at IS NULL").fetchall()
    assert stored, "killed before any request was finished, so some must be open"
    assert all(payload and VERIFICATION_TOKEN not in payload for (payload,) in stored)


def _restart_and_settle(
    env: dict[str, str], slack: SlackStandIn, sim: Simulator, cards: int
) -> None:
    """Start the bot again and wait until every request is accounted for and every Deepnote
    run is on its card; then a moment more, for anything done twice to show."""
    final = BotProcess(env)
    try:

        def settled() -> bool:
            shown = [json.dumps(c.blocks) for c in _cards(slack)]
            on_cards = all(any(run in card for card in shown) for run in sim.runs)
            return on_cards and len(_cards(slack)) - cards + _explanations(slack) >= N

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not settled():
            time.sleep(0.2)
        time.sleep(1.5)
    finally:
        final.kill()
    with sqlite3.connect(env["DATABASE_PATH"]) as conn:
        open_ = conn.execute("SELECT count(*) FROM intents WHERE done_at IS NULL").fetchone()
        kept = conn.execute("SELECT count(*) FROM intents WHERE payload IS NOT NULL").fetchone()
    assert open_ == kept == (0,)  # all settled, and what Slack sent is forgotten


def _assert_each_once(slack: SlackStandIn, sim: Simulator, cards_before: int) -> None:
    """Every request has its card or was explained; nothing was started twice."""
    cards = _cards(slack)
    new = len(cards) - cards_before
    told = _explanations(slack)
    assert new + told >= N, (new, told)
    assert new <= N, new
    keys = Counter((c.metadata or {}).get("event_payload", {}).get("run") for c in cards)
    assert all(n == 1 for n in keys.values()), keys
    for run in sim.runs:
        assert sum(run in json.dumps(c.blocks) for c in cards) == 1, run
    assert slack.violations == []


def _first_card(env: dict[str, str], slack: SlackStandIn) -> tuple[BotProcess, Message]:
    """A running bot with one finished Hello world card in the channel."""
    bot = BotProcess(env)
    with requester_for(bot, slack) as requester:
        assert requester.slash_command(f"run {HELLO_NOTEBOOK_ID}").status_code == 200
    slack.wait_for(lambda s: bool(_cards(s)) and bool(s.thread(CHANNEL, _cards(s)[0].ts)), 30)
    return bot, _cards(slack)[0]


def test_acknowledged_mentions_survive_a_hard_kill(
    tmp_path: Path, live_fakes: tuple[SlackStandIn, Simulator]
) -> None:
    slack, sim = live_fakes
    env = kill_env(tmp_path, slack, sim)
    said = [slack.user_message(CHANNEL, f"<@U0BOT> run {HELLO_NOTEBOOK_ID}") for _ in range(N)]

    def mention(requester: SlackRequester, i: int) -> Any:
        event = {
            "type": "app_mention",
            "user": USER,
            "text": said[i].text,
            "ts": said[i].ts,
            "channel": CHANNEL,
            "team": TEAM,
        }
        return requester.event(event)

    _send_then_kill(BotProcess(env), slack, mention, tmp_path / "bot.db")
    _restart_and_settle(env, slack, sim, cards=0)
    _assert_each_once(slack, sim, cards_before=0)
    # A mention's card goes in the mention's thread: one card per mention that got one.
    threads = Counter(c.thread_ts for c in _cards(slack))
    assert set(threads) <= {m.ts for m in said}
    assert all(n == 1 for n in threads.values()), threads


def test_acknowledged_button_clicks_survive_a_hard_kill(
    tmp_path: Path, live_fakes: tuple[SlackStandIn, Simulator]
) -> None:
    slack, sim = live_fakes
    env = kill_env(tmp_path, slack, sim)
    bot, card = _first_card(env, slack)

    def rerun(requester: SlackRequester, _i: int) -> Any:
        pressed = next(
            e
            for b in card.blocks
            if b["type"] == "actions"
            for e in b["elements"]
            if e.get("action_id") == "rerun"
        )
        return requester.interaction(
            {
                "type": "block_actions",
                "user": {"id": USER, "username": "alice", "team_id": TEAM},
                "team": {"id": TEAM, "domain": "test-workspace"},
                "channel": {"id": CHANNEL, "name": "general"},
                "container": {"type": "message", "message_ts": card.ts, "channel_id": CHANNEL},
                "message": {"ts": card.ts, "text": card.text},
                "actions": [
                    {
                        "type": "button",
                        "action_id": "rerun",
                        "block_id": "actions",
                        "text": pressed["text"],
                        "value": pressed["value"],
                        "action_ts": slack.new_ts(),
                    }
                ],
            }
        )

    _send_then_kill(bot, slack, rerun, tmp_path / "bot.db")
    _restart_and_settle(env, slack, sim, cards=1)
    _assert_each_once(slack, sim, cards_before=1)


def test_acknowledged_form_submissions_survive_a_hard_kill(
    tmp_path: Path, live_fakes: tuple[SlackStandIn, Simulator]
) -> None:
    slack, sim = live_fakes
    env = kill_env(tmp_path, slack, sim)
    bot = BotProcess(env)
    with requester_for(bot, slack) as requester:
        assert requester.slash_command(f"run {SALES_NOTEBOOK_ID} --form").status_code == 200
    slack.wait_for(lambda s: bool(s.views), 30)
    view = slack.views[-1]
    values = unchanged_state(view)

    def submit(requester: SlackRequester, _i: int) -> Any:
        return requester.interaction(
            {
                "type": "view_submission",
                "user": {"id": USER, "username": "alice", "team_id": TEAM},
                "team": {"id": TEAM, "domain": "test-workspace"},
                "view": {
                    **view.view,
                    "id": view.id,
                    "team_id": TEAM,
                    "private_metadata": view.private_metadata,
                    "state": {"values": values},
                    "hash": view.hash,
                },
            }
        )

    _send_then_kill(bot, slack, submit, tmp_path / "bot.db")
    _restart_and_settle(env, slack, sim, cards=0)
    _assert_each_once(slack, sim, cards_before=0)
