"""Plain records the stores hand out: frozen, typed, no database handles inside."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# A run row's status before Deepnote has answered the create call.
CREATING = "creating"
# The create call failed; nothing runs in Deepnote.
CREATE_FAILED = "create_failed"
# The bot gave up following the run (its status could not be read for too long).
LOST = "lost"


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

    @property
    def duration_seconds(self) -> float | None:
        """Seconds from creation to completion, once completed."""
        if self.completed_at is None:
            return None
        return max(0.0, (self.completed_at - self.created_at).total_seconds())
