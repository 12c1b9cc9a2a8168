"""The schedule store on a real database (both engines), and the pure decisions around firing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import storage.schedules
from bot.schedules.rules import parse_schedule_id, plan_slots, should_announce
from bot.schedules.when import parse_when
from storage.db import Database
from storage.runs import RunStore
from storage.schedules import Note, ScheduleRecord, ScheduleStore
from tests.conftest import run_record

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")


def new_schedule(**changes: object) -> ScheduleRecord:
    fields: dict[str, object] = {
        "id": 0,
        "team_id": "T1",
        "channel_id": "C1",
        "owner_id": "U1",
        "notebook_id": "nb",
        "notebook_name": "Sales",
        "expression": "0 * * * *",
        "tz": "UTC",
        "notify": "always",
        "created_at": T0,
        "inputs": {"region": "Europe"},
        "next_fire_at": T0 + timedelta(hours=1),
    }
    fields.update(changes)
    return ScheduleRecord(**fields)  # type: ignore[arg-type]


OpenDb = Callable[[], Database]


@pytest.fixture
def db_path(open_db: OpenDb) -> OpenDb:
    """Opens the test's migrated database, once per simulated process."""
    open_db().migrate()
    return open_db


@pytest.fixture
def store(db_path: OpenDb) -> ScheduleStore:
    return ScheduleStore(db_path())


def test_insert_and_read_back(store: ScheduleStore) -> None:
    first = store.insert(new_schedule())
    second = store.insert(new_schedule(channel_id="C2", inputs={}))
    assert (first.id, second.id) == (1, 2)
    assert store.get(1) == first
    assert store.in_channel("T1", "C1") == [first]
    assert store.in_channel("T2", "C1") == []


def test_owned_by_lists_one_owners_schedules_in_one_team(store: ScheduleStore) -> None:
    first = store.insert(new_schedule())
    store.insert(new_schedule(owner_id="U2"))
    store.insert(new_schedule(team_id="T2"))
    third = store.insert(new_schedule(channel_id="C2"))
    assert store.owned_by("T1", "U1", limit=10) == [first, third]
    assert store.owned_by("T1", "U1", limit=1) == [first]
    assert store.owned_by("T1", "U3", limit=10) == []


def test_deleted_ids_are_never_reused(store: ScheduleStore) -> None:
    first = store.insert(new_schedule())
    assert store.delete(first.id)
    assert not store.delete(first.id)
    assert store.insert(new_schedule()).id == 2


def test_due_skips_paused_and_future(store: ScheduleStore) -> None:
    due = store.insert(new_schedule())
    store.insert(new_schedule(next_fire_at=T0 + timedelta(hours=5)))
    paused = store.insert(new_schedule())
    store.set_paused(paused.id, paused=True, reason="test", next_fire_at=None)
    assert [s.id for s in store.due(T0 + timedelta(hours=1))] == [due.id]
    assert store.due(T0) == []


def test_claim_is_a_compare_and_set_across_connections(db_path: OpenDb) -> None:
    one, two = ScheduleStore(db_path()), ScheduleStore(db_path())
    schedule = one.insert(new_schedule())
    slot = schedule.next_fire_at
    assert slot is not None
    later = slot + timedelta(hours=1)
    # Both processes read the same due row; only the first claim wins.
    assert one.claim(schedule.id, expected=slot, next_fire_at=later)
    assert not two.claim(schedule.id, expected=slot, next_fire_at=later)
    assert two.get(schedule.id).next_fire_at == later  # type: ignore[union-attr]


def test_claim_race_has_exactly_one_winner(db_path: OpenDb) -> None:
    schedule = ScheduleStore(db_path()).insert(new_schedule())
    slot = schedule.next_fire_at
    assert slot is not None
    stores = [ScheduleStore(db_path()) for _ in range(8)]
    barrier = threading.Barrier(len(stores))
    wins: list[bool] = []
    lock = threading.Lock()

    def race(store: ScheduleStore) -> None:
        barrier.wait()
        won = store.claim(schedule.id, expected=slot, next_fire_at=slot + timedelta(hours=1))
        with lock:
            wins.append(won)

    threads = [threading.Thread(target=race, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 7 + [True]


def test_claim_fails_on_a_paused_or_deleted_schedule(store: ScheduleStore) -> None:
    schedule = store.insert(new_schedule())
    slot = schedule.next_fire_at
    assert slot is not None
    store.set_paused(schedule.id, paused=True, reason="x", next_fire_at=None)
    assert not store.claim(schedule.id, expected=slot, next_fire_at=None)
    store.delete(schedule.id)
    assert not store.claim(schedule.id, expected=slot, next_fire_at=None)


def test_update_changes_settings_and_keeps_id_owner_history_and_pause(
    store: ScheduleStore,
) -> None:
    schedule = store.insert(new_schedule())
    store.record_outcome(
        schedule.id,
        run_id="r1",
        status="success",
        finished_at=T0,
        pause_after=3,
        pause_reason="x",
    )
    later = T0 + timedelta(hours=5)
    wanted = replace(
        schedule,
        expression="0 9 * * 1-5",
        tz="Europe/Prague",
        notify="failures",
        post_outputs="all",
        inputs={"top_n": "3"},
        owner_id="U2",
    )
    result = store.update(wanted, next_fire_at=later, now=later)
    assert result is not None
    before, after = result
    assert before.expression == "0 * * * *"
    assert after == store.get(schedule.id)
    assert (after.expression, after.tz, after.notify, after.post_outputs, after.inputs) == (
        "0 9 * * 1-5",
        "Europe/Prague",
        "failures",
        "all",
        {"top_n": "3"},
    )
    assert (after.owner_id, after.last_run_id, after.next_fire_at) == ("U1", "r1", later)
    # The notify it replaced still holds for runs started before the edit.
    assert (after.notify_before, after.notify_changed_at) == ("always", later)
    assert after.notify_for(later - timedelta(seconds=1)) == "always"
    assert after.notify_for(later + timedelta(seconds=1)) == "failures"
    # A paused schedule stays paused: its next slot is set when it is resumed.
    store.set_paused(schedule.id, paused=True, reason="x", next_fire_at=None)
    result = store.update(replace(wanted, expression="0 * * * *"), next_fire_at=later, now=later)
    assert result is not None
    assert result[1].paused
    assert result[1].next_fire_at is None
    store.delete(schedule.id)
    assert store.update(wanted, next_fire_at=None, now=later) is None


def test_outcomes_count_failures_and_pause_after_three(store: ScheduleStore) -> None:
    schedule = store.insert(new_schedule())

    def record(run_id: str, status: str) -> storage.schedules.Outcome:
        outcome = store.record_outcome(
            schedule.id,
            run_id=run_id,
            status=status,
            finished_at=T0,
            pause_after=3,
            pause_reason="too many failures",
        )
        assert outcome is not None
        return outcome

    assert record("r1", "error").previous_status is None
    ok = record("r2", "success")
    assert (ok.previous_status, ok.previous_failures, ok.schedule.consecutive_failures) == (
        "error",
        1,
        0,
    )
    record("r3", "error")
    record("r4", "internal_error")
    third = record("r5", "create_failed")
    assert third.auto_paused
    assert third.schedule.paused
    assert third.schedule.next_fire_at is None
    assert third.schedule.paused_reason == "too many failures"
    again = record("r5", "create_failed")
    assert again.duplicate
    assert not again.auto_paused
    fourth = record("r6", "error")
    assert not fourth.auto_paused  # already paused: said once
    assert store.get(schedule.id).consecutive_failures == 4  # type: ignore[union-attr]
    resumed = store.set_paused(schedule.id, paused=False, reason=None, next_fire_at=T0)
    assert resumed is not None
    assert resumed.consecutive_failures == 0
    assert resumed.last_status == "error"


def test_notes_wait_for_their_run(db_path: OpenDb) -> None:
    db = db_path()
    store, runs = ScheduleStore(db), RunStore(db)
    schedule = store.insert(new_schedule())
    run = run_record(
        id="run-1",
        status="creating",
        created_at=T0,
        quiet=True,
        trigger="schedule",
        schedule_id=str(schedule.id),
    )
    runs.insert(run)
    store.add_note(Note(schedule.id, "C1", "now"), now=T0)
    store.add_note(Note(schedule.id, "C1", "after", after_run_id="run-1", in_thread=True), now=T0)
    assert [(n.text, ts) for n, ts in store.ready_notes(T0)] == [("now", None)]
    runs.set_create_failed("run-1", error="refused", now=T0)
    assert [n.text for n, _ in store.ready_notes(T0)] == ["now"]  # follow-up not settled yet
    runs.finish_done("run-1", announce=False)
    # Never announced: the note goes top level instead of under a card.
    assert [(n.text, ts) for n, ts in store.ready_notes(T0)] == [("now", None), ("after", None)]
    first = store.ready_notes(T0)[0][0]
    store.note_retry(first.id, retry_at=T0 + timedelta(seconds=5))
    assert [n.text for n, _ in store.ready_notes(T0)] == ["after"]
    assert [n.attempts for n, _ in store.ready_notes(T0 + timedelta(seconds=5))] == [1, 0]
    store.delete(schedule.id)
    assert store.ready_notes(T0 + timedelta(seconds=5)) == []


# --- pure decisions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notify", "success", "previous", "expected"),
    [
        ("always", True, None, True),
        ("always", False, "success", True),
        ("failures", True, "error", False),
        ("failures", False, None, True),
        ("failures", False, "error", True),
        ("changes", True, None, False),
        ("changes", False, None, True),
        ("changes", True, "success", False),
        ("changes", False, "error", False),
        ("changes", False, "create_failed", False),
        ("changes", False, "success", True),
        ("changes", True, "error", True),
        ("changes", True, "lost", True),
    ],
)
def test_should_announce(notify: str, success: bool, previous: str | None, expected: bool) -> None:
    assert should_announce(notify, success=success, previous_status=previous) is expected


def at(hour: int, minute: int = 0, day: int = 25) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expected", "now", "run", "skipped", "first", "last", "following"),
    [
        # on time, or a few seconds late: run it
        (at(13), at(13), at(13), 0, None, None, at(14)),
        (at(13), at(13, 9), at(13), 0, None, None, at(14)),
        # later than the grace: skip it
        (at(13), at(13, 11), None, 1, at(13), at(13), at(14)),
        # a long outage: only the latest slot may run, the others are noted together
        (at(13), at(16, 5), at(16), 3, at(13), at(15), at(17)),
        (at(13), at(16, 30), None, 4, at(13), at(16), at(17)),
    ],
)
def test_plan_slots(
    expected: datetime,
    now: datetime,
    run: datetime | None,
    skipped: int,
    first: datetime | None,
    last: datetime | None,
    following: datetime,
) -> None:
    plan = plan_slots(
        parse_when("every hour"), UTC_ZONE, expected=expected, now=now, grace_seconds=600
    )
    assert (plan.run, plan.skipped, plan.skipped_first, plan.skipped_last) == (
        run,
        skipped,
        first,
        last,
    )
    assert plan.next_fire_at == following


def test_plan_slots_caps_the_count_of_missed_slots() -> None:
    plan = plan_slots(
        parse_when("every minute"),
        UTC_ZONE,
        expected=at(0, day=1),
        now=at(0, day=20),
        grace_seconds=0,
    )
    assert plan.run == at(0, day=20)
    assert plan.skipped == 1000
    assert plan.skipped_last == at(23, 59, day=19)


@pytest.mark.parametrize(
    ("text", "expected"), [("12", 12), ("#7", 7), (" 3 ", 3), ("abc", None), ("١٢", None)]
)
def test_parse_schedule_id(text: str, expected: int | None) -> None:
    assert parse_schedule_id(text) == expected
