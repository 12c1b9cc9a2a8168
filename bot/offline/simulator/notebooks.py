"""Notebooks for the Deepnote simulator: loading `.deepnote` files and playing their runs.

`load_notebooks` reads `.deepnote` / `.snapshot.deepnote` YAML files (format 1.0.0). Each notebook
gets a stable 32-hex API id (its file id without dashes when that is a UUID, else a hash) and
its inputs come from the `input-*` blocks' metadata, as GET /v2/notebooks/{id} reports them.

A run never executes code. `execute` asks the notebook's *behaviour* what each block prints for
the given inputs: the shipped samples have their own (see `SAMPLE_BEHAVIOURS`), every other
notebook gets `echo_behaviour` (simple `print(...)` blocks are evaluated, other blocks keep the
outputs stored in the file, a stored `error` output fails the run). `render_snapshot` turns the
result into the snapshot YAML Deepnote would attach to the run.

The samples in `SAMPLES_DIR`, and what makes them fail:
- "Sales report" (every input type): `region` = "Mars" fails with
  `ZeroDivisionError: float division by zero` (Mars has no stores); the run's `error` stays null,
  as real Deepnote often leaves it.
- "Hello world": no inputs, prints "Hello world!", always succeeds.
- "Data quality check": `dataset` = "orders_with_gaps" fails with `AssertionError: 3 of 120 rows
  in orders_with_gaps have no customer_id`, and the run's `error` says so. A passing check prints
  nothing, so a successful run has no snapshot at all.
"""

from __future__ import annotations

import ast
import base64
import copy
import functools
import hashlib
import json
import logging
import re
import struct
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from bot.deepnote.models import (
    DATE_RANGE_PRESETS,
    INPUT_TYPES,
    Notebook,
    NotebookBlock,
    NotebookInput,
)

logger = logging.getLogger(__name__)

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
"""The sample notebooks shipped with the bot."""

SALES_NOTEBOOK_ID = "03fde7a76fa74293aada1a24eb001d0d"
HELLO_NOTEBOOK_ID = "8696736f3f1943b98c6fe181a75d3f57"
QUALITY_NOTEBOOK_ID = "e6d4cac6fea7454ebbd0ab3fef60e2d7"

EXECUTABLE_TYPES = frozenset(
    {"code", "sql", "big-number", "visualization", "notebook-function", "agent", "button"}
)
"""Block types a full run executes (input blocks only set variables)."""

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _SnapshotDumper(_Dumper):  # type: ignore[valid-type,misc]
    """Writes multi-line strings as `|` blocks, as Deepnote's own snapshot files do."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_SnapshotDumper.add_representer(str, _represent_str)


# -- loading -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SimNotebook:
    """One notebook of a loaded `.deepnote` file, with its API view and its source."""

    id: str
    name: str
    project_id: str
    project_name: str
    path: Path
    source_id: str
    index: int
    document: Mapping[str, Any]
    notebook: Notebook

    @property
    def blocks(self) -> list[Mapping[str, Any]]:
        """The notebook's raw blocks, in file order."""
        entry = self.document["project"]["notebooks"][self.index]
        return list(entry.get("blocks") or [])

    @property
    def inputs(self) -> tuple[NotebookInput, ...]:
        """The notebook's inputs with their saved values."""
        return self.notebook.inputs

    def block(self, block_id: str) -> Mapping[str, Any] | None:
        """The raw block with this id, if any."""
        return next((b for b in self.blocks if b.get("id") == block_id), None)


def api_notebook_id(source_id: str, project_id: str) -> str:
    """32 hex chars: the file's id without dashes when it is a UUID, else a stable hash.

    >>> api_notebook_id("921d82a6-7cb1-4fc6-a061-810ce23f803d", "p")
    '921d82a67cb14fc6a061810ce23f803d'
    """
    try:
        return uuid.UUID(source_id).hex
    except ValueError:
        return hashlib.sha256(f"{project_id}/{source_id}".encode()).hexdigest()[:32]


def api_project_id(source_id: str) -> str:
    """A dashed UUID: the file's project id when it is one, else a stable UUID derived from it."""
    try:
        return str(uuid.UUID(source_id))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"deepnote-project:{source_id}"))


def _plain(value: Any) -> Any:
    """YAML dates and timestamps → ISO strings, so documents serialise to JSON and YAML alike."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return iso(aware)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with milliseconds and `Z`, as Deepnote writes timestamps."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def numeric_string(value: Any) -> str:
    """A slider value as Deepnote stores it: "5", "2.5"."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value)


def _number(value: Any, default: float) -> float:
    if isinstance(value, bool) or value is None:
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def input_from_block(block: Mapping[str, Any]) -> NotebookInput | None:
    """The input an `input-*` block defines, read from its metadata; None for other blocks."""
    kind = block.get("type")
    meta = block.get("metadata") or {}
    name = meta.get("deepnote_variable_name") if isinstance(meta, Mapping) else None
    if kind not in INPUT_TYPES or not isinstance(name, str) or not name:
        return None
    raw = meta.get("deepnote_variable_value")
    label = meta.get("deepnote_input_label")
    common: dict[str, Any] = {
        "name": name,
        "type": kind,
        "label": label if isinstance(label, str) else "",
        "block_id": str(block.get("id")),
    }
    if kind == "input-checkbox":
        return NotebookInput(value=raw is True or raw == "true", **common)
    if kind == "input-slider":
        low = _number(meta.get("deepnote_slider_min_value"), 0.0)
        high = _number(meta.get("deepnote_slider_max_value"), 100.0)
        step = _number(meta.get("deepnote_slider_step"), 1.0)
        slider_value = numeric_string(raw) if raw not in (None, "") else numeric_string(low)
        return NotebookInput(value=slider_value, min=low, max=high, step=step, **common)
    if kind == "input-select":
        options = meta.get("deepnote_variable_options") or []
        multiple = meta.get("deepnote_allow_multiple_values") is True
        if multiple:
            value: Any = (
                [str(v) for v in raw] if isinstance(raw, list) else ([str(raw)] if raw else [])
            )
        else:
            value = (
                str(raw[0]) if isinstance(raw, list) and raw else ("" if raw is None else str(raw))
            )
        return NotebookInput(
            value=value,
            options=tuple(str(o) for o in options),
            multiple=multiple,
            **common,
        )
    if kind == "input-date-range":
        span: list[str] | str = (
            [str(v) for v in raw] if isinstance(raw, list) else ("" if raw is None else str(raw))
        )
        return NotebookInput(value=span, **common)
    if kind == "input-file":
        extensions = meta.get("deepnote_allowed_file_extensions")
        return NotebookInput(
            value="" if raw is None else str(raw),
            allowed_extensions=str(extensions) if extensions else None,
            **common,
        )
    return NotebookInput(value="" if raw is None else str(raw), **common)


@functools.lru_cache(maxsize=64)
def _read_document(path: Path, stamp: tuple[int, int]) -> Any:
    """Parsed once per file version: the documents are only ever read or deep-copied."""
    try:
        return _plain(yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader))  # noqa: S506
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({exc})") from None


def load_file(path: Path) -> list[SimNotebook]:
    """Every notebook of one `.deepnote` file; a file that is not one raises ValueError."""
    status = path.stat()
    document = _read_document(path.resolve(), (status.st_mtime_ns, status.st_size))
    project = document.get("project") if isinstance(document, Mapping) else None
    notebooks = project.get("notebooks") if isinstance(project, Mapping) else None
    if not isinstance(project, Mapping) or not isinstance(notebooks, list):
        raise ValueError(f"{path}: not a .deepnote file (no project.notebooks)")
    project_source = str(project.get("id") or path.stem)
    project_id = api_project_id(project_source)
    loaded = []
    for index, entry in enumerate(notebooks):
        if not isinstance(entry, Mapping):
            raise ValueError(f"{path}: notebook #{index + 1} is not a mapping")
        source_id = str(entry.get("id") or f"{path.stem}-{index}")
        blocks = [b for b in entry.get("blocks") or [] if isinstance(b, Mapping) and b.get("id")]
        inputs = (input_from_block(b) for b in blocks)
        notebook_id = api_notebook_id(source_id, project_id)
        name = str(entry.get("name") or f"Notebook {index + 1}")
        loaded.append(
            SimNotebook(
                id=notebook_id,
                name=name,
                project_id=project_id,
                project_name=str(project.get("name") or path.stem),
                path=path,
                source_id=source_id,
                index=index,
                document=document,
                notebook=Notebook(
                    id=notebook_id,
                    name=name,
                    inputs=tuple(i for i in inputs if i is not None),
                    blocks=tuple(
                        NotebookBlock(
                            id=str(b["id"]),
                            type=str(b.get("type") or ""),
                            content=str(b.get("content") or ""),
                        )
                        for b in blocks
                    ),
                    project_id=project_id,
                ),
            )
        )
    return loaded


def load_notebooks(paths: Iterable[Path]) -> list[SimNotebook]:
    """The notebooks of these `.deepnote` files (a folder means every `*.deepnote` in it).

    When two files hold the same notebook id the first one wins and the other is skipped.
    """
    seen: dict[str, SimNotebook] = {}
    for given in paths:
        files = sorted(given.glob("*.deepnote")) if given.is_dir() else [given]
        for path in files:
            for notebook in load_file(path):
                if notebook.id in seen:
                    logger.warning(
                        "Skipping notebook %s in %s: already loaded from %s",
                        notebook.id,
                        path,
                        seen[notebook.id].path,
                    )
                    continue
                seen[notebook.id] = notebook
    return list(seen.values())


# -- input checks --------------------------------------------------------------------------

_SLIDER_VALUE = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")
_CUSTOM_DAYS = re.compile(r"customDays([1-9][0-9]*)")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def input_problem(spec: NotebookInput, value: Any) -> str | None:
    """Why Deepnote would refuse `value` for this input (a 400 message), or None if it is fine."""
    label = f'Input "{spec.name}"'
    kind = spec.type
    if kind == "input-checkbox":
        return (
            None
            if isinstance(value, bool)
            else f"{label} expects a boolean, got {_json_type(value)}"
        )
    if kind == "input-slider":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (
                f'{label} is a slider: send its value as a numeric string such as "5", '
                "not as a number"
            )
        if not isinstance(value, str):
            return f"{label} expects a numeric string, got {_json_type(value)}"
        if not _SLIDER_VALUE.fullmatch(value):
            return f'{label} expects a numeric string such as "5", got "{value}"'
        number, low, high = (
            float(value),
            spec.min or 0.0,
            spec.max if spec.max is not None else 100.0,
        )
        if not low <= number <= high:
            return f"{label} must be between {numeric_string(low)} and {numeric_string(high)}"
        step = spec.step or 1.0
        if abs((number - low) / step - round((number - low) / step)) > 1e-9:
            return (
                f"{label} must be a multiple of {numeric_string(step)} from {numeric_string(low)}"
            )
        return None
    if kind == "input-select":
        options = spec.options or ()
        if spec.multiple:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return f"{label} allows several values: send a list of strings"
            unknown = [v for v in value if v not in options]
        else:
            if not isinstance(value, str):
                return f"{label} expects a string, got {_json_type(value)}"
            unknown = [value] if value not in options else []
        if unknown:
            return f'{label} has no option "{unknown[0]}". Options: ' + ", ".join(
                f'"{o}"' for o in options
            )
        return None
    if kind == "input-date":
        return None if _is_date(value) else f"{label} expects a date as YYYY-MM-DD"
    if kind == "input-date-range":
        if isinstance(value, str):
            if value in DATE_RANGE_PRESETS or _CUSTOM_DAYS.fullmatch(value):
                return None
            return (
                f"{label} expects one of {', '.join(DATE_RANGE_PRESETS)}, customDays<N> "
                f'or two dates like ["2026-01-01", "2026-01-31"], got "{value}"'
            )
        if isinstance(value, list) and len(value) == 2 and all(_is_date(v) for v in value):
            return None if value[0] <= value[1] else f"{label} starts after it ends"
        return f"{label} expects a preset such as past7days or a list of two YYYY-MM-DD dates"
    # input-text, input-textarea, input-file and any type the simulator does not know.
    return None if isinstance(value, str) else f"{label} expects a string, got {_json_type(value)}"


def inputs_problem(notebook: Notebook, inputs: Any) -> str | None:
    """Why Deepnote would refuse this `inputs` object for the notebook, or None."""
    if inputs is None:
        return None
    if not isinstance(inputs, Mapping):
        return "inputs must be an object keyed by input name"
    for name, value in inputs.items():
        spec = notebook.input_named(name)
        if spec is None:
            known = ", ".join(i.name for i in notebook.inputs)
            return f'Unknown input "{name}". ' + (
                f"The notebook's inputs are: {known}" if known else "The notebook has no inputs"
            )
        problem = input_problem(spec, value)
        if problem:
            return problem
    return None


# -- execution ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """The exception a block raises during a run."""

    block_id: str
    ename: str
    evalue: str
    traceback: tuple[str, ...] = ()
    reported: bool = False
    """Whether the run's `error` field names it (real Deepnote often leaves it null)."""

    @property
    def text(self) -> str:
        """`ename: evalue`, the way Deepnote's tools describe a failure."""
        return f"{self.ename}: {self.evalue}"

    def output(self) -> dict[str, Any]:
        """The nbformat `error` output shown under the failing block."""
        return {
            "output_type": "error",
            "ename": self.ename,
            "evalue": self.evalue,
            "traceback": list(self.traceback),
        }


@dataclass(frozen=True)
class Script:
    """What a notebook does for given inputs: outputs per block, and the failure, if any."""

    outputs: Mapping[str, list[dict[str, Any]]]
    failure: Failure | None = None


Behaviour = Callable[[SimNotebook, Mapping[str, Any], date], Script]
"""(notebook, effective input values, the run's date) → what each block prints."""


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
) -> Execution:
    """Play a run: which blocks execute, what they print, whether and where it fails."""
    values = effective_inputs(notebook.notebook, inputs)
    behaviour = SAMPLE_BEHAVIOURS.get(notebook.id, echo_behaviour)
    script = behaviour(notebook, values, today)
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
) -> str:
    """The `.snapshot.deepnote` YAML of a finished run: the file with this run's outputs."""
    document = copy.deepcopy(dict(notebook.document))
    entry = document["project"]["notebooks"][notebook.index]
    span = max((finished_at - started_at).total_seconds(), 0.0)
    share = span / max(len(execution.executed), 1)
    for block in entry.get("blocks") or []:
        meta = block.get("metadata")
        name = meta.get("deepnote_variable_name") if isinstance(meta, dict) else None
        if block.get("type") in INPUT_TYPES and isinstance(name, str) and name in execution.inputs:
            meta["deepnote_variable_value"] = copy.deepcopy(execution.inputs[name])
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


# -- output helpers -------------------------------------------------------------------------


def stream(text: str, name: str = "stdout") -> dict[str, Any]:
    """An nbformat stream output."""
    return {"output_type": "stream", "name": name, "text": text}


def python_str(value: Any) -> str:
    """How Python's print() shows an input's value."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(repr(v) for v in value) + "]"
    return str(value)


def ipython_traceback(
    ename: str, evalue: str, *, cell: int, code: str, line: int
) -> tuple[str, ...]:
    """A traceback shaped like IPython's, ANSI colour codes included, as Deepnote stores it."""
    lines = code.splitlines()
    shown = []
    for number in range(max(line - 2, 1), min(line + 1, len(lines)) + 1):
        marker = "---> " if number == line else "     "
        shown.append(f"\x1b[0;32m{marker}{number:>3}\x1b[0m {lines[number - 1]}")
    return (
        "\x1b[0;31m" + "-" * 75 + "\x1b[0m",
        f"\x1b[0;31m{ename}\x1b[0m{' ' * max(42 - len(ename), 1)}Traceback (most recent call last)",
        f"Cell \x1b[0;32mIn[{cell}], line {line}\x1b[0m\n" + "\n".join(shown) + "\n",
        f"\x1b[0;31m{ename}\x1b[0m: {evalue}",
    )


def _line_of(code: str, needle: str) -> int:
    for number, text in enumerate(code.splitlines(), start=1):
        if needle in text:
            return number
    return 1


def dataframe_output(
    columns: Sequence[tuple[str, str]], rows: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """An execute_result holding a dataframe, in Deepnote's dataframe.v3 shape plus text/plain."""
    described = []
    for name, dtype in columns:
        values = [row[name] for row in rows]
        stats: dict[str, Any] = {"unique_count": len(set(values)), "nan_count": 0}
        if dtype in ("int64", "float64") and values:
            low, high = min(values), max(values)
            width = (high - low) / 10 or 1
            bins = [
                {
                    "bin_start": low + width * i,
                    "bin_end": low + width * (i + 1),
                    "count": sum(
                        1
                        for v in values
                        if low + width * i <= v < low + width * (i + 1) or (i == 9 and v == high)
                    ),
                }
                for i in range(10)
            ]
            stats.update(min=str(low), max=str(high), histogram=bins, categories=None)
        else:
            top = [{"name": str(v), "count": 1} for v in values[:2]]
            if len(values) > 2:
                top.append({"name": f"{len(values) - 2} others", "count": len(values) - 2})
            stats.update(min=None, max=None, histogram=None, categories=top)
        described.append({"name": name, "dtype": dtype, "stats": stats})
    described.append({"name": "_deepnote_index_column", "dtype": "int64"})
    table_rows = [
        {**{name: row[name] for name, _ in columns}, "_deepnote_index_column": index}
        for index, row in enumerate(rows)
    ]
    return {
        "output_type": "execute_result",
        "data": {
            "application/vnd.deepnote.dataframe.v3+json": {
                "column_count": len(columns),
                "columns": described,
                "row_count": len(rows),
                "preview_row_count": len(rows),
                "rows": table_rows,
                "type": "dataframe",
            },
            "text/plain": _frame_text([name for name, _ in columns], rows),
        },
        "metadata": {"table_state_spec": "{}"},
    }


def _frame_text(names: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    """Roughly how pandas prints a small frame."""
    cells = [[str(i)] + [_cell(row[n]) for n in names] for i, row in enumerate(rows)]
    header = ["", *names]
    widths = [max(len(c) for c in column) for column in zip(header, *cells, strict=True)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def png_bar_chart(values: Sequence[float], *, width: int = 320, height: int = 160) -> str:
    """A small bar chart as a base64 PNG, drawn without any imaging library."""
    background, bar_colour, axis = (255, 255, 255), (59, 130, 246), (120, 120, 120)
    pixels = [[background] * width for _ in range(height)]
    margin, top_pad = 12, 10
    for x in range(margin, width - margin):
        pixels[height - margin][x] = axis
    peak = max(values, default=0) or 1
    slot = (width - 2 * margin) / max(len(values), 1)
    for i, value in enumerate(values):
        bar_height = int((height - margin - top_pad) * value / peak)
        left, right = (
            int(margin + slot * i + slot * 0.15),
            int(margin + slot * (i + 1) - slot * 0.15),
        )
        for y in range(height - margin - bar_height, height - margin):
            for x in range(left, max(right, left + 1)):
                pixels[y][x] = bar_colour
    raw = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(png).decode("ascii")


# -- date ranges ----------------------------------------------------------------------------


def _months_back(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for candidate in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def date_range_bounds(value: Any, today: date) -> tuple[date, date]:
    """A date-range input's value as (start, end), the way Deepnote turns presets into dates."""
    if isinstance(value, list) and len(value) == 2:
        return date.fromisoformat(str(value[0])), date.fromisoformat(str(value[1]))
    text = str(value)
    fixed = {"past7days": 7, "past14days": 14}
    months = {"pastMonth": 1, "past3months": 3, "past6months": 6, "pastYear": 12}
    custom = _CUSTOM_DAYS.fullmatch(text)
    if text in fixed:
        return today - timedelta(days=fixed[text]), today
    if text in months:
        return _months_back(today, months[text]), today
    if custom:
        return today - timedelta(days=int(custom.group(1))), today
    return today, today


# -- behaviours -----------------------------------------------------------------------------


def python_value(spec: NotebookInput | None, value: Any, today: date) -> str:
    """How print() shows an input's variable: date ranges are lists of datetime.date."""
    if spec is not None and spec.type == "input-date-range":
        try:
            start, end = date_range_bounds(value, today)
        except ValueError:
            return python_str(value)
        return f"[{start!r}, {end!r}]"
    return python_str(value)


def _print_text(code: str, shown: Mapping[str, str]) -> str | None:
    """What a block made only of `print(literal or input)` calls prints; None for other code."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    printed = []
    for statement in tree.body:
        call = statement.value if isinstance(statement, ast.Expr) else None
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id == "print"
            and not call.keywords
        ):
            return None
        parts = []
        for arg in call.args:
            if isinstance(arg, ast.Constant):
                parts.append(python_str(arg.value))
            elif isinstance(arg, ast.Name) and arg.id in shown:
                parts.append(shown[arg.id])
            else:
                return None
        printed.append(" ".join(parts) + "\n")
    return "".join(printed) if printed else None


def echo_behaviour(notebook: SimNotebook, values: Mapping[str, Any], today: date) -> Script:
    """Any notebook: evaluate simple print blocks, replay the file's other outputs."""
    shown = {
        name: python_value(notebook.notebook.input_named(name), value, today)
        for name, value in values.items()
    }
    outputs: dict[str, list[dict[str, Any]]] = {}
    failure = None
    for block in notebook.blocks:
        block_id = str(block["id"])
        code = str(block.get("content") or "")
        text = _print_text(code, shown) if block.get("type") == "code" else None
        if text is not None:
            outputs[block_id] = [stream(text)]
            continue
        stored = [dict(o) for o in block.get("outputs") or [] if isinstance(o, Mapping)]
        errors = [o for o in stored if o.get("output_type") == "error"]
        outputs[block_id] = [o for o in stored if o.get("output_type") != "error"]
        if errors and failure is None:
            first = errors[0]
            failure = Failure(
                block_id=block_id,
                ename=str(first.get("ename") or "Error"),
                evalue=str(first.get("evalue") or ""),
                traceback=tuple(str(t) for t in first.get("traceback") or ()),
            )
    return Script(outputs=outputs, failure=failure)


# The sales sample: block ids from samples/sales-report.deepnote.
_SALES_HEADER = "170bea8ce1ba05e2deb1ca1cda097a2f"
_SALES_TOTALS = "4794c9154c170c4282779cf54ce8bd1a"
_SALES_BIG_NUMBER = "7b5e0009938448f7bb9c8426ef3e4e88"
_SALES_TABLE = "cab66f0d4e870089b57eab19351cabc6"
_SALES_CHART = "ce71a42b85705a0c538db11bf5f1b9ec"

SALES_PRODUCTS = {
    "Widget": 12.5,
    "Gadget": 30.0,
    "Sprocket": 4.25,
    "Gizmo": 18.0,
    "Doohickey": 7.5,
    "Thingamajig": 55.0,
    "Whatsit": 9.99,
    "Contraption": 120.0,
    "Dingus": 2.5,
    "Gubbins": 15.0,
}
SALES_STORES = {"Europe": 42, "North America": 57, "Asia Pacific": 31, "Mars": 0}


def sales_daily_units(region: str, channel: str, product: str) -> int:
    """Deterministic synthetic units sold per day (the notebook computes the same)."""
    if SALES_STORES.get(region, 0) == 0:
        return 0
    digest = hashlib.sha256(f"{region}|{channel}|{product}".encode()).digest()
    return 1 + digest[0] % 40


def sales_behaviour(notebook: SimNotebook, values: Mapping[str, Any], today: date) -> Script:
    """The "Sales report" sample: header, totals (fails for Mars), big number, table, chart."""
    region = str(values.get("region", ""))
    channels = [str(c) for c in values.get("channels") or []]
    start, end = date_range_bounds(values.get("period"), today)
    days = (end - start).days + 1
    units = {
        p: sum(sales_daily_units(region, c, p) for c in channels) * days for p in SALES_PRODUCTS
    }
    revenue = {
        p: u * price for (p, price), u in zip(SALES_PRODUCTS.items(), units.values(), strict=True)
    }
    if values.get("include_returns") is True:
        revenue = {p: r * 0.97 for p, r in revenue.items()}
    total = round(sum(revenue.values()), 2)
    header = (
        f"{values.get('report_title', '')}\n"
        f"Region: {region} · Channels: {', '.join(channels)}\n"
        f"Period: {start} → {end} ({days} days), as of {values.get('as_of', '')}\n"
        f"Returns subtracted: {'yes' if values.get('include_returns') is True else 'no'}\n"
        f"Price list: {values.get('price_list', '')}\n"
        f"Notes: {values.get('notes', '')}\n"
    )
    outputs: dict[str, list[dict[str, Any]]] = {_SALES_HEADER: [stream(header)]}
    failure = None
    stores = SALES_STORES.get(region, 0)
    if stores:
        outputs[_SALES_TOTALS] = [stream(f"Revenue per store: ${total / stores:,.2f}\n")]
    else:
        code = str((notebook.block(_SALES_TOTALS) or {}).get("content") or "")
        evalue = "float division by zero"
        failure = Failure(
            block_id=_SALES_TOTALS,
            ename="ZeroDivisionError",
            evalue=evalue,
            traceback=ipython_traceback(
                "ZeroDivisionError",
                evalue,
                cell=2,
                code=code,
                line=_line_of(code, "/ SALES_STORES"),
            ),
            reported=False,
        )
    title = f"Revenue · {region}"
    big_number = json.dumps({"title": title, "value": str(total)})
    outputs[_SALES_BIG_NUMBER] = [
        {"output_type": "execute_result", "data": {"text/plain": repr(big_number)}}
    ]
    top_n = int(float(str(values.get("top_n") or 5)))
    ranked = sorted(revenue, key=lambda p: (-revenue[p], p))[:top_n]
    rows: list[dict[str, Any]] = [
        {"Product": p, "Units": units[p], "Revenue ($)": round(revenue[p], 2)} for p in ranked
    ]
    outputs[_SALES_TABLE] = [
        dataframe_output(
            [("Product", "object"), ("Units", "int64"), ("Revenue ($)", "float64")], rows
        )
    ]
    outputs[_SALES_CHART] = [
        {
            "output_type": "display_data",
            "data": {
                "image/png": png_bar_chart([float(r["Revenue ($)"]) for r in rows]),
                "text/plain": "<Figure size 600x300 with 1 Axes>",
            },
        }
    ]
    return Script(outputs=outputs, failure=failure)


_QUALITY_CHECK = "748cbc13f6b95ac7e306b16cac383de4"
QUALITY_DATASETS = {"orders": (120, 0), "customers": (45, 0), "orders_with_gaps": (120, 3)}
"""dataset → (rows, rows without a customer_id)."""


def quality_behaviour(notebook: SimNotebook, values: Mapping[str, Any], today: date) -> Script:
    """The "Data quality check" sample: silent when the data is clean, fails on gaps."""
    dataset = str(values.get("dataset", ""))
    rows, missing = QUALITY_DATASETS.get(dataset, (0, 0))
    if not missing:
        return Script(outputs={})
    code = str((notebook.block(_QUALITY_CHECK) or {}).get("content") or "")
    evalue = f"{missing} of {rows} rows in {dataset} have no customer_id"
    return Script(
        outputs={},
        failure=Failure(
            block_id=_QUALITY_CHECK,
            ename="AssertionError",
            evalue=evalue,
            traceback=ipython_traceback(
                "AssertionError", evalue, cell=2, code=code, line=_line_of(code, "assert missing")
            ),
            reported=True,
        ),
    )


SAMPLE_BEHAVIOURS: dict[str, Behaviour] = {
    SALES_NOTEBOOK_ID: sales_behaviour,
    QUALITY_NOTEBOOK_ID: quality_behaviour,
}
"""Notebooks with their own behaviour; every other one (Hello world included) echoes."""
