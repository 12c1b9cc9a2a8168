"""The app's shortcuts and the notebook picker's listeners.

- *Run a Deepnote notebook* (global shortcut `run_notebook`): opens the run form with the
  notebook picker; the form asks where to post the run (a global shortcut has no channel).
  Opening a modal starts nothing, so it is not stored; the form's submission is.
- *Re-run this* (message shortcut `rerun_message`): on one of the bot's run cards it does what
  the card's *Re-run* button does (same person-and-channel rules, access rules and audit); on
  any other message it says so. It starts a run, so it is stored before it is acknowledged
  (kind `shortcut`) and carried out again or explained after a restart, keyed by itself.
- The picker's `block_suggestion` (options) and its choice (`block_actions`).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.errors import StorageError, UserError
from bot.runs.service import Requester
from bot.services import Services
from bot.slack.messages.help import error_reply
from bot.slack.run_form import FormRequest
from handlers import errors
from handlers.intake import NOT_DONE, NOT_STORED, Intake, payload_of, tell
from handlers.payloads import clicker, get, team_of, text
from handlers.picker import PICK_ACTION, fill_form, open_picker, suggest
from storage.intents import SHORTCUT, Intent

log = logging.getLogger(__name__)

RUN_SHORTCUT = "run_notebook"
RERUN_SHORTCUT = "rerun_message"
RERUN_BUTTON = "rerun"

NOT_A_CARD = (
    "*Re-run this* works on the bot's run cards (the messages with a *Re-run* button), and "
    "this message is not one, so nothing was started."
)
NOT_A_CARD_HINT = (
    "To run a notebook, use `/deepnote run` or the *Run a Deepnote notebook* shortcut."
)

Rerun = Callable[[Mapping[str, Any], "Respond | None", "str | None"], None]


def card_run_id(message: Any) -> str | None:
    """The bot's run id on a run card (its *Re-run* button's value); None for other messages.

    >>> card_run_id({"blocks": [{"type": "actions", "elements": [
    ...     {"type": "button", "action_id": "rerun", "value": "r1"}]}]})
    'r1'
    >>> card_run_id({"text": "hello"}) is None
    True
    """
    blocks = get(message, "blocks")
    for block in blocks if isinstance(blocks, list) else []:
        elements = get(block, "elements") if get(block, "type") == "actions" else None
        for element in elements if isinstance(elements, list) else []:
            if get(element, "action_id") == RERUN_BUTTON and text(get(element, "value")):
                return str(element["value"])
    return None


class Shortcuts:
    """The global and message shortcuts."""

    def __init__(self, services: Services, rerun: Rerun, *, intake: Intake | None = None) -> None:
        self.services = services
        self.rerun = rerun
        self.intake = intake or Intake(services)
        self.intake.finish_with(SHORTCUT, self.finish)

    def run_notebook(self, ack: Ack, body: dict[str, Any]) -> None:
        """*Run a Deepnote notebook*: open the form with the picker."""
        ack()
        who = Requester(
            user_id=text(get(body, "user", "id")) or "",
            team_id=team_of(body),
            channel_id="",
            trigger="shortcut",
            trigger_id=text(body.get("trigger_id")),
        )
        self.services.background.submit("shortcut", self.open, who)

    def open(self, who: Requester) -> None:
        """Open the picker; tell the person (a direct message: there is no channel) if not."""
        request = FormRequest("", who.team_id, who.user_id, "")
        try:
            open_picker(self.services, who, request)
        except Exception as exc:
            errors.report(exc, "shortcut failed", event="interaction_error")
            tell(self.services, who, errors.reply_for(exc))

    def rerun_message(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        """*Re-run this*: store it, acknowledge, and re-run the card's run in the background."""
        who = clicker(body)
        try:
            intent_id = self.intake.keep(
                SHORTCUT,
                who,
                RERUN_SHORTCUT,
                response_url=text(body.get("response_url")),
                payload=body,
            )
        except (StorageError, sqlite3.Error) as exc:
            log.error(
                "could not store a shortcut", extra={"event": "intent_failed", "error": str(exc)}
            )
            ack()
            self.services.background.submit(
                "shortcut", tell, self.services, who, error_reply(NOT_STORED), respond
            )
            return
        ack()
        self.services.background.submit("shortcut", self.work, body, respond, intent_id)

    def work(self, body: Mapping[str, Any], respond: Respond | None, intent_id: str | None) -> None:
        """Re-run the card's run, or say why not."""
        self.intake.started(intent_id)
        try:
            run_id = card_run_id(body.get("message"))
            if run_id is None:
                raise UserError(NOT_A_CARD, hint=NOT_A_CARD_HINT)
            pressed = {"action_id": RERUN_BUTTON, "value": run_id}
            self.rerun({**body, "actions": [pressed]}, respond, intent_id)
        except Exception as exc:
            errors.report(exc, "re-run shortcut failed", event="interaction_error")
            tell(self.services, clicker(body), errors.reply_for(exc), respond)
        finally:
            self.intake.done(intent_id, "finished")

    def finish(self, intent: Intent) -> None:
        """Carry out a *Re-run this* a stopped process acknowledged (its run is keyed by it, so
        it never starts twice), or tell the person it was not."""
        body = payload_of(intent)
        if self.intake.too_old(intent) or not body:
            self.intake.explain(
                intent, NOT_DONE, what="your *Re-run this*", again="Please use it again."
            )
            return
        respond = Respond(response_url=intent.response_url) if intent.response_url else None
        self.work(body, respond, intent.id)


def register(app: App, services: Services, rerun: Rerun, *, intake: Intake | None = None) -> None:
    """Attach the shortcuts and the picker's listeners to the Bolt app."""
    shortcuts = Shortcuts(services, rerun, intake=intake)
    app.shortcut(RUN_SHORTCUT)(shortcuts.run_notebook)
    app.shortcut(RERUN_SHORTCUT)(shortcuts.rerun_message)

    def options(ack: Ack, body: dict[str, Any]) -> None:
        """The picker's options, while the person types."""
        suggest(services, ack, body)

    def picked(ack: Ack, body: dict[str, Any]) -> None:
        """A notebook was chosen: fill the form in the background."""
        ack()
        services.background.submit("pick", _fill, services, body)

    app.options(PICK_ACTION)(options)
    app.action(PICK_ACTION)(picked)


def _fill(services: Services, body: Mapping[str, Any]) -> None:
    """`fill_form`, telling the person when it fails."""
    try:
        fill_form(services, body)
    except Exception as exc:
        errors.report(exc, "could not fill the form", event="interaction_error")
        who = Requester(text(get(body, "user", "id")) or "", team_of(body), "")
        tell(services, who, errors.reply_for(exc))
