"""Which database the bot uses: PostgreSQL when DATABASE_URL is set, else a SQLite file."""

from __future__ import annotations

from pathlib import Path

from storage.db import Database
from storage.sqlite import SQLiteDatabase

POSTGRES_SCHEMES = ("postgres://", "postgresql://")
SQLITE_SCHEME = "sqlite:///"


def is_postgres_url(url: str) -> bool:
    """Whether `url` names a PostgreSQL database.

    >>> is_postgres_url("postgres://u:p@h/db"), is_postgres_url("sqlite:///bot.db")
    (True, False)
    """
    return url.strip().lower().startswith(POSTGRES_SCHEMES)


def open_database(target: str | Path) -> Database:
    """The database `target` names: a postgres(ql):// URL, a sqlite:/// URL or a file path."""
    text = str(target).strip()
    if is_postgres_url(text):
        from storage.postgres import PostgresDatabase

        return PostgresDatabase(text)
    if text.lower().startswith(SQLITE_SCHEME):
        text = text[len(SQLITE_SCHEME) :] or ":memory:"
    return SQLiteDatabase(text)
