"""The watches table: notebooks whose runs, whoever started them, are posted in a channel.

A watch remembers which of its notebook's runs it has already seen (`seen_until`, the newest
`createdAt`, and `seen_ids`, the runs near it), so each run is taken up at most once; taking
up a run and moving that mark is one transaction, so two processes never both take it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from storage.db import Database
from storage.rows import record_reader
from storage.schedules import utc_iso


@dataclass(frozen=True)
class WatchRecord:
    """One watch: which notebook, where its runs go, and what it has seen of them."""

    id: int
    team_id: str
    channel_id: str
    owner_id: str
    notebook_id: str
    notebook_name: str
    notify: str
    created_at: datetime
    project_id: str | None = None
    paused: bool = False
    paused_reason: str | None = None
    next_poll_at: datetime | None = None
    seen_until: datetime | None = None
    seen_ids: tuple[str, ...] = ()
    last_run_id: str | None = None
    last_status: str | None = None
    last_finished_at: datetime | None = None
    notify_if: str | None = None
    """`--notify-if`: runs are posted by this condition (as `describe` writes it)."""
    alert_state: str | None = None
    """The condition's last definite answer (`holds` or `clear`); None before any."""
    alert_last: str | None = None
    """The last run's answer: `holds`, `clear` or `unknown`."""


@dataclass(frozen=True)
class WatchOutcome:
    """What recording one finished run did (`previous_status`: the watch's before it)."""

    watch: WatchRecord
    previous_status: str | None
    duplicate: bool = False
    previous_alert: str | None = None
    """The watch's alert state before this run (`holds`, `clear` or None)."""


_record = record_reader(WatchRecord)


class WatchStore:
    """Reads and writes watches.

    >>> from datetime import UTC
    >>> from storage.sqlite import SQLiteDatabase
    >>> db = SQLiteDatabase(":memory:"); _ = db.migrate(); store = WatchStore(db)
    >>> w = store.insert(WatchRecord(0, "T1", "C1", "U1", "nb", "Sales", "always",
    ...     datetime(2026, 1, 1, tzinfo=UTC)))
    >>> w.id, store.get(w.id) == w
    (1, True)
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[WatchRecord]:
        return [_record(r) for r in self.db.query(sql, params)]

    def insert(self, watch: WatchRecord) -> WatchRecord:
        """Store a new watch; its `id` is assigned here (the one passed is ignored)."""
        row = {
            "team_id": watch.team_id,
            "channel_id": watch.channel_id,
            "owner_id": watch.owner_id,
            "notebook_id": watch.notebook_id,
            "notebook_name": watch.notebook_name,
            "project_id": watch.project_id,
            "notify": watch.notify,
            "created_at": utc_iso(watch.created_at),
            "paused": int(watch.paused),
            "paused_reason": watch.paused_reason,
            "next_poll_at": utc_iso(watch.next_poll_at),
            "seen_until": utc_iso(watch.seen_until),
            "seen_ids": json.dumps(list(watch.seen_ids)),
            "notify_if": watch.notify_if,
        }
        with self.db.write() as tx:
            new_id = tx.insert("watches", row, returning="id")
        return replace(watch, id=int(new_id))

    def get(self, id_: int) -> WatchRecord | None:
        """A watch by id."""
        rows = self._rows("SELECT * FROM watches WHERE id = ?", (id_,))
        return rows[0] if rows else None

    def in_channel(self, team_id: str, channel_id: str) -> list[WatchRecord]:
        """The channel's watches, oldest first."""
        return self._rows(
            "SELECT * FROM watches WHERE team_id = ? AND channel_id = ? ORDER BY id",
            (team_id, channel_id),
        )

    def owned_by(self, team_id: str, owner_id: str, *, limit: int) -> list[WatchRecord]:
        """The watches a person owns in a team, oldest first, at most `limit`."""
        return self._rows(
            "SELECT * FROM watches WHERE team_id = ? AND owner_id = ? ORDER BY id LIMIT ?",
            (team_id, owner_id, limit),
        )

    def of_notebook(self, team_id: str, notebook_id: str) -> WatchRecord | None:
        """The team's watch of this notebook, if any."""
        rows = self._rows(
            "SELECT * FROM watches WHERE team_id = ? AND notebook_id = ? ORDER BY id LIMIT 1",
            (team_id, notebook_id),
        )
        return rows[0] if rows else None

    def watched(self, notebook_id: str) -> bool:
        """Whether a watch that is not paused looks for this notebook's runs."""
        found = self.db.scalar(
            "SELECT count(*) FROM watches WHERE notebook_id = ? AND paused = 0", (notebook_id,)
        )
        return bool(found)

    def active_count(self) -> int:
        """How many watches are not paused (each costs one listing per poll)."""
        return int(self.db.scalar("SELECT count(*) FROM watches WHERE paused = 0") or 0)

    def due(self, now: datetime, limit: int) -> list[WatchRecord]:
        """Unpaused watches whose next look is due, longest due first."""
        return self._rows(
            "SELECT * FROM watches WHERE paused = 0 AND next_poll_at IS NOT NULL"
            " AND next_poll_at <= ? ORDER BY next_poll_at, id LIMIT ?",
            (utc_iso(now), limit),
        )

    def delete(self, id_: int) -> bool:
        """Remove a watch (its runs already found are still followed); False when none."""
        return self.db.execute_write("DELETE FROM watches WHERE id = ?", (id_,)) == 1

    def pause(self, id_: int, *, reason: str) -> bool:
        """Pause a watch; False when it was already paused (so it is said only once)."""
        changed = self.db.execute_write(
            "UPDATE watches SET paused = 1, paused_reason = ?, next_poll_at = NULL"
            " WHERE id = ? AND paused = 0",
            (reason, id_),
        )
        return changed == 1

    def seen(
        self,
        id_: int,
        *,
        expected: datetime,
        seen_until: datetime | None,
        seen_ids: Sequence[str],
        next_poll_at: datetime,
    ) -> bool:
        """Move the watch's mark on (compare-and-set on `next_poll_at`, as claimed by the
        poll); False when another process moved it first: the runs are then its to take."""
        changed = self.db.execute_write(
            "UPDATE watches SET seen_until = ?, seen_ids = ?, next_poll_at = ?"
            " WHERE id = ? AND paused = 0 AND next_poll_at = ?",
            (
                utc_iso(seen_until),
                json.dumps(list(seen_ids)),
                utc_iso(next_poll_at),
                id_,
                utc_iso(expected),
            ),
        )
        return changed == 1

    def record_outcome(
        self,
        id_: int,
        *,
        run_id: str,
        status: str,
        finished_at: datetime,
        alert: str | None = None,
    ) -> WatchOutcome | None:
        """Store the latest finished run's status; a run already recorded is a `duplicate`.

        `alert` is what the watch's condition said of this run (`holds`, `clear`, `unknown`):
        the alert state keeps the last definite answer, as for schedules.
        """
        with self.db.write() as tx:
            rows = tx.query(f"SELECT * FROM watches WHERE id = ?{tx.lock}", (id_,))
            if not rows:
                return None
            before = _record(rows[0])
            if before.last_run_id == run_id:
                return WatchOutcome(
                    before, before.last_status, duplicate=True, previous_alert=before.alert_state
                )
            after = replace(
                before,
                last_run_id=run_id,
                last_status=status,
                last_finished_at=finished_at,
                alert_state=alert if alert in ("holds", "clear") else before.alert_state,
                alert_last=alert if alert is not None else before.alert_last,
            )
            tx.execute(
                "UPDATE watches SET last_run_id = ?, last_status = ?, last_finished_at = ?,"
                " alert_state = ?, alert_last = ? WHERE id = ?",
                (
                    run_id,
                    status,
                    utc_iso(finished_at),
                    after.alert_state,
                    after.alert_last,
                    id_,
                ),
            )
            return WatchOutcome(after, before.last_status, previous_alert=before.alert_state)


def recent_statuses(
    db: Database, *, schedule_ids: Iterable[int], watch_ids: Iterable[int], per_item: int
) -> dict[tuple[str, int], list[str]]:
    """The latest statuses of the runs of some schedules and watches, newest first, keyed by
    ("schedule" | "watch", id): one query, for the Home tab."""
    schedules = [str(i) for i in schedule_ids]
    watches = list(watch_ids)
    if not schedules and not watches:
        return {}
    where = []
    params: list[Any] = []
    if schedules:
        where.append(f"schedule_id IN ({', '.join('?' * len(schedules))})")
        params += schedules
    if watches:
        where.append(f"watch_id IN ({', '.join('?' * len(watches))})")
        params += watches
    # The latest `per_item` of each, however busy the others are (a window over each one's runs).
    rows = db.query(
        "SELECT schedule_id, watch_id, status FROM (SELECT schedule_id, watch_id, status,"
        " created_at, ROW_NUMBER() OVER (PARTITION BY watch_id, schedule_id"
        " ORDER BY created_at DESC) AS position FROM runs WHERE "
        + " OR ".join(where)
        + ") AS recent WHERE position <= ? ORDER BY created_at DESC",
        (*params, per_item),
    )
    found: dict[tuple[str, int], list[str]] = {}
    for row in rows:
        if row["watch_id"] is not None:
            key = ("watch", int(row["watch_id"]))
        elif row["schedule_id"] and str(row["schedule_id"]).isdigit():
            key = ("schedule", int(row["schedule_id"]))
        else:
            continue
        found.setdefault(key, []).append(str(row["status"]))
    return found
