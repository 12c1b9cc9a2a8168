"""Signed requests already accepted, so a replay of the same bytes never acts twice.

Slack signs each request with its timestamp, and the bot accepts a signature for five minutes
either side of its clock: within that window an eavesdropper could send the same request
again. Each accepted (timestamp, signature) pair is claimed here, in the database so that a
replay after a restart is refused too. Slack's own retries carry a new timestamp and so a new
signature; they are deduplicated by event id elsewhere (`SeenEvents`).

>>> from storage.sqlite import SQLiteDatabase
>>> db = SQLiteDatabase(":memory:"); _ = db.migrate()
>>> seen = SeenRequests(db)
>>> seen.claim(1000, "v0=abc", now=1000.0), seen.claim(1000, "v0=abc", now=1001.0)
(True, False)
>>> seen.release(1000, "v0=abc"); seen.claim(1000, "v0=abc", now=1002.0)
True
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

from storage.db import Database

KEEP_SECONDS = 6 * 60
"""Signatures are accepted 5 minutes either side of now; a minute more allows for clock skew."""
PRUNE_EVERY = 60.0


@dataclass
class _Claim:
    """One request's claim, waiting for the writer."""

    timestamp: int
    signature: str
    now: float
    done: threading.Event = field(default_factory=threading.Event)
    first: bool = False
    error: Exception | None = None


class SeenRequests:
    """The `seen_requests` table: one row per signed request the bot has accepted.

    A claim is on the acknowledgement path of every request, and 50 of them may arrive at
    once: each written in a transaction of its own, they would queue for SQLite's write lock
    (whose busy handler sleeps for milliseconds) and for the interpreter lock. So one writer
    thread writes all the claims waiting at that moment in one transaction (a group commit),
    and each request waits only for the transaction holding its claim. Old rows are pruned at
    most once a minute.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._waiting: list[_Claim] = []
        self._wake = threading.Condition(self._lock)
        self._writer: threading.Thread | None = None
        self._closing = False
        self._next_prune = -math.inf

    def claim(self, timestamp: int, signature: str, *, now: float) -> bool:
        """Claim a signed request: True the first time it is seen (by any thread or process)."""
        claim = _Claim(timestamp, signature, now)
        with self._lock:
            self._closing = False
            self._waiting.append(claim)
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(target=self._write, name="seen", daemon=True)
                self._writer.start()
            self._wake.notify()
        claim.done.wait()
        if claim.error is not None:
            raise claim.error
        return claim.first

    def release(self, timestamp: int, signature: str) -> None:
        """Forget a claim whose request was not answered, so Slack may send it again."""
        self.db.execute_write(
            "DELETE FROM seen_requests WHERE timestamp = ? AND signature = ?",
            (timestamp, signature),
        )

    def close(self) -> None:
        """Let the writer thread end once the claims waiting are written."""
        with self._lock:
            self._closing = True
            self._wake.notify()
            writer = self._writer
        if writer is not None:
            writer.join(timeout=5)

    def _write(self) -> None:
        while True:
            with self._lock:
                while not self._waiting and not self._closing:
                    self._wake.wait()
                batch, self._waiting = self._waiting, []
                if not batch:
                    self._writer = None
                    return
            try:
                self._insert(batch)
            except Exception as exc:  # every waiting request fails the same way
                for claim in batch:
                    claim.error = exc
            for claim in batch:
                claim.done.set()

    def _insert(self, batch: list[_Claim]) -> None:
        with self.db.write() as tx:
            now = max(claim.now for claim in batch)
            if now >= self._next_prune:
                tx.execute(
                    "DELETE FROM seen_requests WHERE timestamp < ?", (int(now) - KEEP_SECONDS,)
                )
                self._next_prune = now + PRUNE_EVERY
            for claim in batch:
                inserted = tx.execute(
                    "INSERT INTO seen_requests (timestamp, signature) VALUES (?, ?)"
                    " ON CONFLICT DO NOTHING",
                    (claim.timestamp, claim.signature),
                )
                claim.first = inserted == 1
