"""The real bot as a subprocess (`python -m bot serve`), shared by the end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bot.offline.simulator import Simulator
from bot.offline.slack_standin import SlackStandIn
from storage.engine import is_postgres_url
from tests.conftest import BOT_TOKEN, DEEPNOTE_KEY

ROOT = Path(__file__).resolve().parents[2]


def process_env(
    slack: SlackStandIn, deepnote: Simulator, db_path: Path | str, **extra: str
) -> dict[str, str]:
    """The environment of a bot subprocess talking to the fakes, plus `extra` settings;
    `db_path` is a SQLite file or a PostgreSQL URL."""
    where = "DATABASE_URL" if is_postgres_url(str(db_path)) else "DATABASE_PATH"
    return {
        "PATH": os.environ.get("PATH", ""),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack.api_url,
        "DEEPNOTE_API_KEY": DEEPNOTE_KEY,
        "DEEPNOTE_API_URL": deepnote.url,
        where: str(db_path),
        "POLL_INTERVAL_SECONDS": "0.2",
        "LOG_LEVEL": "INFO",
        **extra,
    }


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m bot <args>` run to its end, with its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class BotProcess:
    """`deepnote-bot serve` in a subprocess, started once it logs `until` (`ready`, or
    `waiting` while Slack or Deepnote cannot be reached); stderr (JSON logs) is read all along
    so it never fills its pipe."""

    def __init__(self, env: dict[str, str], *, until: str = "ready") -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._seen = threading.Condition()
        self._pump = threading.Thread(target=self._read, daemon=True)
        self._pump.start()
        try:
            self.ready = self.wait_for_log(until, timeout=20)
        except AssertionError:
            self.proc.kill()
            self.proc.wait(timeout=5)
            raise

    @property
    def port(self) -> int:
        """The HTTP port the bot listens on (HTTP mode only; from the line it started with)."""
        return int(self.ready["port"])

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._seen:
                self.lines.append(line)
                self._seen.notify_all()
        with self._seen:
            self._seen.notify_all()

    def events(self) -> list[dict[str, Any]]:
        """The JSON log lines so far."""
        with self._seen:
            lines = list(self.lines)
        found = []
        for line in lines:
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
        return found

    def wait_for_log(self, event: str, timeout: float) -> dict[str, Any]:
        """The first log line with this `event`, waiting for it."""
        deadline = time.monotonic() + timeout
        with self._seen:
            while True:
                match = next((e for e in self.events() if e.get("event") == event), None)
                if match is not None:
                    return match
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self._pump.is_alive()):
                    raise AssertionError(f"no {event!r} log line:\n" + "".join(self.lines))
                self._seen.wait(min(remaining, 0.5))

    def kill(self) -> None:
        """kill -9: no chance to clean up."""
        self.proc.kill()
        self.proc.wait(timeout=10)
        self._pump.join(timeout=5)

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, as a container stop sends; the exit status. Heroku waits 30 s before its
        SIGKILL; under a loaded test machine a clean stop has taken more than 10 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=5)
            self._pump.join(timeout=5)
