"""Watch messages: started, listed, stopped, paused itself; and a notebook's run history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.slack.messages.blocks import MAX_BLOCKS, Message, context, make_message, section
from bot.slack.messages.schedules import ALERT_WORDS, alert_summary
from bot.slack.messages.status import (
    ELSEWHERE,
    TRIGGER_NOW,
    TRIGGER_WATCH,
    format_duration,
    source_words,
    status_emoji,
)
from bot.text.mrkdwn import code, escape, slack_date, truncate, user_mention
from storage.records import RunRecord
from storage.watches import WatchRecord

WATCH_NOTIFY_WORDS = {
    "always": "every run is posted here",
    "failures": "only failed runs are posted here",
    "changes": "a run is posted when its outcome differs from the previous run's "
    "(a first run only when it fails)",
}
REASON_CHARS = 150


def _wid(watch: WatchRecord) -> str:
    return code(str(watch.id), limit=20)


def _name(watch: WatchRecord) -> str:
    return f"*{escape(truncate(watch.notebook_name or watch.notebook_id, 150))}*"


def watch_created(watch: WatchRecord, *, every_seconds: float) -> Message:
    """The channel's notice of a new watch: what is posted here from now on, and by whom."""
    owner = user_mention(watch.owner_id)
    head = f"👀 {owner} is watching {_name(watch)} in this channel: watch {_wid(watch)}."
    body = (
        "From now on every run of it is followed here, whoever starts it: this bot, "
        "Deepnote's UI, Deepnote's scheduler or another API client. Runs from before now "
        "are not posted."
    )
    notify = f"*Notify:* {code(watch.notify)}: {WATCH_NOTIFY_WORDS.get(watch.notify, '')}"
    if watch.notify_if is not None:
        notify = (
            f"*Notify if:* {code(watch.notify_if, limit=200)} ({code(watch.notify)}): "
            f"{ALERT_WORDS.get(watch.notify, '')}"
        )
    manage = code(f"/deepnote unwatch {watch.id}")
    blocks = [
        section(head),
        section(body),
        section(notify),
        context(
            [
                f"The bot looks for new runs every {format_duration(every_seconds)}. "
                f"Stop it with {manage}; only {owner} or a bot admin can."
            ]
        ),
    ]
    settings = watch.notify if watch.notify_if is None else f"{watch.notify}, if {watch.notify_if}"
    fallback = f"👀 Watch {watch.id}: {escape(watch.notebook_name)} ({escape(settings)})"
    return make_message(fallback, blocks)


def watch_deleted(watch: WatchRecord, *, actor: str) -> Message:
    """The channel's notice that a watch is gone."""
    text = (
        f"🗑️ {user_mention(actor)} stopped watch {_wid(watch)} ({_name(watch)}). Its new runs "
        "are no longer posted here; runs it had already found are still followed."
    )
    return make_message(f"Watch {watch.id} stopped", [section(text)])


def watch_paused_itself(watch: WatchRecord, *, reason: str) -> Message:
    """The channel's one notice that a watch stopped looking (`reason` is bot-written)."""
    text = (
        f"⏸️ Watch {_wid(watch)} ({_name(watch)}) is paused: {reason} Its runs are no longer "
        f"posted here. Remove it with {code(f'/deepnote unwatch {watch.id}')}, and watch the "
        "notebook again once the bot may see it."
    )
    return make_message(f"Watch {watch.id} paused", [section(text)])


def _watch_line(watch: WatchRecord) -> str:
    if watch.paused:
        why = f" ({truncate(watch.paused_reason, 200)})" if watch.paused_reason else ""
        state = f"⏸️ *Paused*{why}"
    else:
        state = "👀 Watching"
    if watch.last_status is None:
        last = "no runs seen yet"
    else:
        when = f" {slack_date(watch.last_finished_at)}" if watch.last_finished_at else ""
        last = f"{status_emoji(watch.last_status)} {escape(watch.last_status)}{when}"
    alert = alert_summary(watch)
    return "\n".join(
        [
            f"{_wid(watch)} {_name(watch)}",
            f"{state} · *Last:* {last}",
            *([alert] if alert is not None else []),
            f"Owner {user_mention(watch.owner_id)} · notify {code(watch.notify)} · "
            f"since {slack_date(watch.created_at)}",
        ]
    )


def watches_listing(watches: Sequence[WatchRecord]) -> Message:
    """`/deepnote watches`: the channel's watches, their state and last run."""
    if not watches:
        text = "No notebook is watched in this channel. Start with `/deepnote watch <notebook>`."
        return make_message(text.replace("<", "&lt;").replace(">", "&gt;"), [section(text)])
    room = MAX_BLOCKS - 2
    blocks = [section(f"*Watches in this channel* ({len(watches)})")]
    blocks += [section(_watch_line(w)) for w in watches[:room]]
    if len(watches) > room:
        blocks.append(context([f"…and {len(watches) - room} more not shown."]))
    fallback = "Watches in this channel: " + ", ".join(
        f"{w.id} ({escape(truncate(w.notebook_name, 60))})" for w in watches[:100]
    )
    return make_message(fallback, blocks)


# --- history ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    """One run of a notebook as `history` shows it: Deepnote's listing, plus what the bot
    knows of it (`known`: its own row, for runs it started or followed)."""

    run_id: str
    status: str
    created_at: datetime | None
    completed_at: datetime | None
    known: RunRecord | None = None


def started_by(known: RunRecord | None) -> str:
    """Who or what started a run, in words (bot-written mrkdwn)."""
    if known is None:
        return ELSEWHERE
    if known.trigger == TRIGGER_WATCH:
        return source_words(known.source)
    schedule = code(known.schedule_id or "?", limit=20)
    if known.trigger == "schedule":
        return f"schedule {schedule}"
    if known.trigger == TRIGGER_NOW:
        return f"{user_mention(known.user_id)} (schedule {schedule})"
    return user_mention(known.user_id)


def _history_line(entry: HistoryEntry) -> str:
    parts = [f"{status_emoji(entry.status)} {escape(entry.status.replace('_', ' '))}"]
    parts.append(slack_date(entry.created_at) if entry.created_at else "unknown time")
    if entry.created_at and entry.completed_at:
        parts.append(format_duration((entry.completed_at - entry.created_at).total_seconds()))
    parts.append(started_by(entry.known))
    line = " · ".join(parts)
    error = entry.known.error if entry.known is not None else None
    if entry.status not in ("success", "pending", "running") and error and error.strip():
        first = error.strip().splitlines()[0]
        line += f"\n      _Why:_ {escape(truncate(first, REASON_CHARS))}"
    return line


def success_rate(entries: Sequence[HistoryEntry]) -> str:
    """The success rate over the finished runs listed, in words.

    >>> e = [HistoryEntry("a", s, None, None) for s in ("success", "error", "running")]
    >>> success_rate(e)
    '1 of 2 finished runs succeeded (50%); 1 not finished yet'
    """
    finished = [e for e in entries if e.status not in ("pending", "running")]
    ok = sum(1 for e in finished if e.status == "success")
    waiting = len(entries) - len(finished)
    more = f"; {waiting} not finished yet" if waiting else ""
    if not finished:
        return "no finished runs among these" + more
    rate = round(100 * ok / len(finished))
    return f"{ok} of {len(finished)} finished runs succeeded ({rate}%){more}"


def history_listing(
    notebook_name: str, entries: Sequence[HistoryEntry], *, more: bool, most: int
) -> Message:
    """`/deepnote history`: the latest runs, newest first, and the success rate over them."""
    name = escape(truncate(notebook_name, 150))
    if not entries:
        text = f"*{name}* has no runs yet in Deepnote."
        return make_message(text, [section(text)])
    head = (
        f"*The latest run of {name}*"
        if len(entries) == 1
        else f"*Latest {len(entries)} runs of {name}*, newest first"
    )
    lines = [_history_line(e) for e in entries]
    blocks = [section(head)]
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > 2800:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(section("\n".join(chunk)))
    notes = [f"*Success rate:* {success_rate(entries)}"]
    if more:
        notes.append(f"Older runs are not shown; a count after the notebook lists up to {most}.")
    notes.append(
        f"Runs this bot did not start or follow show as {ELSEWHERE}: Deepnote's run list does "
        "not say who started them, and their failure reason is in Deepnote."
    )
    blocks.append(context(notes))
    fallback = f"{head.replace('*', '')}: {success_rate(entries)}"
    return make_message(fallback, blocks)
