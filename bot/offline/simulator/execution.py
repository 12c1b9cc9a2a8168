"""Playing a run of a simulated notebook: which blocks execute, and the snapshot it leaves.

A run never executes code: `execute` asks the notebook's behaviour (see `behaviours`) what each
block prints for the given inputs, and `render_snapshot` writes the YAML Deepnote would attach.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import yaml

from bot.deepnote.models import (
    INPUT_TYPES,
    Notebook,
)
from bot.offline.simulator.behaviours import SAMPLE_BEHAVIOURS, Failure, echo_behaviour
from bot.offline.simulator.kpi import KPI_NOTEBOOK_ID, kpi_behaviour, kpi_values
from bot.offline.simulator.notebooks import EXECUTABLE_TYPES, SimNotebook, iso

_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _SnapshotDumper(_Dumper):  # type: ignore[valid-type,misc]
    """Writes multi-line strings as `|` blocks, as Deepnote's own snapshot files do."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_SnapshotDumper.add_representer(str, _represent_str)


@dataclass(frozen=True)
class Execution:
    """The natural outcome of one run, fixed when the run is created."""

    status: str
    error: str | None
    inputs: dict[str, Any]
    executed: tuple[str, ...]
    outputs: dict[str, list[dict[str, Any]]]
    failure: Failure | None

    @property
    def has_snapshot(self) -> bool:
        """A successful run that printed nothing gets no snapshot, as on Deepnote."""
        return self.failure is not None or any(self.outputs.values())


def effective_inputs(notebook: Notebook, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Saved input values overridden by the run's inputs (which apply to that run only)."""
    values = {i.name: copy.deepcopy(i.value) for i in notebook.inputs}
    values.update(copy.deepcopy(dict(given or {})))
    return values


def execute(
    notebook: SimNotebook,
    inputs: Mapping[str, Any] | None,
    *,
    today: date,
    block_ids: Sequence[str] = (),
    run_dependents: bool = False,
    kpi: Mapping[str, Any] | None = None,
) -> Execution:
    """Play a run: which blocks execute, what they print, whether and where it fails
    (`kpi`: the KPI monitor's values for this run, see `kpi`)."""
    values = effective_inputs(notebook.notebook, inputs)
    if notebook.id == KPI_NOTEBOOK_ID:
        script = kpi_behaviour(notebook, kpi_values(kpi or {}))
    else:
        script = SAMPLE_BEHAVIOURS.get(notebook.id, echo_behaviour)(notebook, values, today)
    order = [str(b["id"]) for b in notebook.blocks]
    types = {str(b["id"]): b.get("type") for b in notebook.blocks}
    if block_ids:
        selected = list(block_ids)
        if run_dependents:
            last = max(order.index(b) for b in block_ids)
            selected += [
                b for b in order[last + 1 :] if b not in selected and types[b] in EXECUTABLE_TYPES
            ]
    else:
        selected = [b for b in order if types[b] in EXECUTABLE_TYPES]
    executed: list[str] = []
    failure = None
    for block_id in selected:
        executed.append(block_id)
        if script.failure is not None and script.failure.block_id == block_id:
            failure = script.failure
            break
    outputs = {b: copy.deepcopy(list(script.outputs.get(b, []))) for b in executed}
    if failure is not None:
        outputs[failure.block_id].append(failure.output())
    return Execution(
        status="error" if failure else "success",
        error=failure.text if failure is not None and failure.reported else None,
        inputs=values,
        executed=tuple(executed),
        outputs=outputs,
        failure=failure,
    )


def render_snapshot(
    notebook: SimNotebook,
    execution: Execution,
    *,
    started_at: datetime,
    finished_at: datetime,
    triggered_by: str = "api",
) -> str:
    """The `.snapshot.deepnote` YAML of a finished run: the file with this run's outputs
    (`triggered_by`: what started it, as Deepnote records it: user, schedule, api or ci)."""
    document = copy.deepcopy(dict(notebook.document))
    entry = document["project"]["notebooks"][notebook.index]
    span = max((finished_at - started_at).total_seconds(), 0.0)
    share = span / max(len(execution.executed), 1)
    for block in entry.get("blocks") or []:
        meta = block.get("metadata")
        name = meta.get("deepnote_variable_name") if isinstance(meta, dict) else None
        if block.get("type") in INPUT_TYPES and isinstance(name, str) and name in execution.inputs:
            meta["deepnote_variable_value"] = copy.deepcopy(execution.inputs[name])
    _fill_outputs(entry, execution, started_at, share)
    run_section = _run_section(execution, started_at, finished_at, span)
    run_section["triggeredBy"] = triggered_by
    project_yaml = yaml.dump(document["project"], Dumper=_Dumper, sort_keys=True)
    metadata = dict(document.get("metadata") or {})
    metadata.setdefault("createdAt", iso(started_at))
    metadata["modifiedAt"] = iso(finished_at)
    metadata["snapshotHash"] = "sha256:" + hashlib.sha256(project_yaml.encode()).hexdigest()
    snapshot: dict[str, Any] = {
        "version": str(document.get("version") or "1.0.0"),
        "metadata": metadata,
        "project": document["project"],
        "execution": run_section,
    }
    if "environment" in document:
        snapshot["environment"] = document["environment"]
    return yaml.dump(
        snapshot, Dumper=_SnapshotDumper, sort_keys=False, allow_unicode=True, width=100
    )


def _fill_outputs(
    entry: dict[str, Any], execution: Execution, started_at: datetime, share: float
) -> None:
    """Give each executed block of the notebook `entry` its outputs, count and timing."""
    count = 0
    for position, block_id in enumerate(execution.executed):
        block = next((b for b in entry.get("blocks") or [] if b.get("id") == block_id), None)
        if block is None:
            continue
        count += 1
        start = started_at + timedelta(seconds=share * position)
        block["executionCount"] = count
        block["outputs"] = execution.outputs.get(block_id, [])
        meta = block.setdefault("metadata", {})
        if isinstance(meta, dict):
            meta["execution_start"] = int(start.timestamp() * 1000)
            meta["execution_millis"] = int(share * 1000)
        for output in block["outputs"]:
            if output.get("output_type") in ("execute_result", "display_data"):
                output.setdefault("metadata", {})
                if output["output_type"] == "execute_result":
                    output["execution_count"] = count


def _run_section(
    execution: Execution, started_at: datetime, finished_at: datetime, span: float
) -> dict[str, Any]:
    """The snapshot's `execution` section: when, with which inputs, and how it ended."""
    failed = 1 if execution.failure else 0
    run_section: dict[str, Any] = {
        "startedAt": iso(started_at),
        "finishedAt": iso(finished_at),
        "triggeredBy": "api",
        "inputs": copy.deepcopy(execution.inputs),
        "summary": {
            "blocksExecuted": len(execution.executed),
            "blocksFailed": failed,
            "blocksSucceeded": len(execution.executed) - failed,
            "totalDurationMs": int(span * 1000),
        },
    }
    if execution.failure is not None:
        run_section["error"] = {
            "name": execution.failure.ename,
            "message": execution.failure.evalue,
            "traceback": list(execution.failure.traceback),
        }
    return run_section
