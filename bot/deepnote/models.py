"""Typed values for what the bot sends to and reads from Deepnote's API v2."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage.records import TERMINAL_STATUSES

InputValue = str | bool | list[str]
"""What Deepnote accepts as an input value: string, boolean or list of strings."""

FAILED_STATUSES = frozenset({"error", "internal_error", "stopped"})

INPUT_TYPES = (
    "input-text",
    "input-textarea",
    "input-checkbox",
    "input-select",
    "input-slider",
    "input-date",
    "input-date-range",
    "input-file",
)

DATE_RANGE_PRESETS = (
    "past7days",
    "past14days",
    "pastMonth",
    "past3months",
    "past6months",
    "pastYear",
)
"""Fixed presets; `customDays<N>` is accepted too."""


def is_terminal(status: str) -> bool:
    """True for statuses after which a run never changes; unknown statuses are not terminal."""
    return status in TERMINAL_STATUSES


@dataclass(frozen=True)
class NotebookInput:
    """One input block of a notebook, as GET /v2/notebooks/{id} describes it."""

    name: str
    type: str
    value: Any = None
    label: str = ""
    block_id: str | None = None
    options: tuple[str, ...] | None = None
    multiple: bool = False
    min: float | None = None
    max: float | None = None
    step: float | None = None
    allowed_extensions: str | None = None


@dataclass(frozen=True)
class NotebookBlock:
    """A block of a notebook (only what the bot needs); `metadata` when Deepnote sent it."""

    id: str
    type: str
    content: str = ""
    metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Notebook:
    """A notebook with its input blocks."""

    id: str
    name: str
    inputs: tuple[NotebookInput, ...] = ()
    blocks: tuple[NotebookBlock, ...] = ()
    project_id: str | None = None

    def input_named(self, name: str) -> NotebookInput | None:
        """The input with this variable name, if any."""
        return next((i for i in self.inputs if i.name == name), None)


@dataclass(frozen=True)
class ListedNotebook:
    """A notebook as GET /v2/projects lists it: its id and name, and its project's."""

    id: str
    name: str
    project_id: str
    project_name: str


@dataclass(frozen=True)
class Project:
    """One project of GET /v2/projects, with the notebooks in it."""

    id: str
    name: str
    notebooks: tuple[ListedNotebook, ...] = ()


@dataclass(frozen=True)
class RunRequest:
    """What to start: the body of POST /v2/runs, built by `to_body`.

    >>> RunRequest("abc", {"n": "3"}).to_body()
    {'notebookId': 'abc', 'detached': True, 'inputs': {'n': '3'}}
    >>> RunRequest("abc", {}, block_ids=("b1",), run_dependents=True).to_body()
    {'notebookId': 'abc', 'detached': False, 'blockIds': ['b1'], 'runDependentBlocks': True}
    """

    notebook_id: str
    inputs: Mapping[str, InputValue] = field(default_factory=dict)
    readonly: bool = False
    block_ids: tuple[str, ...] = ()
    run_dependents: bool = False

    def to_body(self) -> dict[str, Any]:
        """The JSON body, following Deepnote's detached/blockIds rules."""
        body: dict[str, Any] = {"notebookId": self.notebook_id}
        if self.block_ids:
            body["detached"] = False
            body["blockIds"] = list(self.block_ids)
            if self.run_dependents:
                body["runDependentBlocks"] = True
        else:
            body["detached"] = True
            if self.readonly:
                body["detachedRunStorageMode"] = "readonly"
        if self.inputs:
            body["inputs"] = {
                k: (list(v) if isinstance(v, list) else v) for k, v in self.inputs.items()
            }
        return body


@dataclass(frozen=True)
class RunCreated:
    """The answer to POST /v2/runs."""

    run_id: str
    status: str
    created_at: datetime | None = None


@dataclass(frozen=True)
class Run:
    """A run as GET /v2/runs/{id} describes it."""

    run_id: str
    status: str
    notebook_id: str | None = None
    project_id: str | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None
    error: str | None = None
    snapshot_url: str | None = None
    snapshot_content: str | None = None

    @property
    def finished(self) -> bool:
        """True once the status is terminal."""
        return is_terminal(self.status)


@dataclass(frozen=True)
class RunSummary:
    """One row of GET /v2/notebooks/{id}/runs."""

    run_id: str
    status: str
    created_at: datetime | None = None
    completed_at: datetime | None = None
