"""Is the bot able to work? What `/healthz` and `deepnote-bot health` report.

Each process notes its last successful call to Deepnote and to Slack and the end of each
background round; the background round writes them to the database, so `deepnote-bot health`
can read them from another process (e.g. a container health check).
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.errors import StorageError
from storage.db import Database
from storage.rows import from_iso, iso
from storage.runs import POLLER_LEASE, LeaseStore, RunStore


class CallRecorder:
    """Remembers when Deepnote and Slack last answered successfully (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.deepnote_ok: datetime | None = None
        self.slack_ok: datetime | None = None

    def deepnote(self, when: datetime) -> None:
        """Deepnote answered a call."""
        with self._lock:
            self.deepnote_ok = when

    def slack(self, when: datetime) -> None:
        """Slack answered a call."""
        with self._lock:
            self.slack_ok = when


@dataclass(frozen=True)
class HealthReport:
    """The state of the bot as stored in its database."""

    ok: bool
    details: dict[str, Any]


def save_heartbeat(db: Database, holder: str, now: datetime, calls: CallRecorder) -> None:
    """Store this process's last round and last successful calls."""
    with db.write() as tx:
        tx.execute(
            "INSERT INTO heartbeats (holder, last_round_at, deepnote_ok_at, slack_ok_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT(holder) DO UPDATE SET"
            " last_round_at = excluded.last_round_at,"
            " deepnote_ok_at = coalesce(excluded.deepnote_ok_at, heartbeats.deepnote_ok_at),"
            " slack_ok_at = coalesce(excluded.slack_ok_at, heartbeats.slack_ok_at)",
            (holder, iso(now), iso(calls.deepnote_ok), iso(calls.slack_ok)),
        )


PROBE_HOLDER = "health-probe"


def write_problem(db: Database, now: datetime) -> str | None:
    """None when a small real write commits; else why it failed.

    Reading can work while every write fails (read-only or immutable files, a full disk): the
    probe row is written and deleted in one transaction, so the commit goes to disk and
    nothing is left behind.
    """
    try:
        with db.write() as tx:
            tx.execute(
                "INSERT INTO heartbeats (holder, last_round_at) VALUES (?, ?)"
                " ON CONFLICT (holder) DO UPDATE SET last_round_at = excluded.last_round_at",
                (PROBE_HOLDER, iso(now)),
            )
            tx.execute("DELETE FROM heartbeats WHERE holder = ?", (PROBE_HOLDER,))
    except (sqlite3.Error, StorageError, OSError) as exc:  # psycopg's become StorageError
        return f"cannot write: {exc}"
    return None


def _leader(db: Database, now: datetime) -> str | None:
    """The process holding the poller lease (doing background work), or None."""
    current = LeaseStore(db).holder(POLLER_LEASE)
    return current[0] if current is not None and current[1] > now else None


def read_health(db: Database, now: datetime, *, stale_after: float) -> HealthReport:
    """Database (a real write), background rounds, poller lag and last good calls, with a
    verdict."""
    problem = write_problem(db, now)
    details: dict[str, Any] = {"database": problem or "ok", "storage": db.describe()}
    row = db.one(
        "SELECT holder, last_round_at, deepnote_ok_at, slack_ok_at FROM heartbeats"
        " ORDER BY last_round_at DESC LIMIT 1"
    )
    last_round = from_iso(row["last_round_at"]) if row else None
    details["leader"] = _leader(db, now)
    details["background"] = {
        "process": row["holder"] if row else None,
        "last_round_at": iso(last_round),
        "seconds_since_last_round": (
            round((now - last_round).total_seconds(), 3) if last_round else None
        ),
    }
    details["last_deepnote_success_at"] = row["deepnote_ok_at"] if row else None
    details["last_slack_success_at"] = row["slack_ok_at"] if row else None
    runs = RunStore(db)
    details["poller_lag_seconds"] = round(runs.poll_lag(now), 3)
    details["runs_in_flight"] = runs.open_count()
    fresh = last_round is not None and now - last_round <= timedelta(seconds=stale_after)
    details["status"] = "ok" if fresh else "background work is not running"
    if problem is not None:
        details["status"] = f"the database {problem}; check the file's permissions and free space"
    return HealthReport(ok=fresh and problem is None, details=details)
