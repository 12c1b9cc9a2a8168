"""Lenient parsing of Deepnote API v2 answers into the typed models.

The API is marked "preview", so shapes vary between deployments: ids come as `runId` or `id`,
objects may be wrapped (`{"run": {...}}`), `error` may be a string, an object or null, and the
snapshot may be a URL, inline YAML or a nested `snapshot` object. Unknown fields are ignored.
A shape the bot cannot use raises `DeepnoteUnavailable` with a message naming what was wrong.

>>> parse_run({"run": {"id": "r1", "status": "success", "error": {"message": "boom"}}}).error
'boom'
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.deepnote.models import (
    ListedNotebook,
    Notebook,
    NotebookBlock,
    NotebookInput,
    Project,
    Run,
    RunCreated,
    RunSummary,
)
from bot.errors import DeepnoteUnavailable

UNREADABLE = "Deepnote sent an answer the bot could not read"


def unreadable(detail: str) -> DeepnoteUnavailable:
    """The error for an answer whose shape the bot cannot use."""
    return DeepnoteUnavailable(f"{UNREADABLE}: {detail}")


def _short(value: Any) -> str:
    """A bounded repr, so a huge or hostile value cannot flood an error message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_json(content: bytes) -> Any:
    """Decode a response body as JSON, or raise the 'could not read' error."""
    try:
        return json.loads(content)
    except ValueError:
        pass
    raise unreadable(f"the body is not JSON ({_short(content[:40])})")


def _object(payload: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise unreadable(f"{what} should be a JSON object, got {type(payload).__name__}")
    return payload


def _unwrap(payload: Any, key: str) -> Mapping[str, Any]:
    """`{key: {...}}` → the inner object; an unwrapped object is returned as it is."""
    outer = _object(payload, f"the {key}")
    inner = outer.get(key)
    return _object(inner, f"{key!r}") if isinstance(inner, Mapping) else outer


def _text(obj: Mapping[str, Any], *keys: str) -> str | None:
    """The first of `keys` holding a non-empty string (numbers are accepted as ids)."""
    for key in keys:
        value = obj.get(key)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, str):
            if value:
                return value
            continue
        if isinstance(value, int):
            return str(value)
        raise unreadable(f"{key!r} should be a string, got {_short(value)}")
    return None


def _required_text(obj: Mapping[str, Any], what: str, *keys: str) -> str:
    value = _text(obj, *keys)
    if value is None:
        raise unreadable(f"{what} has no {' or '.join(repr(k) for k in keys)}")
    return value


def parse_timestamp(value: Any, field: str = "timestamp") -> datetime | None:
    """ISO 8601 (with `Z` or an offset; naive means UTC) or epoch seconds/ms → aware datetime.

    >>> parse_timestamp("2026-01-14T13:54:10.191Z").isoformat()
    '2026-01-14T13:54:10.191000+00:00'
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise unreadable(f"{field!r} is not a timestamp: {_short(value)}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise unreadable(f"{field!r} is not a timestamp: {_short(value)}")
        # Epoch numbers above ~1973 in milliseconds are far larger than any in seconds.
        seconds = value / 1000 if abs(value) > 1e11 else value
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise unreadable(f"{field!r} is not a timestamp: {_short(value)}") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise unreadable(f"{field!r} is not a timestamp: {_short(value)}")


def parse_error_field(value: Any) -> str | None:
    """A run's `error`: a string, `{message}` (optionally with `name`) or null → text or None.

    >>> parse_error_field({"name": "ValueError", "message": "bad"})
    'ValueError: bad'
    """
    if value is None or value == "" or value is False:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        message = value.get("message")
        name = value.get("name")
        if isinstance(message, str) and message:
            return f"{name}: {message}" if isinstance(name, str) and name else message
        if isinstance(name, str) and name:
            return name
        return json.dumps(value, sort_keys=True, default=str)[:500]
    return str(value)


def parse_error_message(content: bytes) -> str | None:
    """The `message` of a JSON error body (`{"message"}`, `{"error"}`, `{"error": {"message"}}`)."""
    try:
        payload = json.loads(content)
    except ValueError:
        return None
    if not isinstance(payload, Mapping):
        return None
    for key in ("message", "error", "detail"):
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, Mapping):
            inner = value.get("message")
            if isinstance(inner, str) and inner.strip():
                return inner.strip()
    return None


def parse_run_created(payload: Any) -> RunCreated:
    """The answer to POST /v2/runs: `{runId, status, createdAt}`, maybe wrapped or with `id`."""
    obj = _unwrap(payload, "run")
    return RunCreated(
        run_id=_required_text(obj, "the new run", "runId", "id"),
        status=_text(obj, "status") or "pending",
        created_at=parse_timestamp(obj.get("createdAt"), "createdAt"),
    )


def parse_run(payload: Any) -> Run:
    """The answer to GET /v2/runs/{id}: `{run: {...}}` or the bare run object."""
    obj = _unwrap(payload, "run")
    snapshot_url = _text(obj, "snapshotDownloadUrl", "snapshotUrl")
    snapshot_content = _text(obj, "snapshotContent")
    nested = obj.get("snapshot")
    if isinstance(nested, Mapping):
        snapshot_url = snapshot_url or _text(nested, "downloadUrl", "snapshotDownloadUrl", "url")
        snapshot_content = snapshot_content or _text(nested, "snapshotContent", "content")
    elif isinstance(nested, str) and nested:
        # Some answers put the YAML itself under `snapshot`.
        snapshot_content = snapshot_content or nested
    elif nested is not None:
        raise unreadable(f"'snapshot' should be an object, got {_short(nested)}")
    return Run(
        run_id=_required_text(obj, "the run", "runId", "id"),
        status=_required_text(obj, "the run", "status"),
        notebook_id=_text(obj, "notebookId"),
        project_id=_text(obj, "projectId"),
        created_at=parse_timestamp(obj.get("createdAt"), "createdAt"),
        completed_at=parse_timestamp(obj.get("completedAt"), "completedAt"),
        error=parse_error_field(obj.get("error")),
        snapshot_url=snapshot_url,
        snapshot_content=snapshot_content,
    )


def parse_run_summary(payload: Any) -> RunSummary:
    """One row of GET /v2/notebooks/{id}/runs."""
    obj = _object(payload, "a run in the list")
    return RunSummary(
        run_id=_required_text(obj, "a run in the list", "runId", "id"),
        status=_required_text(obj, "a run in the list", "status"),
        created_at=parse_timestamp(obj.get("createdAt"), "createdAt"),
        completed_at=parse_timestamp(obj.get("completedAt"), "completedAt"),
    )


def parse_runs_page(payload: Any) -> tuple[list[RunSummary], str | None]:
    """GET /v2/notebooks/{id}/runs → (runs, next page token or None)."""
    obj = _object(payload, "the list of runs")
    rows = obj.get("runs", [])
    if not isinstance(rows, list):
        raise unreadable(f"'runs' should be a list, got {_short(rows)}")
    return [parse_run_summary(row) for row in rows], _next_token(obj)


def _number(value: Any, field: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise unreadable(f"{field!r} should be a number, got {_short(value)}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise unreadable(f"{field!r} should be a number, got {_short(value)}")


def _options(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise unreadable(f"'options' should be a list, got {_short(value)}")
    options: list[str] = []
    for item in value:
        if isinstance(item, Mapping):
            # Some servers send {value, label} pairs.
            item = item.get("value", item.get("label"))
        if item is not None:
            options.append(item if isinstance(item, str) else str(item))
    return tuple(options)


def _numeric_string(value: Any) -> Any:
    """Slider values are numeric strings on the wire; a JSON number is normalised to one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return str(int(value)) if float(value).is_integer() else str(value)


def parse_input(payload: Any) -> NotebookInput:
    """One entry of a notebook's `inputs`; block-style `metadata` keys are a fallback."""
    obj = _object(payload, "an input")
    meta_raw = obj.get("metadata")
    meta: Mapping[str, Any] = meta_raw if isinstance(meta_raw, Mapping) else {}

    def pick(*keys: str) -> Any:
        for key in keys:
            if obj.get(key) is not None:
                return obj[key]
        return None

    def pick_meta(key: str) -> Any:
        return meta.get(key)

    name = _text(obj, "name", "variableName") or _text(meta, "deepnote_variable_name")
    if name is None:
        raise unreadable("an input has no 'name'")
    kind = _text(obj, "type") or _text(obj, "blockType")
    if kind is None:
        raise unreadable(f"input {name!r} has no 'type'")
    value = obj["value"] if "value" in obj else pick_meta("deepnote_variable_value")
    if kind == "input-slider":
        value = _numeric_string(value)
    label = _text(obj, "label") or _text(meta, "deepnote_input_label") or ""
    multiple = pick("allowMultipleValues", "multiple", "allowMultiple")
    if multiple is None:
        multiple = pick_meta("deepnote_allow_multiple_values")
    extensions = pick("allowedFileExtensions", "allowedExtensions")
    if extensions is None:
        extensions = pick_meta("deepnote_allowed_file_extensions")
    if isinstance(extensions, list):
        extensions = ",".join(str(e) for e in extensions)
    options = pick("options")
    if options is None:
        options = pick_meta("deepnote_variable_options")
    return NotebookInput(
        name=name,
        type=kind,
        value=value,
        label=label,
        block_id=_text(obj, "blockId", "block_id"),
        options=_options(options),
        multiple=bool(multiple),
        min=_number(_first(pick("min"), pick_meta("deepnote_slider_min_value")), "min"),
        max=_number(_first(pick("max"), pick_meta("deepnote_slider_max_value")), "max"),
        step=_number(_first(pick("step"), pick_meta("deepnote_slider_step")), "step"),
        allowed_extensions=str(extensions) if extensions else None,
    )


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def parse_block(payload: Any) -> NotebookBlock | None:
    """One entry of a notebook's `blocks`; entries without an id are skipped (None)."""
    obj = _object(payload, "a block")
    block_id = _text(obj, "id", "blockId")
    if block_id is None:
        return None
    content = obj.get("content")
    metadata = obj.get("metadata")
    return NotebookBlock(
        id=block_id,
        type=_text(obj, "type") or "",
        content=content if isinstance(content, str) else "",
        metadata=dict(metadata) if isinstance(metadata, Mapping) else None,
    )


def parse_block_answer(payload: Any) -> NotebookBlock:
    """GET /v2/blocks/{id}: `{block: {id, type, content, metadata}}`."""
    block = parse_block(_unwrap(payload, "block"))
    if block is None:
        raise unreadable("the block has no 'id'")
    return block


def parse_notebook(payload: Any, *, notebook_id: str | None = None) -> Notebook:
    """GET /v2/notebooks/{id}: `{notebook: {id, name, projectId, blocks, inputs}}`."""
    obj = _unwrap(payload, "notebook")
    found_id = _text(obj, "id", "notebookId") or notebook_id
    if found_id is None:
        raise unreadable("the notebook has no 'id'")
    inputs = obj.get("inputs") or []
    blocks = obj.get("blocks") or []
    if not isinstance(inputs, list):
        raise unreadable(f"'inputs' should be a list, got {_short(inputs)}")
    if not isinstance(blocks, list):
        raise unreadable(f"'blocks' should be a list, got {_short(blocks)}")
    parsed_blocks = (parse_block(b) for b in blocks)
    return Notebook(
        id=found_id,
        name=_text(obj, "name") or "",
        inputs=tuple(parse_input(i) for i in inputs),
        blocks=tuple(b for b in parsed_blocks if b is not None),
        project_id=_text(obj, "projectId"),
    )


def parse_object(payload: Any, what: str) -> dict[str, Any]:
    """Any answer that must be a JSON object (e.g. GET /v2/me), as a plain dict."""
    return dict(_object(payload, what))


def _next_token(obj: Mapping[str, Any]) -> str | None:
    """The next page's token from `pagination` (or the top level), None on the last page."""
    pagination = obj.get("pagination")
    page = pagination if isinstance(pagination, Mapping) else obj
    if page.get("hasMore") is False:
        return None
    return _text(page, "nextPageToken")


def parse_project(payload: Any) -> Project | None:
    """One entry of GET /v2/projects; entries without an id are skipped (None).

    >>> p = parse_project({"id": "p1", "name": "Sales", "notebooks": [{"id": "n1", "name": "Q3"}]})
    >>> p.notebooks[0].project_name
    'Sales'
    """
    obj = _object(payload, "a project")
    project_id = _text(obj, "id", "projectId")
    if project_id is None:
        return None
    name = _text(obj, "name") or ""
    rows = obj.get("notebooks") or []
    if not isinstance(rows, list):
        raise unreadable(f"a project's 'notebooks' should be a list, got {_short(rows)}")
    notebooks = []
    for row in rows:
        entry = _object(row, "a project's notebook")
        notebook_id = _text(entry, "id", "notebookId")
        if notebook_id is not None:
            notebooks.append(
                ListedNotebook(notebook_id, _text(entry, "name") or "", project_id, name)
            )
    return Project(project_id, name, tuple(notebooks))


def parse_projects_page(payload: Any) -> tuple[list[Project], str | None]:
    """GET /v2/projects → (projects, next page token or None)."""
    obj = _object(payload, "the list of projects")
    rows = obj.get("projects", [])
    if not isinstance(rows, list):
        raise unreadable(f"'projects' should be a list, got {_short(rows)}")
    projects = [parse_project(row) for row in rows]
    return [p for p in projects if p is not None], _next_token(obj)
