"""The schedule subcommands: `schedule`, `schedules`, `unschedule`, `pause`, `resume`, `trigger`,
`edit`.

Thin handlers: the parsed command goes to `ScheduleService`, which checks, stores and
announces (`edit <id>` alone opens the edit form: handlers/schedule_edit.py takes its
submission). Creating and changing a schedule is announced in the schedule's channel (the
team relies on it, so everyone sees who set up or changed what); listing is ephemeral.
"""

from __future__ import annotations

from bot.commands.docs import format_example
from bot.commands.types import (
    EditCommand,
    PauseCommand,
    ResumeCommand,
    ScheduleCommand,
    SchedulesCommand,
    TriggerCommand,
    UnscheduleCommand,
)
from bot.deepnote.inputs import validate_inputs
from bot.deepnote.models import Notebook
from bot.errors import SlackError
from bot.runs.service import Requester
from bot.schedules.edit import EditResult, ScheduleEdit, typed_when
from bot.schedules.rules import local_today
from bot.schedules.service import (
    NOT_CHANGED,
    NOT_CREATED,
    PAUSE,
    RESUME,
    TRIGGER,
    ScheduleChange,
    change_message,
)
from bot.services import Services
from bot.slack.messages.blocks import Message
from bot.slack.messages.help import error_reply, info_reply
from bot.slack.messages.schedules import format_slot, schedules_listing
from bot.slack.schedule_form import EditRequest, build_edit_view, sign_edit_request
from bot.text.mrkdwn import code
from handlers.forms import form_key_of
from handlers.notebooks import fetch_notebook, load_checked
from storage.schedules import ScheduleRecord

# Slack's codes for a trigger_id that can no longer open a modal.
_TRIGGER_GONE = ("expired_trigger_id", "exchanged_trigger_id", "invalid_trigger_id")


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


def do_edit(services: Services, who: Requester, cmd: EditCommand) -> Message | None:
    """Change a schedule (owner or admin); with nothing to change, open its edit form."""
    if cmd.changes_nothing():
        return open_edit_form(services, who, cmd.schedule_id, trigger_id=who.trigger_id)
    schedule = services.schedules.editable(who, cmd.schedule_id, "edit")

    def check(notebook: Notebook) -> None:
        # With a cached copy of the notebook, inputs it lacks are checked on a fresh one.
        merged = {**schedule.inputs, **dict(cmd.inputs)}
        today = local_today(services.clock.now(), cmd.tz or schedule.tz)
        validate_inputs(notebook, list(merged.items()), today=today, refused=NOT_CHANGED)

    notebook, _ = load_checked(services, schedule.notebook_id, check, team_id=who.team_id)
    edit = ScheduleEdit(
        when=cmd.when,
        inputs=cmd.inputs,
        tz=cmd.tz,
        notify=cmd.notify,
        post_outputs=cmd.post_outputs,
        notify_if=cmd.notify_if,
    )
    return edit_reply(services.schedules.edit(who, cmd.schedule_id, notebook, edit), who)


def edit_reply(result: EditResult, who: Requester) -> Message | None:
    """The answer to the person who edited; None when the channel's announcement says it."""
    schedule = result.after
    sid = code(str(schedule.id))
    if not result.changed:
        return info_reply(f"Schedule {sid} already has these settings; nothing changed.")
    if not result.announced:
        return info_reply(
            f"Changed schedule {sid}, but the bot could not post the change in "
            f"<#{schedule.channel_id}> (is it still in the channel?)."
        )
    if who.channel_id == schedule.channel_id:
        return None
    return info_reply(
        f"Changed schedule {sid}; the change is announced in <#{schedule.channel_id}>."
    )


def no_form(schedule: ScheduleRecord) -> Message:
    """What to do when the form cannot open (a mention, or Slack's 3 seconds passed)."""
    sid = schedule.id
    return error_reply(
        f"Say what to change after the schedule's id, e.g. "
        f"{code(f'/deepnote edit {sid} every weekday at 9am')} or "
        f"{code(f'/deepnote edit {sid} --notify failures')}; or press *Edit…* on the "
        "schedule's message or in your Home tab to change it in a form."
    )


def open_edit_form(
    services: Services, who: Requester, raw_id: str, *, trigger_id: str | None
) -> Message | None:
    """Open the edit form of a schedule `who` may edit; when Slack cannot, the message to show."""
    schedule = services.schedules.editable(who, raw_id, "edit")
    if not trigger_id:
        return no_form(schedule)
    notebook = fetch_notebook(services, schedule.notebook_id, retries=0)
    request = EditRequest(schedule.id, who.team_id, who.user_id, who.channel_id)
    metadata = sign_edit_request(request, form_key_of(services))
    view = build_edit_view(
        schedule, notebook, when=typed_when(schedule.expression), metadata=metadata
    )
    try:
        services.slack.open_view(trigger_id, view)
    except SlackError as exc:
        if exc.code not in _TRIGGER_GONE:
            raise
        return no_form(schedule)
    return None
