"""Notebooks for the Deepnote simulator: loading `.deepnote` files, their API ids and inputs.

`load_notebooks` reads `.deepnote` / `.snapshot.deepnote` YAML files (format 1.0.0). Each notebook
gets a stable 32-hex API id (its file id without dashes when that is a UUID, else a hash) and
its inputs come from the `input-*` blocks' metadata, as GET /v2/notebooks/{id} reports them.

A run never executes code: `execution.execute` asks the notebook's *behaviour* (see
`behaviours`) what each block prints for the given inputs, and `execution.render_snapshot` turns
the result into the snapshot YAML Deepnote would attach to the run.

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

import dataclasses
import functools
import hashlib
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from bot.deepnote.models import (
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


# -- generated notebooks (many, for search and listing benchmarks) ------------------------------

_TOPICS = ("Sales", "Churn", "Revenue", "Inventory", "Marketing", "Forecast", "Quality", "Users")
_KINDS = ("report", "dashboard", "model", "check", "export")
_TEAMS = ("Finance", "Growth", "Data", "Ops", "Product")


def generated_notebooks(
    count: int, *, per_project: int = 1, template: SimNotebook, seed: str = "generated"
) -> list[SimNotebook]:
    """`count` copies of `template` with their own ids and varied names, `per_project` to a
    project: e.g. *Churn model 00012* in *Growth team 00012* (ids stable for a `seed`).

    The copies run like the template (same blocks and inputs); they are made in memory, so
    thousands take a fraction of a second.
    """
    made = []
    for i in range(count):
        group = i // max(1, per_project)
        name = f"{_TOPICS[i % len(_TOPICS)]} {_KINDS[i // len(_TOPICS) % len(_KINDS)]} {i:05d}"
        project_name = f"{_TEAMS[group % len(_TEAMS)]} team {group:05d}"
        notebook_id = hashlib.sha256(f"{seed}/notebook/{i}".encode()).hexdigest()[:32]
        project_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{seed}/project/{group}"))
        api = dataclasses.replace(
            template.notebook, id=notebook_id, name=name, project_id=project_id
        )
        made.append(
            dataclasses.replace(
                template,
                id=notebook_id,
                name=name,
                project_id=project_id,
                project_name=project_name,
                notebook=api,
            )
        )
    return made
