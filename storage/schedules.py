"""The schedules table, the source of truth for recurring runs, and the notes about them.

Firing claims a slot with a compare-and-set on `next_fire_at` (one conditional UPDATE, atomic
on either engine), so a slot is started at most once even with several bot processes on one
database.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from storage.db import Database, Session
from storage.rows import record_reader

SUCCESS = "success"


def utc_iso(when: datetime | None) -> str | None:
    """An aware datetime as stored here: UTC, microseconds, so text order is time order."""
    return None if when is None else when.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class ScheduleRecord:
    """One recurring run: what to run, when (`expression` in zone `tz`), and how it went.

    `inputs` holds the values as the owner typed them (`name -> text`); they are checked
    against the notebook again at every firing. `next_fire_at` is None while paused.
    """

    id: int
    team_id: str
    channel_id: str
    owner_id: str
    notebook_id: str
    notebook_name: str
    expression: str
    tz: str
    notify: str
    created_at: datetime
    inputs: dict[str, str] = field(default_factory=dict)
    post_outputs: str | None = None
    paused: bool = False
    paused_reason: str | None = None
    next_fire_at: datetime | None = None
    last_run_id: str | None = None
    last_status: str | None = None
    last_finished_at: datetime | None = None
    consecutive_failures: int = 0
    notify_if: str | None = None
    """`--notify-if`: runs are posted by this condition (as `describe` writes it)."""
    alert_state: str | None = None
    """The condition's last definite answer (`holds` or `clear`); None before any."""
    alert_last: str | None = None
    """The last run's answer: `holds`, `clear` or `unknown`."""
    notify_before: str | None = None
    """The `notify` an edit replaced, for runs started before `notify_changed_at`."""
    notify_changed_at: datetime | None = None

    def notify_for(self, run_created_at: datetime) -> str:
        """The notify setting a run started at `run_created_at` is announced by: the one in
        effect when it started (an edit applies from the next run on)."""
        changed = self.notify_changed_at
        # A run stored in the same instant as the edit was fired before it.
        if self.notify_before and changed is not None and run_created_at <= changed:
            return self.notify_before
        return self.notify


@dataclass(frozen=True)
class FieldChange:
    """One field an edit of a schedule changed, old and new value as text (None: not set).

    `field` is `when`, `tz`, `notify`, `post_outputs`, `notify_if` or `inputs.<name>`.
    """

    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class Outcome:
    """What recording one result did to a schedule (`schedule` is the row afterwards)."""

    schedule: ScheduleRecord
    previous_status: str | None
    previous_failures: int
    auto_paused: bool
    duplicate: bool = False
    previous_alert: str | None = None
    """The schedule's alert state before this run (`holds`, `clear` or None)."""


@dataclass(frozen=True)
class Note:
    """A message about a schedule to post in its channel.

    With `after_run_id` it waits until that run's card and reply are out (or will never
    be), and with `in_thread` it goes under the run's card when there is one.
    """

    schedule_id: int
    channel_id: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    after_run_id: str | None = None
    in_thread: bool = False
    id: int = 0
    attempts: int = 0


_record = record_reader(ScheduleRecord)
_note = record_reader(Note)


class ScheduleStore:
    """Reads and writes schedules; every read-then-write is one transaction that holds the
    rows it changes.

    >>> from storage.sqlite import SQLiteDatabase
    >>> db = SQLiteDatabase(":memory:"); _ = db.migrate(); store = ScheduleStore(db)
    >>> s = store.insert(ScheduleRecord(0, "T1", "C1", "U1", "nb", "Sales", "0 9 * * *",
    ...     "UTC", "always", datetime(2026, 1, 1, tzinfo=UTC)))
    >>> s.id, store.get(s.id) == s
    (1, True)
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[ScheduleRecord]:
        return [_record(r) for r in self.db.query(sql, params)]

    def insert(self, schedule: ScheduleRecord) -> ScheduleRecord:
        """Store a new schedule; its `id` is assigned here (the one passed is ignored)."""
        row = {
            "team_id": schedule.team_id,
            "channel_id": schedule.channel_id,
            "owner_id": schedule.owner_id,
            "notebook_id": schedule.notebook_id,
            "notebook_name": schedule.notebook_name,
            "inputs": json.dumps(schedule.inputs),
            "expression": schedule.expression,
            "tz": schedule.tz,
            "notify": schedule.notify,
            "post_outputs": schedule.post_outputs,
            "notify_if": schedule.notify_if,
            "paused": int(schedule.paused),
            "paused_reason": schedule.paused_reason,
            "next_fire_at": utc_iso(schedule.next_fire_at),
            "consecutive_failures": 0,
            "created_at": utc_iso(schedule.created_at),
        }
        with self.db.write() as tx:
            new_id = tx.insert("schedules", row, returning="id")
        return replace(schedule, id=int(new_id), consecutive_failures=0)

    def get(self, id_: int) -> ScheduleRecord | None:
        """A schedule by id."""
        rows = self._rows("SELECT * FROM schedules WHERE id = ?", (id_,))
        return rows[0] if rows else None

    def in_channel(self, team_id: str, channel_id: str) -> list[ScheduleRecord]:
        """The channel's schedules, oldest first."""
        return self._rows(
            "SELECT * FROM schedules WHERE team_id = ? AND channel_id = ? ORDER BY id",
            (team_id, channel_id),
        )

    def owned_by(self, team_id: str, owner_id: str, *, limit: int) -> list[ScheduleRecord]:
        """The schedules a person owns in a team, oldest first, at most `limit`."""
        return self._rows(
            "SELECT * FROM schedules WHERE team_id = ? AND owner_id = ? ORDER BY id LIMIT ?",
            (team_id, owner_id, limit),
        )

    def due(self, now: datetime, limit: int = 200) -> list[ScheduleRecord]:
        """Unpaused schedules whose next slot is at or before `now`, most overdue first."""
        return self._rows(
            "SELECT * FROM schedules WHERE paused = 0 AND next_fire_at IS NOT NULL"
            " AND next_fire_at <= ? ORDER BY next_fire_at, id LIMIT ?",
            (utc_iso(now), limit),
        )

    def claim(self, id_: int, *, expected: datetime, next_fire_at: datetime | None) -> bool:
        """Take the slot `expected` by moving `next_fire_at` on; False when another got it.

        Compare-and-set: it succeeds only while the row still says `expected` and is not
        paused, so of any number of processes racing for one slot exactly one wins.
        """
        changed = self.db.execute_write(
            "UPDATE schedules SET next_fire_at = ?"
            " WHERE id = ? AND paused = 0 AND next_fire_at = ?",
            (utc_iso(next_fire_at), id_, utc_iso(expected)),
        )
        return changed == 1

    def set_paused(
        self, id_: int, *, paused: bool, reason: str | None, next_fire_at: datetime | None
    ) -> ScheduleRecord | None:
        """Pause (next_fire_at None) or resume (a fresh next slot, failure count reset)."""
        self.db.execute_write(
            "UPDATE schedules SET paused = ?, paused_reason = ?, next_fire_at = ?,"
            " consecutive_failures = CASE WHEN ? = 1 THEN consecutive_failures ELSE 0 END"
            " WHERE id = ?",
            (int(paused), reason, utc_iso(next_fire_at), int(paused), id_),
        )
        return self.get(id_)

    def update(
        self, edited: ScheduleRecord, *, next_fire_at: datetime | None, now: datetime
    ) -> tuple[ScheduleRecord, ScheduleRecord] | None:
        """Change a schedule's timing, inputs and settings to `edited`'s; (before, after), or
        None when it is gone.

        `next_fire_at` (given when the timing changed) applies only while the schedule is
        not paused: a paused one stays paused. Owner, channel, notebook and history stay. A
        change of `notify` keeps the old one for runs started before `now`; a change of
        `notify_if` resets the alert state (a run keeps the condition it started with).
        """
        with self.db.write() as tx:
            rows = tx.query(f"SELECT * FROM schedules WHERE id = ?{tx.lock}", (edited.id,))
            if not rows:
                return None
            before = _record(rows[0])
            upcoming = before.next_fire_at
            if next_fire_at is not None and not before.paused:
                upcoming = next_fire_at
            kept, changed_at = before.notify_before, before.notify_changed_at
            if edited.notify != before.notify:
                kept, changed_at = before.notify, now
            alert = (before.alert_state, before.alert_last)
            if edited.notify_if != before.notify_if:
                alert = (None, None)
            after = replace(
                before,
                expression=edited.expression,
                tz=edited.tz,
                notify=edited.notify,
                post_outputs=edited.post_outputs,
                inputs=dict(edited.inputs),
                next_fire_at=upcoming,
                notify_before=kept,
                notify_changed_at=changed_at,
                notify_if=edited.notify_if,
                alert_state=alert[0],
                alert_last=alert[1],
            )
            tx.execute(
                "UPDATE schedules SET expression = ?, tz = ?, notify = ?, post_outputs = ?,"
                " inputs = ?, next_fire_at = ?, notify_before = ?, notify_changed_at = ?,"
                " notify_if = ?, alert_state = ?, alert_last = ? WHERE id = ?",
                (
                    after.expression,
                    after.tz,
                    after.notify,
                    after.post_outputs,
                    json.dumps(after.inputs),
                    utc_iso(after.next_fire_at),
                    after.notify_before,
                    utc_iso(after.notify_changed_at),
                    after.notify_if,
                    after.alert_state,
                    after.alert_last,
                    after.id,
                ),
            )
            return before, after

    def delete(self, id_: int) -> bool:
        """Remove a schedule and its unsent notes; False when there was none."""
        with self.db.write() as tx:
            deleted = tx.execute("DELETE FROM schedules WHERE id = ?", (id_,))
            tx.execute("DELETE FROM schedule_notes WHERE schedule_id = ?", (id_,))
            return deleted == 1

    def record_outcome(
        self,
        id_: int,
        *,
        run_id: str | None,
        status: str,
        finished_at: datetime,
        pause_after: int,
        pause_reason: str,
        notes: Callable[[Outcome], Sequence[Note]] = lambda outcome: (),
        alert: str | None = None,
        condition: str | None = None,
    ) -> Outcome | None:
        """Store a run's result, count failures in a row and pause after `pause_after`.

        The notes `notes(outcome)` returns are queued in the same transaction, so a result
        is never counted without its messages or announced twice. A run already recorded
        (`run_id` equal to `last_run_id`) changes nothing and comes back as `duplicate`.
        `alert` is what the schedule's condition said of this run (`holds`, `clear`,
        `unknown`): the alert state keeps the last definite answer, only while `condition`
        (the one the run was checked by, if given) is still the schedule's.
        """
        with self.db.write() as tx:
            rows = tx.query(f"SELECT * FROM schedules WHERE id = ?{tx.lock}", (id_,))
            if not rows:
                return None
            before = _record(rows[0])
            if run_id is not None and before.last_run_id == run_id:
                return Outcome(
                    before,
                    before.last_status,
                    before.consecutive_failures,
                    False,
                    True,
                    before.alert_state,
                )
            if condition is not None and condition != before.notify_if:
                alert = None
            failures = 0 if status == SUCCESS else before.consecutive_failures + 1
            auto_pause = failures >= pause_after and not before.paused
            after = replace(
                before,
                last_run_id=run_id,
                last_status=status,
                last_finished_at=finished_at,
                consecutive_failures=failures,
                paused=before.paused or auto_pause,
                paused_reason=pause_reason if auto_pause else before.paused_reason,
                next_fire_at=None if auto_pause else before.next_fire_at,
                alert_state=alert if alert in ("holds", "clear") else before.alert_state,
                alert_last=alert if alert is not None else before.alert_last,
            )
            _write_outcome(tx, after)
            outcome = Outcome(
                after,
                before.last_status,
                before.consecutive_failures,
                auto_pause,
                previous_alert=before.alert_state,
            )
            for note in notes(outcome):
                _insert_note(tx, note, finished_at)
            return outcome

    # -- notes ----------------------------------------------------------------------------

    def add_note(self, note: Note, *, now: datetime) -> None:
        """Queue a message about a schedule."""
        with self.db.write() as tx:
            _insert_note(tx, note, now)

    def ready_notes(self, now: datetime, limit: int = 100) -> list[tuple[Note, str | None]]:
        """Notes to post now, each with the thread to post it in (None: top level).

        A note that follows a run waits while the run's card or reply is still to be
        posted; it goes top level when the run was never announced.
        """
        run_settled = (
            "r.id IS NULL OR r.slack_error IS NOT NULL OR (r.finish_pending = 0 AND"
            " ((r.quiet = 1 AND r.announce = 0) OR (r.card_ts IS NOT NULL AND r.reply_posted = 1)))"
        )
        sql = (
            "SELECT n.*, r.card_ts AS _card_ts FROM schedule_notes n"
            " LEFT JOIN runs r ON r.id = n.after_run_id"
            " WHERE (n.retry_at IS NULL OR n.retry_at <= ?)"
            f" AND (n.after_run_id IS NULL OR {run_settled})"
            " ORDER BY n.id LIMIT ?"
        )
        ready = []
        for row in self.db.query(sql, (utc_iso(now), limit)):
            note = _note(row)
            ready.append((note, row["_card_ts"] if note.in_thread else None))
        return ready

    def note_done(self, id_: int) -> None:
        """The note was posted (or never will be)."""
        self.db.execute_write("DELETE FROM schedule_notes WHERE id = ?", (id_,))

    def note_retry(self, id_: int, *, retry_at: datetime) -> None:
        """Posting failed for a reason that may pass: try again at `retry_at`."""
        self.db.execute_write(
            "UPDATE schedule_notes SET attempts = attempts + 1, retry_at = ? WHERE id = ?",
            (utc_iso(retry_at), id_),
        )


def _write_outcome(tx: Session, after: ScheduleRecord) -> None:
    """Store what recording a result changed in the schedule's row."""
    tx.execute(
        "UPDATE schedules SET last_run_id = ?, last_status = ?, last_finished_at = ?,"
        " consecutive_failures = ?, paused = ?, paused_reason = ?, next_fire_at = ?,"
        " alert_state = ?, alert_last = ? WHERE id = ?",
        (
            after.last_run_id,
            after.last_status,
            utc_iso(after.last_finished_at),
            after.consecutive_failures,
            int(after.paused),
            after.paused_reason,
            utc_iso(after.next_fire_at),
            after.alert_state,
            after.alert_last,
            after.id,
        ),
    )


def _insert_note(tx: Session, note: Note, now: datetime) -> None:
    tx.execute(
        "INSERT INTO schedule_notes (schedule_id, channel_id, after_run_id, in_thread, text,"
        " blocks, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            note.schedule_id,
            note.channel_id,
            note.after_run_id,
            int(note.in_thread),
            note.text,
            json.dumps(note.blocks),
            utc_iso(now),
        ),
    )
