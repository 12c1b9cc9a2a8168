"""The buttons of `/deepnote find`'s answer: Run, Inputs, Schedule…, Alias…, More, Refresh.

Each button does what the typed command does, with the same access rules and audit entries:
*Run* is `/deepnote run <id> --form`, *Inputs* is `/deepnote inputs <id>`, *Alias…* opens a
modal asking for the name and then does `/deepnote alias <name> <id>`. *Schedule…* shows
the `schedule` command filled in with the notebook and its current inputs, to edit and send
(a schedule has too many choices for a button: when, time zone, notify, outputs).

Clicks are stored before they are acknowledged (handlers/intake.py, kind `click`); the alias
modal's submission is stored as the `alias` command it stands for (kind `command`, without a
response_url: after a restart it is done again, or explained, like a typed command).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, Respond

from bot.commands.parse import parse_command
from bot.commands.types import AliasCommand, InputsCommand, RunCommand
from bot.errors import SlackError, StorageError, UserError
from bot.runs.service import Requester
from bot.services import Services
from bot.slack.messages.blocks import Message, plain_text, section
from bot.slack.messages.find import (
    FIND_ALIAS,
    FIND_INPUTS,
    FIND_MORE,
    FIND_REFRESH,
    FIND_RUN,
    FIND_SCHEDULE,
    read_page_value,
)
from bot.slack.run_form import FormRequest, modal_metadata, plain_error
from bot.text.mrkdwn import escape, truncate
from handlers import aliases, errors, run_commands
from handlers.find_command import find_page, schedule_offer
from handlers.forms import TRIGGER_GONE, form_key_of, signed_request
from handlers.intake import NOT_STORED, Intake, tell
from handlers.notebooks import fetch_notebook
from handlers.payloads import action_value, clicker, get, team_of, text
from storage.intents import COMMAND
from storage.records import RunOptions

log = logging.getLogger(__name__)

ALIAS_CALLBACK = "find_alias_form"
ALIAS_BLOCK = "alias_name"
ALIAS_ACTION = "name"

Work = Callable[[Mapping[str, Any], "Respond | None", "str | None"], None]


def alias_view(metadata: str, notebook_name: str) -> dict[str, Any]:
    """The modal asking for an alias name for a notebook (`metadata`: the signed request)."""
    name = escape(truncate(notebook_name, 150))
    element = {
        "type": "plain_text_input",
        "action_id": ALIAS_ACTION,
        "max_length": 40,
        "placeholder": plain_text("e.g. sales-report", 150).to_dict(),
    }
    block = {
        "type": "input",
        "block_id": ALIAS_BLOCK,
        "label": plain_text("Alias", 150).to_dict(),
        "element": element,
        "hint": plain_text("1-40 lowercase letters, digits, - and _", 150).to_dict(),
    }
    return {
        "type": "modal",
        "callback_id": ALIAS_CALLBACK,
        "title": plain_text("Name a notebook", 24).to_dict(),
        "submit": plain_text("Save", 24).to_dict(),
        "close": plain_text("Cancel", 24).to_dict(),
        "private_metadata": metadata,
        "blocks": [section(f"A short name for *{name}*, to use instead of its id."), block],
    }


class FindClicks:
    """The work of the find answer's buttons (registered with the other clicks)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def works(self) -> dict[str, Work]:
        """The button action ids and their work."""
        return {
            FIND_RUN: self.run,
            FIND_INPUTS: self.inputs,
            FIND_SCHEDULE: self.schedule,
            FIND_ALIAS: self.alias,
            FIND_MORE: self.page,
            FIND_REFRESH: self.page,
        }

    def _who(self, body: Mapping[str, Any]) -> Requester:
        """The person who clicked, where (with the click's trigger_id); the channel's rule."""
        who = replace(clicker(body), trigger_id=text(body.get("trigger_id")))
        self.services.config.access().check_channel(who.channel_id)
        return who

    def run(self, body: Mapping[str, Any], respond: Respond | None, _id: str | None) -> None:
        """*Run*: open the run form for the notebook, as `/deepnote run <id> --form` does."""
        who = self._who(body)
        cmd = RunCommand(action_value(body), (), RunOptions(), form=True)
        msg = run_commands.do_run(self.services, who, cmd)
        if msg is not None:
            tell(self.services, who, msg, respond)

    def inputs(self, body: Mapping[str, Any], respond: Respond | None, _id: str | None) -> None:
        """*Inputs*: the notebook's inputs, as `/deepnote inputs <id>` lists them."""
        who = self._who(body)
        msg = run_commands.do_inputs(self.services, who, InputsCommand(action_value(body)))
        tell(self.services, who, msg, respond)

    def schedule(self, body: Mapping[str, Any], respond: Respond | None, _id: str | None) -> None:
        """*Schedule…*: the `schedule` command filled in, to edit and send."""
        who = self._who(body)
        tell(self.services, who, schedule_offer(self.services, who, action_value(body)), respond)

    def alias(self, body: Mapping[str, Any], respond: Respond | None, _id: str | None) -> None:
        """*Alias…*: a modal asking for the alias name."""
        who = self._who(body)
        notebook = fetch_notebook(self.services, action_value(body), retries=0)
        request = FormRequest(notebook.id, who.team_id, who.user_id, who.channel_id)
        view = alias_view(modal_metadata(request, form_key_of(self.services)), notebook.name)
        typed = f"`/deepnote alias &lt;name&gt; {notebook.id}`"
        if not who.trigger_id:
            raise UserError("Slack did not let the bot open the form.", hint=f"Type {typed}.")
        try:
            self.services.slack.open_view(who.trigger_id, view)
        except SlackError as exc:
            if exc.code not in TRIGGER_GONE:
                raise
            raise UserError(
                "Slack did not let the bot open the form in time (a form must open within "
                "3 seconds of the click).",
                hint=f"Press *Alias…* again, or type {typed}.",
            ) from None

    def page(self, body: Mapping[str, Any], respond: Respond | None, _id: str | None) -> None:
        """*More* and *Refresh*: the page asked for, in place of the answer clicked."""
        who = self._who(body)
        wanted = read_page_value(action_value(body))
        if wanted is None:
            raise UserError("That button is not one of the bot's, so nothing was done.")
        clicked = body.get("actions")
        first = clicked[0] if isinstance(clicked, list) and clicked else None
        refresh = get(first, "action_id") == FIND_REFRESH
        msg = find_page(self.services, who, wanted[0], start=wanted[1], refresh=refresh)
        if respond is not None:
            answer = respond(text=msg.text, blocks=msg.blocks, replace_original=True)
            if answer.status_code == 200:
                return
        tell(self.services, who, msg)


class AliasForm:
    """The *Alias…* modal's submission: the name checked while Slack waits, then the alias
    made in the background exactly as `/deepnote alias <name> <id>` makes it."""

    def __init__(self, services: Services, *, intake: Intake | None = None) -> None:
        self.services = services
        self.intake = intake or Intake(services)

    def submit(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Close the modal and queue the alias, or show what is wrong with the name."""
        user_id = text(get(body, "user", "id")) or ""
        try:
            request = signed_request(
                self.services, str(view.get("private_metadata") or ""), team_of(body)
            )
        except UserError as exc:
            ack(response_action="errors", errors={ALIAS_BLOCK: plain_error(exc.message, "")})
            return
        name = text(get(view, "state", "values", ALIAS_BLOCK, ALIAS_ACTION, "value")) or ""
        command = f"alias {name.strip()} {request.notebook_id}"
        try:
            cmd = parse_command(command)
        except UserError as exc:
            ack(response_action="errors", errors={ALIAS_BLOCK: plain_error(exc.message, "")})
            return
        if request.user_id != user_id or not isinstance(cmd, AliasCommand):
            ack(response_action="errors", errors={ALIAS_BLOCK: "This form could not be checked."})
            return
        who = Requester(user_id, request.team_id, request.channel_id, trigger="form")
        try:
            intent_id = self.intake.keep(COMMAND, who, command)
        except (StorageError, sqlite3.Error) as exc:
            log.error(
                "could not store an alias", extra={"event": "intent_failed", "error": str(exc)}
            )
            ack(response_action="errors", errors={ALIAS_BLOCK: plain_error(NOT_STORED, "")})
            return
        ack()
        who = replace(who, intent_id=intent_id)
        self.services.background.submit("alias form", self.work, cmd, who)

    def work(self, cmd: AliasCommand, who: Requester) -> None:
        """Make the alias and tell the person how it went (the command's rules and audit)."""
        self.intake.started(who.intent_id)
        try:

            def make() -> Message:
                """The channel's rule, then the alias, as the typed command does them."""
                self.services.config.access().check_channel(who.channel_id)
                return aliases.do_alias(self.services, who, cmd)

            msg = errors.answer(make, "alias form failed", event="command_error")
            if msg is not None:
                tell(self.services, who, msg)
        finally:
            self.intake.done(who.intent_id, "finished")
