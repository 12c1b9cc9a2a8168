"""Is the bot able to work? What `/healthz` and `deepnote-bot health` report.

Each process notes its last successful call to Deepnote and to Slack and the end of each
background round; the background round writes them to the database, so `deepnote-bot health`
can read them from another process (e.g. a container health check).

At start-up `serve` asks Slack and Deepnote whether they accept the bot's token and key
(`Connections`): a service that cannot be reached is asked again with backoff, and the bot is
not healthy until every service has answered once.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.errors import CredentialRejected, StorageError, UpstreamError
from storage.db import Database
from storage.rows import from_iso, iso
from storage.runs import POLLER_LEASE, LeaseStore, RunStore

log = logging.getLogger(__name__)

# A service that did not answer at start-up is asked again after this long, then twice as
# long each time, up to the cap: an outage of minutes costs a few requests, not a storm.
RETRY_FIRST_SECONDS = 1.0
RETRY_CAP_SECONDS = 60.0


class CallRecorder:
    """Remembers when Deepnote and Slack last answered successfully (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.deepnote_ok: datetime | None = None
        self.slack_ok: datetime | None = None

    def deepnote(self, when: datetime) -> None:
        """Deepnote answered a call."""
        with self._lock:
            self.deepnote_ok = when

    def slack(self, when: datetime) -> None:
        """Slack answered a call."""
        with self._lock:
            self.slack_ok = when


@dataclass(frozen=True)
class HealthReport:
    """The state of the bot as stored in its database."""

    ok: bool
    details: dict[str, Any]


def save_heartbeat(db: Database, holder: str, now: datetime, calls: CallRecorder) -> None:
    """Store this process's last round and last successful calls."""
    with db.write() as tx:
        tx.execute(
            "INSERT INTO heartbeats (holder, last_round_at, deepnote_ok_at, slack_ok_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT(holder) DO UPDATE SET"
            " last_round_at = excluded.last_round_at,"
            " deepnote_ok_at = coalesce(excluded.deepnote_ok_at, heartbeats.deepnote_ok_at),"
            " slack_ok_at = coalesce(excluded.slack_ok_at, heartbeats.slack_ok_at)",
            (holder, iso(now), iso(calls.deepnote_ok), iso(calls.slack_ok)),
        )


PROBE_HOLDER = "health-probe"


def write_problem(db: Database, now: datetime) -> str | None:
    """None when a small real write commits; else why it failed.

    Reading can work while every write fails (read-only or immutable files, a full disk): the
    probe row is written and deleted in one transaction, so the commit goes to disk and
    nothing is left behind.
    """
    try:
        with db.write() as tx:
            tx.execute(
                "INSERT INTO heartbeats (holder, last_round_at) VALUES (?, ?)"
                " ON CONFLICT (holder) DO UPDATE SET last_round_at = excluded.last_round_at",
                (PROBE_HOLDER, iso(now)),
            )
            tx.execute("DELETE FROM heartbeats WHERE holder = ?", (PROBE_HOLDER,))
    except (sqlite3.Error, StorageError, OSError) as exc:  # psycopg's become StorageError
        return f"cannot write: {exc}"
    return None


def _leader(db: Database, now: datetime) -> str | None:
    """The process holding the poller lease (doing background work), or None."""
    current = LeaseStore(db).holder(POLLER_LEASE)
    return current[0] if current is not None and current[1] > now else None


def read_health(
    db: Database, now: datetime, *, stale_after: float, require_answers: bool = False
) -> HealthReport:
    """Database (a real write), background rounds, poller lag and last good calls, with a
    verdict; with `require_answers`, Slack and Deepnote must each have answered the process
    doing background work since it started."""
    problem = write_problem(db, now)
    details: dict[str, Any] = {"database": problem or "ok", "storage": db.describe()}
    row = db.one(
        "SELECT holder, last_round_at, deepnote_ok_at, slack_ok_at FROM heartbeats"
        " ORDER BY last_round_at DESC LIMIT 1"
    )
    last_round = from_iso(row["last_round_at"]) if row else None
    details["leader"] = _leader(db, now)
    details["background"] = {
        "process": row["holder"] if row else None,
        "last_round_at": iso(last_round),
        "seconds_since_last_round": (
            round((now - last_round).total_seconds(), 3) if last_round else None
        ),
    }
    details["last_deepnote_success_at"] = row["deepnote_ok_at"] if row else None
    details["last_slack_success_at"] = row["slack_ok_at"] if row else None
    runs = RunStore(db)
    details["poller_lag_seconds"] = round(runs.poll_lag(now), 3)
    details["runs_in_flight"] = runs.open_count()
    fresh = last_round is not None and now - last_round <= timedelta(seconds=stale_after)
    details["status"] = "ok" if fresh else "background work is not running"
    # The process doing background work asked both services at its start; one that has not
    # answered it since is still being retried (see `Connections`).
    silent = (
        [
            name
            for name, at in (("Slack", row["slack_ok_at"]), ("Deepnote", row["deepnote_ok_at"]))
            if not at
        ]
        if row
        else []
    )
    if require_answers and fresh and silent:
        details["waiting_for"] = {name: "no answer since the bot started" for name in silent}
        details["status"] = waiting_status(silent)
    if problem is not None:
        details["status"] = f"the database {problem}; check the file's permissions and free space"
    ok = fresh and problem is None and not (require_answers and silent)
    return HealthReport(ok=ok, details=details)


def waiting_status(services: Sequence[str]) -> str:
    """The health status while services have not answered since start-up.

    >>> waiting_status(["Slack", "Deepnote"])[:60]
    'waiting for Slack and Deepnote: they have not answered since'
    """
    names = " and ".join(services)
    verb = "it has" if len(services) == 1 else "they have"
    return (
        f"waiting for {names}: {verb} not answered since the bot started "
        "(retried with backoff; see the log)"
    )


@dataclass(frozen=True)
class ServiceCheck:
    """How to ask one service whether it accepts the bot's credential.

    `call` returns when the service answered well, raises `CredentialRejected` when it refused
    the token or key, and raises `UpstreamError` when it could not be reached or failed.
    """

    service: str
    call: Callable[[], None]


class Connections:
    """Slack and Deepnote as found since start-up.

    Each service is asked once, on a thread of its own; one that cannot be reached is asked
    again after `first_retry` seconds, then twice as long each time up to `cap`, until it
    answers. A refused credential is never asked again: `on_rejected` gets it.
    """

    def __init__(
        self,
        checks: Sequence[ServiceCheck],
        *,
        on_rejected: Callable[[CredentialRejected], None],
        first_retry: float = RETRY_FIRST_SECONDS,
        cap: float = RETRY_CAP_SECONDS,
    ) -> None:
        self._checks = list(checks)
        self._on_rejected = on_rejected
        self._first_retry = first_retry
        self._cap = cap
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # Service → why it has not answered yet; a service leaves when it answers.
        self._waiting = {c.service: "not asked yet" for c in self._checks}
        self._tried: set[str] = set()
        self._tried_all = threading.Event()
        self._when_answered: list[Callable[[], None]] = []

    def start(self) -> None:
        """Ask every service, each on its own thread."""
        for check in self._checks:
            name = f"check-{check.service.lower()}"
            threading.Thread(target=self._follow, args=(check,), name=name, daemon=True).start()

    def wait_first(self, timeout: float) -> bool:
        """Wait until every service was asked once (answered, refused or failed); False if
        `timeout` seconds passed first."""
        return self._tried_all.wait(timeout)

    def waiting(self) -> dict[str, str]:
        """The services that have not answered yet, with why."""
        with self._lock:
            return dict(self._waiting)

    def on_all_answered(self, callback: Callable[[], None]) -> None:
        """Call `callback` once every service has answered: now if they have, else later on
        the thread that gets the last answer."""
        with self._lock:
            later = bool(self._waiting)
            if later:
                self._when_answered.append(callback)
        if not later:
            callback()

    def stop(self) -> None:
        """Stop asking (a retry waiting for its turn ends at once)."""
        self._stop.set()

    def _follow(self, check: ServiceCheck) -> None:
        """Ask one service until it answers or refuses, or until `stop`."""
        delay, attempt = self._first_retry, 1
        while not self._stop.is_set():
            try:
                check.call()
            except CredentialRejected as exc:
                with self._lock:
                    self._waiting[check.service] = str(exc)
                self._tried_once(check.service)
                self._on_rejected(exc)
                return
            except UpstreamError as exc:
                self._not_yet(check.service, exc.message, attempt, delay)
            except Exception as exc:
                # A bug, not an outage: keep its traceback, and keep asking all the same.
                log.exception("checking %s failed", check.service)
                self._not_yet(check.service, type(exc).__name__, attempt, delay)
            else:
                self._answered(check.service, attempt)
                return
            if self._stop.wait(delay):
                return
            delay, attempt = min(delay * 2, self._cap), attempt + 1

    def _tried_once(self, service: str) -> None:
        with self._lock:
            self._tried.add(service)
            if len(self._tried) == len(self._checks):
                self._tried_all.set()

    def _not_yet(self, service: str, why: str, attempt: int, delay: float) -> None:
        with self._lock:
            self._waiting[service] = why
        self._tried_once(service)
        log.warning(
            "%s did not answer; asking again in %g s",
            service,
            delay,
            extra={
                "event": f"{service.lower()}_unreachable",
                "attempt": attempt,
                "retry_in_seconds": delay,
                "error": why,
            },
        )

    def _answered(self, service: str, attempt: int) -> None:
        with self._lock:
            self._waiting.pop(service, None)
            callbacks = [] if self._waiting else self._when_answered
            if not self._waiting:
                self._when_answered = []
        self._tried_once(service)
        if attempt > 1:
            log.info(
                "%s answered",
                service,
                extra={"event": f"{service.lower()}_answered", "attempt": attempt},
            )
        for callback in callbacks:
            callback()
