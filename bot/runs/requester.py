"""Who asked for a run, and where its messages go."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Requester:
    """Who asked for a run and where its card goes."""

    user_id: str
    team_id: str
    channel_id: str
    thread_ts: str | None = None
    trigger: str = "command"
    schedule_id: str | None = None
    # A slash command's or click's trigger_id: lets the bot open a modal (for about 3 s).
    trigger_id: str | None = None
    # The stored request (command, mention, click or form) this came from: its run is keyed
    # by it, so starting it again after a restart finds the run instead of a second one.
    intent_id: str | None = None
