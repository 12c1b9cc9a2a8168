"""Watches and history end to end: signed slash commands, the ManualClock, real SQLite, the
fakes. Runs "started elsewhere" are started on the simulator directly, as Deepnote's UI, its
scheduler or another API client would; the bot finds them only through Deepnote's run list.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.offline.simulator import HELLO_NOTEBOOK_ID, QUALITY_NOTEBOOK_ID, SALES_NOTEBOOK_ID
from bot.offline.slack_standin import validate_view
from handlers.home import home_view
from storage.records import CREATING
from storage.schedules import ScheduleRecord
from storage.watches import WatchRecord
from tests.conftest import Bots, Harness, run_record
from tests.pg import ENGINES

CHANNEL = "C0GENERAL"
ALICE, BOB, ADMIN = "U0ALICE", "U0BOB", "U0ADMIN"
LOOK = 30.0  # WATCH_POLL_SECONDS' default: each watch lists its notebook's runs this often
FAILING = {"dataset": "orders_with_gaps"}


def visible(text: str) -> str:
    """Text as it reads in Slack: without the invisible word joiners escaping adds."""
    return text.replace("\u2060", "")


def shown(message: Any) -> str:
    """Everything a person sees in a message: its blocks' text and its fallback."""
    blocks = json.dumps(getattr(message, "blocks", None) or [], ensure_ascii=False)
    return visible(blocks + " " + message.text)


def top(h: Harness) -> list[Any]:
    """The channel's top-level messages."""
    return [m for m in h.slack.messages(CHANNEL) if m.thread_ts is None]


def replies(h: Harness, card: Any) -> list[str]:
    """What was posted in a card's thread."""
    return [shown(m) for m in h.slack.thread(CHANNEL, card.ts)]


def in_channel(h: Harness, text: str, *, user: str = ALICE) -> str:
    """Type a command whose answer is posted in the channel; return that message."""
    before = len(top(h))
    h.command(text, user_id=user, channel_id=CHANNEL)
    h.slack.wait_for(lambda s: len([m for m in s.messages(CHANNEL) if not m.thread_ts]) > before)
    return shown(top(h)[-1])


def private(h: Harness, text: str, *, user: str = ALICE) -> str:
    """Type a command answered only to the user (acknowledgement or response_url)."""
    before = len(h.slack.response_url_posts)
    resp = h.command(text, user_id=user, channel_id=CHANNEL)
    if resp.text.strip():
        return visible(str(resp.text))
    h.slack.wait_for(lambda s: len(s.response_url_posts) > before)
    payload = h.slack.response_url_posts[-1].payload
    blocks = json.dumps(payload.get("blocks") or [], ensure_ascii=False)
    return visible(blocks + " " + str(payload.get("text")))


def listings(h: Harness, notebook_id: str) -> int:
    """How many times Deepnote was asked for the notebook's run list."""
    path = f"/v2/notebooks/{notebook_id}/runs"
    return sum(1 for r in h.deepnote.requests if r.method == "GET" and r.path == path)


def cards_of(h: Harness, run_id: str) -> list[Any]:
    """The channel's top-level messages that are about this Deepnote run."""
    return [m for m in top(h) if run_id in json.dumps(m.blocks)]


def follow_out(h: Harness) -> None:
    """Let the watch look, then follow what it found to the end."""
    h.advance(LOOK)
    h.run_until_finished()


# --- watching ---------------------------------------------------------------------------------


def test_watch_posts_a_failed_run_started_in_deepnote_with_card_reason_and_source(
    harness: Harness,
) -> None:
    h = harness
    notice = in_channel(h, f"watch {QUALITY_NOTEBOOK_ID}")
    for fragment in ("watch `1`", "Data quality check", "<@U0ALICE>", "`always`", "unwatch 1"):
        assert fragment in notice, fragment
    run_id = h.deepnote.start_elsewhere(QUALITY_NOTEBOOK_ID, "schedule", FAILING)
    follow_out(h)
    (card,) = cards_of(h, run_id)
    text = shown(card)
    assert "failed" in text
    assert "Deepnote's scheduler" in text
    assert "watch `1`" in text
    assert "no customer_id" in text  # the failure reason, on the card
    assert any("no customer_id" in r for r in replies(h, card))  # and in the thread
    assert h.slack.violations == []


def test_watch_posts_results_of_a_run_started_in_the_ui(harness: Harness) -> None:
    h = harness
    in_channel(h, f"watch {HELLO_NOTEBOOK_ID}")
    run_id = h.deepnote.start_elsewhere(HELLO_NOTEBOOK_ID, "user")
    follow_out(h)
    (card,) = cards_of(h, run_id)
    assert "succeeded" in shown(card)
    assert "someone in Deepnote's UI" in shown(card)
    assert any("Hello" in r for r in replies(h, card)), "the results are in the card's thread"


def test_runs_from_before_the_watch_are_not_posted(harness: Harness) -> None:
    h = harness
    old = [h.deepnote.start_elsewhere(HELLO_NOTEBOOK_ID, "user") for _ in range(2)]
    h.clock.advance(seconds=5)
    in_channel(h, f"watch {HELLO_NOTEBOOK_ID}")
    follow_out(h)
    assert len(top(h)) == 1, "only the watch's own notice"
    new = h.deepnote.start_elsewhere(HELLO_NOTEBOOK_ID, "api")
    follow_out(h)
    assert [len(cards_of(h, r)) for r in [*old, new]] == [0, 0, 1]
    assert "another Deepnote API client" in shown(cards_of(h, new)[0])


def test_the_bots_own_run_of_a_watched_notebook_is_posted_once(harness: Harness) -> None:
    h = harness
    in_channel(h, f"watch {HELLO_NOTEBOOK_ID}")
    in_channel(h, f"run {HELLO_NOTEBOOK_ID}", user=BOB)
    follow_out(h)
    follow_out(h)
    (run_id,) = h.deepnote.runs
    (card,) = cards_of(h, run_id)
    assert "<@U0BOB>" in shown(card)
    assert h.bot.services.store.get(run_id).watch_id is None  # type: ignore[union-attr]


def test_a_run_the_bot_is_still_starting_is_never_taken_for_someone_elses(
    harness: Harness,
) -> None:
    """Between Deepnote's answer to POST /v2/runs and the bot storing the run id, the run is
    already in the listing: the watch leaves it for the next look, when the row says."""
    h = harness
    in_channel(h, f"watch {HELLO_NOTEBOOK_ID}")
    store = h.bot.services.store
    row = run_record(
        id="mine",
        notebook_id=HELLO_NOTEBOOK_ID,
        channel_id=CHANNEL,
        team_id="T0TEST",
        user_id=ALICE,
        status=CREATING,
        created_at=h.clock.now(),
    )
    store.insert(row)
    store.mark_create_started(row.id)
    (run_id,) = [h.deepnote.start_elsewhere(HELLO_NOTEBOOK_ID, "api")]
    h.advance(LOOK)
    assert not cards_of(h, run_id)
    store.set_created(
        row.id, run_id=run_id, status="running", now=h.clock.now(), next_poll_at=h.clock.now()
    )
    follow_out(h)
    watched = h.bot.services.db.query("SELECT id FROM runs WHERE watch_id IS NOT NULL")
    assert watched == []
    assert not cards_of(h, run_id)  # the row posts no card of its own here (none was queued)


def test_notify_failures_posts_only_failed_runs(harness: Harness) -> None:
    h = harness
    in_channel(h, f"watch {QUALITY_NOTEBOOK_ID} --notify failures")
    ok = h.deepnote.start_elsewhere(QUALITY_NOTEBOOK_ID, "user", {"dataset": "orders"})
    follow_out(h)
    bad = h.deepnote.start_elsewhere(QUALITY_NOTEBOOK_ID, "user", FAILING)
    follow_out(h)
    assert (len(cards_of(h, ok)), len(cards_of(h, bad))) == (0, 1)
    assert "Last:* ❌ error" in private(h, "watches")


def test_one_watch_per_notebook(harness: Harness) -> None:
    h = harness
    in_channel(h, f"watch {HELLO_NOTEBOOK_ID}")
    answer = private(h, f"watch {HELLO_NOTEBOOK_ID}", user=BOB)
    assert "already watched in this channel" in answer
    assert "watch `1`" in answer
    assert len(top(h)) == 1


def test_unwatch_by_owner_or_admin_only_and_listed_and_audited(bots: Bots) -> None:
    h = bots.start(ADMIN_USER_IDS=ADMIN)
    in_channel(h, f"watch {HELLO_NOTEBOOK_ID}")
    listing = private(h, "watches", user=BOB)
    for fragment in ("`1`", "Hello world", "Watching", "<@U0ALICE>", "`always`"):
        assert fragment in listing, fragment
    refused = private(h, "unwatch 1", user=BOB)
    assert "You cannot stop watch `1`" in refused
    assert "<@U0ALICE>" in refused
    assert "There is no watch `7`" in private(h, "unwatch 7")
    before = len(top(h))
    elsewhere = h.command("unwatch 1", user_id=ADMIN, channel_id="C0OTHER")
    h.slack.wait_for(lambda s: len([m for m in s.messages(CHANNEL) if not m.thread_ts]) > before)
    gone = shown(top(h)[-1])
    h.slack.wait_for(lambda s: any("Stopped watch" in str(p.payload) for p in s.response_url_posts))
    assert elsewhere.status_code == 200
    assert "<@U0ADMIN> stopped watch `1`" in gone
    assert "No notebook is watched" in private(h, "watches")
    actions = [e.action for e in h.bot.services.audit.latest(10)]
    assert "watch" in actions
    assert "unwatch" in actions
    h.deepnote.start_elsewhere(HELLO_NOTEBOOK_ID, "user")
    before = len(top(h))
    follow_out(h)
    assert len(top(h)) == before


def test_a_deleted_notebook_pauses_the_watch_said_once(harness: Harness) -> None:
    h = harness
    in_channel(h, f"watch {HELLO_NOTEBOOK_ID}")
    h.deepnote.remove_notebook(HELLO_NOTEBOOK_ID)
    for _ in range(3):
        h.advance(LOOK)
    paused = [shown(m) for m in top(h) if "is paused" in shown(m)]
    assert len(paused) == 1
    assert "watch `1`" in paused[0].lower()
    assert "HTTP 404" in paused[0]
    assert listings(h, HELLO_NOTEBOOK_ID) == 2  # the starting mark, and the look that failed
    assert "Paused" in private(h, "watches")


def test_a_watch_pauses_once_when_the_access_rules_no_longer_allow_it(bots: Bots) -> None:
    first = bots.start()
    in_channel(first, f"watch {HELLO_NOTEBOOK_ID}")
    bots.stop(first)
    # The admin changes the rules: the notebook may now be used from another channel only.
    second = bots.start(NOTEBOOK_ACCESS=f"{HELLO_NOTEBOOK_ID}=C0OTHER")
    bots.deepnote.start_elsewhere(HELLO_NOTEBOOK_ID, "user")
    follow_out(second)
    follow_out(second)
    paused = [shown(m) for m in top(second) if "is paused" in shown(m)]
    assert len(paused) == 1
    assert "access rules no longer let this channel use it" in paused[0]
    assert len(top(second)) == 2  # the watch's notice and the pause: no card
    assert listings(second, HELLO_NOTEBOOK_ID) == 1  # only the starting mark


@pytest.mark.parametrize("engine", ENGINES)
def test_a_watch_survives_a_restart(bots: Bots, engine: str) -> None:
    first = bots.start()
    in_channel(first, f"watch {HELLO_NOTEBOOK_ID}")
    bots.stop(first)
    run_id = bots.deepnote.start_elsewhere(HELLO_NOTEBOOK_ID, "user")
    second = bots.start()
    follow_out(second)
    assert len(cards_of(second, run_id)) == 1


def test_two_replicas_post_a_watched_run_once(bots: Bots) -> None:
    """Only the process holding the poller lease reads watches."""
    first, second = bots.start(), bots.start()
    in_channel(first, f"watch {HELLO_NOTEBOOK_ID}")
    run_id = bots.deepnote.start_elsewhere(HELLO_NOTEBOOK_ID, "ci")
    for _ in range(3):
        bots.clock.advance(seconds=LOOK / 2)
        assert [first.bot.tick(), second.bot.tick()] == [True, False]
    first.run_until_finished()
    assert listings(first, HELLO_NOTEBOOK_ID) == 2  # the starting mark and one look
    (card,) = cards_of(first, run_id)
    assert "CI" in shown(card)


def test_watches_cost_one_listing_each_per_interval_spread_over_rounds(harness: Harness) -> None:
    """Three watched notebooks, one-second rounds for a minute: two looks each (one per
    WATCH_POLL_SECONDS), at most one listing per round (spread out, never all at once)."""
    h = harness
    notebooks = (HELLO_NOTEBOOK_ID, QUALITY_NOTEBOOK_ID, SALES_NOTEBOOK_ID)
    for notebook in notebooks:
        in_channel(h, f"watch {notebook}")
    start = [listings(h, n) for n in notebooks]
    per_round = []
    for _ in range(62):
        before = sum(listings(h, n) for n in notebooks)
        h.advance(1)
        per_round.append(sum(listings(h, n) for n in notebooks) - before)
    assert [listings(h, n) - s for n, s in zip(notebooks, start, strict=True)] == [2, 2, 2]
    assert max(per_round) == 1


# --- history ----------------------------------------------------------------------------------


def test_history_shows_sources_reasons_and_the_success_rate(harness: Harness) -> None:
    h = harness
    in_channel(h, f"run {QUALITY_NOTEBOOK_ID} dataset=orders")
    h.run_until_finished()
    h.deepnote.start_elsewhere(QUALITY_NOTEBOOK_ID, "user", FAILING)  # not watched yet
    h.clock.advance(seconds=5)
    in_channel(h, f"watch {QUALITY_NOTEBOOK_ID}")
    h.deepnote.start_elsewhere(QUALITY_NOTEBOOK_ID, "schedule", FAILING)
    follow_out(h)
    answer = private(h, f"history {QUALITY_NOTEBOOK_ID}")
    assert "Latest 3 runs of Data quality check" in answer
    assert "<@U0ALICE>" in answer
    assert "Deepnote (UI, scheduler or API)" in answer
    assert "Deepnote's scheduler" in answer
    assert "no customer_id" in answer  # the watched run's reason, from the bot's store
    assert "1 of 3 finished runs succeeded (33%)" in answer
    lines = [line for line in answer.split("\\n") if "·" in line]  # JSON-escaped newlines
    assert "Deepnote's scheduler" in lines[0]  # newest first


def test_history_count_and_bad_count(harness: Harness) -> None:
    h = harness
    for _ in range(3):
        h.deepnote.start_elsewhere(HELLO_NOTEBOOK_ID, "user")
        h.clock.advance(seconds=10)
    answer = private(h, f"history {HELLO_NOTEBOOK_ID} 2")
    assert "Latest 2 runs of Hello world" in answer
    assert "Older runs are not shown" in answer
    assert "2 of 2 finished runs succeeded (100%)" in answer
    assert "not a number of runs from 1 to 50" in private(h, f"history {HELLO_NOTEBOOK_ID} 99")
    empty = private(h, f"history {QUALITY_NOTEBOOK_ID}")
    assert "has no runs yet" in empty


# --- Home tab ---------------------------------------------------------------------------------


def open_home(h: Harness, user: str = ALICE) -> str:
    """The person opens the bot's Home tab; what it shows, as JSON text."""
    before = h.slack.home(user)
    previous = before.hash if before else None
    h.requester.event({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"})
    h.slack.wait_for(lambda s: s.home(user) is not None and s.home(user).hash != previous)
    view = h.slack.home(user)
    return visible(json.dumps(view.blocks, ensure_ascii=False))


def test_home_tab_shows_watches_and_last_runs_without_asking_deepnote(harness: Harness) -> None:
    h = harness
    in_channel(h, f"watch {QUALITY_NOTEBOOK_ID}")
    in_channel(h, f"schedule {HELLO_NOTEBOOK_ID} every day at 13:00 --tz UTC")
    h.deepnote.start_elsewhere(QUALITY_NOTEBOOK_ID, "user", FAILING)
    follow_out(h)
    h.deepnote.start_elsewhere(QUALITY_NOTEBOOK_ID, "user", {"dataset": "orders"})
    follow_out(h)
    h.advance(3600 - 2 * LOOK)  # 13:00: the schedule fires
    h.run_until_finished()
    requests = len(h.deepnote.requests)
    text = open_home(h)
    assert "*Your watches*" in text
    assert "Data quality check" in text
    assert "👀 Watching" in text
    assert "Last runs: ✅ ❌ (1 of 2 succeeded)" in text  # the watch's, newest first
    assert "Last runs: ✅ (1 of 1 succeeded)" in text  # the schedule's
    assert len(h.deepnote.requests) == requests


def test_home_view_with_many_schedules_and_watches_stays_within_slacks_limits() -> None:
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    schedules = [
        (
            ScheduleRecord(
                i, "T", CHANNEL, ALICE, "cd" * 16, "S", "0 9 * * *", "UTC", "always", now
            ),
            "daily",
        )
        for i in range(60)
    ]
    watches = [
        WatchRecord(
            i,
            "T",
            CHANNEL,
            ALICE,
            f"{i:032x}",
            "*W* <!channel>",
            "changes",
            now,
            paused=i % 2 == 0,
            paused_reason="<!here> gone",
        )
        for i in range(40)
    ]
    statuses = {("watch", i): ["success", "error"] for i in range(40)}
    view = home_view([], schedules, watches=watches, statuses=statuses)
    assert len(view["blocks"]) <= 100
    assert validate_view(view, kind="home") == []
    text = json.dumps(view["blocks"])
    assert "<!channel>" not in text
    assert "<!here>" not in text
    assert "more: see `/deepnote watches`" in text
    assert "more: see `/deepnote schedules`" in text
