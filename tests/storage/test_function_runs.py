"""Workflow Builder step executions on a real database (both engines)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from storage.db import Database
from storage.function_runs import FunctionRun, FunctionRunStore
from storage.runs import RunStore
from tests.conftest import run_record

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(open_db: Callable[[], Database]) -> Database:
    database = open_db()
    database.migrate()
    return database


def step(execution_id: str, run: str | None, *, wait: bool) -> FunctionRun:
    return FunctionRun(execution_id, "T1", "U1", "C1", run, wait, NOW)


def test_due_are_the_steps_whose_runs_can_be_reported(db: Database) -> None:
    runs, store = RunStore(db), FunctionRunStore(db)
    runs.insert(run_record(id="r-running", status="running"))
    runs.insert(run_record(id="r-done", status="success"))
    runs.insert(run_record(id="r-creating", status="creating"))
    runs.insert(run_record(id="r-refused", status="create_failed"))
    assert store.add(step("Fx-wait-running", "r-running", wait=True))
    assert store.add(step("Fx-wait-done", "r-done", wait=True))
    assert store.add(step("Fx-now-running", "r-running", wait=False))
    assert store.add(step("Fx-now-creating", "r-creating", wait=False))
    assert store.add(step("Fx-wait-refused", "r-refused", wait=True))
    assert store.add(step("Fx-no-run", None, wait=False))
    assert not store.add(step("Fx-wait-done", "r-running", wait=False))  # stored already
    due = sorted(s.execution_id for s in store.due(NOW))
    assert due == ["Fx-now-running", "Fx-wait-done", "Fx-wait-refused"]
    # Done once; a retry waits for its time.
    assert store.done("Fx-wait-done", "success", now=NOW)
    assert not store.done("Fx-wait-done", "success", now=NOW)
    store.retry("Fx-now-running", retry_at=NOW + timedelta(seconds=4))
    assert sorted(s.execution_id for s in store.due(NOW)) == ["Fx-wait-refused"]
    later = [s.execution_id for s in store.due(NOW + timedelta(seconds=5))]
    assert "Fx-now-running" in later
    retried = store.get("Fx-now-running")
    assert retried is not None
    assert retried.attempts == 1
    finished = store.get("Fx-wait-done")
    assert finished is not None
    assert (finished.outcome, finished.done_at) == ("success", NOW)
