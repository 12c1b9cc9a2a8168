"""Plain records the stores hand out: frozen, typed, no database handles inside."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Deepnote's run statuses after which a run changes no more.
TERMINAL_STATUSES = frozenset({"success", "error", "internal_error", "stopped"})

# A run row's status before Deepnote has answered the create call.
CREATING = "creating"
# The create call failed; nothing runs in Deepnote.
CREATE_FAILED = "create_failed"
# The bot gave up following the run (its status could not be read for too long).
LOST = "lost"


@dataclass(frozen=True)
class RunOptions:
    """How a notebook is run, besides its inputs: the same for a command, a form, a button,
    a schedule and a re-run."""

    readonly: bool = False
    """Deepnote's read-only storage mode (full-notebook runs only)."""
    block_ids: tuple[str, ...] = ()
    """Run only these blocks (empty: the whole notebook)."""
    run_dependents: bool = False
    """With `block_ids`: also run the blocks that depend on them."""
    post_outputs: str | None = None
    """Which outputs to post as key results (`None`: the default choice)."""
    notify_if: str | None = None
    """The `--notify-if` condition (as `describe` writes it): checked when the run ends."""


@dataclass(frozen=True)
class RunRecord:
    """Everything the bot knows about one run it started.

    `status` is Deepnote's status (pending, running, success, error, internal_error,
    stopped, or an unknown one), or one of the bot's own: creating, create_failed, lost.
    """

    id: str
    notebook_id: str
    notebook_name: str
    user_id: str
    team_id: str
    channel_id: str
    status: str
    created_at: datetime
    inputs: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    project_id: str | None = None
    notebook_url: str | None = None
    thread_ts: str | None = None
    card_ts: str | None = None
    readonly: bool = False
    block_ids: tuple[str, ...] = ()
    run_dependents: bool = False
    trigger: str = "command"
    quiet: bool = False
    schedule_id: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: str | None = None
    failing_block: str | None = None
    snapshot_url: str | None = None
    watch_id: int | None = None
    """The watch that found this run (a run the bot did not start), if any."""
    source: str | None = None
    """What started the run as Deepnote's snapshot says (`triggeredBy`: user, schedule, api,
    ci), for runs a watch found; None until known."""

    @property
    def duration_seconds(self) -> float | None:
        """Seconds from creation to completion, once completed."""
        if self.completed_at is None:
            return None
        return max(0.0, (self.completed_at - self.created_at).total_seconds())


# --- key results of a finished run, as read from its snapshot ---------------------------------


@dataclass(frozen=True)
class TextResult:
    """Text a block printed or returned (stdout, text/plain, markdown, html as text)."""

    block_id: str
    title: str
    text: str


@dataclass(frozen=True)
class BigNumberResult:
    """A big-number block's value and, when enabled, its comparison (already in words)."""

    block_id: str
    title: str
    value: str
    comparison: str | None = None


@dataclass(frozen=True)
class TableResult:
    """The first rows and columns of a dataframe output, cells as strings."""

    block_id: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    total_rows: int
    total_columns: int = 0


@dataclass(frozen=True)
class ImageResult:
    """An image output, decoded; the caller uploads it as a file."""

    block_id: str
    title: str
    mime: str
    data: bytes


@dataclass(frozen=True)
class ChartResult:
    """A Vega / Vega-Lite chart spec."""

    block_id: str
    title: str
    spec: Mapping[str, Any]


ResultItem = TextResult | BigNumberResult | TableResult | ImageResult | ChartResult
