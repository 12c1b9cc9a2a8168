"""Accepted signed requests are remembered for the signature window, across restarts."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from storage.db import Database
from storage.seen_requests import KEEP_SECONDS, SeenRequests
from storage.sqlite import SQLiteDatabase


def test_a_claim_survives_a_restart_and_is_pruned_after_the_window(
    open_db: Callable[[], Database],
) -> None:
    db = open_db()
    db.migrate()
    assert SeenRequests(db).claim(1000, "v0=aa", now=1000.0)
    db.close()
    again = open_db()
    assert not SeenRequests(again).claim(1000, "v0=aa", now=1100.0)
    SeenRequests(again).claim(2000, "v0=bb", now=1000.0 + KEEP_SECONDS + 1)
    assert again.query("SELECT timestamp FROM seen_requests") == [{"timestamp": 2000}]


def test_connections_of_ended_threads_are_closed(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "bot.db")
    db.migrate()
    for _ in range(20):
        t = threading.Thread(target=lambda: db.conn().execute("SELECT 1").fetchall())
        t.start()
        t.join()
    assert db.open_connections() <= 2  # this thread's and the last thread's
    db.close()
    assert db.open_connections() == 0
