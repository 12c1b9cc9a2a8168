"""The `/deepnote` slash command: acknowledge at once, then do the slow work in the background.

The acknowledgement answers help and syntax errors straight away (parsing is pure and
fast); anything that needs Deepnote runs after the acknowledgement, on `services.background`,
and replies through the command's `response_url`.

Before the acknowledgement leaves, the command is stored (handlers/intake.py) and it is marked
done once its reply is sent or its run started; after a restart, `SlashCommand.finish` carries
out or explains every command a stopped process left open.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.commands.parse import parse_command
from bot.commands.types import Command, HelpCommand
from bot.errors import StorageError, UserError
from bot.runs.service import Requester
from bot.services import Services
from bot.slack.messages.help import error_reply
from bot.text.mrkdwn import code
from handlers import errors
from handlers.dispatch import dispatch, help_reply
from handlers.intake import MAYBE_DONE, NOT_DONE, NOT_STORED, Intake
from storage.intents import COMMAND, Intent

log = logging.getLogger(__name__)


def requester(command: dict[str, Any], intent_id: str | None = None) -> Requester:
    """Who typed the command, and where."""
    return Requester(
        user_id=str(command.get("user_id", "")),
        team_id=str(command.get("team_id", "")),
        channel_id=str(command.get("channel_id", "")),
        thread_ts=str(command.get("thread_ts") or "") or None,
        trigger_id=str(command.get("trigger_id") or "") or None,
        intent_id=intent_id,
    )


class SlashCommand:
    """The `/deepnote` listener; every acknowledged command is stored first (`intake`)."""

    def __init__(self, services: Services, *, intake: Intake | None = None) -> None:
        self.services = services
        self.intake = intake or Intake(services)
        self.intake.finish_with(COMMAND, self.finish)

    def acknowledge(self, ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        """Answer help and syntax errors in the acknowledgement; store and queue the rest."""
        try:
            cmd = parse_command(str(command.get("text", "")))
        except UserError as exc:
            msg = error_reply(exc.user_message)
            ack(text=msg.text, blocks=msg.blocks)
            return
        if isinstance(cmd, HelpCommand):
            msg = help_reply(cmd.topic)
            ack(text=msg.text, blocks=msg.blocks)
            return
        who = requester(command)
        try:
            intent_id = self.intake.keep(
                COMMAND,
                who,
                str(command.get("text", "")),
                response_url=str(command.get("response_url") or "") or None,
            )
        except (StorageError, sqlite3.Error) as exc:
            # Acknowledging what could not be stored would promise what a restart may break.
            log.error(
                "could not store a command", extra={"event": "intent_failed", "error": str(exc)}
            )
            msg = error_reply(NOT_STORED)
            ack(text=msg.text, blocks=msg.blocks)
            return
        ack()
        who = requester(command, intent_id)
        self.services.background.submit("command", self.work, cmd, who, respond)

    def work(self, cmd: Command, who: Requester, respond: Respond) -> None:
        """Carry out the command and reply through its `response_url` (errors included)."""
        self.intake.started(who.intent_id)
        try:
            msg = errors.answer(
                lambda: dispatch(self.services, who, cmd),
                "command failed",
                event="command_error",
                channel=who.channel_id,
            )
            if msg is not None:
                respond(text=msg.text, blocks=msg.blocks, response_type="ephemeral")
        finally:
            self.intake.done(who.intent_id, "finished")

    def finish(self, intent: Intent) -> None:
        """Carry out a command a stopped process acknowledged, or tell the person it was not."""
        what = "your command " + code("/deepnote " + intent.text, limit=300)
        if self.intake.maybe_done(intent):
            self.intake.explain(intent, MAYBE_DONE, what=what)
            return
        try:
            cmd: Command | None = parse_command(intent.text)
        except UserError:
            cmd = None
        if cmd is None or intent.response_url is None or self.intake.too_old(intent):
            self.intake.explain(intent, NOT_DONE, what=what, again="Please run it again.")
            return
        log.info(
            "carrying out a command acknowledged before a restart",
            extra={"event": "intent_redone", "intent": intent.id, "channel": intent.channel_id},
        )
        who = Requester(
            user_id=intent.user_id,
            team_id=intent.team_id,
            channel_id=intent.channel_id,
            thread_ts=intent.thread_ts,
            intent_id=intent.id,
        )
        self.work(cmd, who, Respond(response_url=intent.response_url))


def register(app: App, services: Services, *, listener: SlashCommand | None = None) -> None:
    """Attach the `/deepnote` listener to the Bolt app."""
    errors.install(app)
    app.command("/deepnote")((listener or SlashCommand(services)).acknowledge)
