"""What the bot acknowledged, stored before the acknowledgement leaves.

Slack never retries a slash command, a button click or a form submission it got a 200 for
(nor an event it got a 200 for), so anything the bot acknowledged and then lost to a hard kill
would be lost for good. Each one is written here first (one small INSERT) and marked done once
its work has finished; after a restart the process holding the poller lease finishes or
explains every one left open. `kind` says what it was (`command`, `mention`, `click`, `form`,
`shortcut`); `payload` keeps what Slack sent (without its verification token), to carry it
out again.

>>> from datetime import UTC, datetime
>>> from storage.sqlite import SQLiteDatabase
>>> db = SQLiteDatabase(":memory:"); _ = db.migrate()
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

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.db import Database
from storage.rows import iso, record_reader

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
SHORTCUT = "shortcut"
"""A message shortcut that starts a run (*Re-run this*); opening a modal is not stored."""
EDIT_FORM = "edit_form"


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

    def add(self, intent: Intent) -> bool:
        """Store a request about to be acknowledged (one INSERT, durable once it returns);
        False when one with its id was stored already (Slack's retry of an event)."""
        # One statement in autocommit mode is its own transaction, on the engine's fast path.
        inserted = self.db.insert_now(
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
        return inserted == 1

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
        return (
            self.db.execute_write(
                "UPDATE intents SET holder = ? WHERE id = ? AND holder = ? AND done_at IS NULL",
                (new_holder, intent_id, old_holder),
            )
            == 1
        )

    def get(self, intent_id: str) -> Intent | None:
        """One stored command, finished or not."""
        row = self.db.one(f"SELECT {_COLUMNS} FROM intents WHERE id = ?", (intent_id,))
        return _intent(row) if row else None

    def unfinished(self) -> list[Intent]:
        """Every command not yet marked done, oldest first."""
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM intents WHERE done_at IS NULL ORDER BY received_at, id"
        )
        return [_intent(row) for row in rows]

    def prune(self, *, now: datetime) -> None:
        """Delete finished commands older than `KEEP`."""
        self.db.execute_write(
            "DELETE FROM intents WHERE done_at IS NOT NULL AND done_at < ?", (iso(now - KEEP),)
        )


_intent = record_reader(Intent)
