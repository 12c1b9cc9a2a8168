"""The audit log: who started, scheduled or changed what, when, and from where."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database
from storage.rows import iso, record_reader


@dataclass(frozen=True)
class AuditEntry:
    """One action someone took through the bot."""

    at: datetime
    user_id: str
    action: str
    target: str
    channel_id: str
    details: dict[str, Any]


_entry = record_reader(AuditEntry)


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
        rows = self.db.query(
            "SELECT at, user_id, action, target, channel_id, details FROM audit"
            " ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [_entry(row) for row in rows]
