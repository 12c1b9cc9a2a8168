"""The `/deepnote` slash command: acknowledge at once, then do the slow work in the background.

The acknowledgement answers help and syntax errors straight away (parsing is pure and
fast); anything that needs Deepnote runs after the acknowledgement, on `services.background`,
and replies through the command's `response_url`.

Slack never retries a slash command it got a 200 for, so before that 200 leaves the command is
stored (storage/intents.py) and it is marked done once its reply is sent or its run started.
After a restart, `SlashCommand.recover` finishes or explains every command a stopped process
left open; a run is keyed by its command, so one is never started twice.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from datetime import timedelta
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.commands.parse import parse_command
from bot.commands.types import Command, HelpCommand
from bot.errors import SlackError, StorageError, UserError
from bot.runs.service import Requester
from bot.services import Services
from bot.slack.messages.help import error_reply
from bot.text.mrkdwn import code
from handlers import errors
from handlers.dispatch import changes_something, dispatch, help_reply
from storage.intents import Intent, IntentStore
from storage.runs import LeaseStore

log = logging.getLogger(__name__)

# A command found unfinished after a restart is carried out only while the person is likely
# still waiting for it; an older one is explained instead, and they decide whether to rerun.
REDO_WITHIN = timedelta(minutes=5)
# Slack's response_url answers a command for 30 minutes; after that only a DM reaches them.
RESPONSE_URL_LIFETIME = timedelta(minutes=30)

NOT_STORED = (
    "The bot could not store your command (its database is not writable), so it did nothing. "
    "Try again in a minute; if this keeps happening, tell the bot's admin."
)

NOT_DONE = (
    "The bot restarted before it could act on your command {command}, so nothing was done. "
    "Please run it again."
)
MAYBE_DONE = (
    "The bot restarted while it was carrying out your command {command}, so it cannot tell "
    "whether it was done. Check (`/deepnote schedules`, `/deepnote aliases`) before running "
    "it again."
)


def requester(command: dict[str, Any], intent_id: str | None = None) -> Requester:
    """Who typed the command, and where."""
    return Requester(
        user_id=str(command.get("user_id", "")),
        team_id=str(command.get("team_id", "")),
        channel_id=str(command.get("channel_id", "")),
        trigger_id=str(command.get("trigger_id") or "") or None,
        intent_id=intent_id,
    )


class SlashCommand:
    """The `/deepnote` listener; with `intents`, every acknowledged command is stored first."""

    def __init__(
        self,
        services: Services,
        *,
        intents: IntentStore | None = None,
        leases: LeaseStore | None = None,
        holder: str = "",
    ) -> None:
        self.services = services
        self.intents = intents
        self.leases = leases
        self.holder = holder

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
        try:
            who = requester(command, self._store(command))
        except (StorageError, sqlite3.Error) as exc:
            # Acknowledging what could not be stored would promise what a restart may break.
            log.error(
                "could not store a command", extra={"event": "intent_failed", "error": str(exc)}
            )
            msg = error_reply(NOT_STORED)
            ack(text=msg.text, blocks=msg.blocks)
            return
        ack()
        self.services.background.submit("command", self.work, cmd, who, respond)

    def _store(self, command: dict[str, Any]) -> str | None:
        """Store the command before it is acknowledged; its intent id (None when not stored)."""
        if self.intents is None:
            return None
        intent_id = uuid.uuid4().hex
        self.intents.add(
            Intent(
                id=intent_id,
                team_id=str(command.get("team_id", "")),
                user_id=str(command.get("user_id", "")),
                channel_id=str(command.get("channel_id", "")),
                thread_ts=str(command.get("thread_ts") or "") or None,
                text=str(command.get("text", "")),
                response_url=str(command.get("response_url") or "") or None,
                holder=self.holder,
                received_at=self.services.clock.now(),
            )
        )
        return intent_id

    def work(self, cmd: Command, who: Requester, respond: Respond) -> None:
        """Carry out the command and reply through its `response_url` (errors included)."""
        if self.intents is not None and who.intent_id is not None:
            self.intents.started(who.intent_id, now=self.services.clock.now())
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
            self._done(who.intent_id, "finished")

    def _done(self, intent_id: str | None, outcome: str) -> None:
        if self.intents is not None and intent_id is not None:
            self.intents.done(intent_id, outcome, now=self.services.clock.now())

    # -- after a restart --------------------------------------------------------------------

    def recover(self) -> int:
        """Take over every unfinished command of a stopped process and finish or explain it
        in the background; return how many. Run only by the process holding the poller lease."""
        if self.intents is None or self.leases is None:
            return 0
        now = self.services.clock.now()
        taken = 0
        for intent in self.intents.unfinished():
            if intent.holder == self.holder or self.leases.alive(intent.holder, now=now):
                continue  # under way in a live process
            if self.services.store.get(intent.id) is not None:
                # Its run was being started: settle that run (never start it again).
                if self.services.runs.starter.settle_abandoned(intent.id):
                    self.intents.done(intent.id, "run already started", now=now)
                continue
            if self.intents.take_over(intent.id, intent.holder, self.holder):
                self.services.background.submit("recover command", self.finish, intent)
                taken += 1
        self.intents.prune(now=now)
        return taken

    def finish(self, intent: Intent) -> None:
        """Carry out a command a stopped process acknowledged, or tell the person it was not."""
        now = self.services.clock.now()
        if self.services.store.get(intent.id) is not None:
            # Its run was started before the stop; the run's own recovery follows it.
            self._done(intent.id, "run already started")
            return
        try:
            cmd = parse_command(intent.text)
        except UserError:
            cmd = None
        if cmd is not None and intent.started_at is not None and changes_something(cmd):
            # It may have been done: doing it again could do it twice.
            self._explain(intent, now - intent.received_at, MAYBE_DONE)
            return
        if cmd is None or intent.response_url is None or now - intent.received_at > REDO_WITHIN:
            self._explain(intent, now - intent.received_at, NOT_DONE)
            return
        log.info(
            "carrying out a command acknowledged before a restart",
            extra={"event": "intent_redone", "intent": intent.id, "channel": intent.channel_id},
        )
        who = Requester(
            user_id=intent.user_id,
            team_id=intent.team_id,
            channel_id=intent.channel_id,
            intent_id=intent.id,
        )
        self.work(cmd, who, Respond(response_url=intent.response_url))

    def _explain(self, intent: Intent, age: timedelta, template: str) -> None:
        """Tell the person what became of the command: ephemeral while Slack allows, else a
        direct message."""
        msg = error_reply(template.format(command=code("/deepnote " + intent.text, limit=300)))
        sent = False
        if intent.response_url and age < RESPONSE_URL_LIFETIME:
            sent = _respond(intent.response_url, msg.text, msg.blocks)
        if not sent:
            try:
                self.services.slack.post(intent.user_id, msg.text, msg.blocks)
                sent = True
            except SlackError:
                log.warning("could not explain a lost command", extra={"event": "intent_lost"})
        log.info(
            "explained a command acknowledged before a restart",
            extra={"event": "intent_explained", "intent": intent.id, "sent": sent},
        )
        self._done(intent.id, "explained" if sent else "could not explain")


def _respond(response_url: str, text: str, blocks: list[Any]) -> bool:
    """Answer through a response_url; False when Slack did not take it."""
    try:
        answer = Respond(response_url=response_url)(
            text=text, blocks=blocks, response_type="ephemeral"
        )
    except Exception:  # a network failure: the caller falls back to a direct message
        return False
    return 200 <= answer.status_code < 300


def register(app: App, services: Services, *, listener: SlashCommand | None = None) -> None:
    """Attach the `/deepnote` listener to the Bolt app."""
    errors.install(app)
    app.command("/deepnote")((listener or SlashCommand(services)).acknowledge)
