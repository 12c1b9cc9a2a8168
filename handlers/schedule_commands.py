"""The schedule subcommands: `schedule`, `schedules`, `unschedule`, `pause`, `resume`, `trigger`.

Thin handlers: the parsed command goes to `ScheduleService`, which checks, stores and
announces. Creating and changing a schedule is announced in the schedule's channel (the
team relies on it, so everyone sees who set up or changed what); listing is ephemeral.
"""

from __future__ import annotations

from bot.commands.docs import format_example
from bot.commands.types import (
    PauseCommand,
    ResumeCommand,
    ScheduleCommand,
    SchedulesCommand,
    TriggerCommand,
    UnscheduleCommand,
)
from bot.deepnote.inputs import validate_inputs
from bot.deepnote.models import Notebook
from bot.runs.service import Requester
from bot.schedules.service import (
    NOT_CREATED,
    PAUSE,
    RESUME,
    TRIGGER,
    ScheduleChange,
    change_message,
)
from bot.services import Services
from bot.slack.messages.blocks import Message
from bot.slack.messages.help import info_reply
from bot.slack.messages.schedules import format_slot, schedules_listing
from bot.text.mrkdwn import code
from handlers.notebooks import load_checked


def change_reply(change: ScheduleChange, who: Requester) -> Message | None:
    """The reply to the person who changed a schedule; None when the channel's post says it."""
    schedule = change.schedule
    sid = code(str(schedule.id))
    if change.action == TRIGGER:
        if who.channel_id == schedule.channel_id:
            return None  # the run's card in this channel is the answer
        return info_reply(f"Started schedule {sid} now; its card is in <#{schedule.channel_id}>.")
    if change.action == PAUSE and not change.changed:
        return info_reply(
            f"Schedule {sid} is already paused. "
            f"Resume it with {code(f'/deepnote resume {schedule.id}')}."
        )
    if change.action == RESUME and not change.changed:
        after = schedule.next_fire_at
        return info_reply(
            f"Schedule {sid} is not paused"
            + (f"; its next run is {format_slot(after, schedule.tz)}." if after else ".")
        )
    # Shown to the person alone when it could not be posted in the channel.
    return None if change.announced else change_message(change)


def do_schedule(services: Services, who: Requester, cmd: ScheduleCommand) -> Message | None:
    """Create a schedule; its notice in the channel is the answer."""

    def check(notebook: Notebook) -> None:
        # With a cached copy of the notebook, inputs it lacks are checked on a fresh one.
        validate_inputs(
            notebook, cmd.inputs, today=services.clock.now().date(), refused=NOT_CREATED
        )

    notebook, _ = load_checked(services, cmd.notebook, check, team_id=who.team_id)
    services.schedules.create(
        who,
        notebook,
        when=cmd.when,
        inputs=cmd.inputs,
        tz=cmd.tz,
        notify=cmd.notify,
        post_outputs=cmd.post_outputs,
        notify_if=cmd.notify_if,
    )
    return None


def do_schedules(services: Services, who: Requester, cmd: SchedulesCommand) -> Message:
    """List this channel's schedules (only to the person asking)."""
    return schedules_listing(services.schedules.listing(who), example=format_example("schedule", 0))


def do_unschedule(services: Services, who: Requester, cmd: UnscheduleCommand) -> Message | None:
    """Delete a schedule (owner or admin)."""
    return change_reply(services.schedules.delete(who, cmd.schedule_id), who)


def do_pause(services: Services, who: Requester, cmd: PauseCommand) -> Message | None:
    """Pause a schedule (owner or admin)."""
    return change_reply(services.schedules.pause(who, cmd.schedule_id), who)


def do_resume(services: Services, who: Requester, cmd: ResumeCommand) -> Message | None:
    """Resume a schedule from its next slot (owner or admin)."""
    return change_reply(services.schedules.resume(who, cmd.schedule_id), who)


def do_trigger(services: Services, who: Requester, cmd: TriggerCommand) -> Message | None:
    """Run a schedule once now; its card in the schedule's channel is the answer."""
    return change_reply(services.schedules.trigger(who, cmd.schedule_id), who)
