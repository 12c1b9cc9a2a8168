"""The schedule edit form's submission.

`edit <id>` with changes goes straight to `ScheduleService.edit` (schedule_commands.py);
`edit <id>` alone, and the *Edit…* button on a schedule's message or in the Home tab, open a
form pre-filled with the schedule (its timing, zone, the notebook's inputs as the run form
shows them, who is notified, which outputs are posted). The form is checked while Slack
waits (problems shown next to their fields), stored before it is acknowledged
(handlers/intake.py, kind `edit_form`) and carried out in the background, where the
service checks it again, stores it, writes the audit entry and announces it in the
schedule's channel.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App

from bot.commands.values import parse_post_outputs
from bot.conditions import describe as describe_condition
from bot.conditions import parse_condition
from bot.deepnote.models import Notebook
from bot.deepnote.output_names import check_post_outputs
from bot.errors import DeepnoteError, FormErrors, SlackError, StorageError, UserError
from bot.runs.service import Requester
from bot.schedules.edit import DEFAULT_OUTPUTS, REMOVE_CONDITION, ScheduleEdit, checked_condition
from bot.schedules.rules import local_today
from bot.schedules.service import NOT_CHANGED
from bot.schedules.when import parse_when
from bot.schedules.zones import schedule_zone
from bot.services import Services
from bot.slack.run_form import parse_state, plain_error, validate_form
from bot.slack.schedule_form import (
    EDIT_CALLBACK_ID,
    NOTIFY_IF_BLOCK,
    NOTIFY_LABELS,
    POST_BLOCK,
    TZ_BLOCK,
    WHEN_BLOCK,
    TamperedEdit,
    kept_inputs,
    read_edit_fields,
    read_edit_request,
)
from bot.text.mrkdwn import code
from handlers import errors
from handlers.forms import form_key_of, rejected_view
from handlers.home import publish_home
from handlers.intake import NOT_DONE, NOT_STORED, Intake, payload_of, tell
from handlers.notebooks import fetch_notebook
from handlers.payloads import get, team_of, text
from handlers.schedule_commands import edit_reply
from storage.intents import EDIT_FORM, Intent
from storage.schedules import ScheduleRecord

log = logging.getLogger(__name__)


# --- the form ----------------------------------------------------------------------------------


def _field_errors(
    services: Services, fields_state: Mapping[str, Any], schedule: ScheduleRecord
) -> tuple[dict[str, str], ScheduleEdit]:
    """Check the form's own fields; (errors by block id, the edit they ask for)."""
    fields = read_edit_fields(fields_state, schedule)
    problems: dict[str, str] = {}
    try:
        parse_when(fields.when)
    except UserError as exc:
        problems[WHEN_BLOCK] = plain_error(exc.message, "")
    zone = schedule_zone(fields.tz) if fields.tz else None
    if zone is None:
        problems[TZ_BLOCK] = "Use an IANA time zone name, e.g. Europe/Prague, America/New_York."
    post = DEFAULT_OUTPUTS
    if fields.post_outputs:
        try:
            post = parse_post_outputs(fields.post_outputs)
        except UserError as exc:
            problems[POST_BLOCK] = plain_error(exc.message, "")
    condition = REMOVE_CONDITION  # an emptied field removes the condition
    if fields.notify_if:
        try:
            condition = describe_condition(parse_condition(fields.notify_if))
        except UserError as exc:
            problems[NOTIFY_IF_BLOCK] = plain_error(exc.message, "")
    edit = ScheduleEdit(
        when=fields.when, tz=zone, notify=fields.notify, post_outputs=post, notify_if=condition
    )
    return problems, edit


def _condition_error(
    services: Services, notebook: Notebook, schedule: ScheduleRecord, edit: ScheduleEdit
) -> str | None:
    """What is wrong with the form's condition for this notebook (as `edit` checks it), if
    anything: names the notebook lacks, or a condition with *Failed runs only*."""
    notify = edit.notify or schedule.notify
    if edit.notify_if and notify == "failures":
        return (
            f"{NOTIFY_LABELS['failures']} does not go with a condition: the condition decides "
            "which runs are posted. Choose another Post option, or empty this field."
        )
    after = replace(schedule, notify=notify, notify_if=edit.notify_if or None)
    try:
        checked_condition(notebook, schedule, after, read_block=services.deepnote.get_block)
    except UserError as exc:
        return plain_error(exc.message.replace("*", ""), "")  # a form's error is plain text
    return None


class EditSubmission:
    """The edit form's *Save*: checked while Slack waits, stored, carried out after."""

    def __init__(self, services: Services, *, intake: Intake | None = None) -> None:
        self.services = services
        self.intake = intake or Intake(services)
        self.intake.finish_with(EDIT_FORM, self.finish)

    def submit(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Close the form and queue the change, or answer with the form's errors."""
        try:
            who, notebook, edit = self.check(body, view)
        except TamperedEdit as exc:
            log.warning("edit form with bad metadata", extra={"event": "form_rejected"})
            ack(response_action="update", view=rejected_view(exc.message))
            return
        except FormErrors as exc:
            ack(response_action="errors", errors=exc.errors)
            return
        except (UserError, DeepnoteError) as exc:
            ack(response_action="update", view=rejected_view(exc.user_message))
            return
        try:
            intent_id = self.intake.keep(EDIT_FORM, who, who.schedule_id or "", payload=body)
        except (StorageError, sqlite3.Error) as exc:
            log.error("could not store a form", extra={"event": "intent_failed", "error": str(exc)})
            ack(response_action="update", view=rejected_view(NOT_STORED))
            return
        ack()
        who = Requester(
            who.user_id,
            who.team_id,
            who.channel_id,
            trigger="form",
            schedule_id=who.schedule_id,
            intent_id=intent_id,
        )
        self.services.background.submit("edit form", self.apply, who, notebook, edit)

    def check(
        self, body: Mapping[str, Any], view: Mapping[str, Any]
    ) -> tuple[Requester, Notebook, ScheduleEdit]:
        """Who edits which schedule, its notebook and the edit; TamperedEdit, FormErrors,
        UserError or DeepnoteError when it cannot be saved."""
        services = self.services
        request = read_edit_request(str(view.get("private_metadata") or ""), form_key_of(services))
        user_id = text(get(body, "user", "id")) or ""
        if request.user_id != user_id or request.team_id != team_of(body):
            raise TamperedEdit()
        sid = str(request.schedule_id)
        who = Requester(
            user_id, request.team_id, request.channel_id, trigger="form", schedule_id=sid
        )
        schedule = services.schedules.editable(who, sid, "edit")
        notebook = fetch_notebook(services, schedule.notebook_id, retries=0)
        services.runs.access.check_notebook(schedule.channel_id, notebook.id, notebook.name)
        state = get(view, "state", "values")
        state = state if isinstance(state, Mapping) else {}
        problems, edit = _field_errors(services, state, schedule)
        values = parse_state(notebook, state)
        today = local_today(services.clock.now(), edit.tz or schedule.tz)
        try:
            validate_form(notebook, values, today=today)
        except FormErrors as exc:
            problems.update(exc.errors)
        for name in values.exact:
            problems[values.blocks[name]] = "Choices with commas cannot be kept in a schedule."
        if not problems and edit.post_outputs and edit.post_outputs != schedule.post_outputs:
            try:
                check_post_outputs(
                    notebook,
                    edit.post_outputs,
                    read_block=services.deepnote.get_block,
                    refused=NOT_CHANGED,
                )
            except UserError as exc:
                problems[POST_BLOCK] = plain_error(exc.message, "")
        if NOTIFY_IF_BLOCK not in problems:
            wrong = _condition_error(services, notebook, schedule, edit)
            if wrong is not None:
                problems[NOTIFY_IF_BLOCK] = wrong
        if problems:
            raise FormErrors(problems)
        inputs = kept_inputs(notebook, schedule.inputs, values.raw, values.blocks)
        edit = ScheduleEdit(
            when=edit.when,
            inputs=tuple(inputs.items()),
            tz=edit.tz,
            notify=edit.notify,
            post_outputs=edit.post_outputs,
            replace_inputs=True,
            notify_if=edit.notify_if,
        )
        return who, notebook, edit

    def apply(self, who: Requester, notebook: Notebook, edit: ScheduleEdit) -> None:
        """Save the change; tell the person (or their Home tab) what happened."""
        self.intake.started(who.intent_id)
        services = self.services
        try:
            result = services.schedules.edit(who, who.schedule_id or "", notebook, edit)
            reply = edit_reply(result, who)
            if not who.channel_id:
                notice = reply.text if reply is not None else "Changed."
                if result.changed and result.announced:
                    notice = f"Changed schedule {code(str(result.after.id))}."
                publish_home(services, who.user_id, who.team_id, notice=f"✔️ {notice}")
            elif reply is not None:
                tell(services, who, reply)
        except Exception as exc:
            errors.report(exc, "schedule edit failed", event="edit_error")
            if who.channel_id:
                tell(services, who, errors.reply_for(exc))
            else:
                try:
                    publish_home(services, who.user_id, who.team_id, notice=errors.warning(exc))
                except SlackError:
                    tell(services, who, errors.reply_for(exc))
        finally:
            self.intake.done(who.intent_id, "finished")

    def finish(self, intent: Intent) -> None:
        """Save a form a stopped process acknowledged (an edit sets values, so saving it again
        changes nothing twice), or tell the person it was not saved."""
        body = payload_of(intent)
        view = body.get("view")
        if self.intake.too_old(intent) or not isinstance(view, Mapping):
            self.intake.explain(
                intent,
                NOT_DONE,
                what="the schedule edit form you submitted",
                again="Please press *Edit…* and save it again.",
            )
            return
        try:
            who, notebook, edit = self.check(body, view)
        except Exception as exc:  # it was valid when submitted; say what changed since
            errors.report(exc, "schedule edit failed", event="edit_error")
            who = Requester(intent.user_id, intent.team_id, intent.channel_id)
            tell(self.services, who, errors.reply_for(exc))
            self.intake.done(intent.id, "refused")
            return
        who = Requester(
            who.user_id,
            who.team_id,
            who.channel_id,
            trigger="form",
            schedule_id=who.schedule_id,
            intent_id=intent.id,
        )
        self.apply(who, notebook, edit)


def register(app: App, services: Services, *, intake: Intake | None = None) -> None:
    """Attach the edit form's submission to the Bolt app (the *Edit…* button is a click,
    handled with the others in `handlers.interactions`)."""
    errors.install(app)
    app.view(EDIT_CALLBACK_ID)(EditSubmission(services, intake=intake).submit)
