"""Copy one installation's data into another database (SQLite to PostgreSQL, or back).

Every row is upserted by its primary key, so copying again is safe: rows already there are
brought up to date, nothing is doubled. Counting ids (schedules, notes, the audit log) keep
their values, and the target's counters move past the source's, so an id once handed out is
never handed out again. Stop the bot before copying: rows written meanwhile are not copied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from storage.db import COUNTED_IDS, PRIMARY_KEYS, Database

BATCH = 500


@dataclass(frozen=True)
class TableCopy:
    """How one table went: rows read from the source, rows in the target afterwards."""

    table: str
    copied: int
    in_target: int


def copy_database(
    source: Database, target: Database, *, progress: Callable[[TableCopy], None] = print
) -> list[TableCopy]:
    """Bring both schemas up to date, then upsert every table of `source` into `target`."""
    source.migrate()
    target.migrate()
    done = []
    for table, key in PRIMARY_KEYS.items():
        result = _copy_table(source, target, table, key)
        progress(result)
        done.append(result)
    return done


def _copy_table(source: Database, target: Database, table: str, key: tuple[str, ...]) -> TableCopy:
    rows = source.query(f"SELECT * FROM {table} ORDER BY {', '.join(key)}")
    with target.write() as tx:
        if rows:
            columns = list(rows[0])
            others = [c for c in columns if c not in key]
            update = (
                "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in others)
                if others
                else "DO NOTHING"
            )
            sql = (
                f"INSERT INTO {table} ({', '.join(columns)})"
                f" VALUES ({', '.join('?' * len(columns))})"
                f" ON CONFLICT ({', '.join(key)}) {update}"
            )
            for start in range(0, len(rows), BATCH):
                batch = rows[start : start + BATCH]
                tx.execute_many(sql, [[row[c] for c in columns] for row in batch])
        if table in COUNTED_IDS:
            with source.session() as read:
                high = source.id_high_water(read, table)
            target.raise_id_counter(tx, table, high)
        count = int(tx.scalar(f"SELECT count(*) FROM {table}") or 0)
    return TableCopy(table, len(rows), count)
