"""`@Deepnote <command>`: every `/deepnote` subcommand, also inside threads.

A run started from a mention posts its card in the mention's thread (the mention itself
starts the thread when it is not in one). Replies go to the person as an ephemeral, or as a
thread reply when Slack will not show an ephemeral. The bot's own messages are ignored, and
an event id is acted on once, so Slack's retries (`X-Slack-Retry-Num`) never run twice.
Each mention is stored before it is acknowledged (handlers/intake.py, keyed by its event id),
so a hard kill loses none.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App

from bot.commands.parse import parse_command
from bot.errors import SlackError, StorageError
from bot.runs.service import Requester
from bot.services import Services
from bot.slack.messages.blocks import Message
from bot.slack.messages.help import error_reply
from bot.text.mrkdwn import code
from handlers import errors
from handlers.dispatch import dispatch
from handlers.intake import MAYBE_DONE, NOT_DONE, NOT_STORED, Intake, payload_of
from storage.intents import MENTION, Intent

log = logging.getLogger(__name__)

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")


def command_text(text: str, bot_user_id: str | None) -> str:
    """The command in a mention's text: what follows the bot's mention.

    >>> command_text("<@U0BOT> run sales region=EU", "U0BOT")
    'run sales region=EU'
    >>> command_text("hey <@U0BOT|deepnote>  help", None)
    'help'
    """
    for match in _MENTION.finditer(text):
        if bot_user_id is None or match.group(1) == bot_user_id:
            return text[match.end() :].strip()
    return text.strip()


def bot_user_of(body: Mapping[str, Any]) -> str | None:
    """The bot's own user id, from the event's authorizations."""
    for auth in body.get("authorizations") or []:
        user_id = auth.get("user_id") if isinstance(auth, Mapping) else None
        if isinstance(user_id, str) and auth.get("is_bot"):
            return user_id
    return None


def is_from_a_bot(event: Mapping[str, Any], bot_user_id: str | None) -> bool:
    """True for messages posted by a bot (this one included): never act on those."""
    return (
        bool(event.get("bot_id"))
        or event.get("subtype") == "bot_message"
        or (bot_user_id is not None and event.get("user") == bot_user_id)
    )


def mention_requester(body: Mapping[str, Any], event: Mapping[str, Any]) -> Requester:
    """Who mentioned the bot, and the thread the answer goes in."""
    ts = str(event.get("ts") or "")
    thread = event.get("thread_ts")
    return Requester(
        user_id=str(event.get("user") or ""),
        team_id=str(event.get("team") or body.get("team_id") or ""),
        channel_id=str(event.get("channel") or ""),
        thread_ts=str(thread) if thread else ts or None,
        trigger="mention",
    )


def reply(services: Services, who: Requester, event: Mapping[str, Any], msg: Message) -> None:
    """Show `msg` to the person who mentioned the bot; in the thread if that fails."""
    in_thread = event.get("thread_ts")
    try:
        services.slack.ephemeral(
            who.channel_id,
            who.user_id,
            msg.text,
            msg.blocks,
            thread_ts=str(in_thread) if in_thread else None,
        )
        return
    except SlackError as exc:
        log.info("ephemeral refused", extra={"event": "ephemeral_failed", "code": exc.code})
    try:
        services.runs.pacer.wait(who.channel_id)
        services.slack.post(who.channel_id, msg.text, msg.blocks, thread_ts=who.thread_ts)
    except SlackError:
        log.warning("could not answer a mention", extra={"event": "mention_reply_failed"})


def handle_mention(
    services: Services,
    body: Mapping[str, Any],
    *,
    intent_id: str | None = None,
    dedupe: bool = True,
) -> None:
    """Act on one app_mention event, at most once per event id (`dedupe=False`: a stored
    mention carried out again after a restart, which its first process may have noted)."""
    event = body.get("event")
    if not isinstance(event, Mapping):
        return
    bot_user = bot_user_of(body)
    if is_from_a_bot(event, bot_user):
        return
    event_id = body.get("event_id")
    if (
        dedupe
        and isinstance(event_id, str)
        and not services.events.first_time(event_id, now=services.clock.now())
    ):
        log.info("event already handled", extra={"event": "event_duplicate", "id": event_id})
        return
    who = replace(mention_requester(body, event), intent_id=intent_id)
    text = command_text(str(event.get("text") or ""), bot_user)
    msg = errors.answer(
        lambda: dispatch(services, who, parse_command(text)),
        "mention failed",
        event="mention_error",
    )
    if msg is not None:
        reply(services, who, event, msg)


class MentionListener:
    """The app_mention listener: stored, acknowledged at once, handled in the background."""

    def __init__(self, services: Services, *, intake: Intake | None = None) -> None:
        self.services = services
        self.intake = intake or Intake(services)
        self.intake.finish_with(MENTION, self.finish)

    def on_mention(self, ack: Ack, body: dict[str, Any]) -> None:
        """Store the mention, acknowledge, and queue `handle_mention`."""
        event = body.get("event")
        intent_id = None
        if isinstance(event, Mapping) and not is_from_a_bot(event, bot_user_of(body)):
            who = mention_requester(body, event)
            event_id = body.get("event_id")
            try:
                intent_id = self.intake.keep(
                    MENTION,
                    who,
                    command_text(str(event.get("text") or ""), bot_user_of(body)),
                    payload=body,
                    intent_id=f"event:{event_id}" if isinstance(event_id, str) else None,
                )
            except (StorageError, sqlite3.Error) as exc:
                log.error(
                    "could not store a mention",
                    extra={"event": "intent_failed", "error": str(exc)},
                )
                ack()
                self.services.background.submit(
                    "mention", reply, self.services, who, event, error_reply(NOT_STORED)
                )
                return
            if intent_id is None and self.intake.enabled():
                ack()  # Slack's retry of a mention stored already: it is under way or recovered
                log.info("event already stored", extra={"event": "event_duplicate"})
                return
        ack()
        self.services.background.submit("mention", self.handle, body, intent_id)

    def handle(self, body: Mapping[str, Any], intent_id: str | None, dedupe: bool = True) -> None:
        """Act on the mention, then mark it done."""
        self.intake.started(intent_id)
        try:
            handle_mention(self.services, body, intent_id=intent_id, dedupe=dedupe)
        finally:
            self.intake.done(intent_id, "finished")

    def finish(self, intent: Intent) -> None:
        """Carry out a mention a stopped process acknowledged, or tell the person it was not."""
        what = "your message " + code("@Deepnote " + intent.text, limit=300)
        if self.intake.maybe_done(intent):
            self.intake.explain(intent, MAYBE_DONE, what=what)
            return
        if self.intake.too_old(intent) or not intent.payload:
            self.intake.explain(intent, NOT_DONE, what=what, again="Please mention the bot again.")
            return
        log.info(
            "carrying out a mention acknowledged before a restart",
            extra={"event": "intent_redone", "intent": intent.id, "channel": intent.channel_id},
        )
        self.handle(payload_of(intent), intent.id, dedupe=False)


def register(app: App, services: Services, *, listener: MentionListener | None = None) -> None:
    """Attach the app_mention listener to the Bolt app."""
    errors.install(app)
    app.event("app_mention")((listener or MentionListener(services)).on_mention)
