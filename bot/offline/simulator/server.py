"""A local fake of Deepnote's public API v2, faithful to what the bot relies on.

It is the fake Deepnote of the test suite and the offline playground of `deepnote-bot simulator`.
Same paths, bodies, status codes and `{"message": ...}` errors as Deepnote:

- `POST /v2/runs` → 202 `{runId, status, createdAt}`; 400 for every rule Deepnote enforces
  (unknown notebook, `blockIds is not supported for detached runs`, empty/duplicate/unknown
  block ids, unknown input, slider sent as a number, wrong value type, select value not among
  the options, date not YYYY-MM-DD...); 403 for the viewer key.
- `GET /v2/runs/{runId}?snapshotDelivery=inline|downloadUrl` → `{run: {...}}`; 404 unknown run,
  409 "Project is suspended" after `suspend_project()`.
- `GET /v2/notebooks/{notebookId}` → `{notebook: {id, name, projectId, blocks, inputs}}`.
- `GET /v2/notebooks/{notebookId}/runs?pageSize=&pageToken=` → newest first, paginated.
- `GET /v2/me`, `GET /v2/projects?pageSize=&pageToken=&nameContains=`, `GET /v2/blocks/{blockId}`.
- The snapshot download URL it hands out, `/_snapshots/{runId}?expires=...&signature=...`:
  presigned, so served without bearer auth; 403 once expired by the simulator's clock
  (default 15 minutes after the run was read) or when the signature is wrong.

Every `/v2` call needs `Authorization: Bearer <api_key>` (401 otherwise, and for every call
after `revoke_key()`).

Run progress is a pure function of the clock: `pending` for `pending_seconds` after creation,
then `running` for `running_seconds`, then the notebook's natural outcome for the inputs given
(see `bot.offline.simulator.notebooks`). `completedAt` is set only once the run is terminal.
`finish_run()` and `set_status()` override that.

Control API, for a simulator running in another process (no auth; it listens on 127.0.0.1):
- `POST /_sim/finish` `{"runId", "status": "success", "error": null}` → `{run}` (404 unknown run)
- `POST /_sim/status` `{"runId", "status"}` → `{run}`
- `POST /_sim/inject` `{"method", "pathPrefix", "status": 500, "message", "times": 1,
  "retryAfter": null, "delay": 0, "malformed": false, "reset": false}` → `{"ok": true}`
- `GET /_sim/requests` → `{"requests": [{method, path, query, body, headers, authorized}]}`
- `POST /_sim/revoke` and `POST /_sim/suspend` → `{"ok": true}`
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.clock import Clock, SystemClock
from bot.offline.fakeserver import FakeServer, Reply, Request, json_reply, take_fault
from bot.offline.simulator.notebooks import (
    SAMPLES_DIR,
    Execution,
    SimNotebook,
    execute,
    inputs_problem,
    iso,
    load_notebooks,
    render_snapshot,
)
from storage.records import TERMINAL_STATUSES

logger = logging.getLogger(__name__)

RUN_STATUSES = ("pending", "running", "success", "error", "internal_error", "stopped")
_MAX_BODY = 5 * 1024 * 1024
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_NOT_JSON_BODY = b"<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the simulator received. The Authorization header is never kept."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    authorized: bool
    """Whether an Authorization header was sent at all (its value is not recorded)."""
    received: float = field(default_factory=time.monotonic)
    """When it arrived (`time.monotonic()` of this process), for request-rate measurements."""

    def to_json(self) -> dict[str, Any]:
        """The record as `GET /_sim/requests` lists it."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "body": self.body,
            "headers": self.headers,
            "authorized": self.authorized,
        }


@dataclass
class SimRun:
    """A run's state: what was asked, its natural outcome, and any forced override."""

    run_id: str
    notebook_id: str
    project_id: str
    created_at: datetime
    sequence: int
    inputs: dict[str, Any]
    block_ids: tuple[str, ...]
    detached: bool
    storage_mode: str | None
    run_dependents: bool
    execution: Execution
    forced_status: str | None = None
    forced_at: datetime | None = None
    forced_error: str | None = None
    error_forced: bool = False
    snapshot_cache: dict[datetime, str] = field(default_factory=dict)


@dataclass
class _Fault:
    method: str
    path_prefix: str
    status: int
    message: str
    times: int | None
    retry_after: float | None
    delay: float
    malformed: bool
    reset: bool


def _error(status: int, message: str) -> Reply:
    return json_reply(status, {"message": message})


def _s3_error(status: int, code: str, message: str) -> Reply:
    # Presigned URLs live on object storage, which answers in XML, not Deepnote's JSON.
    body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return Reply(status, body.encode(), content_type="application/xml")


def _seconds_header(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else format(value, "g")


def _normalise_notebook_id(raw: str) -> str | None:
    """Notebook ids are 32 hex chars; the dashed UUID form is accepted too."""
    candidate = raw.lower().replace("-", "")
    return candidate if re.fullmatch(r"[0-9a-f]{32}", candidate) else None


class _Problem(Exception):
    """A request Deepnote would refuse; carries the reply to send."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.reply = _error(status, message)


class Simulator:
    """The Deepnote API simulator: an HTTP server in a daemon thread plus its state."""

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
    ) -> None:
        self._api_key = api_key
        self._viewer_key = viewer_api_key
        self._clock: Clock = clock or SystemClock()
        self._pending = pending_seconds
        self._running = running_seconds
        self._snapshot_ttl = snapshot_url_ttl
        self._snapshot_lag = snapshot_lag_seconds
        self._secret = secrets.token_bytes(32)
        self._notebooks = {nb.id: nb for nb in load_notebooks([notebooks_dir or SAMPLES_DIR])}
        self._lock = threading.Lock()
        self._runs: dict[str, SimRun] = {}
        self._requests: list[RecordedRequest] = []
        self._faults: list[_Fault] = []
        self._revoked = False
        self._suspended = False
        self._sequence = 0
        self._http = FakeServer(
            handle=self._handle,
            name="deepnote-simulator",
            host=host,
            port=port,
            keep_alive=True,
            max_body=_MAX_BODY,
            bad_length=lambda status: _error(status, "Request body has a bad length"),
        )

    def __repr__(self) -> str:
        where = self.url if self._http.running else "not started"
        return f"Simulator({where}, {len(self._notebooks)} notebooks)"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Simulator:
        """Bind the port and serve in a daemon thread."""
        if self._http.running:
            raise RuntimeError("The simulator is already running")
        self._http.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; delayed answers in flight are cut short."""
        self._http.stop()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL of the running server, e.g. http://127.0.0.1:54321."""
        if not self._http.running:
            raise RuntimeError("The simulator is not running; call start() first")
        return self._http.url

    # -- state ------------------------------------------------------------------------------

    @property
    def notebooks(self) -> dict[str, SimNotebook]:
        """Loaded notebooks by their 32-hex API id."""
        return dict(self._notebooks)

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
                _Fault(
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

    def revoke_key(self) -> None:
        """Every later /v2 call answers 401, as when the key is revoked in Deepnote."""
        with self._lock:
            self._revoked = True

    def suspend_project(self) -> None:
        """Run reads answer 409 "Project is suspended"."""
        with self._lock:
            self._suspended = True

    # -- run views (pure functions of the run and the time) ---------------------------------

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
            run.snapshot_cache[completed] = render_snapshot(
                self._notebooks[run.notebook_id],
                run.execution,
                started_at=started,
                finished_at=completed,
            )
        return run.snapshot_cache[completed]

    def _signature(self, run_id: str, expires: int) -> str:
        digest = hmac.new(self._secret, f"{run_id}:{expires}".encode(), "sha256")
        return digest.hexdigest()[:40]

    # -- HTTP dispatch -----------------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            return take_fault(
                self._faults,
                lambda fault: fault.method in ("*", method) and path.startswith(fault.path_prefix),
            )

    def _handle(self, request: Request) -> Reply | None:
        """Answer one HTTP request: control, or recorded, faulted and served as Deepnote."""
        split = urlsplit(request.target)
        path, query = split.path, dict(parse_qsl(split.query, keep_blank_values=True))
        if path.startswith("/_sim/"):
            return self._control(request.method, path, request.body)
        self._record(self._recorded(request, path, query))
        fault = self._take_fault(request.method, path)
        if fault is not None:
            if fault.delay > 0:
                self._http.stopping.wait(fault.delay)
            if fault.reset:
                return None
            if fault.malformed:
                return Reply(fault.status, _NOT_JSON_BODY, content_type="text/html")
            if fault.delay <= 0:
                extra = (
                    (("Retry-After", _seconds_header(fault.retry_after)),)
                    if fault.retry_after is not None
                    else ()
                )
                return json_reply(fault.status, {"message": fault.message}, extra)
        authorization = request.headers.get("authorization")
        host = request.headers.get("host") or self.url.removeprefix("http://")
        return self._serve(
            request.method, path, query, request.body, authorization, f"http://{host}"
        )

    @staticmethod
    def _recorded(request: Request, path: str, query: dict[str, str]) -> RecordedRequest:
        """The request as `requests` lists it: no credentials, the body parsed if JSON."""
        try:
            body: Any = json.loads(request.body) if request.body else None
        except ValueError:
            body = request.body.decode("utf-8", errors="replace")
        return RecordedRequest(
            method=request.method,
            path=path,
            query=query,
            body=body,
            headers={
                k: v for k, v in request.headers.items() if k not in ("authorization", "cookie")
            },
            authorized="authorization" in request.headers,
            received=request.received,
        )

    def _serve(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: bytes,
        authorization: str | None,
        origin: str,
    ) -> Reply:
        """Answer one API request as Deepnote would."""
        try:
            if path.startswith("/_snapshots/"):
                return self._download_snapshot(method, path, query)
            viewer = self._authenticate(authorization)
            return self._route(method, path, query, body, viewer, origin)
        except _Problem as problem:
            return problem.reply

    def _authenticate(self, authorization: str | None) -> bool:
        """True for the viewer key, False for the main key; 401 otherwise."""
        scheme, _, token = (authorization or "").partition(" ")
        if not authorization or scheme.lower() != "bearer" or not token.strip():
            raise _Problem(401, "Missing API key. Send it as 'Authorization: Bearer <API key>'.")
        token = token.strip()
        with self._lock:
            revoked = self._revoked
        if hmac.compare_digest(token.encode(), self._api_key.encode()):
            viewer = False
        elif self._viewer_key and hmac.compare_digest(token.encode(), self._viewer_key.encode()):
            viewer = True
        else:
            raise _Problem(401, "Invalid API key")
        if revoked:
            raise _Problem(401, "This API key has been revoked")
        return viewer

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: bytes,
        viewer: bool,
        origin: str,
    ) -> Reply:
        parts = path.rstrip("/").split("/")[1:]
        routes: list[tuple[str, bool]] = [
            ("POST", parts == ["v2", "runs"]),
            ("GET", len(parts) == 3 and parts[:2] == ["v2", "runs"]),
            ("GET", len(parts) == 3 and parts[:2] == ["v2", "notebooks"]),
            ("GET", len(parts) == 4 and parts[:2] == ["v2", "notebooks"] and parts[3] == "runs"),
            ("GET", parts == ["v2", "me"]),
            ("GET", parts == ["v2", "projects"]),
            ("GET", len(parts) == 3 and parts[:2] == ["v2", "blocks"]),
        ]
        matched = [verb for verb, hit in routes if hit]
        if not matched:
            raise _Problem(404, f"No such endpoint: {path}")
        if method not in matched:
            raise _Problem(405, f"Method {method} is not allowed on {path}")
        if parts == ["v2", "runs"]:
            return self._create_run(body, viewer)
        if parts[1] == "runs":
            return self._get_run(parts[2], query, origin)
        if parts[1] == "notebooks" and len(parts) == 3:
            return self._get_notebook(parts[2])
        if parts[1] == "notebooks":
            return self._list_runs(parts[2], query)
        if parts[1] == "me":
            return self._me(viewer)
        if parts[1] == "projects":
            return self._list_projects(query)
        return self._get_block(parts[2])

    def _create_run(self, raw: bytes, viewer: bool) -> Reply:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            raise _Problem(400, "Request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _Problem(400, "Request body must be a JSON object")
        notebook_ref = body.get("notebookId")
        if not isinstance(notebook_ref, str) or not notebook_ref:
            raise _Problem(400, "notebookId is required")
        notebook_id = _normalise_notebook_id(notebook_ref)
        notebook = self._notebooks.get(notebook_id or "")
        if notebook is None:
            raise _Problem(400, f"Notebook {notebook_ref} was not found")
        if viewer:
            raise _Problem(403, "Your role in this workspace does not allow running notebooks")
        detached = body.get("detached", True)
        if not isinstance(detached, bool):
            raise _Problem(400, "detached must be a boolean")
        storage = body.get("detachedRunStorageMode")
        if storage is not None:
            if storage not in ("read_write", "readonly"):
                raise _Problem(400, "detachedRunStorageMode must be read_write or readonly")
            if not detached:
                raise _Problem(400, "detachedRunStorageMode is only supported for detached runs")
        block_ids: tuple[str, ...] = ()
        if "blockIds" in body:
            raw_ids = body["blockIds"]
            if detached:
                raise _Problem(400, "blockIds is not supported for detached runs")
            if not isinstance(raw_ids, list) or not all(isinstance(b, str) for b in raw_ids):
                raise _Problem(400, "blockIds must be a list of block ids")
            if not raw_ids:
                raise _Problem(400, "blockIds must not be empty")
            if len(set(raw_ids)) != len(raw_ids):
                raise _Problem(400, "blockIds must not contain duplicates")
            known = {b.id for b in notebook.notebook.blocks}
            for block_id in raw_ids:
                if block_id not in known:
                    raise _Problem(400, f"Block {block_id} was not found in notebook {notebook.id}")
            block_ids = tuple(raw_ids)
        dependents = body.get("runDependentBlocks", False)
        if not isinstance(dependents, bool):
            raise _Problem(400, "runDependentBlocks must be a boolean")
        if dependents and not block_ids:
            raise _Problem(400, "runDependentBlocks can only be used with blockIds")
        inputs = body.get("inputs")
        problem = inputs_problem(notebook.notebook, inputs)
        if problem:
            raise _Problem(400, problem)
        now = self._clock.now()
        execution = execute(
            notebook,
            inputs,
            today=now.date(),
            block_ids=block_ids,
            run_dependents=dependents,
        )
        with self._lock:
            self._sequence += 1
            run = SimRun(
                run_id=str(uuid.uuid4()),
                notebook_id=notebook.id,
                project_id=notebook.project_id,
                created_at=now,
                sequence=self._sequence,
                inputs=dict(inputs or {}),
                block_ids=block_ids,
                detached=detached,
                storage_mode=storage,
                run_dependents=dependents,
                execution=execution,
            )
            self._runs[run.run_id] = run
            status = self._status_at(run, now)
        return json_reply(
            202, {"runId": run.run_id, "status": status, "createdAt": iso(run.created_at)}
        )

    def _get_run(self, run_id: str, query: dict[str, str], origin: str) -> Reply:
        if not _UUID.fullmatch(run_id.lower()):
            raise _Problem(400, f"Invalid run id: {run_id}")
        delivery = query.get("snapshotDelivery", "downloadUrl")
        if delivery not in ("inline", "downloadUrl"):
            raise _Problem(400, "snapshotDelivery must be inline or downloadUrl")
        now = self._clock.now()
        with self._lock:
            run = self._runs.get(run_id.lower())
            if run is None:
                raise _Problem(404, "Run not found")
            if self._suspended:
                raise _Problem(409, "Project is suspended")
            view = self._run_view(run, now)
            snapshot = self._snapshot_of(run, now)
        if snapshot is not None:
            if delivery == "inline":
                view["snapshotContent"] = snapshot
            else:
                expires = int(now.timestamp() + self._snapshot_ttl)
                view["snapshotDownloadUrl"] = (
                    f"{origin}/_snapshots/{run.run_id}?expires={expires}"
                    f"&signature={self._signature(run.run_id, expires)}"
                )
        return json_reply(200, {"run": view})

    def _download_snapshot(self, method: str, path: str, query: dict[str, str]) -> Reply:
        if method != "GET":
            return _s3_error(405, "MethodNotAllowed", "The method is not allowed")
        run_id = path.removeprefix("/_snapshots/")
        expires_raw, signature = query.get("expires", ""), query.get("signature", "")
        expires = int(expires_raw) if expires_raw.isdigit() else -1
        if not hmac.compare_digest(signature, self._signature(run_id, expires)):
            return _s3_error(403, "SignatureDoesNotMatch", "The request signature is not valid")
        now = self._clock.now()
        if now.timestamp() > expires:
            return _s3_error(403, "AccessDenied", "Request has expired")
        with self._lock:
            run = self._runs.get(run_id)
            snapshot = self._snapshot_of(run, now) if run else None
        if snapshot is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return Reply(200, snapshot.encode("utf-8"), content_type="application/yaml")

    def _notebook(self, raw_id: str) -> SimNotebook:
        notebook_id = _normalise_notebook_id(raw_id)
        if notebook_id is None:
            raise _Problem(400, f"Invalid notebook id: {raw_id}")
        notebook = self._notebooks.get(notebook_id)
        if notebook is None:
            raise _Problem(404, "Notebook not found")
        return notebook

    def _get_notebook(self, raw_id: str) -> Reply:
        notebook = self._notebook(raw_id)
        inputs = []
        for spec in notebook.inputs:
            item: dict[str, Any] = {
                "name": spec.name,
                "type": spec.type,
                "value": spec.value,
                "label": spec.label,
                "blockId": spec.block_id,
            }
            if spec.type == "input-select":
                item["options"] = list(spec.options or ())
                item["allowMultipleValues"] = spec.multiple
            if spec.type == "input-slider":
                item.update(min=spec.min, max=spec.max, step=spec.step)
            if spec.type == "input-file" and spec.allowed_extensions:
                item["allowedFileExtensions"] = spec.allowed_extensions
            inputs.append(item)
        blocks = [
            {
                "id": str(b["id"]),
                "type": b.get("type"),
                "content": b.get("content") or "",
                "sortingKey": b.get("sortingKey"),
            }
            for b in notebook.blocks
        ]
        return json_reply(
            200,
            {
                "notebook": {
                    "id": notebook.id,
                    "name": notebook.name,
                    "projectId": notebook.project_id,
                    "blocks": blocks,
                    "inputs": inputs,
                }
            },
        )

    def _page(self, query: dict[str, str], default: int) -> tuple[int, str | None]:
        raw_size = query.get("pageSize", str(default))
        if not raw_size.isdigit() or not 1 <= int(raw_size) <= 100:
            raise _Problem(400, "pageSize must be an integer from 1 to 100")
        token = query.get("pageToken") or None
        if token is None:
            return int(raw_size), None
        try:
            after = base64.urlsafe_b64decode(token.encode()).decode()
        except (ValueError, UnicodeDecodeError):
            raise _Problem(400, "pageToken is not valid") from None
        if not after.startswith("after:"):
            raise _Problem(400, "pageToken is not valid")
        return int(raw_size), after.removeprefix("after:")

    @staticmethod
    def _token(last_key: str) -> str:
        return base64.urlsafe_b64encode(f"after:{last_key}".encode()).decode()

    def _list_runs(self, raw_id: str, query: dict[str, str]) -> Reply:
        notebook = self._notebook(raw_id)
        size, after = self._page(query, 50)
        now = self._clock.now()
        with self._lock:
            runs = sorted(
                (r for r in self._runs.values() if r.notebook_id == notebook.id),
                key=lambda r: (r.created_at, r.sequence),
                reverse=True,
            )
            if after is not None:
                keys = [r.run_id for r in runs]
                if after not in keys:
                    raise _Problem(400, "pageToken is not valid")
                runs = runs[keys.index(after) + 1 :]
            page, more = runs[:size], len(runs) > size
            rows = []
            for run in page:
                view = self._run_view(run, now)
                rows.append({k: view[k] for k in ("runId", "status", "createdAt", "completedAt")})
        return json_reply(
            200,
            {
                "runs": rows,
                "pagination": {
                    "nextPageToken": self._token(page[-1].run_id) if more else None,
                    "hasMore": more,
                },
            },
        )

    def _me(self, viewer: bool) -> Reply:
        return json_reply(
            200,
            {
                "user": {
                    "id": "5f1e0c8a-2b7d-4c3e-9a10-6d2f8b4e7c01",
                    "name": "Simulated Viewer" if viewer else "Simulated Admin",
                    "email": "viewer@example.com" if viewer else "admin@example.com",
                },
                "workspace": {
                    "id": "0e6c3b9a-7f24-4d18-b5a2-9c1d8e3f6a70",
                    "slug": "simulated-workspace",
                    "name": "Simulated workspace",
                },
                "accessLevel": "viewer" if viewer else "admin",
            },
        )

    def _list_projects(self, query: dict[str, str]) -> Reply:
        size, after = self._page(query, 50)
        needle = query.get("nameContains", "").lower()
        projects: dict[str, dict[str, Any]] = {}
        for nb in self._notebooks.values():
            if needle and needle not in nb.project_name.lower():
                continue
            entry = projects.setdefault(
                nb.project_id, {"id": nb.project_id, "name": nb.project_name, "notebooks": []}
            )
            entry["notebooks"].append({"id": nb.id, "name": nb.name})
        ordered = sorted(projects.values(), key=lambda p: (p["name"], p["id"]))
        if after is not None:
            keys = [p["id"] for p in ordered]
            if after not in keys:
                raise _Problem(400, "pageToken is not valid")
            ordered = ordered[keys.index(after) + 1 :]
        page, more = ordered[:size], len(ordered) > size
        return json_reply(
            200,
            {
                "projects": page,
                "pagination": {
                    "nextPageToken": self._token(page[-1]["id"]) if more else None,
                    "hasMore": more,
                },
            },
        )

    def _get_block(self, block_id: str) -> Reply:
        for nb in self._notebooks.values():
            block = nb.block(block_id)
            if block is not None:
                payload = {
                    "id": block_id,
                    "type": block.get("type"),
                    "content": block.get("content") or "",
                    "metadata": block.get("metadata") or {},
                    "notebookId": nb.id,
                }
                return json_reply(200, {"block": payload})
        raise _Problem(404, "Block not found")

    # -- control API ------------------------------------------------------------------------

    def _control(self, method: str, path: str, raw: bytes) -> Reply:
        """The /_sim/* endpoints that drive the simulator from another process."""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return _error(400, "Request body is not valid JSON")
        if not isinstance(body, dict):
            return _error(400, "Request body must be a JSON object")
        action = (method, path.rstrip("/"))
        try:
            if action == ("GET", "/_sim/requests"):
                return json_reply(200, {"requests": [r.to_json() for r in self.requests]})
            if action == ("POST", "/_sim/finish"):
                run_id = str(body.get("runId"))
                self.finish_run(run_id, str(body.get("status", "success")), body.get("error"))
                return json_reply(200, {"run": self.run_json(run_id)})
            if action == ("POST", "/_sim/status"):
                run_id = str(body.get("runId"))
                self.set_status(run_id, str(body.get("status")))
                return json_reply(200, {"run": self.run_json(run_id)})
            if action == ("POST", "/_sim/inject"):
                self.inject(
                    str(body.get("method", "*")),
                    str(body.get("pathPrefix", "/")),
                    status=int(body.get("status", 500)),
                    message=str(body.get("message", "Internal server error")),
                    times=int(body.get("times", 1)),
                    retry_after=body.get("retryAfter"),
                    delay=float(body.get("delay", 0.0)),
                    malformed=bool(body.get("malformed", False)),
                    reset=bool(body.get("reset", False)),
                )
                return json_reply(200, {"ok": True})
            if action == ("POST", "/_sim/revoke"):
                self.revoke_key()
                return json_reply(200, {"ok": True})
            if action == ("POST", "/_sim/suspend"):
                self.suspend_project()
                return json_reply(200, {"ok": True})
        except KeyError:
            return _error(404, "Run not found")
        except (TypeError, ValueError) as exc:
            return _error(400, str(exc))
        return _error(404, f"No such control endpoint: {method} {path}")
