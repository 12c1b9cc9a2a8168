"""Upgrading (README "Upgrading"): the schema is brought up to date at start-up, and a bot
older than its database stops with one clear message instead of a traceback."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from storage.migrations import MIGRATIONS
from storage.sqlite import SQLiteDatabase
from tests.e2e.support import run_cli


def _schema(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _env(path: Path) -> dict[str, str]:
    return {**os.environ, "DATABASE_PATH": str(path)}


def test_an_older_database_is_migrated_at_start_up_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    db = SQLiteDatabase(path)
    with db.write() as tx:
        for number, migration in enumerate(MIGRATIONS[:-1], start=1):
            migration(tx)
            tx.execute(f"PRAGMA user_version = {number}")
        tx.execute(
            "INSERT INTO aliases (team_id, name, notebook_id, notebook_name, created_by,"
            " created_at) VALUES ('T1', 'sales', '03fde7a76fa74293aada1a24eb001d0d', 'Sales',"
            " 'U1', '2026-01-01')"
        )
    db.close()
    result = run_cli("health", env=_env(path))
    assert "Traceback" not in result.stderr
    assert _schema(path) == len(MIGRATIONS)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM aliases").fetchall() == [("sales",)]


def test_a_database_from_a_newer_bot_is_refused_with_one_message(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    result = run_cli("health", env=_env(path))
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in out
    assert "written by a newer version of the bot" in out
    assert "restore the backup taken before the upgrade" in out
    assert _schema(path) == len(MIGRATIONS) + 1  # untouched
