"""A local fake of Deepnote's public API v2, faithful to what the bot relies on.

It is the fake Deepnote of the test suite and the offline playground of `deepnote-bot simulator`.
Same paths, bodies, status codes and `{"message": ...}` errors as Deepnote:

- `POST /v2/runs` → 202 `{runId, status, createdAt}`; 400 for every rule Deepnote enforces
  (unknown notebook, `blockIds is not supported for detached runs`, empty/duplicate/unknown
  block ids, unknown input, slider sent as a number, wrong value type, select value not among
  the options, date not YYYY-MM-DD...); 403 for the viewer key.
- `GET /v2/runs/{runId}?snapshotDelivery=inline|downloadUrl` → `{run: {...}}`; 404 unknown run,
  409 "Project is suspended" after `suspend_project()`. Inline delivery puts the YAML in
  `snapshotContent`, unless it is over `inline_snapshot_limit` bytes (unset by default: Deepnote
  publishes no such limit), when the answer carries `snapshotDownloadUrl` instead.
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
- `POST /_sim/elsewhere` `{"notebookId", "source": "user", "inputs": {}}` → `{run}`: a run started
  outside the bot (`source`, its snapshot's `triggeredBy`: user = Deepnote's UI, schedule =
  Deepnote's scheduler, api = another API client, ci); 404 unknown notebook, 400 bad inputs
- `POST /_sim/remove` `{"notebookId"}` → `{"ok": true}`: the notebook is deleted (404 from now on)
- `POST /_sim/kpi` `{"churn_rate": 0.052, "late_orders": 3, "reset": false, …}` → `{"kpi": {…}}`:
  the *KPI monitor* sample's values for runs created from now on (see `simulator.kpi`)
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.offline.fakeserver import Lifecycle, Reply, Request, json_reply
from bot.offline.simulator import endpoints
from bot.offline.simulator.inputs import inputs_problem
from bot.offline.simulator.records import (
    NOT_JSON_BODY,
    SOURCES,
    Problem,
    RecordedRequest,
    error_reply,
    normalise_notebook_id,
    seconds_header,
)
from bot.offline.simulator.state import SimState


class Simulator(SimState, Lifecycle):
    """The Deepnote API simulator: an HTTP server in a daemon thread plus its state."""

    def __repr__(self) -> str:
        where = self.url if self._http.running else "not started"
        return f"Simulator({where}, {len(self._notebooks)} notebooks)"

    def start(self) -> Simulator:
        """Bind the port and serve in a daemon thread."""
        if self._http.running:
            raise RuntimeError("The simulator is already running")
        self._http.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; delayed answers in flight are cut short."""
        self._http.stop()

    def start_elsewhere(
        self, notebook_id: str, source: str = "user", inputs: dict[str, Any] | None = None
    ) -> str:
        """Start a run as someone other than the bot would (Deepnote's UI, its scheduler,
        another API client or CI, by `source`); its run id. It shows in the notebook's run
        list like any run; only its snapshot's `execution.triggeredBy` tells who started it."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
        notebook = self._notebooks.get(normalise_notebook_id(notebook_id) or "")
        if notebook is None:
            raise KeyError(notebook_id)
        problem = inputs_problem(notebook.notebook, inputs)
        if problem:
            raise ValueError(problem)
        return endpoints.start_run(self, notebook, inputs, triggered_by=source).run_id

    @property
    def url(self) -> str:
        """Base URL of the running server, e.g. http://127.0.0.1:54321."""
        return self._http.url

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
                return Reply(fault.status, NOT_JSON_BODY, content_type="text/html")
            if fault.delay <= 0:
                extra = (
                    (("Retry-After", seconds_header(fault.retry_after)),)
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
                return endpoints.download_snapshot(self, method, path, query)
            viewer = self._authenticate(authorization)
            return self._route(method, path, query, body, viewer, origin)
        except Problem as problem:
            return problem.reply

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
            raise Problem(404, f"No such endpoint: {path}")
        if method not in matched:
            raise Problem(405, f"Method {method} is not allowed on {path}")
        if parts == ["v2", "runs"]:
            return endpoints.create_run(self, body, viewer)
        if parts[1] == "runs":
            return endpoints.get_run(self, parts[2], query, origin)
        if parts[1] == "notebooks" and len(parts) == 3:
            return endpoints.get_notebook(self, parts[2])
        if parts[1] == "notebooks":
            return endpoints.list_runs(self, parts[2], query)
        if parts[1] == "me":
            return endpoints.me(self, viewer)
        if parts[1] == "projects":
            return endpoints.list_projects(self, query)
        return endpoints.get_block(self, parts[2])

    def _control(self, method: str, path: str, raw: bytes) -> Reply:
        """The /_sim/* endpoints that drive the simulator from another process."""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return error_reply(400, "Request body is not valid JSON")
        if not isinstance(body, dict):
            return error_reply(400, "Request body must be a JSON object")
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
            if action == ("POST", "/_sim/kpi"):
                self.set_kpi(**body)
                return json_reply(200, {"kpi": self.kpi()})
            if action == ("POST", "/_sim/revoke"):
                self.revoke_key()
                return json_reply(200, {"ok": True})
            if action == ("POST", "/_sim/suspend"):
                self.suspend_project()
                return json_reply(200, {"ok": True})
            if action == ("POST", "/_sim/elsewhere"):
                return self._control_elsewhere(body)
            if action == ("POST", "/_sim/remove"):
                if not self.remove_notebook(str(body.get("notebookId"))):
                    return error_reply(404, "Notebook not found")
                return json_reply(200, {"ok": True})
        except KeyError:
            return error_reply(404, "Run not found")
        except (TypeError, ValueError) as exc:
            return error_reply(400, str(exc))
        return error_reply(404, f"No such control endpoint: {method} {path}")

    def _control_elsewhere(self, body: dict[str, Any]) -> Reply:
        """`POST /_sim/elsewhere`: a run started outside the bot."""
        inputs = body.get("inputs")
        if inputs is not None and not isinstance(inputs, dict):
            return error_reply(400, "inputs must be an object")
        try:
            run_id = self.start_elsewhere(
                str(body.get("notebookId")), str(body.get("source", "user")), inputs
            )
        except KeyError:
            return error_reply(404, "Notebook not found")
        return json_reply(200, {"run": self.run_json(run_id)})
