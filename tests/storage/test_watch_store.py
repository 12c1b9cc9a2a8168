"""The watch store on a real database (both engines), and what the run store adds for it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from storage.db import Database
from storage.records import CREATING
from storage.runs import RunStore
from storage.watches import WatchRecord, WatchStore, recent_statuses
from tests.conftest import run_record

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
OpenDb = Callable[[], Database]


def new_watch(**changes: object) -> WatchRecord:
    fields: dict[str, object] = {
        "id": 0,
        "team_id": "T1",
        "channel_id": "C1",
        "owner_id": "U1",
        "notebook_id": "nb",
        "notebook_name": "Sales",
        "notify": "always",
        "created_at": T0,
        "next_poll_at": T0 + timedelta(seconds=30),
        "seen_until": T0,
        "seen_ids": ("r1", "r2"),
    }
    fields.update(changes)
    return WatchRecord(**fields)  # type: ignore[arg-type]


@pytest.fixture
def db_path(open_db: OpenDb) -> OpenDb:
    """Opens the test's migrated database, once per simulated process."""
    open_db().migrate()
    return open_db


def test_insert_read_back_and_find(db_path: OpenDb) -> None:
    store = WatchStore(db_path())
    first = store.insert(new_watch())
    second = store.insert(new_watch(notebook_id="nb2", owner_id="U2", channel_id="C2"))
    assert (first.id, second.id) == (1, 2)
    assert store.get(1) == first
    assert first.seen_ids == ("r1", "r2")
    assert store.in_channel("T1", "C1") == [first]
    assert store.owned_by("T1", "U2", limit=5) == [second]
    assert store.of_notebook("T1", "nb2") == second
    assert store.of_notebook("T2", "nb2") is None
    assert store.delete(1)
    assert not store.delete(1)
    assert store.insert(new_watch()).id == 3  # ids are never handed out again


def test_due_and_the_mark_is_moved_by_one_process_only(db_path: OpenDb) -> None:
    one, two = WatchStore(db_path()), WatchStore(db_path())
    watch = one.insert(new_watch())
    assert one.due(T0, limit=10) == []
    (due,) = one.due(T0 + timedelta(seconds=30), limit=10)
    assert due.next_poll_at is not None
    later = T0 + timedelta(seconds=60)
    kwargs = {"seen_until": T0 + timedelta(seconds=5), "seen_ids": ["r3"], "next_poll_at": later}
    assert one.seen(watch.id, expected=due.next_poll_at, **kwargs)  # type: ignore[arg-type]
    assert not two.seen(watch.id, expected=due.next_poll_at, **kwargs)  # type: ignore[arg-type]
    moved = two.get(watch.id)
    assert moved is not None
    assert (moved.seen_ids, moved.next_poll_at) == (("r3",), later)


def test_pause_is_said_once_and_stops_the_looks(db_path: OpenDb) -> None:
    store = WatchStore(db_path())
    watch = store.insert(new_watch())
    assert store.active_count() == 1
    assert store.pause(watch.id, reason="gone")
    assert not store.pause(watch.id, reason="gone")
    paused = store.get(watch.id)
    assert paused is not None
    assert (paused.paused, paused.paused_reason, paused.next_poll_at) == (True, "gone", None)
    assert store.due(T0 + timedelta(days=1), limit=10) == []
    assert store.active_count() == 0


def test_record_outcome_keeps_the_previous_status_and_ignores_a_repeat(db_path: OpenDb) -> None:
    store = WatchStore(db_path())
    watch = store.insert(new_watch())
    first = store.record_outcome(watch.id, run_id="a", status="error", finished_at=T0)
    assert first is not None
    assert (first.previous_status, first.watch.last_status, first.duplicate) == (
        None,
        "error",
        False,
    )
    second = store.record_outcome(watch.id, run_id="b", status="success", finished_at=T0)
    assert second is not None
    assert second.previous_status == "error"
    again = store.record_outcome(watch.id, run_id="b", status="success", finished_at=T0)
    assert again is not None
    assert again.duplicate
    assert store.record_outcome(99, run_id="c", status="success", finished_at=T0) is None


def test_run_store_finds_runs_by_deepnote_id_and_runs_being_started(db_path: OpenDb) -> None:
    db = db_path()
    runs = RunStore(db)
    runs.insert(run_record(id="x", run_id="dn-1", notebook_id="nb", status="success"))
    runs.insert(run_record(id="y", notebook_id="nb", status=CREATING))
    runs.insert(run_record(id="z", run_id="dn-3", notebook_id="nb2", watch_id=4, status="error"))
    assert set(runs.by_run_ids(["dn-1", "dn-3", "dn-9"])) == {"dn-1", "dn-3"}
    assert runs.by_run_ids([]) == {}
    assert runs.starting("nb")
    assert not runs.starting("nb2")
    runs.set_source("z", "schedule")
    assert runs.by_run_ids(["dn-3"])["dn-3"].source == "schedule"
    statuses = recent_statuses(db, schedule_ids=[], watch_ids=[4], per_item=5)
    assert statuses == {("watch", 4): ["error"]}


def test_recent_statuses_keeps_the_latest_few_of_each(db_path: OpenDb) -> None:
    db = db_path()
    runs = RunStore(db)
    for i in range(12):  # a busy schedule: its runs are the newest
        status = "error" if i == 11 else "success"
        at = T0 + timedelta(minutes=10 + i)
        runs.insert(run_record(id=f"s{i}", schedule_id="7", status=status, created_at=at))
    for i, status in enumerate(("success", "error", "stopped")):
        runs.insert(run_record(id=f"w{i}", watch_id=2, status=status, created_at=T0 + timedelta(i)))
    runs.insert(run_record(id="other", schedule_id="8", status="error"))
    found = recent_statuses(db, schedule_ids=[7], watch_ids=[2], per_item=2)
    assert found == {("schedule", 7): ["error", "success"], ("watch", 2): ["stopped", "error"]}
