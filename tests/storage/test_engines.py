"""What both engines must do alike: migrate once under a race, hand a lease to exactly one
process, keep ids, and copy an installation without loss or doubles."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage.audit import AuditStore
from storage.copy import copy_database
from storage.db import PRIMARY_KEYS, Database
from storage.migrations import MIGRATIONS
from storage.runs import LeaseStore, RunStore
from storage.schedules import ScheduleStore
from storage.sqlite import SQLiteDatabase
from tests.conftest import run_record
from tests.storage.test_schedule_store import new_schedule

OpenDb = Callable[[], Database]
NOW = datetime(2026, 12, 3, 9, tzinfo=UTC)


def race(count: int, act: Callable[[int], object]) -> list[object]:
    """Run `act(i)` on `count` threads released together; their results."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def one(i: int) -> None:
        barrier.wait()
        results[i] = act(i)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_replicas_starting_together_migrate_once(open_db: OpenDb) -> None:
    dbs = [open_db() for _ in range(4)]
    assert race(4, lambda i: dbs[i].migrate()) == [len(MIGRATIONS)] * 4
    assert dbs[0].migrate() == len(MIGRATIONS)
    assert dbs[0].query("SELECT count(*) AS n FROM runs") == [{"n": 0}]


def test_of_replicas_racing_for_the_lease_exactly_one_wins(open_db: OpenDb) -> None:
    open_db().migrate()
    leases = [LeaseStore(open_db()) for _ in range(6)]
    won = race(6, lambda i: leases[i].acquire("poller", f"p{i}", now=NOW, ttl_seconds=10))
    assert won.count(True) == 1
    winner = f"p{won.index(True)}"
    store = leases[0]
    assert store.holder("poller") == (winner, NOW + timedelta(seconds=10))
    # Renewing is the holder's alone until the lease lapses; then anyone may take it.
    assert store.acquire("poller", winner, now=NOW + timedelta(seconds=5), ttl_seconds=10)
    assert not store.acquire("poller", "late", now=NOW + timedelta(seconds=14), ttl_seconds=10)
    assert store.acquire("poller", "late", now=NOW + timedelta(seconds=15), ttl_seconds=10)
    assert store.holder("poller") == ("late", NOW + timedelta(seconds=25))


def test_a_status_read_changes_a_run_once(open_db: OpenDb) -> None:
    db = open_db()
    db.migrate()
    runs = RunStore(db)
    runs.insert(run_record(id="r1", run_id="dn-1", status="running", card_ts="1.000100"))
    later = NOW + timedelta(seconds=2)
    assert runs.record_status("r1", status="success", now=later, next_poll_at=None)
    assert not runs.record_status("r1", status="success", now=later, next_poll_at=None)
    ((run, card, reply, files),) = runs.outbox(later)
    assert (run.status, card, reply, files) == ("success", True, True, False)
    assert [r.id for r in runs.finish_pending()] == ["r1"]


def _seed_sqlite(path: Path) -> SQLiteDatabase:
    """A SQLite installation with a run, an audit entry and schedules (one deleted)."""
    db = SQLiteDatabase(path)
    db.migrate()
    RunStore(db).insert(run_record(id="r1", run_id="dn-1"))
    AuditStore(db).record(at=NOW, user_id="U1", action="run", target="nb", channel_id="C1")
    schedules = ScheduleStore(db)
    for _ in range(3):
        schedules.insert(new_schedule())
    schedules.delete(3)  # id 3 must never be handed out again, after the copy too
    return db


def test_copy_is_complete_idempotent_and_keeps_ids(tmp_path: Path, open_db: OpenDb) -> None:
    source = _seed_sqlite(tmp_path / "old.db")
    target = open_db()
    first = {t.table: (t.copied, t.in_target) for t in copy_database(source, target)}
    again = {t.table: (t.copied, t.in_target) for t in copy_database(source, target)}
    assert first == again
    assert set(first) == set(PRIMARY_KEYS)
    assert first["runs"] == (1, 1)
    assert first["schedules"] == (2, 2)
    assert first["audit"] == (1, 1)
    moved = ScheduleStore(target)
    assert [s.id for s in moved.owned_by("T1", "U1", limit=10)] == [1, 2]
    assert moved.insert(new_schedule()).id == 4
    assert RunStore(target).get("dn-1") == RunStore(source).get("r1")
    source.close()


def test_statuses_from_a_listing_are_stored_together(open_db: OpenDb) -> None:
    db = open_db()
    db.migrate()
    runs = RunStore(db)
    for key in ("a", "b"):
        runs.insert(run_record(id=key, run_id=f"dn-{key}", status="pending", card_ts="1.0"))
        runs.card_done(key, "pending")
    later = NOW + timedelta(seconds=1)
    runs.record_listed(
        [("a", "running", later + timedelta(seconds=1)), ("b", "pending", later)], now=later
    )
    assert (runs.get("a").status, runs.get("b").status) == ("running", "pending")  # type: ignore[union-attr]
    # Only the run whose status moved has its card edited.
    assert [r.id for r, card, _, _ in runs.outbox(later) if card] == ["a"]
    assert [r.id for r in runs.due_for_poll(later)] == ["b"]


def test_processes_opening_a_new_sqlite_file_together_all_start(tmp_path: Path) -> None:
    # Switching a new file to WAL needs it to itself; before, about one start in ten of six
    # racing processes failed with "database is locked".
    for attempt in range(30):
        dbs = [SQLiteDatabase(tmp_path / f"new-{attempt}.db") for _ in range(6)]
        try:
            assert race(6, lambda i, dbs=dbs: dbs[i].migrate()) == [len(MIGRATIONS)] * 6
        finally:
            for db in dbs:
                db.close()
