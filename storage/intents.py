"""What the bot acknowledged, stored before the acknowledgement leaves.

Slack never retries a slash command, a button click or a form submission it got a 200 for
(nor an event it got a 200 for), so anything the bot acknowledged and then lost to a hard kill
would be lost for good. Each one is written here first (one small INSERT) and marked done once
its work has finished; after a restart the process holding the poller lease finishes or
explains every one left open. `kind` says what it was (`command`, `mention`, `click`, `form`);
`payload` keeps what Slack sent (without its verification token), to carry it out again.

>>> from datetime import UTC, datetime
>>> db = Database(":memory:"); _ = db.migrate()
>>> intents = IntentStore(db); now = datetime(2026, 1, 1, tzinfo=UTC)
>>> intents.add(Intent(id="i1", team_id="T1", user_id="U1", channel_id="C1", thread_ts=None,
...     text="run sales", response_url="https://hooks.example/1", holder="p1", received_at=now))
True
>>> [i.text for i in intents.unfinished()]
['run sales']
>>> intents.add(Intent(id="i1", team_id="T1", user_id="U1", channel_id="C1", thread_ts=None,
...     text="run sales", response_url=None, holder="p9", received_at=now))
False
>>> intents.take_over("i1", "p1", "p2"), intents.take_over("i1", "p1", "p3")
(True, False)
>>> intents.done("i1", "replied", now=now); intents.unfinished()
[]
>>> intents.get("i1").response_url is None
True
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from storage.db import BUSY_TIMEOUT_MS, Database
from storage.rows import from_iso, iso

KEEP = timedelta(days=2)
"""Finished intents are kept this long (to tell what happened to a command), then pruned."""

_COLUMNS = (
    "id, team_id, user_id, channel_id, thread_ts, text, response_url, holder, received_at, "
    "started_at, done_at, outcome, kind, payload"
)

COMMAND = "command"
MENTION = "mention"
CLICK = "click"
FORM = "form"


@dataclass(frozen=True, kw_only=True)
class Intent:
    """One acknowledged request: who, where, what, and where to answer."""

    id: str
    team_id: str
    user_id: str
    channel_id: str
    thread_ts: str | None
    text: str
    # Slack's response_url answers the command for 30 minutes; it is cleared once done.
    response_url: str | None
    # The bot process working on it (its lease holder name).
    holder: str
    received_at: datetime
    # Set when its work began: after that, a command that changes something may have done so.
    started_at: datetime | None = None
    done_at: datetime | None = None
    outcome: str | None = None
    kind: str = COMMAND
    # What Slack sent, as JSON (for mentions, clicks and forms); cleared once done.
    payload: str | None = None


class IntentStore:
    """The `intents` table: one row per acknowledged request."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # Commands are stored on the threads that receive requests. One connection of the
        # store's own, opened now, spares each of those threads opening one during its first
        # acknowledgement; commands arriving together queue on the lock rather than in
        # SQLite's busy handler, which sleeps in steps of milliseconds.
        self._adding = threading.Lock()
        self._conn = sqlite3.connect(
            db.path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
            uri=db.path.startswith("file:"),
        )
        # WAL (set on the file by `Database`) with NORMAL sync: a commit survives a killed
        # process, which is the point here.
        self._conn.execute("PRAGMA synchronous = NORMAL")

    def add(self, intent: Intent) -> bool:
        """Store a request about to be acknowledged (one INSERT, durable once it returns);
        False when one with its id was stored already (Slack's retry of an event)."""
        # One statement in autocommit mode is its own transaction: no BEGIN IMMEDIATE needed.
        with self._adding:
            cursor = self._conn.execute(
                "INSERT INTO intents (id, team_id, user_id, channel_id, thread_ts, text, "
                "response_url, holder, received_at, kind, payload) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (
                    intent.id,
                    intent.team_id,
                    intent.user_id,
                    intent.channel_id,
                    intent.thread_ts,
                    intent.text,
                    intent.response_url,
                    intent.holder,
                    iso(intent.received_at),
                    intent.kind,
                    intent.payload,
                ),
            )
            return bool(cursor.rowcount)

    def started(self, intent_id: str, *, now: datetime) -> None:
        """Note that a command's work has begun."""
        self.db.execute_write(
            "UPDATE intents SET started_at = ? WHERE id = ? AND started_at IS NULL",
            (iso(now), intent_id),
        )

    def done(self, intent_id: str, outcome: str, *, now: datetime) -> None:
        """Mark a request finished (`outcome` says how) and forget its response_url and
        payload."""
        self.db.execute_write(
            "UPDATE intents SET done_at = ?, outcome = ?, response_url = NULL, payload = NULL "
            "WHERE id = ? AND done_at IS NULL",
            (iso(now), outcome, intent_id),
        )

    def take_over(self, intent_id: str, old_holder: str, new_holder: str) -> bool:
        """Claim an unfinished command from a stopped process; False if someone else did."""
        with self.db.write() as tx:
            cursor = tx.execute(
                "UPDATE intents SET holder = ? WHERE id = ? AND holder = ? AND done_at IS NULL",
                (new_holder, intent_id, old_holder),
            )
            return bool(cursor.rowcount)

    def get(self, intent_id: str) -> Intent | None:
        """One stored command, finished or not."""
        row = (
            self.db.conn()
            .conn.execute(f"SELECT {_COLUMNS} FROM intents WHERE id = ?", (intent_id,))
            .fetchone()
        )
        return _intent(row) if row else None

    def unfinished(self) -> list[Intent]:
        """Every command not yet marked done, oldest first."""
        rows = (
            self.db.conn()
            .conn.execute(
                f"SELECT {_COLUMNS} FROM intents WHERE done_at IS NULL ORDER BY received_at, id"
            )
            .fetchall()
        )
        return [_intent(row) for row in rows]

    def close(self) -> None:
        """Close the store's own connection."""
        self._conn.close()

    def prune(self, *, now: datetime) -> None:
        """Delete finished commands older than `KEEP`."""
        self.db.execute_write(
            "DELETE FROM intents WHERE done_at IS NOT NULL AND done_at < ?", (iso(now - KEEP),)
        )


def _intent(row: tuple[Any, ...]) -> Intent:
    received_at = from_iso(row[8])
    assert received_at is not None
    return Intent(
        id=row[0],
        team_id=row[1],
        user_id=row[2],
        channel_id=row[3],
        thread_ts=row[4],
        text=row[5],
        response_url=row[6],
        holder=row[7],
        received_at=received_at,
        started_at=from_iso(row[9]),
        done_at=from_iso(row[10]),
        outcome=row[11],
        kind=row[12],
        payload=row[13],
    )
