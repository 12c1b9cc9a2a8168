"""A throwaway PostgreSQL server: for the tests and the benchmark, never for the bot itself.

It runs this machine's PostgreSQL binaries (`initdb`, `pg_ctl`, found on PATH or under
/usr/lib/postgresql/*/bin) on 127.0.0.1, a free port and a temporary data directory, with
durability switched off for speed; `stop` deletes everything. `initdb` refuses to run as root,
so under root the server runs as the `postgres` system user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """A PostgreSQL server in a temporary directory, reachable on 127.0.0.1."""

    def __init__(self) -> None:
        binaries = {name: _binary(name) for name in ("initdb", "pg_ctl")}
        missing = [name for name, path in binaries.items() if path is None]
        if missing:
            raise RuntimeError(
                f"no PostgreSQL server binaries ({', '.join(missing)}) on PATH "
                "or under /usr/lib/postgresql"
            )
        self.initdb, self.pg_ctl = str(binaries["initdb"]), str(binaries["pg_ctl"])
        self.as_user: list[str] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="deepnote-bot-pg-"))
        if os.geteuid() == 0:
            # initdb refuses root: run the server as the system's postgres user.
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and there is no `postgres` user") from None
            os.chown(self.tmp, account.pw_uid, account.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data = self.tmp / "data"
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        done = subprocess.run(  # noqa: S603 - the machine's own PostgreSQL tools
            [*self.as_user, *args], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> None:
        """initdb, then start the server and wait until it accepts connections."""
        self._run(self.initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync")  # fmt: skip
        options = (
            f"-p {self.port} -k {self.tmp} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=400"
        )
        self._run(self.pg_ctl, "-D", str(self.data), "-o", options,
                  "-l", str(self.tmp / "server.log"), "-w", "-t", "60", "start")  # fmt: skip

    def create_database(self) -> str:
        """A new empty database; its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def drop_database(self, url: str) -> None:
        """Drop a test's database, closing whatever still uses it."""
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        """Stop the server at once and delete its files."""
        try:
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
