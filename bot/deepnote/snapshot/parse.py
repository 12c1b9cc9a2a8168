"""Parse a run's snapshot (a `.snapshot.deepnote` YAML file) into frozen values.

Pure: text in, frozen values out. Snapshots are parsed leniently; a missing piece is None or
empty, never an exception.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import yaml

# --- the parsed snapshot ------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotOutput:
    """One nbformat output of a block."""

    output_type: str
    name: str | None = None
    text: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    ename: str | None = None
    evalue: str | None = None
    traceback: tuple[str, ...] = ()


@dataclass(frozen=True)
class SnapshotBlock:
    """A block with its outputs; `name` is its variable name, `label` its human title."""

    id: str
    type: str
    content: str = ""
    name: str | None = None
    label: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    outputs: tuple[SnapshotOutput, ...] = ()
    notebook_id: str | None = None
    notebook_name: str | None = None

    @property
    def error_output(self) -> SnapshotOutput | None:
        """The block's first `error` output, if any."""
        return next((o for o in self.outputs if o.output_type == "error"), None)


@dataclass(frozen=True)
class ExecutionSummary:
    """`execution.summary` of a snapshot."""

    blocks_executed: int | None = None
    blocks_failed: int | None = None
    blocks_succeeded: int | None = None
    total_duration_ms: int | None = None


@dataclass(frozen=True)
class ExecutionError:
    """`execution.error` of a snapshot."""

    message: str | None = None
    name: str | None = None
    traceback: tuple[str, ...] = ()


@dataclass(frozen=True)
class Execution:
    """`execution` of a snapshot: when it ran, how it went."""

    started_at: datetime | None = None
    finished_at: datetime | None = None
    triggered_by: str | None = None
    summary: ExecutionSummary | None = None
    error: ExecutionError | None = None
    inputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Snapshot:
    """A parsed snapshot: every block of every notebook in file order, and the execution."""

    project_id: str | None = None
    project_name: str | None = None
    blocks: tuple[SnapshotBlock, ...] = ()
    execution: Execution | None = None

    def block(self, block_id: str) -> SnapshotBlock | None:
        """The block with this id, if any."""
        return next((b for b in self.blocks if b.id == block_id), None)


# --- parsing ------------------------------------------------------------------------------


def as_str(value: Any) -> str | None:
    """Text, or None; a list of strings (nbformat's multi-line text) joined."""
    if value is None:
        return None
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return str(value)


def as_int(value: Any) -> int | None:
    """A whole number from a number or numeric text, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            return None
    return None


def _when(value: Any) -> datetime | None:
    """A YAML timestamp (already a datetime) or an ISO string, as an aware UTC datetime."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def as_mapping(value: Any) -> Mapping[str, Any]:
    """The mapping, or an empty one."""
    return value if isinstance(value, Mapping) else {}


def as_items(value: Any) -> list[Any]:
    """The list, or an empty one."""
    return value if isinstance(value, list) else []


def _output(raw: Any) -> SnapshotOutput | None:
    if not isinstance(raw, Mapping):
        return None
    return SnapshotOutput(
        output_type=str(raw.get("output_type") or ""),
        name=as_str(raw.get("name")),
        text=as_str(raw.get("text")),
        data=as_mapping(raw.get("data")),
        ename=as_str(raw.get("ename")),
        evalue=as_str(raw.get("evalue")),
        traceback=tuple(str(t) for t in as_items(raw.get("traceback"))),
    )


def _block(raw: Any, notebook_id: str | None, notebook_name: str | None) -> SnapshotBlock | None:
    if not isinstance(raw, Mapping) or raw.get("id") is None:
        return None
    meta = as_mapping(raw.get("metadata"))
    name = as_str(meta.get("deepnote_variable_name")) or None
    label = (
        as_str(meta.get("deepnote_input_label") or meta.get("deepnote_big_number_title")) or None
    )
    outputs = tuple(o for o in map(_output, as_items(raw.get("outputs"))) if o is not None)
    return SnapshotBlock(
        id=str(raw["id"]),
        type=str(raw.get("type") or ""),
        content=as_str(raw.get("content")) or "",
        name=name,
        label=label,
        metadata=meta,
        outputs=outputs,
        notebook_id=notebook_id,
        notebook_name=notebook_name,
    )


def _execution(raw: Any) -> Execution | None:
    if not isinstance(raw, Mapping):
        return None
    summary_raw = raw.get("summary")
    summary = None
    if isinstance(summary_raw, Mapping):
        summary = ExecutionSummary(
            blocks_executed=as_int(summary_raw.get("blocksExecuted")),
            blocks_failed=as_int(summary_raw.get("blocksFailed")),
            blocks_succeeded=as_int(summary_raw.get("blocksSucceeded")),
            total_duration_ms=as_int(summary_raw.get("totalDurationMs")),
        )
    error_raw = raw.get("error")
    error = None
    if isinstance(error_raw, Mapping):
        error = ExecutionError(
            message=as_str(error_raw.get("message")),
            name=as_str(error_raw.get("name")),
            traceback=tuple(str(t) for t in as_items(error_raw.get("traceback"))),
        )
    elif isinstance(error_raw, str) and error_raw:
        error = ExecutionError(message=error_raw)
    return Execution(
        started_at=_when(raw.get("startedAt")),
        finished_at=_when(raw.get("finishedAt")),
        triggered_by=as_str(raw.get("triggeredBy")),
        summary=summary,
        error=error,
        inputs=as_mapping(raw.get("inputs")),
    )


def parse_snapshot(yaml_text: str) -> Snapshot | None:
    """Parse a snapshot's YAML; None when it is not YAML or not a mapping at all."""
    try:
        doc = yaml.safe_load(yaml_text)
    except (yaml.YAMLError, RecursionError, ValueError):
        return None
    if not isinstance(doc, Mapping):
        return None
    project = as_mapping(doc.get("project"))
    blocks: list[SnapshotBlock] = []
    for notebook in as_items(project.get("notebooks")):
        if not isinstance(notebook, Mapping):
            continue
        nb_id, nb_name = as_str(notebook.get("id")), as_str(notebook.get("name"))
        for raw in as_items(notebook.get("blocks")):
            block = _block(raw, nb_id, nb_name)
            if block is not None:
                blocks.append(block)
    return Snapshot(
        project_id=as_str(project.get("id")),
        project_name=as_str(project.get("name")),
        blocks=tuple(blocks),
        execution=_execution(doc.get("execution")),
    )
