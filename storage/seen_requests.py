"""Signed requests already accepted, so a replay of the same bytes never acts twice.

Slack signs each request with its timestamp, and the bot accepts a signature for five minutes
either side of its clock: within that window an eavesdropper could send the same request
again. Each accepted (timestamp, signature) pair is claimed here, in the database so that a
replay after a restart is refused too. Slack's own retries carry a new timestamp and so a new
signature; they are deduplicated by event id elsewhere (`SeenEvents`).

>>> from storage.db import Database
>>> db = Database(":memory:"); _ = db.migrate()
>>> seen = SeenRequests(db)
>>> seen.claim(1000, "v0=abc", now=1000.0), seen.claim(1000, "v0=abc", now=1001.0)
(True, False)
>>> seen.release(1000, "v0=abc"); seen.claim(1000, "v0=abc", now=1002.0)
True
"""

from __future__ import annotations

from storage.db import Database

KEEP_SECONDS = 6 * 60
"""Signatures are accepted 5 minutes either side of now; a minute more allows for clock skew."""


class SeenRequests:
    """The `seen_requests` table: one row per signed request the bot has accepted."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def claim(self, timestamp: int, signature: str, *, now: float) -> bool:
        """Claim a signed request: True the first time it is seen (by any thread or process)."""
        with self.db.write() as tx:
            tx.execute("DELETE FROM seen_requests WHERE timestamp < ?", (int(now) - KEEP_SECONDS,))
            cursor = tx.execute(
                "INSERT OR IGNORE INTO seen_requests (timestamp, signature) VALUES (?, ?)",
                (timestamp, signature),
            )
            return bool(cursor.rowcount)

    def release(self, timestamp: int, signature: str) -> None:
        """Forget a claim whose request was not answered, so Slack may send it again."""
        self.db.execute_write(
            "DELETE FROM seen_requests WHERE timestamp = ? AND signature = ?",
            (timestamp, signature),
        )
