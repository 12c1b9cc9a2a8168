"""A busy channel under Slack's own limits: the stand-in answers 429 past them, as Slack does.

The bot runs on the real clock with its own background job and its default (adaptive) pacing;
the stand-in enforces `SLACK_LIMITS` (about one post a second per channel with a short burst,
chat.update in Tier 3 across the workspace).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.offline.simulator import HELLO_NOTEBOOK_ID, Simulator
from bot.offline.slack_standin import SLACK_LIMITS, Call, Message, SlackStandIn
from tests.conftest import BOT_TOKEN, DEEPNOTE_KEY, Harness, start_bot

BUSY = "C0BUSY"
RUNS = 12  # more than the channel's burst many times over


@pytest.fixture
def busy(tmp_path: Path) -> Iterator[Harness]:
    with (
        SlackStandIn(bot_token=BOT_TOKEN) as slack,
        Simulator(api_key=DEEPNOTE_KEY, pending_seconds=3600) as sim,  # until finish_run
    ):
        slack.enforce_limits(SLACK_LIMITS)
        h = start_bot(
            slack,
            sim,
            SystemClock(),  # type: ignore[arg-type]
            tmp_path / "bot.db",
            POLL_INTERVAL_SECONDS="0.2",
            SLACK_CHANNEL_PACE_SECONDS="",  # unset: follow Slack's limits
            DEEPNOTE_REQUESTS_PER_SECOND="10",
        )
        h.bot.start_background()
        try:
            yield h
        finally:
            h.stop()


def wait_until(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"not reached in {timeout:g}s: {what}")


def cards(slack: SlackStandIn) -> list[Message]:
    return [m for m in slack.messages(BUSY) if m.thread_ts is None]


def replies(slack: SlackStandIn) -> list[Message]:
    return [m for m in slack.all_messages(BUSY) if m.thread_ts is not None]


def start_runs(h: Harness, count: int) -> list[str]:
    """`count` runs in the busy channel, their cards posted; their Deepnote ids, oldest first."""
    for _ in range(count):
        h.command(f"run {HELLO_NOTEBOOK_ID}", channel_id=BUSY)
    wait_until(lambda: len(h.deepnote.runs) == count, 120, f"{count} runs started")
    wait_until(lambda: len(cards(h.slack)) == count, 120, f"{count} cards posted")
    # Every card shows its Deepnote run: nothing is left to post before the runs change.
    wait_until(lambda: h.bot.services.store.outbox(h.clock.now()) == [], 60, "cards settled")
    records = h.bot.services.store.recent_for_user("U0ALICE", count)
    return [r.run_id for r in sorted(records, key=lambda r: float(r.card_ts or 0)) if r.run_id]


def retried_too_soon(calls: list[Call]) -> list[str]:
    """Thread replies tried again sooner than the second Slack's 429 asked to wait."""
    problems = []
    for i, call in enumerate(calls):
        if call.http_status != 429 or "thread_ts" not in call.args:
            continue
        later = [c for c in calls[i + 1 :] if c.args.get("thread_ts") == call.args["thread_ts"]]
        if later and (later[0].at - call.at).total_seconds() < 1.0:
            problems.append(call.args["thread_ts"])
    return problems


def test_a_dozen_runs_finishing_together_each_get_one_reply_at_slacks_pace(busy: Harness) -> None:
    h = busy
    runs = start_runs(h, RUNS)
    # Slack says 429 to two replies besides whatever its limits refuse.
    h.slack.inject("chat.postMessage", status=429, retry_after=1, times=2, channel=BUSY)
    finished = time.monotonic()
    for run_id in runs:
        h.deepnote.finish_run(run_id, "success")
    wait_until(lambda: len(replies(h.slack)) >= RUNS, 90, f"{RUNS} thread replies")
    took = time.monotonic() - finished
    wait_until(lambda: all("succeeded" in c.text for c in cards(h.slack)), 30, "cards final")
    time.sleep(1.5)  # anything posted twice would show by now

    posts = h.slack.calls("chat.postMessage")
    results = [m.metadata["event_payload"]["run"] for m in replies(h.slack) if m.metadata]
    assert len(results) == RUNS  # nothing lost
    assert len(set(results)) == RUNS  # nothing twice
    assert Counter(m.thread_ts for m in replies(h.slack)) == Counter(
        {c.ts: 1 for c in cards(h.slack)}
    )
    assert len([c for c in posts if c.ok]) == 2 * RUNS  # the cards and their replies
    assert len(h.slack.rate_limited_calls("chat.postMessage")) >= 2
    assert retried_too_soon(posts) == []
    # The channel's burst, then one a second (about 10 s): well under the 24 s and more of
    # one message a second with edits in the same slot, with room for load.
    assert took < 22, f"the last reply came {took:.1f}s after the runs finished"


def test_a_finished_runs_reply_is_not_held_behind_other_runs_running_edits(
    busy: Harness,
) -> None:
    h = busy
    *others, last = start_runs(h, 6)
    for run_id in others:
        h.deepnote.set_status(run_id, "running")
    h.deepnote.finish_run(last, "success")
    card = cards(h.slack)[-1]
    wait_until(lambda: len(h.slack.thread(BUSY, card.ts)) == 1, 30, "the finished run's reply")
    wait_until(
        lambda: sum("running" in c.text.lower() for c in cards(h.slack)) == 5, 30, "running cards"
    )
    calls = h.slack.calls()
    edited = next(
        c.at
        for c in calls
        if c.method == "chat.update"
        and c.ok
        and c.args.get("ts") == card.ts
        and "succeeded" in str(c.args.get("text"))
    )
    (reply,) = h.slack.thread(BUSY, card.ts)
    # The reply follows its card's edit at once, though five cards changed at the same time.
    assert (reply.posted_at - edited).total_seconds() < 2.0
