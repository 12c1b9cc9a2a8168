"""Workflow Builder step executions: which run each one started and whether Slack was told.

A step that waits for its run is completed by the background round once the run has ended;
one that does not wait is completed as soon as its run exists. The row is written before the
run starts and marked done only after Slack accepted the completion, so a restart completes
every step exactly once (Slack refuses a second completion of one execution).

>>> from datetime import UTC
>>> from storage.sqlite import SQLiteDatabase
>>> db = SQLiteDatabase(":memory:"); _ = db.migrate(); store = FunctionRunStore(db)
>>> at = datetime(2026, 1, 1, tzinfo=UTC)
>>> store.add(FunctionRun("Fx1", "T1", "U1", "C1", "r1", wait=True, created_at=at))
True
>>> store.add(FunctionRun("Fx1", "T1", "U1", "C1", "r1", wait=True, created_at=at))
False
>>> store.done("Fx1", "success", now=at), store.get("Fx1").outcome
(True, 'success')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.records import CREATE_FAILED, CREATING, LOST, TERMINAL_STATUSES
from storage.rows import iso, record_reader

# A step's run ended: Deepnote's final statuses and the bot's own.
_ENDED = (*sorted(TERMINAL_STATUSES), CREATE_FAILED, LOST)


@dataclass(frozen=True)
class FunctionRun:
    """One execution of the step: who, where, the bot's run id, and how it was completed."""

    execution_id: str
    team_id: str
    user_id: str
    channel_id: str
    run: str | None
    wait: bool
    created_at: datetime
    state: str = "open"
    outcome: str | None = None
    refusal: str | None = None
    """Why the step starts no run (its inputs, notebook or access), as Slack is told."""
    attempts: int = 0
    retry_at: datetime | None = None
    done_at: datetime | None = None


_record = record_reader(FunctionRun)


class FunctionRunStore:
    """The `function_runs` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, step: FunctionRun) -> bool:
        """Store an execution; False when it was stored already (Slack's retry, a restart)."""
        inserted = self.db.insert_now(
            "INSERT INTO function_runs (execution_id, team_id, user_id, channel_id, run, wait,"
            " state, outcome, refusal, created_at, done_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (execution_id) DO NOTHING",
            (
                step.execution_id,
                step.team_id,
                step.user_id,
                step.channel_id,
                step.run,
                int(step.wait),
                step.state,
                step.outcome,
                step.refusal,
                iso(step.created_at),
                iso(step.done_at),
            ),
        )
        return inserted == 1

    def get(self, execution_id: str) -> FunctionRun | None:
        """One execution."""
        row = self.db.one("SELECT * FROM function_runs WHERE execution_id = ?", (execution_id,))
        return _record(row) if row else None

    def due(self, now: datetime, limit: int = 100) -> list[FunctionRun]:
        """Open executions that can be reported now, oldest first: refused ones (Slack did not
        take the refusal yet), and those whose run has ended (a step that waits) or started
        (one that does not)."""
        ended = ", ".join("?" for _ in _ENDED)
        return [
            _record(row)
            for row in self.db.query(
                "SELECT f.* FROM function_runs f LEFT JOIN runs r ON r.id = f.run"
                " WHERE f.done_at IS NULL AND (f.retry_at IS NULL OR f.retry_at <= ?)"
                " AND (f.refusal IS NOT NULL"
                f" OR r.status IN ({ended}) OR (f.wait = 0 AND r.status <> ?))"
                " ORDER BY f.created_at LIMIT ?",
                (iso(now), *_ENDED, CREATING, limit),
            )
        ]

    def done(self, execution_id: str, outcome: str, *, now: datetime) -> bool:
        """Slack has the step's outcome (`success`, `error`, or why it could not be told);
        False when it was marked done already."""
        changed = self.db.execute_write(
            "UPDATE function_runs SET state = 'done', outcome = ?, done_at = ?"
            " WHERE execution_id = ? AND done_at IS NULL",
            (outcome, iso(now), execution_id),
        )
        return changed == 1

    def retry(self, execution_id: str, *, retry_at: datetime) -> None:
        """Telling Slack failed for a reason that may pass: try again at `retry_at`."""
        self.db.execute_write(
            "UPDATE function_runs SET attempts = attempts + 1, retry_at = ? WHERE execution_id = ?",
            (iso(retry_at), execution_id),
        )
