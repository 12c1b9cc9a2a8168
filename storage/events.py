"""Events API deliveries already handled, so Slack's retries never act twice.

>>> from storage.sqlite import SQLiteDatabase
>>> from datetime import UTC, datetime
>>> db = SQLiteDatabase(":memory:"); _ = db.migrate()
>>> seen = SeenEvents(db); now = datetime(2026, 1, 1, tzinfo=UTC)
>>> seen.first_time("Ev1", now=now), seen.first_time("Ev1", now=now)
(True, False)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.db import Database
from storage.rows import iso

KEEP = timedelta(days=2)
"""Slack retries within minutes; rows older than this are pruned."""


class SeenEvents:
    """The `seen_events` table: one row per event id the bot has acted on."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def first_time(self, event_id: str, *, now: datetime) -> bool:
        """Claim an event: True the first time it is seen (by any thread or process)."""
        with self.db.write() as tx:
            tx.execute("DELETE FROM seen_events WHERE seen_at < ?", (iso(now - KEEP),))
            inserted = tx.execute(
                "INSERT INTO seen_events (event_id, seen_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (event_id, iso(now)),
            )
            return inserted == 1
