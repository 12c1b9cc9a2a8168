"""The schedule subcommands: `schedule`, `schedules`, `unschedule`, `pause`, `resume`, `trigger`.

Thin handlers: the parsed command goes to `ScheduleService`, which checks, stores and
announces. Creating and changing a schedule is announced in the schedule's channel (the
team relies on it, so everyone sees who set up or changed what); listing is ephemeral.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.commands.docs import format_example
from bot.commands.types import (
    PauseCommand,
    ResumeCommand,
    ScheduleCommand,
    SchedulesCommand,
    TriggerCommand,
    UnscheduleCommand,
)
from bot.runs.service import Requester
from bot.services import Services
from bot.slack.messages.blocks import Message
from bot.slack.messages.schedules import schedules_listing


def do_schedule(services: Services, who: Requester, cmd: ScheduleCommand) -> Message | None:
    """Create a schedule; its notice in the channel is the answer."""
    # Imported here: handlers.commands registers this module's handlers when it loads.
    from handlers.commands import load_notebook

    notebook = load_notebook(services, cmd.notebook, team_id=who.team_id)
    services.schedules.create(
        who,
        notebook,
        when=cmd.when,
        inputs=cmd.inputs,
        tz=cmd.tz,
        notify=cmd.notify,
        post_outputs=cmd.post_outputs,
    )
    return None


def do_schedules(services: Services, who: Requester, cmd: SchedulesCommand) -> Message:
    """List this channel's schedules (only to the person asking)."""
    return schedules_listing(services.schedules.listing(who), example=format_example("schedule", 0))


def do_unschedule(services: Services, who: Requester, cmd: UnscheduleCommand) -> Message | None:
    """Delete a schedule (owner or admin)."""
    return services.schedules.delete(who, cmd.schedule_id)


def do_pause(services: Services, who: Requester, cmd: PauseCommand) -> Message | None:
    """Pause a schedule (owner or admin)."""
    return services.schedules.pause(who, cmd.schedule_id)


def do_resume(services: Services, who: Requester, cmd: ResumeCommand) -> Message | None:
    """Resume a schedule from its next slot (owner or admin)."""
    return services.schedules.resume(who, cmd.schedule_id)


def do_trigger(services: Services, who: Requester, cmd: TriggerCommand) -> Message | None:
    """Run a schedule once now; its card in the schedule's channel is the answer."""
    return services.schedules.trigger(who, cmd.schedule_id)


SCHEDULE_HANDLERS: dict[type[Any], Callable[[Services, Requester, Any], Message | None]] = {
    ScheduleCommand: do_schedule,
    SchedulesCommand: do_schedules,
    UnscheduleCommand: do_unschedule,
    PauseCommand: do_pause,
    ResumeCommand: do_resume,
    TriggerCommand: do_trigger,
}

SCHEDULE_NAMES: dict[type[Any], str] = {
    ScheduleCommand: "schedule",
    SchedulesCommand: "schedules",
    UnscheduleCommand: "unschedule",
    PauseCommand: "pause",
    ResumeCommand: "resume",
    TriggerCommand: "trigger",
}
