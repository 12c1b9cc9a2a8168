"""SQLite: one file, one connection per thread, WAL, busy timeout, explicit transactions.

Every thread gets its own connection to the same file (sqlite connections must not be
shared across threads); the connection of a thread that has ended is closed when the next
thread connects, so threads that come and go never pile up open files. Read-modify-write
goes through `write()`, which holds `BEGIN IMMEDIATE` so two threads or two processes never
interleave a check and its update.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from bot.errors import StorageError
from storage.db import SQLITE, Database, Params, Session
from storage.migrations import apply_migrations

BUSY_TIMEOUT_MS = 10_000


class SQLiteDatabase(Database):
    """A SQLite file shared by the bot's threads.

    >>> db = SQLiteDatabase(":memory:"); _ = db.migrate(); "runs" in db.conn().table_names()
    True
    """

    dialect = SQLITE

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._open: dict[threading.Thread, sqlite3.Connection] = {}
        self._lock = threading.Lock()
        self._fast: sqlite3.Connection | None = None
        self._fast_lock = threading.Lock()
        if self.path == ":memory:":
            # One shared in-memory database needs a URI with shared cache.
            self.path = f"file:memdb{id(self)}?mode=memory&cache=shared"

    def describe(self) -> str:
        """The SQLite file."""
        return f"SQLite file {self.path}"

    def _connect(self) -> sqlite3.Connection:
        uri = self.path.startswith("file:")
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
                uri=uri,
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if not uri:
                _use_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            raise StorageError(_explain(self.path, exc)) from None
        with self._lock:
            ended = [t for t in self._open if not t.is_alive()]
            for thread in ended:
                self._open.pop(thread).close()
            self._open[threading.current_thread()] = conn
        return conn

    def open_connections(self) -> int:
        """How many connections are open (one per live thread that used the database)."""
        with self._lock:
            return len(self._open)

    def conn(self) -> sqlite_utils.Database:
        """This thread's sqlite-utils handle on the database."""
        db: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite_utils.Database(self._connect())
            self._local.db = db
        return db

    def warm(self) -> None:
        """Open this thread's connection now, before its first request needs it."""
        self.conn()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """This thread's connection, in autocommit mode."""
        yield Session(self.conn().conn, SQLITE)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A read-modify-write transaction under `BEGIN IMMEDIATE`; commits on success."""
        conn = self.conn().conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield Session(conn, SQLITE)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def insert_now(self, sql: str, params: Params) -> int:
        """One statement in autocommit mode on a connection kept for it.

        Commands are stored on the threads that receive requests. One connection of the
        database's own spares each of those threads opening one during its first
        acknowledgement; statements arriving together queue on the lock rather than in
        SQLite's busy handler, which sleeps in steps of milliseconds.
        """
        with self._fast_lock:
            return int(self._fast_connection().execute(sql, tuple(params)).rowcount)

    def _fast_connection(self) -> sqlite3.Connection:
        """The connection `insert_now` uses (opened at start-up by `migrate`)."""
        if self._fast is None:
            self._fast = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
                uri=self.path.startswith("file:"),
            )
            # WAL (set on the file by `_connect`) with NORMAL sync: a commit survives a
            # killed process, which is the point here.
            self._fast.execute("PRAGMA synchronous = NORMAL")
        return self._fast

    def migrate(self) -> int:
        """Check the file and bring its schema up to date; return the schema version."""
        db = self.conn()
        try:
            result = db.conn.execute("PRAGMA quick_check").fetchone()
            if result is None or result[0] != "ok":
                raise StorageError(
                    f"The database file {self.path} is damaged ({result[0] if result else '?'}). "
                    "Restore it from a backup (`deepnote-bot backup`) or move it away to start "
                    "with an empty one."
                )
            with self.write() as tx:
                version = apply_migrations(tx, _user_version(tx), _set_user_version)
            with self._fast_lock:
                self._fast_connection()  # the first acknowledgement need not open it
            return version
        except sqlite3.DatabaseError as exc:
            raise StorageError(_explain(self.path, exc)) from None

    def backup(self, destination: Path | str) -> None:
        """Write a consistent copy of the live database to `destination` (online backup)."""
        dest = Path(destination)
        if dest.exists():
            raise StorageError(f"{dest} already exists; choose a new file name for the backup.")
        target = sqlite3.connect(str(dest))
        try:
            self.conn().conn.backup(target)
        finally:
            target.close()

    def close(self) -> None:
        """Close every connection any thread opened."""
        with self._lock:
            conns, self._open = list(self._open.values()), {}
        with self._fast_lock:
            if self._fast is not None:
                conns.append(self._fast)
                self._fast = None
        for conn in conns:
            conn.close()
        self._local = threading.local()

    def id_high_water(self, tx: Session, table: str) -> int:
        """SQLite keeps it in `sqlite_sequence` (AUTOINCREMENT)."""
        seq = tx.scalar("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,))
        return max(int(seq or 0), int(tx.scalar(f"SELECT max(id) FROM {table}") or 0))

    def raise_id_counter(self, tx: Session, table: str, at_least: int) -> None:
        """Raise `sqlite_sequence` (explicit ids inserted already raised it to their max)."""
        if not tx.execute(
            "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (at_least, table)
        ):
            tx.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, at_least))


def _use_wal(conn: sqlite3.Connection) -> None:
    """Put the file in WAL mode (once per file; later connections find it so).

    Switching needs the file to itself, and SQLite answers "database is locked" at once,
    without its busy handler, while another connection holds it: processes or threads opening
    a new file together wait their turn here.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _user_version(tx: Session) -> int:
    return int(tx.scalar("PRAGMA user_version") or 0)


def _set_user_version(tx: Session, version: int) -> None:
    tx.execute(f"PRAGMA user_version = {int(version)}")


def _explain(path: str, exc: sqlite3.DatabaseError) -> str:
    text = str(exc)
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return (
            f"The database file {path} is not a usable SQLite database ({text}). "
            "Restore it from a backup or move it away to start with an empty one."
        )
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return (
            f"The database file {path} cannot be opened for writing ({text}). "
            "Check that its folder exists and that the bot's user may write to it."
        )
    return f"The database file {path} cannot be used: {text}."
