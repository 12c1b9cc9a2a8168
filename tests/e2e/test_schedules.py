"""Schedules end to end: signed slash commands, the ManualClock, real SQLite, the fakes.

Each test types commands as people would, lets the clock run with `h.advance` (one
background round per call) and reads what Slack shows and what Deepnote was asked.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.offline.simulator import HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID
from bot.offline.slack_standin import SlackStandIn
from storage.schedules import ScheduleRecord
from tests.conftest import START, Bots, Harness
from tests.pg import ENGINES, both_engines

CHANNEL = "C0GENERAL"
OTHER = "C0OTHER"
ALICE, BOB, ADMIN = "U0ALICE", "U0BOB", "U0ADMIN"


# --- helpers --------------------------------------------------------------------------------


@pytest.fixture(params=ENGINES, name="engine")
def _engine(request: pytest.FixtureRequest) -> str:
    """Every scenario here runs on SQLite and on PostgreSQL."""
    return both_engines(request)


def shown(message: Any) -> str:
    """Everything a person sees in a message: its blocks' text and its fallback."""
    return visible(
        json.dumps(getattr(message, "blocks", None) or [], ensure_ascii=False) + " " + message.text
    )


def visible(text: str) -> str:
    """Text as it reads in Slack: without the invisible word joiners escaping adds."""
    return text.replace("\u2060", "")


def top(h: Harness, channel: str = CHANNEL) -> list[Any]:
    """The channel's top-level messages."""
    return [m for m in h.slack.messages(channel) if m.thread_ts is None]


def creates(h: Harness) -> list[Any]:
    """Every POST /v2/runs Deepnote received."""
    return [r for r in h.deepnote.requests if r.method == "POST" and r.path == "/v2/runs"]


def in_channel(h: Harness, text: str, *, user: str = ALICE, channel: str = CHANNEL) -> str:
    """Type a command whose answer is posted in the channel; return that message."""
    before = len(top(h, channel))
    h.command(text, user_id=user, channel_id=channel)
    h.slack.wait_for(lambda s: len([m for m in s.messages(channel) if not m.thread_ts]) > before)
    return shown(top(h, channel)[-1])


def private(h: Harness, text: str, *, user: str = ALICE, channel: str = CHANNEL) -> str:
    """Type a command answered only to the user (acknowledgement or response_url)."""
    before = len(h.slack.response_url_posts)
    resp = h.command(text, user_id=user, channel_id=channel)
    if resp.text.strip():
        return str(resp.text)
    h.slack.wait_for(lambda s: len(s.response_url_posts) > before)
    payload = h.slack.response_url_posts[-1].payload
    return visible(
        json.dumps(payload.get("blocks") or [], ensure_ascii=False) + " " + str(payload.get("text"))
    )


def newest_run_id(h: Harness) -> str:
    """Deepnote's id of the latest run."""
    return max(h.deepnote.runs.values(), key=lambda r: r.sequence).run_id


def fire_and_finish(h: Harness, *, fail: bool = False) -> None:
    """Go to the next slot of any schedule (it fires), optionally fail the run, follow it out."""
    count = len(creates(h))
    slot = min(s.next_fire_at for s in stored(h) if s.next_fire_at is not None)
    h.advance((slot - h.clock.now()).total_seconds())
    assert len(creates(h)) == count + 1, "the schedule did not fire"
    if fail:
        h.deepnote.finish_run(newest_run_id(h), "error", error="ValueError: bad data")
    h.run_until_finished()
    h.advance(1)  # notes that follow a run go out in the round after its reply


def stored(h: Harness) -> list[ScheduleRecord]:
    """All schedules in the database, by id."""
    rows = h.bot.services.db.query("SELECT id FROM schedules ORDER BY id")
    store = h.bot.services.schedules.store
    return [s for s in (store.get(int(r["id"])) for r in rows) if s is not None]


# --- creating -------------------------------------------------------------------------------


def test_create_uses_the_users_slack_time_zone_and_shows_the_next_three_runs(
    harness: Harness,
) -> None:
    h = harness
    reply = in_channel(h, f"schedule {SALES_NOTEBOOK_ID} every day at 9:00 region=Europe")
    for fragment in (
        "schedule `1`",
        "Sales",
        "every day at 09:00",
        "Europe/Prague",
        "your Slack time zone",
        "Thu 26 Nov 2026, 09:00 CET",
        "Fri 27 Nov 2026, 09:00 CET",
        "Sat 28 Nov 2026, 09:00 CET",
        "`region`",
        "`Europe`",
        "`always`",
        "<@U0ALICE>",
    ):
        assert fragment in reply, fragment
    (schedule,) = stored(h)
    assert schedule.owner_id == ALICE
    assert schedule.channel_id == CHANNEL
    assert schedule.expression == "0 9 * * *"
    assert schedule.tz == "Europe/Prague"
    assert schedule.inputs == {"region": "Europe"}
    assert schedule.next_fire_at == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    assert not creates(h)
    assert h.slack.violations == []


def test_create_with_tz_option_and_a_quoted_crontab(harness: Harness) -> None:
    h = harness
    reply = in_channel(
        h,
        f'schedule {HELLO_NOTEBOOK_ID} "30 9 * * 1-5" --tz asia/tokyo --notify failures',
        user=BOB,
    )
    # 12:00 UTC on Wednesday 25 November is 21:00 in Tokyo: next is Thursday morning there.
    for fragment in (
        "every weekday (Mon–Fri) at 09:30",
        "Asia/Tokyo",
        "set with --tz",
        "Thu 26 Nov 2026, 09:30 JST",
        "Fri 27 Nov 2026, 09:30 JST",
        "Mon 30 Nov 2026, 09:30 JST",
        "`failures`",
        "none, so the notebook",
    ):
        assert fragment in reply, fragment
    (schedule,) = stored(h)
    assert (schedule.owner_id, schedule.tz, schedule.notify) == (BOB, "Asia/Tokyo", "failures")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"schedule {SALES_NOTEBOOK_ID} every blue moon", "could not understand"),
        (f'schedule {SALES_NOTEBOOK_ID} "61 9 * * *"', "out of range"),
        (f"schedule {SALES_NOTEBOOK_ID} every day at 9 region=Atlantis", "Atlantis"),
        (f"schedule {SALES_NOTEBOOK_ID} every day at 9 regoin=Europe", "regoin"),
        (f"schedule {SALES_NOTEBOOK_ID} every day at 9 --tz Mars/Olympus", "time zone"),
        ("schedule 0123456789abcdef0123456789abcdef every day at 9", "no notebook"),
    ],
    ids=["words", "cron", "input-value", "input-name", "tz", "notebook"],
)
def test_bad_schedule_is_rejected_and_nothing_is_stored(
    harness: Harness, text: str, expected: str
) -> None:
    h = harness
    answer = private(h, text)
    assert expected in answer
    assert stored(h) == []
    assert top(h) == []
    h.advance(86400 * 2)
    assert not creates(h)


def test_notebook_not_allowed_in_the_channel_stores_nothing(bots: Bots) -> None:
    h = bots.start(NOTEBOOK_ACCESS=f"{HELLO_NOTEBOOK_ID}={OTHER}")
    answer = private(h, f"schedule {HELLO_NOTEBOOK_ID} every hour")
    assert "may not be run from this channel" in answer
    assert stored(h) == []
    assert "schedule `1`" in in_channel(
        h, f"schedule {HELLO_NOTEBOOK_ID} every hour", channel=OTHER
    )


def test_bot_not_in_channel_stores_nothing(harness: Harness) -> None:
    h = harness
    h.slack.kick(OTHER)
    answer = private(h, f"schedule {HELLO_NOTEBOOK_ID} every hour", channel=OTHER)
    assert "Nothing was scheduled" in answer
    assert stored(h) == []


# --- firing ---------------------------------------------------------------------------------


def test_fires_at_the_right_instant_with_the_stored_inputs(harness: Harness) -> None:
    h = harness
    in_channel(h, f"schedule {SALES_NOTEBOOK_ID} every day at 13:00 region=Europe --tz UTC")
    h.advance(3599)
    assert not creates(h)
    h.advance(1)
    (create,) = creates(h)
    assert create.body == {
        "notebookId": SALES_NOTEBOOK_ID,
        "detached": True,
        "inputs": {"region": "Europe"},
    }
    card = top(h)[-1]
    assert "started by schedule `1`" in shown(card).lower()
    h.run_until_finished()
    card = top(h)[-1]
    assert "succeeded" in card.text
    (reply,) = h.slack.thread(CHANNEL, card.ts)
    assert "succeeded" in shown(reply)
    (schedule,) = stored(h)
    assert schedule.next_fire_at == datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
    assert schedule.last_status == "success"
    h.advance(3600)
    assert len(creates(h)) == 1
    assert h.slack.violations == []


def test_notify_failures_posts_only_failed_runs_and_mentions_the_owner(harness: Harness) -> None:
    h = harness
    in_channel(h, f"schedule {HELLO_NOTEBOOK_ID} every hour --notify failures")
    shown_before = len(top(h))
    fire_and_finish(h)
    assert len(top(h)) == shown_before, "a quiet success was posted"
    fire_and_finish(h, fail=True)
    card = top(h)[-1]
    assert "failed" in card.text
    (reply,) = h.slack.thread(CHANNEL, card.ts)
    assert "<@U0ALICE>" in shown(reply)
    assert "bad data" in shown(reply)
    fire_and_finish(h)
    assert len(top(h)) == shown_before + 1, "a success after a failure is quiet with failures"
    (schedule,) = stored(h)
    assert schedule.last_status == "success"
    assert schedule.consecutive_failures == 0


def test_notify_changes_posts_changes_and_says_back_to_normal(harness: Harness) -> None:
    h = harness
    in_channel(h, f"schedule {HELLO_NOTEBOOK_ID} every hour --notify changes")
    count = len(top(h))
    fire_and_finish(h)  # first run succeeds: nothing to compare with, stays quiet
    fire_and_finish(h)  # success again: no change
    assert len(top(h)) == count
    fire_and_finish(h, fail=True)  # success -> failure: announced
    assert len(top(h)) == count + 1
    failed = top(h)[-1]
    assert "<@U0ALICE>" in shown(h.slack.thread(CHANNEL, failed.ts)[0])
    fire_and_finish(h, fail=True)  # failure again: no change
    assert len(top(h)) == count + 1
    fire_and_finish(h)  # failure -> success: announced, back to normal
    assert len(top(h)) == count + 2
    recovered = top(h)[-1]
    assert "succeeded" in recovered.text
    replies = h.slack.thread(CHANNEL, recovered.ts)
    assert len(replies) == 2
    assert "succeeded" in shown(replies[0])
    assert "Back to normal" in shown(replies[1])
    assert "previous 2 runs failed" in shown(replies[1])
    assert h.slack.violations == []


def test_notify_changes_announces_a_first_run_that_fails(harness: Harness) -> None:
    h = harness
    in_channel(h, f"schedule {SALES_NOTEBOOK_ID} every hour region=Mars --notify changes")
    count = len(top(h))
    fire_and_finish(h)
    assert len(top(h)) == count + 1
    assert "ZeroDivisionError" in shown(h.slack.thread(CHANNEL, top(h)[-1].ts)[0])


def test_auto_pause_after_three_failures(harness: Harness) -> None:
    h = harness
    in_channel(h, f"schedule {SALES_NOTEBOOK_ID} every hour region=Mars")
    fire_and_finish(h)
    fire_and_finish(h)
    assert not stored(h)[0].paused
    fire_and_finish(h)
    cards = [m for m in top(h) if "Sales" in m.text and "failed" in m.text]
    assert len(cards) == 3
    for card in cards:
        assert "<@U0ALICE>" in shown(h.slack.thread(CHANNEL, card.ts)[0])
    notice = shown(top(h)[-1])
    assert "paused itself after 3 failed runs" in notice
    assert "Sales" in notice
    assert "/deepnote resume 1" in notice
    (schedule,) = stored(h)
    assert schedule.paused
    assert schedule.next_fire_at is None
    h.advance(3600 * 5)
    assert len(creates(h)) == 3
    listing = private(h, "schedules")
    assert "Paused" in listing
    assert "paused itself" in listing


def test_stored_inputs_refused_at_fire_time_count_as_a_failure(harness: Harness) -> None:
    h = harness
    in_channel(h, f"schedule {SALES_NOTEBOOK_ID} every hour region=Europe")
    # The notebook changed since: its region input no longer takes the stored value.
    h.bot.services.db.execute_write(
        "UPDATE schedules SET inputs = ? WHERE id = 1", (json.dumps({"region": "Atlantis"}),)
    )
    h.advance(3600)
    assert not creates(h)
    notice = shown(top(h)[-1])
    assert "could not start" in notice
    assert "Atlantis" in notice
    assert "<@U0ALICE>" in notice
    (schedule,) = stored(h)
    assert schedule.consecutive_failures == 1
    assert schedule.last_status == "create_failed"


def test_deepnote_refusing_the_run_counts_as_a_failure(harness: Harness) -> None:
    h = harness
    in_channel(h, f"schedule {HELLO_NOTEBOOK_ID} every hour")
    h.deepnote.inject("POST", "/v2/runs", status=409, message="Project is suspended", times=1)
    h.advance(3600)
    h.advance(1)
    h.advance(1)
    card = top(h)[-1]
    assert "could not be started" in card.text
    (note,) = h.slack.thread(CHANNEL, card.ts)
    assert "could not start" in shown(note)
    assert "Project is suspended" in shown(note)
    assert "<@U0ALICE>" in shown(note)
    assert stored(h)[0].consecutive_failures == 1


def test_daily_prague_schedule_follows_daylight_saving(bots: Bots, clock: ManualClock) -> None:
    clock.set(datetime(2027, 3, 26, 12, 0, tzinfo=UTC))  # Friday; DST starts Sunday 28 March
    h = bots.start()
    reply = in_channel(h, f"schedule {HELLO_NOTEBOOK_ID} every day at 9:00")
    assert "Sat 27 Mar 2027, 09:00 CET" in reply
    assert "Sun 28 Mar 2027, 09:00 CEST" in reply
    h.advance((datetime(2027, 3, 27, 7, 59, 59, tzinfo=UTC) - clock.now()).total_seconds())
    assert not creates(h)
    h.advance(1)  # 08:00 UTC = 09:00 CET
    assert len(creates(h)) == 1
    h.advance((datetime(2027, 3, 28, 6, 59, 59, tzinfo=UTC) - clock.now()).total_seconds())
    assert len(creates(h)) == 1
    h.advance(1)  # 07:00 UTC = 09:00 CEST
    assert len(creates(h)) == 2
    assert stored(h)[0].next_fire_at == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)


# --- listing, pausing, resuming, deleting, triggering ---------------------------------------


def test_schedules_listing_empty_and_full(harness: Harness) -> None:
    h = harness
    empty = private(h, "schedules")
    assert "no schedules in this channel" in empty
    assert "/deepnote schedule " in empty
    in_channel(h, f"schedule {HELLO_NOTEBOOK_ID} every day at 13:00 --tz UTC")
    in_channel(h, f"schedule {SALES_NOTEBOOK_ID} every monday at 8:30 region=Europe", user=BOB)
    in_channel(h, f"schedule {HELLO_NOTEBOOK_ID} every day at 23:00", channel=OTHER)
    fire_and_finish(h)
    listing = private(h, "schedules")
    for fragment in (
        "`1`",
        "`2`",
        "Hello world",
        "Sales",
        "every day at 13:00",
        "every Monday at 08:30",
        "America/New_York",
        "Thu 26 Nov 2026, 13:00 UTC",
        "Mon 30 Nov 2026, 08:30 EST",
        "✅",
        "no runs yet",
        "<@U0ALICE>",
        "<@U0BOB>",
    ):
        assert fragment in listing, fragment
    assert "`3`" not in listing  # another channel's schedule


def test_pause_resume_and_unschedule(harness: Harness) -> None:
    h = harness
    in_channel(h, f"schedule {HELLO_NOTEBOOK_ID} every hour --tz UTC")
    paused = in_channel(h, "pause 1")
    assert "paused schedule `1`" in paused
    assert "/deepnote resume 1" in paused
    assert "Paused* (paused by <@U0ALICE>)" in private(h, "schedules")
    h.advance(3600 * 3)
    assert not creates(h), "a paused schedule fired"
    clock = h.clock
    clock.advance(minutes=20)  # 15:20: resuming must not make up the 13:00-15:00 slots
    resumed = in_channel(h, "resume 1")
    assert "Next run: Wed 25 Nov 2026, 16:00 UTC" in resumed
    h.advance(1)
    assert not creates(h), "resume caught up a missed run"
    h.advance(40 * 60)
    assert len(creates(h)) == 1
    h.run_until_finished()
    gone = in_channel(h, "unschedule 1")
    assert "deleted schedule `1`" in gone
    assert stored(h) == []
    h.advance(3600 * 3)
    assert len(creates(h)) == 1
    assert "There is no schedule `1`" in private(h, "pause 1")


def test_others_are_refused_and_an_admin_may_change_any_schedule(
    bots: Bots, slack: SlackStandIn
) -> None:
    slack.set_user(ADMIN, tz="UTC", name="Ada Admin")
    h = bots.start(ADMIN_USER_IDS=ADMIN)
    in_channel(h, f"schedule {HELLO_NOTEBOOK_ID} every hour")
    for action in ("pause 1", "resume 1", "trigger 1", "unschedule 1"):
        refusal = private(h, action, user=BOB)
        assert "You cannot" in refusal
        assert "<@U0ALICE>" in refusal
        assert "<@U0ADMIN>" in refusal
    assert not stored(h)[0].paused
    assert not creates(h)
    assert "paused schedule `1`" in in_channel(h, "pause 1", user=ADMIN)
    assert "<@U0ADMIN>" in shown(top(h)[-1])
    assert "deleted schedule `1`" in in_channel(h, "unschedule 1", user=ADMIN)
    assert stored(h) == []


def test_unknown_schedule_id(harness: Harness) -> None:
    for action in ("pause", "resume", "trigger", "unschedule"):
        answer = private(harness, f"{action} 42")
        assert "There is no schedule `42`" in answer
        assert "/deepnote schedules" in answer


def test_trigger_runs_now_with_the_stored_inputs_in_the_schedules_channel(
    harness: Harness,
) -> None:
    h = harness
    in_channel(h, f"schedule {SALES_NOTEBOOK_ID} every day at 9:00 region=Mars --notify failures")
    answer = private(h, "trigger 1", channel=OTHER)
    assert f"<#{CHANNEL}>" in answer
    (create,) = creates(h)
    assert create.body["inputs"] == {"region": "Mars"}
    card = top(h)[-1]
    assert "started by <@U0ALICE> from schedule `1`" in shown(card)
    assert top(h, OTHER) == []
    h.run_until_finished()
    (reply,) = h.slack.thread(CHANNEL, top(h)[-1].ts)
    assert "ZeroDivisionError" in shown(reply)
    (schedule,) = stored(h)
    assert schedule.last_status == "error"
    assert schedule.consecutive_failures == 1
    assert schedule.next_fire_at == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # unchanged


# --- restarts and two processes -------------------------------------------------------------


def test_missed_firing_within_the_grace_period_runs_once_after_a_restart(
    bots: Bots, clock: ManualClock
) -> None:
    h = bots.start()
    in_channel(h, f"schedule {HELLO_NOTEBOOK_ID} every day at 13:00 --tz UTC")
    bots.stop(h)
    clock.set(datetime(2026, 11, 25, 13, 5, tzinfo=UTC))  # 5 minutes late, grace is 10
    h = bots.start()
    h.advance(0)
    assert len(creates(h)) == 1
    assert not any("skipped" in shown(m) for m in top(h))
    h.run_until_finished()
    h.advance(60)
    assert len(creates(h)) == 1
    assert stored(h)[0].next_fire_at == datetime(2026, 11, 26, 13, 0, tzinfo=UTC)


def test_missed_firings_outside_the_grace_period_are_skipped_and_noted_once(
    bots: Bots, clock: ManualClock
) -> None:
    h = bots.start()
    in_channel(h, f"schedule {HELLO_NOTEBOOK_ID} every day at 13:00 --tz UTC")
    bots.stop(h)
    clock.set(datetime(2026, 11, 28, 13, 30, tzinfo=UTC))  # missed 25th to 28th
    h = bots.start()
    h.advance(0)
    h.advance(1)
    assert not creates(h)
    notes = [shown(m) for m in top(h) if "skipped" in shown(m)]
    assert len(notes) == 1
    assert "4 runs due from Wed 25 Nov 2026, 13:00 UTC to Sat 28 Nov 2026, 13:00 UTC" in notes[0]
    assert "Next run: Sun 29 Nov 2026, 13:00 UTC" in notes[0]
    h.advance(60)
    assert len([m for m in top(h) if "skipped" in shown(m)]) == 1
    h.advance((datetime(2026, 11, 29, 13, 0, tzinfo=UTC) - clock.now()).total_seconds())
    assert len(creates(h)) == 1


def test_restart_runs_the_latest_slot_and_notes_the_older_ones(
    bots: Bots, clock: ManualClock
) -> None:
    h = bots.start()
    in_channel(h, f"schedule {HELLO_NOTEBOOK_ID} every hour --tz UTC")
    bots.stop(h)
    clock.set(datetime(2026, 11, 25, 15, 3, tzinfo=UTC))  # missed 13:00, 14:00; 15:00 is fresh
    h = bots.start()
    h.advance(0)
    assert len(creates(h)) == 1
    (note,) = [shown(m) for m in top(h) if "skipped" in shown(m)]
    assert "2 runs due from Wed 25 Nov 2026, 13:00 UTC to Wed 25 Nov 2026, 14:00 UTC" in note
    assert "The run due Wed 25 Nov 2026, 15:00 UTC is starting now" in note


def test_two_bots_on_one_database_do_not_fire_a_slot_twice(bots: Bots) -> None:
    first = bots.start()
    second = bots.start()
    in_channel(first, f"schedule {HELLO_NOTEBOOK_ID} every hour --tz UTC")
    first.clock.advance(seconds=3600)
    first.bot.tick()
    second.bot.tick()
    assert len(creates(first)) == 1
    # Even without the poller lease, the claim lets only one of them start the slot.
    first.clock.advance(seconds=3600)
    barrier = threading.Barrier(2)

    def fire(h: Harness) -> None:
        barrier.wait()
        h.bot.services.schedules.tick()

    threads = [threading.Thread(target=fire, args=(h,)) for h in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(creates(first)) == 2
    assert stored(first)[0].next_fire_at == START.replace(hour=15)
