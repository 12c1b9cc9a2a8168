"""Schedule messages: created, listed, paused, resumed, deleted, skipped, failing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.slack.messages.blocks import (
    MAX_BLOCKS,
    Block,
    Message,
    context,
    make_message,
    section,
    sections,
)
from bot.slack.messages.inputs import input_lines
from bot.slack.messages.status import aware, format_duration
from bot.text.mrkdwn import code, escape, slack_date, truncate, user_mention
from storage.schedules import FieldChange, ScheduleRecord

NOTIFY_WORDS = {
    "always": "every run is posted here",
    "failures": "only failed runs are posted here; successes are recorded quietly",
    "changes": "a run is posted when its outcome differs from the previous run's "
    "(a first run only when it fails)",
}


EDIT_SCHEDULE = "schedule_edit"
"""The action id of the *Edit…* button (a schedule's message and the Home tab)."""


def edit_button(schedule: ScheduleRecord) -> Block:
    """The *Edit…* button that opens the edit form of a schedule."""
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": "Edit…"},
        "action_id": EDIT_SCHEDULE,
        "value": str(schedule.id),
    }


ALERT_WORDS = {
    "always": "every run where it holds is posted, then one *back to normal* when it stops; "
    "other runs are recorded quietly",
    "changes": "posted once when it starts holding and once when it is back to normal; "
    "other runs are recorded quietly",
}


class Alerting(Protocol):
    """A schedule or a watch: what `alert_summary` reads of it."""

    @property
    def notify_if(self) -> str | None:
        """The condition (`--notify-if`), or None."""

    @property
    def alert_state(self) -> str | None:
        """The condition's last definite answer."""

    @property
    def alert_last(self) -> str | None:
        """The last run's answer."""


def alert_summary(schedule: Alerting) -> str | None:
    """The condition of a schedule (or watch) and where it stands, for listings; None without
    a condition.

    >>> from datetime import UTC
    >>> s = ScheduleRecord(1, "T", "C", "U", "nb", "KPI", "0 9 * * *", "UTC", "changes",
    ...     datetime(2026, 1, 1, tzinfo=UTC), notify_if="churn_rate > 5%", alert_state="holds")
    >>> alert_summary(s)
    '🚨 *Alert* `churn_rate &gt; 5%`: holds'
    """
    if schedule.notify_if is None:
        return None
    condition = code(schedule.notify_if, limit=200)
    if schedule.alert_state == "holds":
        said = "🚨 *Alert* {c}: holds"
    elif schedule.alert_state == "clear":
        said = "✅ *Alert* {c}: normal"
    elif schedule.alert_last == "unknown":
        return f"🔔 *Alert* {condition}: the last run could not be checked"
    else:
        said = "🔔 *Alert* {c}: not checked yet"
    if schedule.alert_last == "unknown":
        said += " (the last run could not be checked)"
    return said.format(c=condition)


def format_slot(when: datetime, tz: str) -> str:
    """A firing instant as people in the schedule's zone read it.

    >>> from datetime import UTC
    >>> format_slot(datetime(2026, 11, 26, 8, tzinfo=UTC), "Europe/Prague")
    'Thu 26 Nov 2026, 09:00 CET'
    """
    local = aware(when).astimezone(ZoneInfo(tz))
    return f"{local:%a %d %b %Y, %H:%M} {local.tzname()}"


def _schedule_id(schedule: ScheduleRecord) -> str:
    return code(str(schedule.id), limit=20)


def _schedule_name(schedule: ScheduleRecord) -> str:
    return f"*{escape(truncate(schedule.notebook_name or schedule.notebook_id, 150))}*"


def _command(name: str, schedule: ScheduleRecord) -> str:
    return code(f"/deepnote {name} {schedule.id}")


def _plain_message(lines: Sequence[str], fallback: str) -> Message:
    return make_message(fallback, sections(lines))


def schedule_created(
    schedule: ScheduleRecord, *, words: str, tz_source: str, next_runs: Sequence[datetime]
) -> Message:
    """The channel's notice of a new schedule: when in words, zone, next runs, inputs, notify.

    `words` is `schedule_math.describe` of the schedule (bot-written mrkdwn).
    """
    sid, name, owner = _schedule_id(schedule), _schedule_name(schedule), schedule.owner_id
    head = f"🗓️ {user_mention(owner)} scheduled {name} in this channel: schedule {sid}."
    when = [
        f"*When:* {words}",
        f"*Time zone:* {escape(schedule.tz)} ({escape(tz_source)})",
        "*Next runs:*",
        *(f"• {format_slot(t, schedule.tz)}" for t in next_runs),
    ]
    if schedule.inputs:
        inputs = "\n".join(["*Inputs:*", *input_lines(dict(schedule.inputs))])
    else:
        inputs = "*Inputs:* none, so the notebook's own values are used"
    settings = [f"*Notify:* {code(schedule.notify)}: {NOTIFY_WORDS.get(schedule.notify, '')}"]
    if schedule.notify_if is not None:
        settings = [
            f"*Notify if:* {code(schedule.notify_if, limit=200)} "
            f"({code(schedule.notify)}): {ALERT_WORDS.get(schedule.notify, '')}"
        ]
    if schedule.post_outputs:
        settings.append(f"*Outputs posted:* {code(schedule.post_outputs, limit=200)}")
    manage = ", ".join(_command(c, schedule) for c in ("pause", "trigger", "unschedule"))
    blocks = [
        section(head),
        section("\n".join(when)),
        section(inputs),
        section("\n".join(settings)),
        context(
            [
                f"Cron {code(schedule.expression)} · Manage it with {manage}; only "
                f"{user_mention(owner)} or a bot admin can."
            ]
        ),
        {"type": "actions", "elements": [edit_button(schedule)]},
    ]
    first = format_slot(next_runs[0], schedule.tz) if next_runs else "none"
    fallback = (
        f"🗓️ Schedule {schedule.id}: {escape(schedule.notebook_name)} {words} "
        f"({escape(schedule.tz)}); next run {first}"
    )
    return make_message(fallback, blocks)


_FIELD_WORDS = {
    "when": "When",
    "tz": "Time zone",
    "notify": "Notify",
    "post_outputs": "Outputs posted",
    "notify_if": "Notify if",
}


def _shown(value: str | None, *, when: bool = False) -> str:
    if value is None:
        return "_not set_"
    # The timing in words is bot-written mrkdwn; everything else is what a person typed.
    return value if when else code(value, limit=200)


def change_line(change: FieldChange) -> str:
    """One changed field as `*Name:* old → new` (values escaped, except the bot's words).

    >>> change_line(FieldChange("inputs.region", "Europe", "Asia"))
    '*Input `region`:* `Europe` → `Asia`'
    """
    if change.field.startswith("inputs."):
        label = f"Input {code(change.field.removeprefix('inputs.'), limit=100)}"
    else:
        label = _FIELD_WORDS.get(change.field, escape(change.field))
    when = change.field == "when"
    return f"*{label}:* {_shown(change.old, when=when)} → {_shown(change.new, when=when)}"


def schedule_edited(
    schedule: ScheduleRecord,
    *,
    actor: str,
    changes: Sequence[FieldChange],
    words: str,
    next_runs: Sequence[datetime],
) -> Message:
    """The channel's notice that a schedule was changed: what changed, old → new, and the
    next three runs (or that it stays paused)."""
    sid, name = _schedule_id(schedule), _schedule_name(schedule)
    head = (
        f"✏️ {user_mention(actor)} changed schedule {sid} ({name}, {words}, {escape(schedule.tz)})."
    )
    lines = [change_line(c) for c in changes[:40]]
    if len(changes) > 40:
        lines.append(f"…and {len(changes) - 40} more changes")
    if any(c.field == "notify_if" for c in changes):
        lines.append(
            "The alert starts afresh: the new condition has not been checked yet, so the next "
            "run where it holds is posted as an alert."
            if schedule.notify_if is not None
            else f"Without a condition, runs are posted by *Notify* ({code(schedule.notify)})."
        )
    if schedule.paused:
        nexts = f"It stays paused; resume it with {_command('resume', schedule)}."
    else:
        nexts = "\n".join(
            ["*Next runs:*", *(f"• {format_slot(t, schedule.tz)}" for t in next_runs)]
        )
    blocks = [
        section(head),
        *sections(lines),
        section(nexts),
        context(
            [
                "A run already under way finishes under the settings it started with; "
                "the next one uses the change."
            ]
        ),
        {"type": "actions", "elements": [edit_button(schedule)]},
    ]
    first = format_slot(next_runs[0], schedule.tz) if next_runs and not schedule.paused else "none"
    fallback = (
        f"✏️ Schedule {schedule.id} ({escape(schedule.notebook_name)}) changed; next run {first}"
    )
    return make_message(fallback, blocks)


def _last_result(schedule: ScheduleRecord) -> str:
    if schedule.last_status is None:
        return "no runs yet"
    emoji = "✅" if schedule.last_status == "success" else "❌"
    when = f" {slack_date(schedule.last_finished_at)}" if schedule.last_finished_at else ""
    failures = schedule.consecutive_failures
    streak = f" ({failures} failures in a row)" if failures > 1 else ""
    return f"{emoji} {escape(schedule.last_status)}{when}{streak}"


def _schedule_line(schedule: ScheduleRecord, words: str) -> str:
    sid, name = _schedule_id(schedule), _schedule_name(schedule)
    if schedule.paused:
        # Bot-written ("paused by <@U…>"), so shown as it is.
        why = f" ({truncate(schedule.paused_reason, 200)})" if schedule.paused_reason else ""
        state = f"⏸️ *Paused*{why}; resume with {_command('resume', schedule)}"
    elif schedule.next_fire_at is not None:
        state = f"*Next:* {format_slot(schedule.next_fire_at, schedule.tz)}"
    else:
        state = "*Next:* none"
    return "\n".join(
        [
            f"{sid} {name}: {words} · {escape(schedule.tz)}",
            f"{state} · *Last:* {_last_result(schedule)}",
            f"Owner {user_mention(schedule.owner_id)} · notify {code(schedule.notify)}",
            *([alert] if (alert := alert_summary(schedule)) else []),
        ]
    )


def schedules_listing(schedules: Sequence[tuple[ScheduleRecord, str]], *, example: str) -> Message:
    """`/deepnote schedules`: each schedule with its words (given), next run and last result.

    `example` is a ready mrkdwn example of the schedule command, for the empty case.
    """
    if not schedules:
        return _plain_message(
            [
                "There are no schedules in this channel yet.",
                f"Create one with, for example, {example}",
            ],
            "There are no schedules in this channel yet.",
        )
    room = MAX_BLOCKS - 2
    blocks = [section(f"*Schedules in this channel* ({len(schedules)})")]
    blocks += [section(_schedule_line(s, words)) for s, words in schedules[:room]]
    if len(schedules) > room:
        blocks.append(context([f"…and {len(schedules) - room} more not shown."]))
    fallback = "Schedules in this channel: " + ", ".join(
        f"{s.id} ({escape(truncate(s.notebook_name, 60))})" for s, _ in schedules[:100]
    )
    return make_message(fallback, blocks)


def _about(schedule: ScheduleRecord, words: str) -> str:
    """`(name, when in words, zone)` of a schedule."""
    return f"({_schedule_name(schedule)}, {words}, {escape(schedule.tz)})"


def _changed(schedule: ScheduleRecord, did: str, *, actor: str, words: str, then: str) -> str:
    """`<emoji> @actor <did> schedule 7 (name, words, zone). <then>`; `did` is emoji and verb."""
    emoji, verb = did.split(" ", 1)
    about = _about(schedule, words)
    return f"{emoji} {user_mention(actor)} {verb} schedule {_schedule_id(schedule)} {about}. {then}"


def schedule_paused(schedule: ScheduleRecord, *, actor: str, words: str) -> Message:
    """The channel's notice that someone paused a schedule."""
    then = f"It will not run until someone resumes it with {_command('resume', schedule)}."
    text = _changed(schedule, "⏸️ paused", actor=actor, words=words, then=then)
    return _plain_message([text], f"Schedule {schedule.id} paused")


def schedule_resumed(schedule: ScheduleRecord, *, actor: str, words: str) -> Message:
    """The channel's notice that a schedule runs again, from its next slot on."""
    after = format_slot(schedule.next_fire_at, schedule.tz) if schedule.next_fire_at else "none"
    then = f"Next run: {after}. Runs missed while it was paused are not made up."
    text = _changed(schedule, "▶️ resumed", actor=actor, words=words, then=then)
    return _plain_message([text], f"Schedule {schedule.id} resumed; next run {after}")


def schedule_deleted(schedule: ScheduleRecord, *, actor: str, words: str) -> Message:
    """The channel's notice that a schedule is gone."""
    text = _changed(schedule, "🗑️ deleted", actor=actor, words=words, then="It will not run again.")
    return _plain_message([text], f"Schedule {schedule.id} deleted")


def schedule_skipped(
    schedule: ScheduleRecord,
    *,
    first: datetime,
    last: datetime,
    count: int,
    late_seconds: float,
    grace_seconds: float,
    running: datetime | None,
) -> Message:
    """One note for a burst of slots missed while the bot was down (never one per slot)."""
    sid, name, tz = _schedule_id(schedule), _schedule_name(schedule), schedule.tz
    if count == 1:
        what = f"the run due {format_slot(first, tz)}"
    else:
        shown = f"{count:,}" if count < 1000 else "1,000 or more"
        what = f"{shown} runs due from {format_slot(first, tz)} to {format_slot(last, tz)}"
    lines = [
        f"⏭️ Schedule {sid} ({name}) skipped {what}: the bot was not running then, and it came "
        f"back {format_duration(late_seconds)} after "
        + ("it" if count == 1 else "the last of them")
        + f", more than the {format_duration(grace_seconds)} grace period."
    ]
    if running is not None:
        lines.append(f"The run due {format_slot(running, tz)} is starting now.")
    elif schedule.next_fire_at is not None:
        lines.append(f"Next run: {format_slot(schedule.next_fire_at, tz)}.")
    return _plain_message(lines, f"Schedule {schedule.id} skipped {count} missed run(s)")


def schedule_not_started(schedule: ScheduleRecord, *, reason: str) -> Message:
    """A scheduled run that could not start. `reason` is mrkdwn (escape user text in it)."""
    owner = user_mention(schedule.owner_id)
    lines = [
        f"❌ Schedule {_schedule_id(schedule)} could not start {_schedule_name(schedule)}.",
        f"*Why:* {reason.strip()}",
        f"{owner}: check the notebook and its inputs "
        f"({code(f'/deepnote inputs {schedule.notebook_id}')}). If the inputs changed, delete "
        f"this schedule with {_command('unschedule', schedule)} and create it again.",
    ]
    return _plain_message(
        lines,
        f"❌ Schedule {schedule.id} could not start {escape(schedule.notebook_name)} ({owner})",
    )


def schedule_back_to_normal(schedule: ScheduleRecord, *, failures: int) -> Message:
    """Said under a successful scheduled run that follows failed ones."""
    runs = "run" if failures == 1 else f"{failures} runs"
    text = (
        f"✅ Back to normal: schedule {_schedule_id(schedule)} ({_schedule_name(schedule)}) "
        f"succeeded after the previous {runs} failed."
    )
    return _plain_message([text], f"✅ Schedule {schedule.id} is back to normal")


def schedule_auto_paused(schedule: ScheduleRecord, *, failures: int, words: str) -> Message:
    """The channel's notice that a schedule paused itself after failing too often."""
    owner = user_mention(schedule.owner_id)
    lines = [
        f"⏸️ Schedule {_schedule_id(schedule)} {_about(schedule, words)} "
        f"paused itself after {failures} failed runs in a row.",
        f"{owner}: fix the notebook or its inputs, try it once with "
        f"{_command('trigger', schedule)}, then turn it back on with "
        f"{_command('resume', schedule)}.",
    ]
    return _plain_message(
        lines, f"⏸️ Schedule {schedule.id} paused itself after {failures} failures ({owner})"
    )
