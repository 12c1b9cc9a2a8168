"""The Deepnote simulator's state and the run views that are pure functions of the clock."""

from __future__ import annotations

import hmac
import secrets
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clock import Clock, SystemClock
from bot.offline.fakeserver import FakeServer, Reply, Request, take_fault
from bot.offline.simulator.execution import render_snapshot
from bot.offline.simulator.kpi import kpi_values
from bot.offline.simulator.notebooks import (
    SAMPLES_DIR,
    SimNotebook,
    generated_notebooks,
    iso,
    load_notebooks,
)
from bot.offline.simulator.records import (
    MAX_BODY,
    Problem,
    RecordedRequest,
    SimFault,
    SimRun,
    error_reply,
    normalise_notebook_id,
)
from storage.records import TERMINAL_STATUSES


class SimState:
    """The simulator's state (notebooks, runs, requests, faults, keys) and its HTTP server."""

    def __init__(
        self,
        *,
        api_key: str,
        notebooks_dir: Path | None = None,
        clock: Clock | None = None,
        pending_seconds: float = 1.0,
        running_seconds: float = 2.0,
        host: str = "127.0.0.1",
        port: int = 0,
        viewer_api_key: str | None = None,
        snapshot_url_ttl: float = 900.0,
        snapshot_lag_seconds: float = 0.0,
        inline_snapshot_limit: int | None = None,
    ) -> None:
        self._api_key = api_key
        self._viewer_key = viewer_api_key
        self._clock: Clock = clock or SystemClock()
        self._pending = pending_seconds
        self._running = running_seconds
        self._snapshot_ttl = snapshot_url_ttl
        self._snapshot_lag = snapshot_lag_seconds
        # Deepnote publishes no size above which it stops inlining a snapshot: by default
        # every snapshot is inlined; a limit (bytes; tests may change it at any time) makes
        # larger ones come as a download URL instead.
        self.inline_snapshot_limit = inline_snapshot_limit
        self._secret = secrets.token_bytes(32)
        self._notebooks = {nb.id: nb for nb in load_notebooks([notebooks_dir or SAMPLES_DIR])}
        self._lock = threading.Lock()
        # Deleted notebooks (`remove_notebook`): their runs' snapshots are still rendered.
        self._removed: dict[str, SimNotebook] = {}
        self._runs: dict[str, SimRun] = {}
        self._requests: list[RecordedRequest] = []
        self._faults: list[SimFault] = []
        self._revoked = False
        self._suspended = False
        self._sequence = 0
        self._kpi: dict[str, Any] = kpi_values({})
        self._http = FakeServer(
            handle=self._handle,
            name="deepnote-simulator",
            host=host,
            port=port,
            keep_alive=True,
            max_body=MAX_BODY,
            bad_length=lambda status: error_reply(status, "Request body has a bad length"),
            not_started="The simulator is not running; call start() first",
        )

    def _handle(self, request: Request) -> Reply | None:
        """Answer one HTTP request (the `Simulator` does)."""
        raise NotImplementedError

    @property
    def notebooks(self) -> dict[str, SimNotebook]:
        """Loaded notebooks by their 32-hex API id."""
        return dict(self._notebooks)

    def add_notebooks(self, path: Path) -> list[SimNotebook]:
        """Load more `.deepnote` files (a file or a folder), as if someone made them in
        Deepnote now; notebooks already loaded keep their first version."""
        added = [nb for nb in load_notebooks([path]) if nb.id not in self._notebooks]
        with self._lock:
            # A new dict, so a request reading the old one meanwhile never sees it change.
            self._notebooks = {**self._notebooks, **{nb.id: nb for nb in added}}
        return added

    def add_generated_notebooks(
        self, count: int, *, per_project: int = 1, seed: str = "generated"
    ) -> list[SimNotebook]:
        """Serve `count` more notebooks made in memory (copies of the hello-world sample with
        their own ids and names, `per_project` to a project), e.g. 5,000 for the `find`
        benchmark."""
        template = next(iter(load_notebooks([SAMPLES_DIR / "hello-world.deepnote"])))
        made = generated_notebooks(count, per_project=per_project, template=template, seed=seed)
        with self._lock:
            self._notebooks = {**self._notebooks, **{nb.id: nb for nb in made}}
        return made

    def replace_notebooks(self, path: Path) -> list[SimNotebook]:
        """Load `.deepnote` files (a file or a folder) over the notebooks with the same ids,
        as if someone edited them in Deepnote now (new inputs, blocks, names)."""
        loaded = load_notebooks([path])
        with self._lock:
            self._notebooks = {**self._notebooks, **{nb.id: nb for nb in loaded}}
        return loaded

    def remove_notebook(self, notebook_id: str) -> bool:
        """Delete a notebook, as someone would in Deepnote: its reads and run lists answer 404
        from now on (its runs stay readable by id). False when there was none."""
        key = normalise_notebook_id(notebook_id) or ""
        with self._lock:
            if key not in self._notebooks:
                return False
            self._removed[key] = self._notebooks[key]
            self._notebooks = {k: v for k, v in self._notebooks.items() if k != key}
        return True

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every /v2 and snapshot request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def runs(self) -> dict[str, SimRun]:
        """Every run created so far, by run id."""
        with self._lock:
            return dict(self._runs)

    def run_json(self, run_id: str) -> dict[str, Any]:
        """The run as GET /v2/runs/{runId} describes it now (without snapshot fields)."""
        with self._lock:
            run = self._runs[run_id]
            return self._run_view(run, self._clock.now())

    def snapshot(self, run_id: str) -> str | None:
        """The run's snapshot YAML, if it has one yet."""
        with self._lock:
            return self._snapshot_of(self._runs[run_id], self._clock.now())

    def finish_run(self, run_id: str, status: str = "success", error: str | None = None) -> None:
        """Force the run's outcome now: this status, and this run `error` field."""
        if status not in TERMINAL_STATUSES:
            raise ValueError(f"{status!r} is not a terminal status")
        with self._lock:
            run = self._runs[run_id]
            run.forced_status, run.forced_at = status, self._clock.now()
            run.forced_error, run.error_forced = error, True

    def set_status(self, run_id: str, status: str) -> None:
        """Pin the run to any status (even an unknown one) until changed again."""
        with self._lock:
            run = self._runs[run_id]
            run.forced_status, run.forced_at = status, self._clock.now()

    def inject(
        self,
        method: str,
        path_prefix: str,
        *,
        status: int = 500,
        message: str = "Internal server error",
        times: int = 1,
        retry_after: float | None = None,
        delay: float = 0.0,
        malformed: bool = False,
        reset: bool = False,
    ) -> None:
        """Make the next `times` requests matching method ("*" = any) and path prefix fail.

        The fault is one of: `reset` (connection closed without an answer), `malformed`
        (a non-JSON body with `status`; use 200 for a broken success), `delay` alone (the
        real answer, `delay` seconds late; combine with reset or malformed to delay those),
        else an HTTP `status` with `{"message": message}` and `Retry-After` when given.
        """
        with self._lock:
            self._faults.append(
                SimFault(
                    method=method.upper(),
                    path_prefix=path_prefix,
                    status=status,
                    message=message,
                    times=times,
                    retry_after=retry_after,
                    delay=delay,
                    malformed=malformed,
                    reset=reset,
                )
            )

    def set_kpi(self, **values: Any) -> None:
        """Change the KPI monitor's values for the runs created from now on (see `kpi`);
        the values not named keep theirs. `reset=True` first goes back to the defaults."""
        reset = bool(values.pop("reset", False))
        with self._lock:
            self._kpi = kpi_values({**({} if reset else self._kpi), **values})

    def kpi(self) -> dict[str, Any]:
        """The KPI monitor's values for a run created now."""
        with self._lock:
            return dict(self._kpi)

    def revoke_key(self) -> None:
        """Every later /v2 call answers 401, as when the key is revoked in Deepnote."""
        with self._lock:
            self._revoked = True

    def suspend_project(self) -> None:
        """Run reads answer 409 "Project is suspended"."""
        with self._lock:
            self._suspended = True

    def _natural_end(self, run: SimRun) -> datetime:
        return run.created_at + timedelta(seconds=self._pending + self._running)

    def _status_at(self, run: SimRun, now: datetime) -> str:
        if run.forced_status is not None:
            return run.forced_status
        elapsed = (now - run.created_at).total_seconds()
        if elapsed < self._pending:
            return "pending"
        if elapsed < self._pending + self._running:
            return "running"
        return run.execution.status

    def _completed_at(self, run: SimRun, now: datetime) -> datetime | None:
        status = self._status_at(run, now)
        if status not in TERMINAL_STATUSES:
            return None
        return run.forced_at if run.forced_status is not None else self._natural_end(run)

    def _error_at(self, run: SimRun, now: datetime) -> str | None:
        status = self._status_at(run, now)
        if run.error_forced:
            return run.forced_error
        return run.execution.error if status == run.execution.status else None

    def _run_view(self, run: SimRun, now: datetime) -> dict[str, Any]:
        completed = self._completed_at(run, now)
        return {
            "runId": run.run_id,
            "status": self._status_at(run, now),
            "notebookId": run.notebook_id,
            "projectId": run.project_id,
            "createdAt": iso(run.created_at),
            "completedAt": iso(completed) if completed else None,
            "error": self._error_at(run, now),
        }

    def _snapshot_of(self, run: SimRun, now: datetime) -> str | None:
        completed = self._completed_at(run, now)
        if completed is None or not run.execution.has_snapshot:
            return None
        if now < completed + timedelta(seconds=self._snapshot_lag):
            return None
        if completed not in run.snapshot_cache:
            started = min(run.created_at + timedelta(seconds=self._pending), completed)
            notebook = self._notebooks.get(run.notebook_id) or self._removed[run.notebook_id]
            run.snapshot_cache[completed] = render_snapshot(
                notebook,
                run.execution,
                started_at=started,
                finished_at=completed,
                triggered_by=run.triggered_by,
            )
        return run.snapshot_cache[completed]

    def _signature(self, run_id: str, expires: int) -> str:
        digest = hmac.new(self._secret, f"{run_id}:{expires}".encode(), "sha256")
        return digest.hexdigest()[:40]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _take_fault(self, method: str, path: str) -> SimFault | None:
        with self._lock:
            return take_fault(
                self._faults,
                lambda fault: fault.method in ("*", method) and path.startswith(fault.path_prefix),
            )

    def _authenticate(self, authorization: str | None) -> bool:
        """True for the viewer key, False for the main key; 401 otherwise."""
        scheme, _, token = (authorization or "").partition(" ")
        if not authorization or scheme.lower() != "bearer" or not token.strip():
            raise Problem(401, "Missing API key. Send it as 'Authorization: Bearer <API key>'.")
        token = token.strip()
        with self._lock:
            revoked = self._revoked
        if hmac.compare_digest(token.encode(), self._api_key.encode()):
            viewer = False
        elif self._viewer_key and hmac.compare_digest(token.encode(), self._viewer_key.encode()):
            viewer = True
        else:
            raise Problem(401, "Invalid API key")
        if revoked:
            raise Problem(401, "This API key has been revoked")
        return viewer
