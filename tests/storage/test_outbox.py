"""The outbox: what the bot posts next when Slack's pace holds messages back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from storage.db import Database
from storage.records import RunRecord
from storage.runs import RunStore

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def _run(id_: str, created: datetime) -> RunRecord:
    return RunRecord(
        id=id_,
        notebook_id="nb",
        notebook_name="Sales",
        user_id="U1",
        team_id="T1",
        channel_id="C1",
        status="pending",
        created_at=created,
        run_id=f"dn-{id_}",
        card_ts=f"1700000000.00000{id_[-1]}",
        started_at=created,
    )


def test_finished_runs_come_first_in_the_order_they_finished(
    open_db: Callable[[], Database],
) -> None:
    db = open_db()
    db.migrate()
    store = RunStore(db)
    for i in range(4):
        store.insert(_run(f"r{i}", NOW + timedelta(seconds=i)))
        store.card_done(f"r{i}", "pending")
    later = NOW + timedelta(minutes=1)
    # r0 and r1 are still running (their cards are due an edit); r3 finished before r2.
    for id_ in ("r0", "r1"):
        store.record_status(id_, status="running", now=later, next_poll_at=later)
    for id_, finished in (("r3", later), ("r2", later + timedelta(seconds=5))):
        store.record_status(
            id_, status="success", now=later, next_poll_at=None, completed_at=finished
        )
    order = [run.id for run, *_ in store.outbox(later + timedelta(seconds=6))]
    assert order == ["r3", "r2", "r0", "r1"]
