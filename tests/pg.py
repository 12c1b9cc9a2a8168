"""A real, throwaway PostgreSQL server for the tests, and both engines as fixtures.

The server (one per test worker) runs from this machine's PostgreSQL binaries on 127.0.0.1, a
free port and a temporary data directory, and is stopped at the end. `initdb` refuses to run
as root, so under root it runs as the `postgres` system user. Each test gets a database of its
own (CREATE DATABASE is fast). Without the binaries the PostgreSQL tests skip with one line;
with DEEPNOTE_BOT_REQUIRE_POSTGRES=1 (CI) they fail instead.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.offline.pgserver import PostgresServer
from storage.db import Database
from storage.engine import open_database

ENGINES = ("sqlite", "postgresql")
REQUIRE = "DEEPNOTE_BOT_REQUIRE_POSTGRES"


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"PostgreSQL is required ({REQUIRE}=1) but {reason}")
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for this test worker's whole session."""
    try:
        server = PostgresServer()
    except RuntimeError as exc:
        _unavailable(str(exc))
        raise
    try:
        server.start()
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        server.stop()
        _unavailable(str(exc))
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database for one test."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture
def engine() -> str:
    """The engine a test runs on: SQLite, unless a module asks for both (`both_engines`)."""
    return "sqlite"


def both_engines(request: pytest.FixtureRequest) -> str:
    """For a module's `engine` fixture with `params=ENGINES`: the engine of this run."""
    return str(request.param)


@pytest.fixture
def database_target(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Where the test's database is: a SQLite file path, or a fresh PostgreSQL URL."""
    if engine == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return str(tmp_path / "bot.db")


@pytest.fixture
def open_db(database_target: str) -> Iterator[Callable[[], Database]]:
    """Opens the test's database (again and again, as separate processes would); every one
    opened is closed at the end."""
    opened: list[Database] = []

    def open_one() -> Database:
        db = open_database(database_target)
        opened.append(db)
        return db

    yield open_one
    for db in opened:
        db.close()
