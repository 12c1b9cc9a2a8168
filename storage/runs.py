"""The runs table: every run the bot started, and what has been posted about it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from storage.db import Database
from storage.records import CREATE_FAILED, CREATING, LOST, TERMINAL_STATUSES, RunOptions, RunRecord
from storage.rows import from_iso, iso, record_reader

FINAL_STATUSES = frozenset(TERMINAL_STATUSES | {CREATE_FAILED, LOST})
_FINAL_SQL = ",".join(f"'{s}'" for s in sorted(FINAL_STATUSES))


_record = record_reader(RunRecord)


class RunStore:
    """Reads and writes run rows; every multi-step change is one IMMEDIATE transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[RunRecord]:
        return [_record(r) for r in self.db.query(sql, params)]

    def _one(self, sql: str, params: tuple[Any, ...]) -> RunRecord | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def insert(
        self, run: RunRecord, *, post_outputs: str | None = None, notify_if: str | None = None
    ) -> None:
        """Store a new run (normally with status `creating`)."""
        row = asdict(run)
        row.update(
            inputs=json.dumps(run.inputs),
            block_ids=json.dumps(list(run.block_ids)),
            readonly=int(run.readonly),
            run_dependents=int(run.run_dependents),
            quiet=int(run.quiet),
            created_at=iso(run.created_at),
            started_at=iso(run.started_at),
            completed_at=iso(run.completed_at),
            post_outputs=post_outputs,
            notify_if=notify_if,
        )
        with self.db.write() as tx:
            tx.insert("runs", row)

    def get(self, id_: str) -> RunRecord | None:
        """A run by the bot's own id or by Deepnote's run id."""
        return self._one("SELECT * FROM runs WHERE id = ? OR run_id = ?", (id_, id_))

    def post_outputs(self, id_: str) -> str | None:
        """The run's choice of which outputs to post (`None` for the default)."""
        value = self.db.scalar("SELECT post_outputs FROM runs WHERE id = ?", (id_,))
        return None if value is None else str(value)

    def notify_if(self, id_: str) -> str | None:
        """The run's `--notify-if` condition (as `describe` writes it), if it has one."""
        value = self.db.scalar("SELECT notify_if FROM runs WHERE id = ?", (id_,))
        return None if value is None else str(value)

    def alert(self, id_: str) -> str | None:
        """What the run's condition said (an `Evaluation` as JSON), once it was checked."""
        value = self.db.scalar("SELECT alert FROM runs WHERE id = ?", (id_,))
        return None if value is None else str(value)

    def set_alert(self, id_: str, alert: str) -> None:
        """Store what the run's condition said (JSON)."""
        self.db.execute_write("UPDATE runs SET alert = ? WHERE id = ?", (alert, id_))

    def options(self, run: RunRecord) -> RunOptions:
        """The options `run` was started with, to start it again the same way."""
        return RunOptions(
            readonly=run.readonly,
            block_ids=run.block_ids,
            run_dependents=run.run_dependents,
            post_outputs=self.post_outputs(run.id),
            notify_if=self.notify_if(run.id),
        )

    def set_card(self, id_: str, card_ts: str) -> None:
        """Remember the ts of the run's card message."""
        self.db.execute_write(
            "UPDATE runs SET card_ts = ?, card_intent = NULL WHERE id = ?", (card_ts, id_)
        )

    def set_intent(self, id_: str, kind: str, holder: str | None) -> None:
        """Note that `holder` is about to post the run's `card` or `reply` (None clears it).

        If the process dies between Slack's answer and storing the ts, the note tells the
        next process to look in Slack before posting again.
        """
        column = {"card": "card_intent", "reply": "reply_intent"}[kind]
        self.db.execute_write(f"UPDATE runs SET {column} = ? WHERE id = ?", (holder, id_))

    def in_doubt(self, holder: str) -> list[tuple[RunRecord, str, str]]:
        """Posts another process started and may not have finished: (run, kind, holder)."""
        rows = self.db.query(
            "SELECT * FROM runs WHERE (card_intent IS NOT NULL AND card_intent != ?"
            " AND card_ts IS NULL) OR (reply_intent IS NOT NULL AND reply_intent != ?"
            " AND reply_posted = 0)",
            (holder, holder),
        )
        found: list[tuple[RunRecord, str, str]] = []
        for row in rows:
            if row["card_intent"] and row["card_intent"] != holder and not row["card_ts"]:
                found.append((_record(row), "card", row["card_intent"]))
            elif row["reply_intent"] and row["reply_intent"] != holder:
                found.append((_record(row), "reply", row["reply_intent"]))
        return found

    def set_created(
        self, id_: str, *, run_id: str, status: str, now: datetime, next_poll_at: datetime
    ) -> None:
        """Deepnote accepted the run: store its id; the card needs an edit."""
        self.db.execute_write(
            "UPDATE runs SET run_id = ?, status = ?, started_at = ?, next_poll_at = ?,"
            " card_dirty = 1 WHERE id = ?",
            (run_id, status, iso(now), iso(next_poll_at), id_),
        )

    def set_create_failed(self, id_: str, *, error: str, now: datetime) -> None:
        """Deepnote refused or could not be asked; the run never started."""
        self.db.execute_write(
            "UPDATE runs SET status = ?, error = ?, completed_at = ?, card_dirty = 1,"
            " reply_posted = 1, files_posted = 1, finish_pending = 1 WHERE id = ?",
            (CREATE_FAILED, error, iso(now), id_),
        )

    def due_for_poll(self, now: datetime, limit: int = 500) -> list[RunRecord]:
        """Started, unfinished runs whose next check is due, most overdue first."""
        return self._rows(
            f"SELECT * FROM runs WHERE run_id IS NOT NULL AND status NOT IN ({_FINAL_SQL})"
            " AND (next_poll_at IS NULL OR next_poll_at <= ?)"
            " ORDER BY next_poll_at LIMIT ?",
            (iso(now), limit),
        )

    def open_count(self) -> int:
        """How many started runs are still being followed."""
        count = self.db.scalar(
            f"SELECT count(*) FROM runs WHERE run_id IS NOT NULL AND status NOT IN ({_FINAL_SQL})"
        )
        return int(count or 0)

    def poll_lag(self, now: datetime) -> float:
        """Seconds by which the most overdue status read is late (0 when none is due)."""
        oldest = from_iso(
            self.db.scalar(
                f"SELECT min(next_poll_at) FROM runs WHERE run_id IS NOT NULL"
                f" AND status NOT IN ({_FINAL_SQL}) AND next_poll_at <= ?",
                (iso(now),),
            )
        )
        return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0

    def stuck_creating(self, before: datetime) -> list[tuple[RunRecord, bool]]:
        """Runs left in `creating` by a process that stopped mid-create, each with whether
        the create request may have been sent."""
        rows = self.db.query(
            "SELECT * FROM runs WHERE status = ? AND created_at < ? AND card_intent IS NULL",
            (CREATING, iso(before)),
        )
        return [(_record(r), bool(r["create_started"])) for r in rows]

    def mark_create_started(self, id_: str) -> None:
        """The create request is about to be sent: from now on it may have reached Deepnote."""
        self.db.execute_write("UPDATE runs SET create_started = 1 WHERE id = ?", (id_,))

    def queue_card(self, id_: str) -> None:
        """The channel is busy: the outbox posts this run's card at the channel's pace."""
        self.db.execute_write("UPDATE runs SET card_queued = 1 WHERE id = ?", (id_,))

    def record_status(
        self,
        id_: str,
        *,
        status: str,
        now: datetime,
        next_poll_at: datetime | None,
        completed_at: datetime | None = None,
        error: str | None = None,
        failing_block: str | None = None,
        snapshot_url: str | None = None,
        project_id: str | None = None,
        notebook_url: str | None = None,
    ) -> bool:
        """Store what a status read said; return True when the status changed."""
        with self.db.write() as tx:
            row = tx.one(
                f"SELECT status, project_id, notebook_url FROM runs WHERE id = ?{tx.lock}", (id_,)
            )
            if row is None:
                return False
            changed = row["status"] != status
            finishing = changed and status in FINAL_STATUSES
            tx.execute(
                "UPDATE runs SET status = ?, last_read_at = ?, next_poll_at = ?,"
                " poll_failures = 0, last_poll_error = NULL,"
                " completed_at = coalesce(?, completed_at), error = coalesce(?, error),"
                " failing_block = coalesce(?, failing_block),"
                " snapshot_url = coalesce(?, snapshot_url),"
                " project_id = coalesce(project_id, ?), notebook_url = coalesce(?, notebook_url),"
                " card_dirty = CASE WHEN ? = 1 THEN 1 ELSE card_dirty END,"
                " finish_pending = CASE WHEN ? = 1 THEN 1 ELSE finish_pending END"
                " WHERE id = ?",
                (
                    status,
                    iso(now),
                    iso(next_poll_at),
                    iso(completed_at),
                    error,
                    failing_block,
                    snapshot_url,
                    project_id,
                    notebook_url if row["notebook_url"] is None else None,
                    int(changed),
                    int(finishing),
                    id_,
                ),
            )
            return bool(changed)

    def record_listed(self, reads: Sequence[tuple[str, str, datetime]], *, now: datetime) -> None:
        """Store many unfinished statuses (run id, status, next read) in one transaction.

        The same as `record_status` for each, without completion details: a changed status
        marks the card for an edit.
        """
        if not reads:
            return
        with self.db.write() as tx:
            marks = ", ".join("?" * len(reads))
            before = {
                row["id"]: row["status"]
                for row in tx.query(
                    # In id order: two transactions locking many rows never wait on each other
                    # in a circle.
                    f"SELECT id, status FROM runs WHERE id IN ({marks}) ORDER BY id{tx.lock}",
                    [id_ for id_, _, _ in reads],
                )
            }
            tx.execute_many(
                "UPDATE runs SET status = ?, last_read_at = ?, next_poll_at = ?,"
                " poll_failures = 0, last_poll_error = NULL,"
                " card_dirty = CASE WHEN ? = 1 THEN 1 ELSE card_dirty END WHERE id = ?",
                [
                    (status, iso(now), iso(next_read), int(before[id_] != status), id_)
                    for id_, status, next_read in reads
                    if id_ in before
                ],
            )

    def record_poll_failure(self, id_: str, *, error: str, next_poll_at: datetime) -> int:
        """Note a failed status read; return how many in a row have failed."""
        with self.db.write() as tx:
            tx.execute(
                "UPDATE runs SET poll_failures = poll_failures + 1, last_poll_error = ?,"
                " next_poll_at = ? WHERE id = ?",
                (error, iso(next_poll_at), id_),
            )
            return int(tx.scalar("SELECT poll_failures FROM runs WHERE id = ?", (id_,)) or 0)

    def counter(self, id_: str, column: str) -> int:
        """A run's failure counter: `poll_failures` or `slack_attempts`."""
        if column not in ("poll_failures", "slack_attempts"):
            raise ValueError(column)
        return int(self.db.scalar(f"SELECT {column} FROM runs WHERE id = ?", (id_,)) or 0)

    def last_read_at(self, id_: str) -> datetime | None:
        """When the run's status was last read successfully."""
        return from_iso(
            self.db.scalar(
                "SELECT coalesce(last_read_at, started_at, created_at) FROM runs WHERE id = ?",
                (id_,),
            )
        )

    def mark_lost(self, id_: str, *, reason: str, now: datetime) -> None:
        """Stop following a run whose status cannot be read; the card and thread say so."""
        self.db.execute_write(
            "UPDATE runs SET status = ?, error = ?, completed_at = ?, card_dirty = 1,"
            " finish_pending = 1 WHERE id = ?",
            (LOST, reason, iso(now), id_),
        )

    def outbox(self, now: datetime, limit: int = 200) -> list[tuple[RunRecord, bool, bool, bool]]:
        """Runs with something to post: (run, card post/edit due, reply due, files due), most
        urgent first.

        A quiet run (a schedule that reports only some outcomes) has no card until it has
        finished and its schedule decided to announce it.
        """
        reply_due = f"(status IN ({_FINAL_SQL}) AND reply_posted = 0 AND reply_intent IS NULL)"
        files_due = "(reply_posted = 1 AND files_posted = 0)"
        sql = (
            f"SELECT *, (card_dirty = 1 OR card_ts IS NULL) AS _card, {reply_due} AS _reply,"
            f" {files_due} AS _files FROM runs WHERE slack_error IS NULL"
            " AND (slack_retry_at IS NULL OR slack_retry_at <= ?)"
            f" AND ((card_ts IS NOT NULL AND (card_dirty = 1 OR {reply_due} OR {files_due}))"
            "   OR (card_ts IS NULL AND card_intent IS NULL AND ((quiet = 0 AND card_queued = 1)"
            "       OR (quiet = 1 AND announce = 1 AND finish_pending = 0))))"
            # Slack paces every channel: finished runs' outcomes (card edit and thread reply)
            # first, in the order they finished (the longest wait is then the shortest), then
            # the rest oldest run first (intermediate states wait, never outcomes).
            f" ORDER BY CASE WHEN status IN ({_FINAL_SQL}) THEN 0 ELSE 1 END,"
            f" CASE WHEN status IN ({_FINAL_SQL}) THEN completed_at END, created_at LIMIT ?"
        )
        rows = self.db.query(sql, (iso(now), limit))
        return [(_record(r), bool(r["_card"]), bool(r["_reply"]), bool(r["_files"])) for r in rows]

    def files_done(self, id_: str) -> None:
        """Every file of the run's results is in its thread."""
        self.db.execute_write("UPDATE runs SET files_posted = 1 WHERE id = ?", (id_,))

    def finish_pending(self, limit: int = 200) -> list[RunRecord]:
        """Runs that reached a final status whose follow-up (schedule bookkeeping) is due."""
        return self._rows(
            "SELECT * FROM runs WHERE finish_pending = 1 ORDER BY created_at LIMIT ?", (limit,)
        )

    def finish_done(self, id_: str, *, announce: bool) -> None:
        """Record the follow-up; a quiet run that is not announced posts nothing at all."""
        self.db.execute_write(
            "UPDATE runs SET finish_pending = 0, announce = ?,"
            " reply_posted = CASE WHEN quiet = 1 AND ? = 0 THEN 1 ELSE reply_posted END,"
            " files_posted = CASE WHEN quiet = 1 AND ? = 0 THEN 1 ELSE files_posted END,"
            " card_dirty = CASE WHEN quiet = 1 AND ? = 0 THEN 0 ELSE card_dirty END"
            " WHERE id = ?",
            (int(announce), int(announce), int(announce), int(announce), id_),
        )

    def card_done(self, id_: str, status: str) -> None:
        """The card now shows `status`; clear the flag unless the status moved meanwhile."""
        self.db.execute_write(
            "UPDATE runs SET card_dirty = 0, card_status = ?, slack_attempts = 0"
            " WHERE id = ? AND status = ?",
            (status, id_, status),
        )

    def reply_done(self, id_: str, reply_ts: str | None) -> None:
        """The run's thread reply was posted (or will never be)."""
        self.db.execute_write(
            "UPDATE runs SET reply_posted = 1, reply_ts = ?, slack_attempts = 0,"
            " reply_intent = NULL WHERE id = ?",
            (reply_ts, id_),
        )

    def slack_failed(self, id_: str, *, error: str, retry_at: datetime | None) -> int:
        """A post failed: retry at `retry_at`, or never when it is None; return attempts."""
        with self.db.write() as tx:
            if retry_at is None:
                tx.execute("UPDATE runs SET slack_error = ? WHERE id = ?", (error, id_))
            else:
                tx.execute(
                    "UPDATE runs SET slack_retry_at = ?, slack_attempts = slack_attempts + 1"
                    " WHERE id = ?",
                    (iso(retry_at), id_),
                )
            return int(tx.scalar("SELECT slack_attempts FROM runs WHERE id = ?", (id_,)) or 0)

    def slack_error(self, id_: str) -> str | None:
        """The unrecoverable Slack error recorded against a run, if any."""
        value = self.db.scalar("SELECT slack_error FROM runs WHERE id = ?", (id_,))
        return str(value) if value else None

    def by_run_ids(self, run_ids: Sequence[str]) -> dict[str, RunRecord]:
        """The rows of these Deepnote runs that the bot has (started or followed), by run id."""
        if not run_ids:
            return {}
        marks = ", ".join("?" * len(run_ids))
        rows = self._rows(f"SELECT * FROM runs WHERE run_id IN ({marks})", tuple(run_ids))
        return {r.run_id: r for r in rows if r.run_id is not None}

    def starting(self, notebook_id: str) -> bool:
        """Whether the bot is starting a run of this notebook now (a row still `creating`):
        a run Deepnote lists meanwhile may be that one, before its id is stored."""
        found = self.db.scalar(
            "SELECT count(*) FROM runs WHERE notebook_id = ? AND status = ?",
            (notebook_id, CREATING),
        )
        return bool(found)

    def set_source(self, id_: str, source: str) -> None:
        """Remember what started a run the bot did not start (Deepnote's `triggeredBy`)."""
        self.db.execute_write("UPDATE runs SET source = ? WHERE id = ?", (source[:40], id_))

    def recent_for_user(self, user_id: str, limit: int = 10) -> list[RunRecord]:
        """The user's latest runs, newest first."""
        return self._rows(
            "SELECT * FROM runs WHERE user_id = ? ORDER BY created_at DESC LIMIT ?",
            (user_id, limit),
        )


POLLER_LEASE = "poller"
"""The lease whose holder is the leader: the one process doing background work."""


class LeaseStore:
    """Named leases (a row with a holder and an expiry) so that only one bot process does
    background work at a time, on either engine.

    Taking a lease is one conditional upsert: it succeeds only when the row is new, already
    this holder's, or expired; so of any number of processes racing, exactly one wins.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def acquire(self, name: str, holder: str, *, now: datetime, ttl_seconds: float) -> bool:
        """Take or renew the lease; False when another holder has it and it has not expired."""
        expires = now + timedelta(seconds=ttl_seconds)
        changed = self.db.execute_write(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
            " expires_at = excluded.expires_at"
            " WHERE leases.holder = excluded.holder OR leases.expires_at <= ?",
            (name, holder, iso(expires), iso(now)),
        )
        return changed == 1

    def alive(self, holder: str, *, now: datetime) -> bool:
        """Whether a bot process has shown signs of life recently (its heartbeat lease)."""
        current = self.holder(f"process:{holder}")
        return current is not None and current[1] > now

    def holder(self, name: str) -> tuple[str, datetime] | None:
        """Who holds the lease and until when."""
        row = self.db.one("SELECT holder, expires_at FROM leases WHERE name = ?", (name,))
        if row is None:
            return None
        expires = from_iso(row["expires_at"])
        assert expires is not None
        return str(row["holder"]), expires

    def release(self, name: str, holder: str) -> None:
        """Give the lease up (on clean shutdown)."""
        self.db.execute_write("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))
