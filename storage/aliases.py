"""Notebook aliases per team, and the names of the notebooks the bot has seen.

Aliases are short names a team gives notebooks (`sales` → `03fde7a7…`). The `notebooks`
table is a small cache of id → name, refreshed whenever the bot fetches a notebook, so
people can also name a notebook by its title when that title is unique.

>>> from storage.sqlite import SQLiteDatabase
>>> from datetime import UTC, datetime
>>> db = SQLiteDatabase(":memory:"); _ = db.migrate()
>>> names = NotebookNames(db)
>>> names.remember("ab" * 16, "Sales report", now=datetime(2026, 1, 1, tzinfo=UTC))
>>> [n.id for n in names.named("  sales   REPORT ")]
['abababababababababababababababab']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.rows import iso, record_reader

MAX_NAME_KEY = 300


def name_key(name: str) -> str:
    """How names are compared: case-folded, runs of spaces made one.

    >>> name_key("  Sales   Report ")
    'sales report'
    """
    return " ".join(name.casefold().split())[:MAX_NAME_KEY]


@dataclass(frozen=True)
class Alias:
    """A team's short name for a notebook."""

    team_id: str
    name: str
    notebook_id: str
    notebook_name: str
    created_by: str
    created_at: datetime
    # Who may change or remove it (with the admins); None for aliases older than owners.
    owner_id: str | None = None


# Called with the alias about to be replaced or removed, inside the write: raising refuses.
MayChange = Callable[[Alias], None]


@dataclass(frozen=True)
class KnownNotebook:
    """A notebook the bot has fetched, with the name it had then."""

    id: str
    name: str
    seen_at: datetime


_alias = record_reader(Alias)
_known = record_reader(KnownNotebook)


class AliasStore:
    """Reads and writes the `aliases` table; names are unique per team."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def set(self, alias: Alias, *, may_change: MayChange | None = None) -> Alias | None:
        """Store an alias, replacing one of the same name; return the one it replaced.

        `may_change` sees the alias to be replaced first (in the same write) and may refuse.
        """
        with self.db.write() as tx:
            rows = tx.query(
                f"SELECT * FROM aliases WHERE team_id = ? AND name = ?{tx.lock}",
                (alias.team_id, alias.name),
            )
            if rows and may_change is not None:
                may_change(_alias(rows[0]))
            tx.execute(
                "INSERT INTO aliases"
                " (team_id, name, notebook_id, notebook_name, created_by, created_at, owner_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (team_id, name) DO UPDATE SET"
                " notebook_id = excluded.notebook_id, notebook_name = excluded.notebook_name,"
                " created_by = excluded.created_by, created_at = excluded.created_at,"
                " owner_id = excluded.owner_id",
                (
                    alias.team_id,
                    alias.name,
                    alias.notebook_id,
                    alias.notebook_name,
                    alias.created_by,
                    iso(alias.created_at),
                    alias.owner_id,
                ),
            )
        return _alias(rows[0]) if rows else None

    def get(self, team_id: str, name: str) -> Alias | None:
        """The team's alias of this name, if any."""
        rows = self.db.query(
            "SELECT * FROM aliases WHERE team_id = ? AND name = ?", (team_id, name)
        )
        return _alias(rows[0]) if rows else None

    def named_in_any_team(self, name: str) -> list[Alias]:
        """Every team's alias of this name (for callers that do not know the team)."""
        return [
            _alias(r)
            for r in self.db.query("SELECT * FROM aliases WHERE name = ? ORDER BY team_id", (name,))
        ]

    def for_team(self, team_id: str) -> list[Alias]:
        """The team's aliases, by name."""
        return [
            _alias(r)
            for r in self.db.query(
                "SELECT * FROM aliases WHERE team_id = ? ORDER BY name", (team_id,)
            )
        ]

    def remove(
        self, team_id: str, name: str, *, may_change: MayChange | None = None
    ) -> Alias | None:
        """Delete the team's alias of this name; return it, or None when there was none.

        `may_change` sees the alias first (in the same write) and may refuse.
        """
        with self.db.write() as tx:
            rows = tx.query(
                f"SELECT * FROM aliases WHERE team_id = ? AND name = ?{tx.lock}", (team_id, name)
            )
            if rows and may_change is not None:
                may_change(_alias(rows[0]))
            tx.execute("DELETE FROM aliases WHERE team_id = ? AND name = ?", (team_id, name))
        return _alias(rows[0]) if rows else None


class NotebookNames:
    """The `notebooks` cache: id → name of every notebook the bot has fetched."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def remember(self, notebook_id: str, name: str, *, now: datetime) -> None:
        """Record (or refresh) a notebook's name."""
        self.db.execute_write(
            "INSERT INTO notebooks (id, name, name_key, seen_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
            " name_key = excluded.name_key, seen_at = excluded.seen_at",
            (notebook_id, name, name_key(name), iso(now)),
        )

    def forget(self, notebook_id: str) -> None:
        """Drop a notebook that no longer exists (or that the API key can no longer see)."""
        self.db.execute_write("DELETE FROM notebooks WHERE id = ?", (notebook_id,))

    def named(self, name: str) -> list[KnownNotebook]:
        """The known notebooks whose name is `name` (ignoring case and extra spaces)."""
        return [
            _known(r)
            for r in self.db.query(
                "SELECT * FROM notebooks WHERE name_key = ? ORDER BY seen_at DESC, id",
                (name_key(name),),
            )
        ]

    def recent(self, limit: int = 200) -> list[KnownNotebook]:
        """The notebooks seen most recently (for suggestions)."""
        return [
            _known(r)
            for r in self.db.query(
                "SELECT * FROM notebooks ORDER BY seen_at DESC, id LIMIT ?", (limit,)
            )
        ]
