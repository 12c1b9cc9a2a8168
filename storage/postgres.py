"""PostgreSQL: a pool of connections (psycopg 3), row locks for read-modify-write.

Reads borrow a connection in autocommit mode; `write()` borrows one for a transaction, in
which a store locks the rows it is about to change (`SELECT … FOR UPDATE`, `Session.lock`)
or changes them with one conditional statement (a compare-and-set). Migrations run under a
transaction-level advisory lock, so replicas starting together migrate one after the other.
Errors that mean "the database cannot be reached" become `StorageError`, with the URL's
password never in the text.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from bot.errors import StorageError
from storage.db import POSTGRES, Database, Params, Session
from storage.migrations import apply_migrations
from storage.redact import redact_url

# Any fixed number: replicas take this lock while one of them migrates.
MIGRATION_LOCK = 7_301_947_113
POOL_MAX = 10
CONNECT_TIMEOUT_SECONDS = 10
POOL_WAIT_SECONDS = 30.0

# psycopg_pool logs every failed connection attempt with the libpq message; those name the
# host and user, never the password, but the bot says it once in its own words instead.
logging.getLogger("psycopg.pool").setLevel(logging.CRITICAL)


class PostgresDatabase(Database):
    """A PostgreSQL database reached through `url` (postgres:// or postgresql://)."""

    dialect = POSTGRES

    def __init__(self, url: str, *, pool_max: int = POOL_MAX) -> None:
        self.url = url
        self._where = _where(url)
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_max,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_SECONDS},
            check=ConnectionPool.check_connection,
            timeout=POOL_WAIT_SECONDS,
            name="deepnote-bot",
            open=False,
        )
        self._opened = False
        self._opening = threading.Lock()

    def describe(self) -> str:
        """The database's name, host and port (no user, no password)."""
        return f"PostgreSQL database {self._where}"

    def _open(self) -> None:
        """Open the pool at first use, after one direct connection has shown the server can
        be reached (its error says why not, where the pool would only time out)."""
        with self._opening:
            if self._opened:
                return
            psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_SECONDS).close()
            self._pool.open(wait=False)
            self._opened = True

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            self._open()
            with self._pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, psycopg.InternalError, PoolTimeout) as exc:
            raise StorageError(self._explain(exc)) from None

    def _explain(self, exc: Exception) -> str:
        text = redact_url(str(exc).strip().splitlines()[0] if str(exc).strip() else "", self.url)
        return (
            f"The {self.describe()} cannot be used ({type(exc).__name__}: {text}). "
            "Check DATABASE_URL and that the server is running and reachable."
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A pooled connection in autocommit mode."""
        with self._connection() as conn:
            yield Session(conn, POSTGRES)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction on a pooled connection; commits on success."""
        with self._connection() as conn, conn.transaction():
            yield Session(conn, POSTGRES)

    def insert_now(self, sql: str, params: Params) -> int:
        """One statement in autocommit mode: one round trip, committed when it returns."""
        with self.session() as s:
            return s.execute(sql, params)

    def open_connections(self) -> int:
        """How many connections the pool holds."""
        return int(self._pool.get_stats().get("pool_size", 0)) if self._opened else 0

    def migrate(self) -> int:
        """Bring the schema up to date under an advisory lock; return the schema version."""
        with self.write() as tx:
            # Held until this transaction ends: a replica starting meanwhile waits here and
            # then finds the schema already current.
            tx.execute(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            version = tx.scalar("SELECT max(version) FROM schema_version")
            return apply_migrations(tx, int(version or 0), _set_version)

    def backup(self, destination: Path | str) -> None:
        """A consistent dump by PostgreSQL's own `pg_dump` (custom format), taken while the
        bot runs; without `pg_dump` on PATH, StorageError says how to make one."""
        dest = Path(destination)
        if dest.exists():
            raise StorageError(f"{dest} already exists; choose a new file name for the backup.")
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise StorageError("pg_dump is not installed here. " + pg_dump_recipe(str(dest)))
        parts = conninfo_to_dict(self.url)
        # The password goes in the environment, never on a command line others can read.
        password = parts.pop("password", None)
        env = {**os.environ, **({"PGPASSWORD": str(password)} if password else {})}
        done = subprocess.run(  # noqa: S603 - pg_dump with our own arguments
            [pg_dump, "--format=custom", "--no-owner", f"--file={dest}",
             f"--dbname={make_conninfo('', **parts)}"],
            env=env, capture_output=True, text=True, timeout=3600, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            dest.unlink(missing_ok=True)
            why = redact_url(done.stderr.strip() or f"exit status {done.returncode}", self.url)
            raise StorageError(f"pg_dump could not back up the {self.describe()}: {why}")

    def id_high_water(self, tx: Session, table: str) -> int:
        """The identity sequence's last value (or the largest id, if that is more)."""
        seq = tx.scalar("SELECT pg_get_serial_sequence(?, 'id')", (table,))
        row = tx.one(f"SELECT last_value, is_called FROM {seq}")
        used = int(row["last_value"]) if row and row["is_called"] else 0
        return max(used, int(tx.scalar(f"SELECT max(id) FROM {table}") or 0))

    def raise_id_counter(self, tx: Session, table: str, at_least: int) -> None:
        """Move the identity sequence past `at_least` (ids copied in explicitly do not)."""
        current = self.id_high_water(tx, table)
        if at_least > 0 or current > 0:
            tx.execute(
                "SELECT setval(pg_get_serial_sequence(?, 'id'), ?)",
                (table, max(current, at_least)),
            )

    def close(self) -> None:
        """Close the pool and its connections."""
        if self._opened:
            self._pool.close()
            self._opened = False


def _set_version(tx: Session, version: int) -> None:
    tx.execute("DELETE FROM schema_version")
    tx.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))


def _where(url: str) -> str:
    """`name on host:port` from a connection URL."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(DATABASE_URL cannot be read)"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    return f"{parts.get('dbname') or parts.get('user') or '?'} on {host}:{port}"


def pg_dump_recipe(destination: str) -> str:
    """How to back up (and restore) the bot's PostgreSQL database by hand."""
    return (
        "Back up the bot's PostgreSQL database with PostgreSQL's own tool:\n"
        f'  pg_dump --format=custom --no-owner --file="{destination}" "$DATABASE_URL"\n'
        "Restore into an empty database with:\n"
        f'  pg_restore --no-owner --dbname="$DATABASE_URL" "{destination}"\n'
        "(Hosted databases also keep their own backups: e.g. `heroku pg:backups:capture`.)"
    )
