"""Buttons on the run card and the run form modal.

Every click is acknowledged at once; the slow part (Deepnote, starting a run, opening a
modal) runs on `services.background`. The person who clicks or submits is the one recorded
as starting the new run. A button value names a run by the bot's own id, and is accepted
only for a run of the same team and channel; a form's metadata is accepted only with the
bot's own HMAC. Anything else is answered with an ephemeral error and starts nothing.

Each click and submission is stored before it is acknowledged (handlers/intake.py) and a run
it starts is keyed by it, so a hard kill loses none and a restart starts none twice.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.deepnote.models import Notebook
from bot.errors import DeepnoteError, FormErrors, SlackError, StorageError, UserError
from bot.runs.service import Requester
from bot.services import Services
from bot.slack.messages.help import error_reply
from bot.slack.messages.schedules import EDIT_SCHEDULE
from bot.slack.run_form import CALLBACK_ID, FormRequest, TamperedForm, parse_state, validate_form
from bot.text.mrkdwn import code, escape, truncate
from handlers import errors, shortcuts
from handlers.finder import ALIAS_CALLBACK, AliasForm, FindClicks
from handlers.forms import (
    OPEN_FORM,
    RUN_NOW,
    open_run_form,
    rejected_view,
    request_for,
    signed_request,
    start_from_request,
)
from handlers.home import is_home_click, publish_home
from handlers.intake import NOT_DONE, NOT_STORED, Intake, payload_of, tell
from handlers.notebooks import fetch_notebook
from handlers.payloads import action_value, clicker, get, team_of, text
from handlers.picker import chosen_channel
from handlers.schedule_commands import open_edit_form
from storage.intents import CLICK, FORM, Intent
from storage.records import RunRecord

log = logging.getLogger(__name__)

RERUN = "rerun"
RERUN_FORM = "rerun_form"
URL_BUTTONS = ("open_notebook", "open_snapshot")


def unknown_button() -> UserError:
    """The answer to a button that does not name a run of this team and channel."""
    return UserError(
        "That button does not belong to a run this bot started here, so nothing was started.",
        hint="Start a new run with `/deepnote run`.",
    )


def known_run(services: Services, body: Mapping[str, Any], who: Requester) -> RunRecord:
    """The run a card button names; `UserError` for a value that is not one of ours."""
    value = action_value(body)
    run = services.store.get(value) if 0 < len(value) <= 100 else None
    # Only the bot's own id is on the card; Deepnote's run id is not accepted from a button.
    # From a channel, the run must be of that channel; from the Home tab, the viewer's own.
    if (
        run is None
        or run.id != value
        or run.team_id != who.team_id
        or (who.channel_id and run.channel_id != who.channel_id)
        or (not who.channel_id and run.user_id != who.user_id)
    ):
        log.warning(
            "button for an unknown run",
            extra={"event": "button_rejected", "user": who.user_id, "team": who.team_id},
        )
        raise unknown_button()
    return run


# --- telling the person ------------------------------------------------------------------------


def remove_offer(respond: Respond | None) -> None:
    """Delete the ephemeral whose button was used, so it is not used twice (best effort)."""
    if respond is None:
        return
    try:
        respond(delete_original=True)
    except OSError:
        log.info("could not remove the offer", extra={"event": "offer_not_removed"})


def button_label(body: Mapping[str, Any]) -> str:
    """The label of the button a click pressed, as mrkdwn (for telling the person about it)."""
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions else {}
    label = text(get(action, "text", "text")) if isinstance(action, Mapping) else None
    return f"*{escape(truncate(label, 60))}*" if label else "a button"


# --- listeners ----------------------------------------------------------------------------------


def acknowledge_only(ack: Ack) -> None:
    """The link buttons: Slack opens the link; the bot only acknowledges."""
    ack()


Work = Callable[[Mapping[str, Any], "Respond | None", "str | None"], None]


class Clicks:
    """The card's buttons and the form offer's buttons: each click is stored, acknowledged at
    once and done on `services.background`; a failure is told to the person who clicked."""

    def __init__(self, services: Services, *, intake: Intake | None = None) -> None:
        self.services = services
        self.intake = intake or Intake(services)
        self.intake.finish_with(CLICK, self.finish)
        self.works: Mapping[str, Work] = {
            RERUN: self.rerun,
            RERUN_FORM: self.rerun_form,
            OPEN_FORM: self.open_form,
            RUN_NOW: self.run_now,
            **FindClicks(services).works(),
            EDIT_SCHEDULE: self.edit_schedule,
        }

    def acknowledge(
        self, ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond | None = None
    ) -> None:
        """Store the click, acknowledge it and queue its work."""
        what = str(action.get("action_id") or "")
        try:
            intent_id = self.intake.keep(
                CLICK,
                clicker(body),
                what,
                response_url=text(body.get("response_url")),
                payload=body,
            )
        except (StorageError, sqlite3.Error) as exc:
            log.error(
                "could not store a click", extra={"event": "intent_failed", "error": str(exc)}
            )
            ack()
            self.services.background.submit(
                what, tell, self.services, clicker(body), error_reply(NOT_STORED), respond
            )
            return
        ack()
        self.services.background.submit(what, self.work, what, body, respond, intent_id)

    def work(
        self,
        what: str,
        body: Mapping[str, Any],
        respond: Respond | None,
        intent_id: str | None = None,
    ) -> None:
        """Do what the click asks; tell the person when that fails."""
        self.intake.started(intent_id)
        try:
            self.works[what](body, respond, intent_id)
        except Exception as exc:
            errors.report(exc, f"{what} failed", event="interaction_error")
            self.failed(exc, body, respond)
        finally:
            self.intake.done(intent_id, "finished")

    def finish(self, intent: Intent) -> None:
        """Carry out a click a stopped process acknowledged, or tell the person it was not.

        A run a click starts is keyed by the click, and opening a form changes nothing, so a
        click is safe to carry out again while the person is likely still waiting.
        """
        body = payload_of(intent)
        if self.intake.too_old(intent) or intent.text not in self.works or not body:
            self.intake.explain(
                intent,
                NOT_DONE,
                what=f"your click on {button_label(body)}",
                again="Please press it again.",
            )
            return
        log.info(
            "carrying out a click acknowledged before a restart",
            extra={"event": "intent_redone", "intent": intent.id, "channel": intent.channel_id},
        )
        respond = Respond(response_url=intent.response_url) if intent.response_url else None
        self.work(intent.text, body, respond, intent.id)

    def failed(self, exc: Exception, body: Mapping[str, Any], respond: Respond | None) -> None:
        """Say what went wrong: on the Home tab for a click there, else to the person."""
        who = clicker(body)
        if is_home_click(body):
            try:
                publish_home(self.services, who.user_id, who.team_id, notice=errors.warning(exc))
                return
            except SlackError:
                pass
        tell(self.services, who, errors.reply_for(exc), respond)

    def rerun(
        self, body: Mapping[str, Any], respond: Respond | None, intent_id: str | None = None
    ) -> None:
        """Start the card's run again, with the same inputs and options."""
        services = self.services
        who = replace(clicker(body), intent_id=intent_id)
        run = known_run(services, body, who)
        if not who.channel_id:  # from the Home tab: the new card goes where the old one is
            who = replace(who, channel_id=run.channel_id, thread_ts=run.thread_ts)
        notebook = fetch_notebook(services, run.notebook_id)
        missing = [name for name in run.inputs if notebook.input_named(name) is None]
        if missing:
            raise UserError(
                f"*{escape(truncate(notebook.name, 150))}* no longer has the input(s) "
                + ", ".join(code(m, limit=60) for m in missing[:10])
                + ", so it cannot be re-run as it was.",
                hint="Press *Re-run with changes…* to run it with its current inputs.",
            )
        services.runs.start(
            replace(who, thread_ts=who.thread_ts or run.thread_ts),
            notebook,
            run.inputs,
            services.store.options(run),
        )
        if is_home_click(body):
            name = escape(truncate(notebook.name, 150))
            notice = f"✔️ Started *{name}* again in <#{who.channel_id}>."
            publish_home(services, who.user_id, who.team_id, notice=notice)

    def rerun_form(
        self, body: Mapping[str, Any], respond: Respond | None, _intent_id: str | None = None
    ) -> None:
        """Open the run form prefilled with the card's inputs."""
        who = clicker(body)
        run = known_run(self.services, body, who)
        notebook = fetch_notebook(self.services, run.notebook_id, retries=0)
        request = request_for(
            replace(who, thread_ts=who.thread_ts or run.thread_ts),
            notebook,
            self.services.store.options(run),
            inputs=run.inputs,
        )
        self._open(body, respond, who, notebook, request)

    def open_form(
        self, body: Mapping[str, Any], respond: Respond | None, _intent_id: str | None = None
    ) -> None:
        """The offer's *Fill in the form…*: open the form it is signed for."""
        who = clicker(body)
        request = signed_request(self.services, action_value(body), who.team_id)
        request = replace(request, user_id=who.user_id)
        notebook = fetch_notebook(self.services, request.notebook_id, retries=0)
        if self._open(body, respond, who, notebook, request):
            remove_offer(respond)

    def _open(
        self,
        body: Mapping[str, Any],
        respond: Respond | None,
        who: Requester,
        notebook: Notebook,
        request: FormRequest,
    ) -> bool:
        """Open the form for `request`; True when it opened, else the offer is told."""
        trigger = text(body.get("trigger_id"))
        msg = open_run_form(
            self.services, notebook, request, trigger_id=trigger, values=request.inputs
        )
        if msg is not None:
            tell(self.services, who, msg, respond)
        return msg is None

    def run_now(
        self, body: Mapping[str, Any], respond: Respond | None, intent_id: str | None = None
    ) -> None:
        """The offer's *Run now*: start the run it is signed for."""
        who = clicker(body)
        request = signed_request(self.services, action_value(body), who.team_id)
        start_from_request(self.services, request, who.user_id, request.inputs, intent_id=intent_id)
        remove_offer(respond)

    def edit_schedule(
        self, body: Mapping[str, Any], respond: Respond | None, _intent_id: str | None = None
    ) -> None:
        """*Edit…* on a schedule's message or the Home tab: open the schedule's edit form."""
        who = clicker(body)
        trigger = text(body.get("trigger_id"))
        msg = open_edit_form(self.services, who, action_value(body), trigger_id=trigger)
        if msg is None:
            return
        if is_home_click(body):
            publish_home(self.services, who.user_id, who.team_id, notice=msg.text)
        else:
            tell(self.services, who, msg, respond)


class FormSubmission:
    """The run form's submit: checked while Slack waits, stored, the run started in the
    background."""

    def __init__(self, services: Services, *, intake: Intake | None = None) -> None:
        self.services = services
        self.intake = intake or Intake(services)
        self.intake.finish_with(FORM, self.finish)

    def submit(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Close the form and queue the run, or answer with the form's errors."""
        user_id = text(get(body, "user", "id")) or ""
        team_id = team_of(body)
        try:
            request, notebook, inputs = self.check(body, view)
        except TamperedForm as exc:
            log.warning(
                "run form with bad metadata",
                extra={"event": "form_rejected", "user": user_id, "team": team_id},
            )
            ack(response_action="update", view=rejected_view(exc.message))
            return
        except FormErrors as exc:
            ack(response_action="errors", errors=exc.errors)
            return
        except (UserError, DeepnoteError) as exc:
            ack(response_action="update", view=rejected_view(exc.user_message))
            return
        who = Requester(user_id, team_id, request.channel_id, request.thread_ts, trigger="form")
        try:
            intent_id = self.intake.keep(FORM, who, notebook.id, payload=body)
        except (StorageError, sqlite3.Error) as exc:
            log.error("could not store a form", extra={"event": "intent_failed", "error": str(exc)})
            ack(response_action="update", view=rejected_view(NOT_STORED))
            return
        ack()
        # The modal is closed; starting the run is slow and reports to the person if it fails.
        who = replace(who, intent_id=intent_id)
        self.services.background.submit("form", self.start, who, request, notebook, inputs)

    def check(
        self, body: Mapping[str, Any], view: Mapping[str, Any]
    ) -> tuple[FormRequest, Notebook, dict[str, Any]]:
        """The submitted form's request, notebook and valid inputs; TamperedForm, FormErrors,
        UserError or DeepnoteError when it cannot run."""
        services = self.services
        request = signed_request(services, str(view.get("private_metadata") or ""), team_of(body))
        if request.user_id != (text(get(body, "user", "id")) or ""):
            raise TamperedForm()
        if not request.channel_id:  # opened by the global shortcut: the form names the channel
            request = replace(request, channel_id=chosen_channel(view))
        notebook = fetch_notebook(services, request.notebook_id, retries=0)
        services.runs.access.check_notebook(request.channel_id, notebook.id, notebook.name)
        state = get(view, "state", "values")
        values = parse_state(notebook, state if isinstance(state, Mapping) else {})
        inputs = validate_form(notebook, values, today=services.clock.now().date())
        return request, notebook, inputs

    def start(
        self, who: Requester, request: FormRequest, notebook: Notebook, inputs: dict[str, Any]
    ) -> None:
        """Start the submitted run; tell the person when that fails."""
        self.intake.started(who.intent_id)
        try:
            start_from_request(
                self.services,
                request,
                who.user_id,
                inputs,
                notebook=notebook,
                intent_id=who.intent_id,
            )
        except Exception as exc:
            errors.report(exc, "form run failed", event="form_error")
            tell(self.services, who, errors.reply_for(exc))
        finally:
            self.intake.done(who.intent_id, "finished")

    def finish(self, intent: Intent) -> None:
        """Start the run of a form a stopped process acknowledged, or tell the person it was
        not started (its run is keyed by the submission, so it never starts twice)."""
        body = payload_of(intent)
        view = body.get("view")
        who = Requester(
            intent.user_id,
            intent.team_id,
            intent.channel_id,
            intent.thread_ts,
            trigger="form",
            intent_id=intent.id,
        )
        if self.intake.too_old(intent) or not isinstance(view, Mapping):
            self.intake.explain(
                intent,
                NOT_DONE,
                what="the run form you submitted",
                again="Please open the form and submit it again.",
            )
            return
        try:
            request, notebook, inputs = self.check(body, view)
        except Exception as exc:  # the form was valid when submitted; say what changed
            errors.report(exc, "form run failed", event="form_error")
            tell(self.services, who, errors.reply_for(exc))
            self.intake.done(intent.id, "refused")
            return
        log.info(
            "carrying out a form acknowledged before a restart",
            extra={"event": "intent_redone", "intent": intent.id, "channel": intent.channel_id},
        )
        self.start(who, request, notebook, inputs)


def register(app: App, services: Services, *, intake: Intake | None = None) -> None:
    """Attach the card buttons, the form buttons and the run form to the Bolt app."""
    errors.install(app)
    for action in URL_BUTTONS:
        app.action(action)(acknowledge_only)
    clicks = Clicks(services, intake=intake)
    for action in clicks.works:
        app.action(action)(clicks.acknowledge)
    app.view(CALLBACK_ID)(FormSubmission(services, intake=intake).submit)
    app.view(ALIAS_CALLBACK)(AliasForm(services, intake=intake).submit)
    shortcuts.register(app, services, clicks.rerun, intake=intake)
