"""Versioned schema migrations, applied in order at start-up.

Each migration is a function of a session in the migrating transaction; it writes its DDL once
for both engines (`{autoid}` for a counting id column; `Dialect.ddl` maps the types). The
engine records how many have been applied (SQLite: `PRAGMA user_version`; PostgreSQL: the
`schema_version` table). Never edit a released migration: add a new one.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.errors import StorageError
from storage.db import Session


def _m001_runs(db: Session) -> None:
    """Runs, their results, the audit log, heartbeats and leases."""
    _m001_runs_table(db)
    _m001_side_tables(db)


def _m001_runs_table(db: Session) -> None:
    """Part of migration 1: one row per run, with the state of its Slack messages."""
    _ddl(
        db,
        """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            run_id TEXT UNIQUE,
            notebook_id TEXT NOT NULL,
            notebook_name TEXT NOT NULL,
            project_id TEXT,
            notebook_url TEXT,
            inputs TEXT NOT NULL DEFAULT '{}',
            readonly INTEGER NOT NULL DEFAULT 0,
            block_ids TEXT NOT NULL DEFAULT '[]',
            run_dependents INTEGER NOT NULL DEFAULT 0,
            post_outputs TEXT,
            user_id TEXT NOT NULL,
            team_id TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            thread_ts TEXT,
            card_ts TEXT,
            trigger TEXT NOT NULL DEFAULT 'command',
            schedule_id TEXT,
            status TEXT NOT NULL,
            created_at TEXT NOT NULL,
            started_at TEXT,
            completed_at TEXT,
            error TEXT,
            failing_block TEXT,
            snapshot_url TEXT,
            card_status TEXT,
            card_dirty INTEGER NOT NULL DEFAULT 1,
            reply_posted INTEGER NOT NULL DEFAULT 0,
            reply_ts TEXT,
            next_poll_at TEXT,
            poll_failures INTEGER NOT NULL DEFAULT 0,
            last_read_at TEXT,
            last_poll_error TEXT,
            slack_error TEXT,
            slack_retry_at TEXT,
            slack_attempts INTEGER NOT NULL DEFAULT 0,
            quiet INTEGER NOT NULL DEFAULT 0,
            announce INTEGER,
            finish_pending INTEGER NOT NULL DEFAULT 0,
            files_posted INTEGER NOT NULL DEFAULT 0,
            card_intent TEXT,
            card_queued INTEGER NOT NULL DEFAULT 0,
            create_started INTEGER NOT NULL DEFAULT 0,
            reply_intent TEXT
        )
        """,
    )
    _ddl(db, "CREATE INDEX runs_open ON runs (status, next_poll_at)")
    _ddl(db, "CREATE INDEX runs_outbox ON runs (card_dirty, reply_posted)")
    _ddl(db, "CREATE INDEX runs_user ON runs (user_id, created_at)")
    _ddl(db, "CREATE INDEX runs_finish ON runs (finish_pending)")


def _m001_side_tables(db: Session) -> None:
    """Part of migration 1: a run's results, the audit log, heartbeats and leases."""
    _ddl(
        db,
        """
        CREATE TABLE run_results (
            run TEXT NOT NULL REFERENCES runs(id),
            position INTEGER NOT NULL,
            payload TEXT NOT NULL,
            posted INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (run, position)
        )
        """,
    )
    _ddl(
        db,
        """
        CREATE TABLE audit (
            id {autoid},
            at TEXT NOT NULL,
            user_id TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            details TEXT NOT NULL DEFAULT '{}'
        )
        """,
    )
    _ddl(
        db,
        """
        CREATE TABLE heartbeats (
            holder TEXT PRIMARY KEY,
            last_round_at TEXT NOT NULL,
            deepnote_ok_at TEXT,
            slack_ok_at TEXT
        )
        """,
    )
    _ddl(
        db,
        """
        CREATE TABLE leases (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            expires_at TEXT NOT NULL
        )
        """,
    )


def _m002_schedules(db: Session) -> None:
    # AUTOINCREMENT: a deleted schedule's id is never handed out again, so a stale
    # `/deepnote pause 3` can never hit someone else's newer schedule.
    _ddl(
        db,
        """
        CREATE TABLE schedules (
            id {autoid},
            team_id TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            owner_id TEXT NOT NULL,
            notebook_id TEXT NOT NULL,
            notebook_name TEXT NOT NULL,
            inputs TEXT NOT NULL DEFAULT '{}',
            expression TEXT NOT NULL,
            tz TEXT NOT NULL,
            notify TEXT NOT NULL DEFAULT 'always',
            post_outputs TEXT,
            paused INTEGER NOT NULL DEFAULT 0,
            paused_reason TEXT,
            next_fire_at TEXT,
            last_run_id TEXT,
            last_status TEXT,
            last_finished_at TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        )
        """,
    )
    _ddl(db, "CREATE INDEX schedules_due ON schedules (paused, next_fire_at)")
    _ddl(db, "CREATE INDEX schedules_channel ON schedules (team_id, channel_id)")
    # Messages about schedules waiting to be posted; one that follows a run waits for its card.
    _ddl(
        db,
        """
        CREATE TABLE schedule_notes (
            id {autoid},
            schedule_id INTEGER NOT NULL,
            channel_id TEXT NOT NULL,
            after_run_id TEXT,
            in_thread INTEGER NOT NULL DEFAULT 0,
            text TEXT NOT NULL,
            blocks TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            retry_at TEXT
        )
        """,
    )


def _m003_aliases_notebooks_events(db: Session) -> None:
    _ddl(
        db,
        """
        CREATE TABLE aliases (
            team_id TEXT NOT NULL,
            name TEXT NOT NULL,
            notebook_id TEXT NOT NULL,
            notebook_name TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (team_id, name)
        )
        """,
    )
    # The names of notebooks the bot has fetched, so people can name a notebook by its title.
    _ddl(
        db,
        """
        CREATE TABLE notebooks (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            name_key TEXT NOT NULL,
            seen_at TEXT NOT NULL
        )
        """,
    )
    _ddl(db, "CREATE INDEX notebooks_name ON notebooks (name_key)")
    # Events API deliveries already acted on: Slack retries must not act twice.
    _ddl(
        db,
        """
        CREATE TABLE seen_events (
            event_id TEXT PRIMARY KEY,
            seen_at TEXT NOT NULL
        )
        """,
    )
    _ddl(db, "CREATE INDEX seen_events_age ON seen_events (seen_at)")


def _m004_seen_requests(db: Session) -> None:
    """Signed requests already accepted: a replay within the signature window is refused."""
    _ddl(
        db,
        """
        CREATE TABLE seen_requests (
            timestamp INTEGER NOT NULL,
            signature TEXT NOT NULL,
            PRIMARY KEY (timestamp, signature)
        )
        """,
    )


def _m005_alias_owners(db: Session) -> None:
    """Aliases get an owner, who (with the admins) alone may change or remove them.

    Aliases made before this have no owner (NULL): who made them was never checked, so only
    admins may change those.
    """
    _ddl(db, "ALTER TABLE aliases ADD COLUMN owner_id TEXT")


def _m006_command_intents(db: Session) -> None:
    """Slash commands stored before they are acknowledged, so a hard kill loses none."""
    _ddl(
        db,
        """
        CREATE TABLE intents (
            id TEXT PRIMARY KEY,
            team_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            thread_ts TEXT,
            text TEXT NOT NULL,
            response_url TEXT,
            holder TEXT NOT NULL,
            received_at TEXT NOT NULL,
            started_at TEXT,
            done_at TEXT,
            outcome TEXT
        )
        """,
    )
    # Recovery reads only the unfinished ones; pruning reads the finished ones by age.
    _ddl(db, "CREATE INDEX intents_open ON intents (received_at) WHERE done_at IS NULL")
    _ddl(db, "CREATE INDEX intents_done ON intents (done_at) WHERE done_at IS NOT NULL")


def _m007_intent_kinds(db: Session) -> None:
    """Mentions, button clicks and form submissions are stored before their acknowledgement
    too: what kind each one is, and what Slack sent (to carry it out after a restart)."""
    _ddl(db, "ALTER TABLE intents ADD COLUMN kind TEXT NOT NULL DEFAULT 'command'")
    _ddl(db, "ALTER TABLE intents ADD COLUMN payload TEXT")


def _m008_alerts(db: Session) -> None:
    """Alerts (`--notify-if`): a run's condition and what it said; a schedule's condition and
    its alert state (`alert_state`: the last definite answer, holds or clear; `alert_last`:
    the last run's answer, unknown included)."""
    _ddl(db, "ALTER TABLE runs ADD COLUMN notify_if TEXT")
    _ddl(db, "ALTER TABLE runs ADD COLUMN alert TEXT")
    _ddl(db, "ALTER TABLE schedules ADD COLUMN notify_if TEXT")
    _ddl(db, "ALTER TABLE schedules ADD COLUMN alert_state TEXT")
    _ddl(db, "ALTER TABLE schedules ADD COLUMN alert_last TEXT")


def _m009_watches(db: Session) -> None:
    """Watches: notebooks whose every run (whoever started it) is posted in a channel; runs
    the bot follows for a watch remember it and what Deepnote said started them."""
    # AUTOINCREMENT, as for schedules: a stale `/deepnote unwatch 3` never hits a newer watch.
    _ddl(
        db,
        """
        CREATE TABLE watches (
            id {autoid},
            team_id TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            owner_id TEXT NOT NULL,
            notebook_id TEXT NOT NULL,
            notebook_name TEXT NOT NULL,
            project_id TEXT,
            notify TEXT NOT NULL DEFAULT 'always',
            created_at TEXT NOT NULL,
            paused INTEGER NOT NULL DEFAULT 0,
            paused_reason TEXT,
            next_poll_at TEXT,
            seen_until TEXT,
            seen_ids TEXT NOT NULL DEFAULT '[]',
            last_run_id TEXT,
            last_status TEXT,
            last_finished_at TEXT
        )
        """,
    )
    _ddl(db, "CREATE INDEX watches_due ON watches (paused, next_poll_at)")
    _ddl(db, "CREATE INDEX watches_channel ON watches (team_id, channel_id)")
    _ddl(db, "ALTER TABLE runs ADD COLUMN watch_id INTEGER")
    # Deepnote's `triggeredBy` from the run's snapshot (user, schedule, api, ci), when known.
    _ddl(db, "ALTER TABLE runs ADD COLUMN source TEXT")
    _ddl(db, "CREATE INDEX runs_watch ON runs (watch_id, created_at)")


def _m010_function_runs(db: Session) -> None:
    """Workflow Builder steps ("Run a Deepnote notebook"): each execution Slack asked for, the
    run it started and whether the step was completed, so it completes across restarts."""
    _ddl(
        db,
        """
        CREATE TABLE function_runs (
            execution_id TEXT PRIMARY KEY,
            team_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            run TEXT,
            wait INTEGER NOT NULL DEFAULT 1,
            state TEXT NOT NULL,
            outcome TEXT,
            refusal TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            retry_at TEXT,
            created_at TEXT NOT NULL,
            done_at TEXT
        )
        """,
    )
    # The background round reads only the executions still to complete.
    _ddl(db, "CREATE INDEX function_runs_open ON function_runs (created_at) WHERE done_at IS NULL")


def _m011_schedule_notify_before(db: Session) -> None:
    """An edit of a schedule's `--notify` keeps the setting it replaced, and when, so a run
    already under way is announced (or not) as it would have been before the edit."""
    _ddl(db, "ALTER TABLE schedules ADD COLUMN notify_before TEXT")
    _ddl(db, "ALTER TABLE schedules ADD COLUMN notify_changed_at TEXT")


def _m012_watch_alerts(db: Session) -> None:
    """Alerts on watches (`watch --notify-if`): the watch's condition and its alert state, as
    for schedules (`alert_state`: the last definite answer; `alert_last`: the last run's)."""
    _ddl(db, "ALTER TABLE watches ADD COLUMN notify_if TEXT")
    _ddl(db, "ALTER TABLE watches ADD COLUMN alert_state TEXT")
    _ddl(db, "ALTER TABLE watches ADD COLUMN alert_last TEXT")


MIGRATIONS: tuple[Callable[[Session], None], ...] = (
    _m001_runs,
    _m002_schedules,
    _m003_aliases_notebooks_events,
    _m004_seen_requests,
    _m005_alias_owners,
    _m006_command_intents,
    _m007_intent_kinds,
    _m008_alerts,
    _m009_watches,
    _m010_function_runs,
    _m011_schedule_notify_before,
    _m012_watch_alerts,
)


def _ddl(db: Session, text: str) -> None:
    db.execute(db.dialect.ddl(text))


def apply_migrations(db: Session, version: int, set_version: Callable[[Session, int], None]) -> int:
    """Apply every migration after `version` (inside the caller's transaction)."""
    if version > len(MIGRATIONS):
        raise StorageError(
            f"The database was written by a newer version of the bot (schema {version}, "
            f"this version knows {len(MIGRATIONS)}). Run that version or a newer one, or "
            "restore the backup taken before the upgrade."
        )
    for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
        migration(db)
        set_version(db, number)
    return len(MIGRATIONS)
