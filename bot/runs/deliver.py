"""Posting a run's messages: its card, the card's edits, the thread reply and its files.

Every post is paced per channel (`ChannelPacer`) and recorded in the run's row first (an
"intent"), so a restart can tell a post that went out from one that did not.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.conditions import Evaluation
from bot.deepnote.charts import render_chart
from bot.errors import SlackError, UserError
from bot.ratelimit import ChannelPacer
from bot.slack.gateway import SlackGateway, advice, explain
from bot.slack.messages.cards import run_card
from bot.slack.messages.results import run_result_reply
from bot.text.mrkdwn import Markup, code, fill
from storage.records import ChartResult, ImageResult, RunRecord
from storage.results import ResultStore
from storage.runs import FINAL_STATUSES, RunStore

log = logging.getLogger(__name__)

SLACK_RETRY_CAP = 300.0
# Slack error codes after which nothing can be posted anywhere with this token.
_DEAD_TOKEN = ("invalid_auth", "token_revoked", "account_inactive")


@dataclass(kw_only=True, eq=False)
class Delivery:
    """Posts and edits the Slack messages of runs, each exactly once, at each channel's pace."""

    store: RunStore
    results: ResultStore
    slack: SlackGateway
    clock: Clock
    holder: str
    pacer: ChannelPacer
    # Called before posting a run's messages (the bot waits there while Slack's requests
    # are answered), before the channel's slot is taken: the post follows its slot at once.
    quiet: Callable[[], object] | None = None
    # One pass over the outbox at a time: a round's own delivery and one between rounds (while
    # a long round reads Deepnote) never post from the same outbox twice.
    _passing: threading.Lock = field(default_factory=threading.Lock, init=False)

    def deliver_all(self) -> None:
        """Post every pending card edit and thread reply."""
        with self._passing:
            for run, card, reply, files in self.store.outbox(self.clock.now()):
                self._deliver(run, card, reply, files)

    def deliver(self, id_: str) -> None:
        """Post what is pending for one run, now."""
        run = self.store.get(id_)
        if run is None:
            return
        for item, card, reply, files in self.store.outbox(self.clock.now()):
            if item.id == id_:
                self._deliver(item, card, reply, files)

    def post_first_card(self, record: RunRecord, now: datetime) -> None:
        """Post the run's card; if Slack refuses, nothing is started.

        Slack's 429 is no refusal: the card was not posted, and the outbox posts it once the
        channel's Retry-After is over (the pacer heard it), so the run starts all the same.
        """
        try:
            self._post_card(record, now)
        except SlackError as exc:
            self.store.set_intent(record.id, "card", None)
            if exc.status == 429:
                self.store.queue_card(record.id)
                return
            self.store.set_create_failed(record.id, error=f"Slack: {exc.message}", now=now)
            raise UserError(
                f"The run was not started: Slack refused the bot's post ({exc.message}).",
                hint=advice(exc),
            ) from None

    def tell_user(self, run: RunRecord, text: str) -> None:
        """Send the run's requester a direct message; a failure is only logged."""
        try:
            self.slack.post(run.user_id, text)
        except SlackError:
            log.warning("could not message the user", extra={"event": "dm_failed", "run": run.id})

    def _post_card(self, run: RunRecord, now: datetime) -> str:
        """Post the run's card (its intent stored first) and store where it went."""
        card = run_card(run, now=now)
        self.store.set_intent(run.id, "card", self.holder)
        ts = self.slack.post(
            run.channel_id,
            card.text,
            card.blocks,
            thread_ts=run.thread_ts,
            metadata=_metadata(run.id, "card"),
        )
        self.store.set_card(run.id, ts)
        return ts

    def _deliver(self, run: RunRecord, card: bool, reply: bool, files: bool) -> None:
        """Post the run's pending card, edit, reply or files, as far as the pace allows.

        A finished run's reply does not wait for its card's edit: edits have their own
        (workspace-wide) budget, and the reply is what the person waits for.
        """
        if self.quiet is not None:
            self.quiet()
        now = self.clock.now()
        try:
            if run.card_ts is None:
                # A queued card, or a quiet run announced at its end (then it shows the outcome).
                if not self.pacer.allow(run.channel_id):
                    return
                ts = self._post_card(run, now)
                self.store.card_done(run.id, run.status)
                run = replace(run, card_ts=ts)
            elif card:
                self._edit_card(run, now)
            if reply:
                if self.pacer.allow(run.channel_id):
                    self._post_reply(run)
                return  # its files, if any, follow in later rounds at the channel's pace
            if files:
                self._post_files(run)
        except SlackError as exc:
            # A refused post was not posted: no doubt to settle later.
            if run.card_ts is None:
                self.store.set_intent(run.id, "card", None)
            self.store.set_intent(run.id, "reply", None)
            self._slack_failed(run, exc, now)

    def _edit_card(self, run: RunRecord, now: datetime) -> None:
        """Edit the card to the run's latest state, if the edit budget allows it now.

        An intermediate state ("running") leaves the last of the budget to outcomes; a held
        edit is not queued: the next round edits the card to the state it has by then, so a
        stale state is never shown. A 429 holds every edit for its Retry-After (the pacer
        heard it from the gateway) and leaves the card to a later round.
        """
        if not self.pacer.allow_edit(run.channel_id, final=run.status in FINAL_STATUSES):
            return
        msg = run_card(run, now=now)
        try:
            self.slack.update(run.channel_id, run.card_ts or "", msg.text, msg.blocks)
        except SlackError as exc:
            if exc.status == 429:
                return
            raise
        self.store.card_done(run.id, run.status)

    def _post_reply(self, run: RunRecord) -> None:
        """Post the result reply in the card's thread (its intent stored first)."""
        stored = self.store.alert(run.id)
        alert = None if stored is None else Evaluation.from_json(stored)
        msg = run_result_reply(run, results=self.results.load(run.id), alert=alert)
        self.store.set_intent(run.id, "reply", self.holder)
        ts = self.slack.post(
            run.channel_id,
            msg.text,
            msg.blocks,
            thread_ts=run.thread_ts or run.card_ts,
            metadata=_metadata(run.id, "result"),
        )
        self.store.reply_done(run.id, ts)

    def _post_files(self, run: RunRecord) -> None:
        """Upload the run's images and charts into its thread, each exactly once."""
        thread = run.thread_ts or run.card_ts
        for position, item in self.results.unposted_files(run.id):
            if not self.pacer.allow(run.channel_id):
                return
            content: bytes | None = None
            if isinstance(item, ImageResult):
                content = item.data
            elif isinstance(item, ChartResult):
                content = render_chart(item.spec)
            if content is not None:
                name = f"{_slug(item.title or item.block_id)}.png"
                self.slack.upload(run.channel_id, thread, name, content, item.title or name)
            self.results.mark_posted(run.id, position)
        self.store.files_done(run.id)

    def _slack_failed(self, run: RunRecord, exc: SlackError, now: datetime) -> None:
        """Retry a refused post later, or give up on it and tell the requester why."""
        if exc.retryable:
            attempts = self.store.counter(run.id, "slack_attempts") + 1
            wait = exc.retry_after or min(SLACK_RETRY_CAP, 2.0 ** min(attempts, 8))
            self.store.slack_failed(
                run.id, error=exc.message, retry_at=now + timedelta(seconds=wait)
            )
            return
        self.store.slack_failed(run.id, error=exc.code or exc.message, retry_at=None)
        log.warning(
            "giving up posting",
            extra={"event": "slack_gave_up", "run": run.run_id, "code": exc.code},
        )
        if exc.code in _DEAD_TOKEN:
            return
        self.tell_user(
            run,
            fill(
                "I could not update the run of *{name}* in <#{channel}>: {why}. "
                "Its status is {status}.",
                name=run.notebook_name,
                channel=run.channel_id,
                why=Markup(explain(exc.code)),
                status=code(run.status),
            ),
        )


def _slug(text: str) -> str:
    """A file name made from a title.

    >>> _slug("Revenue by region (Q3)!")
    'revenue-by-region-q3'
    """
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words)[:60] or "result"


def _metadata(run_id: str, kind: str) -> dict[str, Any]:
    """Message metadata that lets a restart find the post again (`find_posted`)."""
    return {"event_type": "deepnote_run", "event_payload": {"run": run_id, "kind": kind}}
