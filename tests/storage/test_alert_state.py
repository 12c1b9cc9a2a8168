"""An alert's state on a real database (both engines): the condition is stored with the
schedule and its runs, and recording results keeps the last definite answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from bot.conditions import Evaluation
from storage.db import Database
from storage.runs import RunStore
from storage.schedules import ScheduleStore
from storage.watches import WatchStore
from tests.conftest import run_record
from tests.storage.test_schedule_store import T0, new_schedule
from tests.storage.test_watch_store import new_watch

OpenDb = Callable[[], Database]


@pytest.fixture
def db(open_db: OpenDb) -> Database:
    database = open_db()
    database.migrate()
    return database


def test_recording_results_keeps_the_last_definite_answer(db: Database) -> None:
    store = ScheduleStore(db)
    schedule = store.insert(new_schedule(notify="changes", notify_if="churn_rate > 5%"))
    assert store.get(schedule.id) == schedule
    seen = []
    for number, said in enumerate(["clear", "holds", "unknown", "holds", "clear"]):
        outcome = store.record_outcome(
            schedule.id,
            run_id=f"r{number}",
            status="success",
            finished_at=T0,
            pause_after=3,
            pause_reason="x",
            alert=said,
        )
        assert outcome is not None
        seen.append(
            (outcome.previous_alert, outcome.schedule.alert_state, outcome.schedule.alert_last)
        )
    assert seen == [
        (None, "clear", "clear"),
        ("clear", "holds", "holds"),
        ("holds", "holds", "unknown"),  # could not check: the alert still holds
        ("holds", "holds", "holds"),
        ("holds", "clear", "clear"),
    ]
    again = store.record_outcome(
        schedule.id, run_id="r4", status="success", finished_at=T0, pause_after=3, pause_reason="x"
    )
    assert again is not None
    assert (again.duplicate, again.previous_alert) == (True, "clear")
    stored = store.get(schedule.id)
    assert stored is not None
    assert (stored.notify_if, stored.alert_state) == ("churn_rate > 5%", "clear")


def test_a_watch_keeps_its_condition_and_the_last_definite_answer(db: Database) -> None:
    store = WatchStore(db)
    watch = store.insert(new_watch(notify="changes", notify_if="churn_rate > 5%"))
    assert store.get(watch.id) == watch
    seen = []
    for number, said in enumerate(["holds", "unknown", "clear"]):
        outcome = store.record_outcome(
            watch.id, run_id=f"r{number}", status="success", finished_at=T0, alert=said
        )
        assert outcome is not None
        seen.append((outcome.previous_alert, outcome.watch.alert_state, outcome.watch.alert_last))
    assert seen == [
        (None, "holds", "holds"),
        ("holds", "holds", "unknown"),  # could not check: the alert still holds
        ("holds", "clear", "clear"),
    ]
    again = store.record_outcome(watch.id, run_id="r2", status="success", finished_at=T0)
    assert again is not None
    assert (again.duplicate, again.previous_alert) == (True, "clear")
    stored = store.get(watch.id)
    assert stored is not None
    assert (stored.notify_if, stored.alert_state, stored.alert_last) == (
        "churn_rate > 5%",
        "clear",
        "clear",
    )


def test_a_run_keeps_its_condition_and_what_it_said(db: Database) -> None:
    runs = RunStore(db)
    run = run_record(id="run1")
    runs.insert(run, notify_if='rows("Late orders") > 0')
    assert runs.notify_if("run1") == 'rows("Late orders") > 0'
    assert runs.options(run).notify_if == 'rows("Late orders") > 0'
    assert runs.alert("run1") is None
    said = Evaluation('rows("Late orders") > 0', "holds", (('rows("Late orders")', "3 rows"),))
    runs.set_alert("run1", said.to_json())
    stored = runs.alert("run1")
    assert stored is not None
    assert Evaluation.from_json(stored) == said


def test_an_edit_of_the_condition_starts_its_alert_afresh(db: Database) -> None:
    store = ScheduleStore(db)
    schedule = store.insert(new_schedule(notify="changes", notify_if="churn_rate > 5%"))
    store.record_outcome(
        schedule.id,
        run_id="r1",
        status="success",
        finished_at=T0,
        pause_after=3,
        pause_reason="x",
        alert="holds",
        condition="churn_rate > 5%",
    )
    current = store.get(schedule.id)
    assert current is not None
    same = store.update(replace(current, tz="Europe/Prague"), next_fire_at=None, now=T0)
    assert same is not None
    assert (same[1].notify_if, same[1].alert_state, same[1].alert_last) == (
        "churn_rate > 5%",
        "holds",
        "holds",
    )
    changed = store.update(replace(current, notify_if="churn_rate > 6%"), next_fire_at=None, now=T0)
    assert changed is not None
    assert (changed[1].notify_if, changed[1].alert_state, changed[1].alert_last) == (
        "churn_rate > 6%",
        None,
        None,
    )
    # A run checked by the old condition finishes afterwards: it says nothing of the new one.
    outcome = store.record_outcome(
        schedule.id,
        run_id="r2",
        status="success",
        finished_at=T0,
        pause_after=3,
        pause_reason="x",
        alert="clear",
        condition="churn_rate > 5%",
    )
    assert outcome is not None
    assert (outcome.schedule.alert_state, outcome.schedule.alert_last) == (None, None)
    assert outcome.schedule.last_run_id == "r2"
    removed = store.update(replace(current, notify_if=None), next_fire_at=None, now=T0)
    assert removed is not None
    stored = store.get(schedule.id)
    assert stored is not None
    assert (stored.notify_if, stored.alert_state, stored.alert_last) == (None, None, None)
