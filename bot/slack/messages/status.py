"""Words about a run: durations, status emoji, what happened and who started it."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from bot.text.mrkdwn import code, escape, link, truncate, user_mention
from storage.records import CREATE_FAILED, CREATING, LOST, TERMINAL_STATUSES, RunRecord

FINISHED_STATUSES = TERMINAL_STATUSES | {CREATE_FAILED, LOST}

TRIGGER_NOW = "trigger"
"""`RunRecord.trigger` of a run started with `/deepnote trigger <schedule-id>`."""
TRIGGER_WATCH = "watch"
"""`RunRecord.trigger` of a run the bot did not start, found by a watch."""
ELSEWHERE = "Deepnote (UI, scheduler or API)"
"""Who started a run the bot did not start, when Deepnote has not said."""

# Deepnote's `triggeredBy` (in a run's snapshot) in words.
SOURCE_WORDS = {
    "user": "someone in Deepnote's UI",
    "schedule": "Deepnote's scheduler",
    "api": "another Deepnote API client",
    "ci": "CI",
}
TRIGGER_WORKFLOW = "workflow"
"""`RunRecord.trigger` of a run a Workflow Builder step started."""


def format_duration(seconds: float) -> str:
    """A duration in words, to the second below an hour.

    >>> [format_duration(s) for s in (4, 125, 3780, 0.2)]
    ['4 s', '2 min 5 s', '1 h 3 min', 'less than 1 s']
    """
    if not math.isfinite(seconds) or seconds < 1:
        return "less than 1 s"
    total = int(seconds)
    if total < 60:
        return f"{total} s"
    if total < 3600:
        minutes, secs = divmod(total, 60)
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    if total < 86400:
        hours, minutes = divmod(total // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(total // 3600, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


STATUS_EMOJI = {
    CREATING: "⏳",
    "pending": "⏳",
    "running": "🏃",
    "success": "✅",
    "error": "❌",
    "internal_error": "⚠️",
    "stopped": "⏹",
    CREATE_FAILED: "❌",
    LOST: "⚠️",
}


def status_emoji(status: str) -> str:
    """The emoji for a status; unknown statuses are treated as still pending."""
    return STATUS_EMOJI.get(status, "⏳")


def aware(when: datetime) -> datetime:
    """`when` with a time zone: a naive time is taken as UTC."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _elapsed(start: datetime, end: datetime) -> float:
    return max(0.0, (aware(end) - aware(start)).total_seconds())


def is_finished(run: RunRecord) -> bool:
    """True when the run will not change any more (Deepnote's terminal statuses, or the bot's)."""
    return run.status in FINISHED_STATUSES


def outcome(run: RunRecord, now: datetime) -> str:
    """What happened, in words after the notebook name ("succeeded in 2 min 5 s")."""
    took = run.duration_seconds
    after = f" after {format_duration(took)}" if took is not None else ""
    since = _elapsed(run.started_at or run.created_at, now)
    match run.status:
        case "success":
            return f"succeeded in {format_duration(took)}" if took is not None else "succeeded"
        case "error":
            return "failed" + after
        case "internal_error":
            return "hit an internal error in Deepnote" + after
        case "stopped":
            return "was stopped" + after
        case "create_failed":
            return "could not be started"
        case "lost":
            return "is no longer followed by the bot" + after
        case "running":
            return f"has been running for {format_duration(since)}"
        case "pending":
            return f"has been waiting to start for {format_duration(since)}"
        case "creating":
            return "is starting…"
        case _:
            return f"has status {code(run.status, limit=40)} ({format_duration(since)} so far)"


def notebook_ref(run: RunRecord, *, linked: bool = True) -> str:
    """The notebook's name in bold, linked to it when the URL is safe and `linked`.

    A message with the *Open in Deepnote* button, or in the thread of one, passes
    `linked=False`: the notebook's long URL is then in the message once, not on each line.
    """
    name = truncate(run.notebook_name or run.notebook_id, 150)
    return f"*{link(run.notebook_url, name) if linked else escape(name)}*"


def source_words(source: str | None) -> str:
    """Who or what started a run the bot did not start, as Deepnote's `triggeredBy` says.

    >>> source_words("schedule"), source_words(None)
    ("Deepnote's scheduler", 'Deepnote (UI, scheduler or API)')
    """
    if source is None:
        return ELSEWHERE
    return SOURCE_WORDS.get(source, f"Deepnote ({escape(truncate(source, 40))})")


def starter(run: RunRecord) -> str:
    """Who or what started the run ("started by @ann")."""
    if run.trigger == TRIGGER_WATCH:
        watch = code(str(run.watch_id or "?"), limit=20)
        return f"started by {source_words(run.source)}, seen by watch {watch}"
    if run.trigger == "schedule" or (run.schedule_id and not run.user_id):
        return f"started by schedule {code(run.schedule_id or 'unknown', limit=60)}"
    if run.trigger == TRIGGER_NOW:
        schedule = code(run.schedule_id or "unknown", limit=60)
        return f"started by {user_mention(run.user_id)} from schedule {schedule}"
    if run.trigger == TRIGGER_WORKFLOW:
        return f"started by {user_mention(run.user_id)} from a workflow"
    return f"started by {user_mention(run.user_id)}"
