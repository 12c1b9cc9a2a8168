"""The audit log: who started, scheduled or changed what, when, and from where."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database
from storage.rows import from_iso, iso


@dataclass(frozen=True)
class AuditEntry:
    """One action someone took through the bot."""

    at: datetime
    user_id: str
    action: str
    target: str
    channel_id: str
    details: dict[str, Any]


class AuditStore:
    """Append-only `audit` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self,
        *,
        at: datetime,
        user_id: str,
        action: str,
        target: str,
        channel_id: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Append one entry."""
        self.db.execute_write(
            "INSERT INTO audit (at, user_id, action, target, channel_id, details)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (iso(at), user_id, action, target, channel_id, json.dumps(details or {})),
        )

    def latest(self, limit: int = 20) -> list[AuditEntry]:
        """The newest entries first."""
        rows = self.db.conn().conn.execute(
            "SELECT at, user_id, action, target, channel_id, details FROM audit"
            " ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        entries = []
        for row in rows:
            at = from_iso(row[0])
            assert at is not None
            entries.append(AuditEntry(at, row[1], row[2], row[3], row[4], json.loads(row[5])))
        return entries
