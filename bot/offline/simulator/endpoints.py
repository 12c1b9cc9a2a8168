"""The simulator's /v2 endpoints and snapshot downloads, as Deepnote answers them."""

from __future__ import annotations

import base64
import hmac
import json
import uuid
from typing import Any

from bot.offline.fakeserver import Reply, json_reply
from bot.offline.simulator.execution import execute
from bot.offline.simulator.inputs import inputs_problem
from bot.offline.simulator.notebooks import (
    SimNotebook,
    iso,
)
from bot.offline.simulator.records import (
    UUID_PATTERN,
    Problem,
    SimRun,
    normalise_notebook_id,
    s3_error,
)
from bot.offline.simulator.state import SimState


def create_run(state: SimState, raw: bytes, viewer: bool) -> Reply:
    """POST /v2/runs: check the body as Deepnote does and start a run (202)."""
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        raise Problem(400, "Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Problem(400, "Request body must be a JSON object")
    notebook_ref = body.get("notebookId")
    if not isinstance(notebook_ref, str) or not notebook_ref:
        raise Problem(400, "notebookId is required")
    notebook_id = normalise_notebook_id(notebook_ref)
    notebook = state._notebooks.get(notebook_id or "")
    if notebook is None:
        raise Problem(400, f"Notebook {notebook_ref} was not found")
    if viewer:
        raise Problem(403, "Your role in this workspace does not allow running notebooks")
    detached, storage = _detached(body)
    block_ids = _block_ids(body, notebook, detached)
    dependents = body.get("runDependentBlocks", False)
    if not isinstance(dependents, bool):
        raise Problem(400, "runDependentBlocks must be a boolean")
    if dependents and not block_ids:
        raise Problem(400, "runDependentBlocks can only be used with blockIds")
    inputs = body.get("inputs")
    problem = inputs_problem(notebook.notebook, inputs)
    if problem:
        raise Problem(400, problem)
    run = start_run(
        state,
        notebook,
        inputs,
        block_ids=block_ids,
        detached=detached,
        storage=storage,
        dependents=dependents,
    )
    with state._lock:
        status = state._status_at(run, run.created_at)
    return json_reply(
        202, {"runId": run.run_id, "status": status, "createdAt": iso(run.created_at)}
    )


def start_run(
    state: SimState,
    notebook: SimNotebook,
    inputs: dict[str, Any] | None,
    *,
    block_ids: tuple[str, ...] = (),
    detached: bool = True,
    storage: str | None = None,
    dependents: bool = False,
    triggered_by: str = "api",
) -> SimRun:
    """Start a run of an already checked request (the API's, or one started "elsewhere")."""
    now = state._clock.now()
    execution = execute(
        notebook,
        inputs,
        today=now.date(),
        block_ids=block_ids,
        run_dependents=dependents,
        kpi=state.kpi(),
    )
    with state._lock:
        state._sequence += 1
        run = SimRun(
            run_id=str(uuid.uuid4()),
            notebook_id=notebook.id,
            project_id=notebook.project_id,
            created_at=now,
            sequence=state._sequence,
            inputs=dict(inputs or {}),
            block_ids=block_ids,
            detached=detached,
            storage_mode=storage,
            run_dependents=dependents,
            execution=execution,
            triggered_by=triggered_by,
        )
        state._runs[run.run_id] = run
    return run


def get_run(state: SimState, run_id: str, query: dict[str, str], origin: str) -> Reply:
    """GET /v2/runs/{runId}: the run now, with its snapshot inline or as a presigned URL."""
    if not UUID_PATTERN.fullmatch(run_id.lower()):
        raise Problem(400, f"Invalid run id: {run_id}")
    delivery = query.get("snapshotDelivery", "downloadUrl")
    if delivery not in ("inline", "downloadUrl"):
        raise Problem(400, "snapshotDelivery must be inline or downloadUrl")
    now = state._clock.now()
    with state._lock:
        run = state._runs.get(run_id.lower())
        if run is None:
            raise Problem(404, "Run not found")
        if state._suspended:
            raise Problem(409, "Project is suspended")
        view = state._run_view(run, now)
        snapshot = state._snapshot_of(run, now)
    if snapshot is not None:
        limit = state.inline_snapshot_limit
        if delivery == "inline" and (limit is None or len(snapshot.encode()) <= limit):
            view["snapshotContent"] = snapshot
        else:
            expires = int(now.timestamp() + state._snapshot_ttl)
            view["snapshotDownloadUrl"] = (
                f"{origin}/_snapshots/{run.run_id}?expires={expires}"
                f"&signature={state._signature(run.run_id, expires)}"
            )
    return json_reply(200, {"run": view})


def download_snapshot(state: SimState, method: str, path: str, query: dict[str, str]) -> Reply:
    """GET of a presigned snapshot URL: the snapshot, or object storage's XML error."""
    if method != "GET":
        return s3_error(405, "MethodNotAllowed", "The method is not allowed")
    run_id = path.removeprefix("/_snapshots/")
    expires_raw, signature = query.get("expires", ""), query.get("signature", "")
    expires = int(expires_raw) if expires_raw.isdigit() else -1
    if not hmac.compare_digest(signature, state._signature(run_id, expires)):
        return s3_error(403, "SignatureDoesNotMatch", "The request signature is not valid")
    now = state._clock.now()
    if now.timestamp() > expires:
        return s3_error(403, "AccessDenied", "Request has expired")
    with state._lock:
        run = state._runs.get(run_id)
        snapshot = state._snapshot_of(run, now) if run else None
    if snapshot is None:
        return s3_error(404, "NoSuchKey", "The specified key does not exist.")
    return Reply(200, snapshot.encode("utf-8"), content_type="application/yaml")


def _detached(body: dict[str, Any]) -> tuple[bool, str | None]:
    """Whether the run is detached, and its storage mode, checked as Deepnote checks them."""
    detached = body.get("detached", True)
    if not isinstance(detached, bool):
        raise Problem(400, "detached must be a boolean")
    storage = body.get("detachedRunStorageMode")
    if storage is not None:
        if storage not in ("read_write", "readonly"):
            raise Problem(400, "detachedRunStorageMode must be read_write or readonly")
        if not detached:
            raise Problem(400, "detachedRunStorageMode is only supported for detached runs")
    return detached, storage


def _block_ids(body: dict[str, Any], notebook: SimNotebook, detached: bool) -> tuple[str, ...]:
    """The blockIds of a run request, checked as Deepnote checks them (() when absent)."""
    if "blockIds" not in body:
        return ()
    raw_ids = body["blockIds"]
    if detached:
        raise Problem(400, "blockIds is not supported for detached runs")
    if not isinstance(raw_ids, list) or not all(isinstance(b, str) for b in raw_ids):
        raise Problem(400, "blockIds must be a list of block ids")
    if not raw_ids:
        raise Problem(400, "blockIds must not be empty")
    if len(set(raw_ids)) != len(raw_ids):
        raise Problem(400, "blockIds must not contain duplicates")
    known = {b.id for b in notebook.notebook.blocks}
    for block_id in raw_ids:
        if block_id not in known:
            raise Problem(400, f"Block {block_id} was not found in notebook {notebook.id}")
    return tuple(raw_ids)


def find_notebook(state: SimState, raw_id: str) -> SimNotebook:
    """The notebook with this id (either form); 404 otherwise."""
    notebook_id = normalise_notebook_id(raw_id)
    if notebook_id is None:
        raise Problem(400, f"Invalid notebook id: {raw_id}")
    notebook = state._notebooks.get(notebook_id)
    if notebook is None:
        raise Problem(404, "Notebook not found")
    return notebook


def get_notebook(state: SimState, raw_id: str) -> Reply:
    """GET /v2/notebooks/{notebookId}: its blocks and inputs."""
    notebook = find_notebook(state, raw_id)
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


def page_of(state: SimState, query: dict[str, str], default: int) -> tuple[int, str | None]:
    """The page size and the key to start after, from pageSize and pageToken."""
    raw_size = query.get("pageSize", str(default))
    if not raw_size.isdigit() or not 1 <= int(raw_size) <= 100:
        raise Problem(400, "pageSize must be an integer from 1 to 100")
    token = query.get("pageToken") or None
    if token is None:
        return int(raw_size), None
    try:
        after = base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "pageToken is not valid") from None
    if not after.startswith("after:"):
        raise Problem(400, "pageToken is not valid")
    return int(raw_size), after.removeprefix("after:")


def token(last_key: str) -> str:
    """The pageToken that continues after `last_key`."""
    return base64.urlsafe_b64encode(f"after:{last_key}".encode()).decode()


def list_runs(state: SimState, raw_id: str, query: dict[str, str]) -> Reply:
    """GET /v2/notebooks/{notebookId}/runs: newest first, paginated."""
    notebook = find_notebook(state, raw_id)
    size, after = page_of(state, query, 50)
    now = state._clock.now()
    with state._lock:
        runs = sorted(
            (r for r in state._runs.values() if r.notebook_id == notebook.id),
            key=lambda r: (r.created_at, r.sequence),
            reverse=True,
        )
        if after is not None:
            keys = [r.run_id for r in runs]
            if after not in keys:
                raise Problem(400, "pageToken is not valid")
            runs = runs[keys.index(after) + 1 :]
        page, more = runs[:size], len(runs) > size
        rows = []
        for run in page:
            view = state._run_view(run, now)
            rows.append({k: view[k] for k in ("runId", "status", "createdAt", "completedAt")})
    return json_reply(
        200,
        {
            "runs": rows,
            "pagination": {
                "nextPageToken": token(page[-1].run_id) if more else None,
                "hasMore": more,
            },
        },
    )


def me(state: SimState, viewer: bool) -> Reply:
    """GET /v2/me: who the key belongs to."""
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


def list_projects(state: SimState, query: dict[str, str]) -> Reply:
    """GET /v2/projects: the projects of the loaded notebooks, paginated."""
    size, after = page_of(state, query, 50)
    needle = query.get("nameContains", "").lower()
    projects: dict[str, dict[str, Any]] = {}
    for nb in state._notebooks.values():
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
            raise Problem(400, "pageToken is not valid")
        ordered = ordered[keys.index(after) + 1 :]
    page, more = ordered[:size], len(ordered) > size
    return json_reply(
        200,
        {
            "projects": page,
            "pagination": {
                "nextPageToken": token(page[-1]["id"]) if more else None,
                "hasMore": more,
            },
        },
    )


def get_block(state: SimState, block_id: str) -> Reply:
    """GET /v2/blocks/{blockId}: one block of a loaded notebook."""
    for nb in state._notebooks.values():
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
    raise Problem(404, "Block not found")
