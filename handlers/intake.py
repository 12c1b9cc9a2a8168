"""Everything the bot acknowledges is stored first, and finished or explained after a restart.

Slack never retries a slash command, a button click or a form submission it got a 200 for, and
an event it got a 200 for is not sent again either. So before each acknowledgement leaves, the
request is stored (storage/intents.py: who, where, what, the response_url, and for mentions,
clicks and forms what Slack sent); it is marked done once its work has finished. After a
restart, `Intake.recover` (run by the process holding the poller lease) hands every request a
stopped process left open to the listener of its kind, which carries it out again while the
person is likely still waiting, or tells them it was not done. A run is keyed by its request,
so one is never started twice.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from slack_bolt import Respond

from bot.commands.parse import parse_command
from bot.errors import SlackError, UserError
from bot.runs.service import Requester
from bot.services import Services
from bot.slack.messages.blocks import Message
from bot.slack.messages.help import error_reply
from handlers.dispatch import changes_something
from storage.intents import COMMAND, Intent, IntentStore
from storage.runs import LeaseStore

log = logging.getLogger(__name__)

# A request found unfinished after a restart is carried out only while the person is likely
# still waiting for it; an older one is explained instead, and they decide whether to redo it.
REDO_WITHIN = timedelta(minutes=5)
# Slack's response_url answers for 30 minutes; after that only a DM reaches the person.
RESPONSE_URL_LIFETIME = timedelta(minutes=30)

NOT_STORED = (
    "The bot could not store your request (its database is not writable), so it did nothing. "
    "Try again in a minute; if this keeps happening, tell the bot's admin."
)
NOT_DONE = "The bot restarted before it could act on {what}, so nothing was done. {again}"
MAYBE_DONE = (
    "The bot restarted while it was carrying out {what}, so it cannot tell whether it was "
    "done. Check (`/deepnote schedules`, `/deepnote aliases`) before running it again."
)

# What Slack sends that is a secret of the app (the legacy verification token): never stored.
_SECRET_KEYS = frozenset({"token"})

Finisher = Callable[[Intent], None]


def payload_json(body: Mapping[str, Any]) -> str:
    """What Slack sent, as stored: JSON without the app's verification token.

    >>> payload_json({"token": "secret", "type": "block_actions"})
    '{"type": "block_actions"}'
    """
    return json.dumps({k: v for k, v in body.items() if k not in _SECRET_KEYS})


def payload_of(intent: Intent) -> dict[str, Any]:
    """The stored payload of a request (empty when none was stored)."""
    if not intent.payload:
        return {}
    value = json.loads(intent.payload)
    return value if isinstance(value, dict) else {}


class Intake:
    """Stores requests before they are acknowledged and settles them after a restart.

    Without a store (unit tests of single listeners), nothing is stored and nothing recovered.
    """

    def __init__(
        self,
        services: Services,
        *,
        store: IntentStore | None = None,
        leases: LeaseStore | None = None,
        holder: str = "",
    ) -> None:
        self.services = services
        self.store = store
        self.leases = leases
        self.holder = holder
        self._finishers: dict[str, Finisher] = {}

    def finish_with(self, kind: str, finisher: Finisher) -> None:
        """Name the listener method that finishes a request of `kind` after a restart."""
        self._finishers[kind] = finisher

    # -- before the acknowledgement --------------------------------------------------------

    def keep(
        self,
        kind: str,
        who: Requester,
        text: str,
        *,
        response_url: str | None = None,
        payload: Mapping[str, Any] | None = None,
        intent_id: str | None = None,
    ) -> str | None:
        """Store a request about to be acknowledged; its id, or None when there is no store or
        a request with `intent_id` was stored already (Slack's retry of an event).

        Raises StorageError or sqlite3.Error when it cannot be stored: the caller then
        acknowledges with `NOT_STORED` instead of promising work a restart could lose.
        """
        if self.store is None:
            return None
        intent_id = intent_id or uuid.uuid4().hex
        stored = self.store.add(
            Intent(
                id=intent_id,
                team_id=who.team_id,
                user_id=who.user_id,
                channel_id=who.channel_id,
                thread_ts=who.thread_ts,
                text=text,
                response_url=response_url,
                holder=self.holder,
                received_at=self.services.clock.now(),
                kind=kind,
                payload=payload_json(payload) if payload is not None else None,
            )
        )
        return intent_id if stored else None

    def enabled(self) -> bool:
        """Whether requests are stored."""
        return self.store is not None

    def started(self, intent_id: str | None) -> None:
        """Note that a request's work has begun."""
        if self.store is not None and intent_id is not None:
            self.store.started(intent_id, now=self.services.clock.now())

    def done(self, intent_id: str | None, outcome: str) -> None:
        """Mark a request finished."""
        if self.store is not None and intent_id is not None:
            self.store.done(intent_id, outcome, now=self.services.clock.now())

    # -- after a restart ---------------------------------------------------------------------

    def recover(self) -> int:
        """Take over every unfinished request of a stopped process and finish or explain it in
        the background; return how many. Run only by the process holding the poller lease."""
        if self.store is None or self.leases is None:
            return 0
        now = self.services.clock.now()
        left = [
            intent
            for intent in self.store.unfinished()
            if intent.holder != self.holder and not self.leases.alive(intent.holder, now=now)
        ]  # the others are under way in a live process
        # Runs half-started by the stopped process are settled first, before anything carried
        # out again could start runs of the same notebook (which they must not adopt).
        for intent in left:
            # Its run was being started: settle that run (never start it again).
            if self.services.store.get(
                intent.id
            ) is not None and self.services.runs.starter.settle_abandoned(intent.id):
                self.store.done(intent.id, "run already started", now=now)
        taken = 0
        for intent in left:
            if self.services.store.get(intent.id) is not None:
                continue
            if self.store.take_over(intent.id, intent.holder, self.holder):
                finisher = self._finishers.get(intent.kind, self._unknown)
                self.services.background.submit(f"recover {intent.kind}", finisher, intent)
                taken += 1
        self.store.prune(now=now)
        return taken

    def maybe_done(self, intent: Intent) -> bool:
        """Whether a command (typed or in a mention) that changes something had begun when its
        process stopped: it may have been done, and doing it again could do it twice."""
        if intent.started_at is None:
            return False
        try:
            return changes_something(parse_command(intent.text))
        except UserError:
            return False

    def too_old(self, intent: Intent) -> bool:
        """Whether the person has likely stopped waiting for the request."""
        return self.services.clock.now() - intent.received_at > REDO_WITHIN

    def explain(self, intent: Intent, template: str, *, what: str, again: str = "") -> None:
        """Tell the person what became of the request: through its response_url while Slack
        allows, else as an ephemeral where they asked (a command: a direct message), else in a
        direct message."""
        msg = error_reply(template.format(what=what, again=again).strip())
        age = self.services.clock.now() - intent.received_at
        respond = None
        if intent.response_url and age < RESPONSE_URL_LIFETIME:
            respond = Respond(response_url=intent.response_url)
        channel = intent.channel_id if intent.kind != COMMAND else ""
        who = Requester(intent.user_id, intent.team_id, channel)
        sent = tell(self.services, who, msg, respond, thread_ts=intent.thread_ts)
        log.info(
            "explained a request acknowledged before a restart",
            extra={"event": "intent_explained", "intent": intent.id, "sent": sent},
        )
        self.done(intent.id, "explained" if sent else "could not explain")

    def _unknown(self, intent: Intent) -> None:
        """A request of a kind this version does not finish (stored by a newer one)."""
        self.explain(intent, NOT_DONE, what="your request", again="Please try again.")


def tell(
    services: Services,
    who: Requester,
    msg: Message,
    respond: Respond | None = None,
    *,
    thread_ts: str | None = None,
) -> bool:
    """Show `msg` to one person: through the response_url, else as an ephemeral in the
    channel (in `thread_ts`), else in a direct message; False when nothing reached them."""
    if respond is not None:
        try:
            answer = respond(
                text=msg.text, blocks=msg.blocks, response_type="ephemeral", replace_original=False
            )
            if answer.status_code == 200:
                return True
        except OSError:
            pass
        log.warning("response_url failed", extra={"event": "respond_failed"})
    if who.channel_id:
        try:
            services.slack.ephemeral(
                who.channel_id, who.user_id, msg.text, msg.blocks, thread_ts=thread_ts
            )
            return True
        except SlackError:
            pass
    try:
        services.slack.post(who.user_id, msg.text, msg.blocks)
    except SlackError:
        log.warning("could not tell the user", extra={"event": "tell_failed"})
        return False
    return True
