"""The Workflow Builder step "Run a Deepnote notebook" (`function_executed`, Bolt's
`app.function`).

Slack sends the step's inputs in a `function_executed` event. The event is stored before it is
acknowledged (handlers/intake.py, kind `step`, keyed by its event id, so Slack's retry is not
acted on twice; the per-execution token Slack adds is left out) and carried out in the
background: the inputs are read and checked exactly as `/deepnote run` checks them, with the
same access rules (the step's channel; without one, rules for "no channel": only notebooks
allowed everywhere, and no `ALLOWED_CHANNEL_IDS`), and the run is started as the person in
the step's *Run as* input (Slack's event names no user of its own). A refusal fails the step
with the command's message. The execution is stored before the run starts; the background
round completes it (bot/runs/workflow_step.py), at once or when the run ends.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App

from bot.access import AccessDenied
from bot.commands.step_inputs import STEP_CALLBACK_ID, StepRequest, read_step_inputs
from bot.deepnote.inputs import validate_inputs
from bot.deepnote.models import InputValue, Notebook
from bot.errors import DeepnoteError, StorageError, UserError
from bot.runs.service import Requester
from bot.runs.workflow_step import StepCompleter
from bot.services import Services
from bot.slack.messages.status import TRIGGER_WORKFLOW
from handlers import errors
from handlers.intake import Intake, payload_of
from handlers.notebooks import load_checked
from storage.function_runs import FunctionRun, FunctionRunStore
from storage.intents import Intent
from storage.records import RunOptions

log = logging.getLogger(__name__)

STEP = "step"
"""The intent kind of a stored `function_executed` event."""
STEP_TRIGGER = TRIGGER_WORKFLOW
"""`RunRecord.trigger` (and the audit's) of a run a workflow step started."""
ERROR_CHARS = 1000
NO_CHANNEL = (
    " (The step names no channel, so no channel's rule allows it: pick a channel in the "
    "step's *Channel* input.)"
)
# Slack's per-execution token: a secret, never stored with the event.
_TOKEN_KEY = "bot_access_token"  # noqa: S105 - the name of the field, not a secret


def plain(text: str) -> str:
    """A bot message (mrkdwn) as the plain text Workflow Builder shows.

    >>> plain("`regoin` is not an input of *Sales*; use &lt;name&gt;")
    '`regoin` is not an input of *Sales*; use <name>'
    """
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text.strip()[:ERROR_CHARS]


def stored_payload(body: Mapping[str, Any]) -> dict[str, Any]:
    """The event as it is stored: without the execution's token."""
    event = body.get("event")
    if not isinstance(event, Mapping):
        return dict(body)
    return {**body, "event": {k: v for k, v in event.items() if k != _TOKEN_KEY}}


def _event(body: Mapping[str, Any]) -> Mapping[str, Any]:
    event = body.get("event")
    return event if isinstance(event, Mapping) else {}


def _team(body: Mapping[str, Any]) -> str:
    team = body.get("team_id") or _event(body).get("team_id") or ""
    return str(team)


class WorkflowStep:
    """The step's listener: stored, acknowledged, carried out in the background."""

    def __init__(
        self,
        services: Services,
        completer: StepCompleter,
        *,
        intake: Intake | None = None,
    ) -> None:
        self.services = services
        self.completer = completer
        self.store: FunctionRunStore = completer.store
        self.intake = intake or Intake(services)
        self.intake.finish_with(STEP, self.finish)

    def on_executed(self, ack: Ack, body: dict[str, Any]) -> None:
        """Store the event, acknowledge it, and queue the run."""
        event = _event(body)
        execution_id = str(event.get("function_execution_id") or "")
        event_id = body.get("event_id")
        raw_inputs = event.get("inputs")
        values = raw_inputs if isinstance(raw_inputs, Mapping) else {}
        user = values.get("run_as")
        who = Requester(
            user if isinstance(user, str) else "", _team(body), "", trigger=STEP_TRIGGER
        )
        try:
            intent_id = self.intake.keep(
                STEP,
                who,
                execution_id,
                payload=stored_payload(body),
                intent_id=f"event:{event_id}" if isinstance(event_id, str) else None,
            )
        except (StorageError, sqlite3.Error) as exc:
            log.error("could not store a step", extra={"event": "intent_failed", "error": str(exc)})
            ack()
            step = FunctionRun(execution_id, who.team_id, who.user_id, "", None, False, self.now())
            self.services.background.submit("step", self.completer.refuse, step, plain(_NOT_STORED))
            return
        if intent_id is None and self.intake.enabled():
            ack()  # Slack's retry of an event stored already: under way, or recovered
            log.info("event already stored", extra={"event": "event_duplicate"})
            return
        ack()
        self.services.background.submit("step", self.handle, stored_payload(body), intent_id)

    def now(self) -> Any:
        """The bot's clock."""
        return self.services.clock.now()

    def handle(self, body: Mapping[str, Any], intent_id: str | None) -> None:
        """Carry out one execution, then mark its event done."""
        self.intake.started(intent_id)
        try:
            self.carry_out(body, intent_id)
        except Exception as exc:
            errors.report(exc, "workflow step failed", event="step_error")
        finally:
            self.intake.done(intent_id, "finished")

    def carry_out(self, body: Mapping[str, Any], intent_id: str | None) -> None:
        """Check the inputs, store the execution, start the run (once), complete if not waiting."""
        event = _event(body)
        execution_id = str(event.get("function_execution_id") or "")
        raw_inputs = event.get("inputs")
        step = FunctionRun(execution_id, _team(body), "", "", None, True, self.now())
        try:
            request = read_step_inputs(raw_inputs if isinstance(raw_inputs, Mapping) else {})
            step = FunctionRun(
                execution_id,
                step.team_id,
                request.user_id,
                request.channel_id,
                intent_id,
                request.wait,
                step.created_at,
            )
            notebook, inputs = self.checked(request, step.team_id)
        except (UserError, DeepnoteError) as exc:
            self.refuse(replace(step, run=None, wait=False), plain(errors.error_text(exc)))
            return
        # Stored before the run starts: from here on, a restart still completes the step.
        self.store.add(step)
        who = Requester(
            request.user_id,
            step.team_id,
            request.channel_id,
            trigger=STEP_TRIGGER,
            intent_id=intent_id,
        )
        # Without a channel there is no card: the step's outputs are the result. A run Deepnote
        # refuses is stored as create_failed, and completing the step says why.
        with contextlib.suppress(UserError):
            self.services.runs.start(who, notebook, inputs, RunOptions(), quiet=not who.channel_id)
        if not request.wait:
            stored = self.store.get(execution_id)
            if stored is not None and stored.done_at is None:
                self.completer.complete(stored)

    def refuse(self, step: FunctionRun, message: str) -> None:
        """Store the refused execution (so the round tells Slack again if it does not take it
        now), then fail the step with `message`."""
        refused = replace(step, refusal=message)
        self.store.add(refused)
        self.completer.refuse(refused, message)

    def checked(self, request: StepRequest, team_id: str) -> tuple[Notebook, dict[str, InputValue]]:
        """The notebook and inputs, checked as `/deepnote run` checks them, and access."""
        services = self.services

        def check(notebook: Notebook) -> dict[str, InputValue]:
            return validate_inputs(notebook, request.inputs, today=services.clock.now().date())

        channel = request.channel_id
        try:
            services.config.access().check_channel(channel)
            notebook, inputs = load_checked(services, request.notebook, check, team_id=team_id)
            services.runs.access.check_notebook(channel, notebook.id, notebook.name)
        except AccessDenied as exc:
            if channel:
                raise
            raise AccessDenied(exc.message + NO_CHANNEL, hint=exc.hint) from None
        return notebook, inputs

    def finish(self, intent: Intent) -> None:
        """Carry out an event a stopped process acknowledged (its run is keyed by the event,
        so it never starts twice), or fail the step when it is too old to start now."""
        body = payload_of(intent)
        execution_id = str(_event(body).get("function_execution_id") or intent.text)
        if self.intake.too_old(intent) or not body:
            step = FunctionRun(
                execution_id, intent.team_id, intent.user_id, "", None, False, self.now()
            )
            self.refuse(step, _RESTARTED)
            self.intake.done(intent.id, "explained")
            return
        log.info(
            "carrying out a workflow step acknowledged before a restart",
            extra={"event": "intent_redone", "intent": intent.id},
        )
        self.handle(body, intent.id)


_NOT_STORED = (
    "The bot could not store this step (its database is not writable), so it started nothing. "
    "Run the workflow again in a minute; if this keeps happening, tell the bot's admin."
)
_RESTARTED = (
    "The bot restarted before it could start this step's run, so nothing was started. "
    "Run the workflow again."
)


def register(
    app: App,
    services: Services,
    completer: StepCompleter,
    *,
    intake: Intake | None = None,
) -> None:
    """Attach the step's `function_executed` listener (acknowledged by the listener itself,
    only once the event is stored)."""
    errors.install(app)
    step = WorkflowStep(services, completer, intake=intake)
    app.function(STEP_CALLBACK_ID, auto_acknowledge=False)(step.on_executed)
