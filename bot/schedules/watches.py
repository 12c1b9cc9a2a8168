"""Watches: every run of a notebook, whoever started it, followed in a channel.

A watch lists its notebook's runs (GET /v2/notebooks/{id}/runs, one page, newest first) once
every `every_seconds`, under the poller lease like schedules. A run it has not seen and the
bot does not already follow is taken up as a run row of its own (`trigger` "watch"), so the
normal path posts its card, failure reason and results (`RunService`); a run the bot started
itself is in the run store and is never taken up. The runs listed when the watch was made are
its starting mark: only runs from then on are posted.

A watch with `--notify-if` posts its runs by the condition, as a schedule's alert does: each
run found is stored with the condition (the follower checks it when the run ends), starts
quiet, and `on_finish` decides with `alert_decision` whether it is posted.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.access import AccessDenied
from bot.clock import Clock
from bot.conditions import QUIET
from bot.deepnote.client import DeepnoteClient
from bot.deepnote.condition_names import check_condition
from bot.deepnote.models import Notebook, RunSummary, is_terminal
from bot.deepnote.notebook_ref import notebook_url
from bot.errors import (
    BudgetExhausted,
    DeepnoteError,
    DeepnoteForbidden,
    DeepnoteNotFound,
    NotebookNotFound,
    SlackError,
    UserError,
)
from bot.runs.service import Requester, RunService
from bot.schedules.rules import alert_decision, parse_schedule_id, should_announce, who_may_change
from bot.schedules.service import run_evaluation
from bot.slack.gateway import SlackGateway, advice
from bot.slack.messages.blocks import Message
from bot.slack.messages.status import TRIGGER_WATCH
from bot.slack.messages.watches import watch_created, watch_deleted, watch_paused_itself
from bot.text.mrkdwn import code, escape, truncate, user_mention
from storage.records import RunRecord
from storage.schedules import SUCCESS
from storage.watches import WatchRecord, WatchStore

log = logging.getLogger(__name__)

LIST_PAGE = 50
"""Runs read per look: the newest page of the notebook's run list."""
LOOKBACK = timedelta(minutes=10)
"""Runs created this long before the newest one seen are still told apart by id (a listing
may show a run a moment after a newer one)."""
MAX_SEEN_IDS = 200
NOT_WATCHED = "Nothing is watched."
NOT_CREATED = "No watch was created."


@dataclass(frozen=True)
class WatchChange:
    """What `unwatch` did, for the reply: the watch as it was, and whether it was posted."""

    watch: WatchRecord
    actor: str
    announced: bool = True


def is_new(summary: RunSummary, watch: WatchRecord) -> bool:
    """Whether a listed run came after the watch's mark (by time, or by id near the mark).

    >>> from datetime import UTC
    >>> at = datetime(2026, 1, 1, 9, tzinfo=UTC)
    >>> w = WatchRecord(1, "T", "C", "U", "nb", "N", "always", at, seen_until=at, seen_ids=("a",))
    >>> [is_new(RunSummary(r, "success", at + timedelta(seconds=s)), w)
    ...  for r, s in (("a", 0), ("b", 0), ("c", 5), ("d", -3600))]
    [False, True, True, False]
    """
    if summary.run_id in watch.seen_ids:
        return False
    if watch.seen_until is None:
        return True
    if summary.created_at is None:
        return False
    return summary.created_at > watch.seen_until - LOOKBACK


def next_mark(
    summaries: Sequence[RunSummary], watch: WatchRecord, *, left: frozenset[str] = frozenset()
) -> tuple[datetime | None, tuple[str, ...]]:
    """The watch's mark after this listing: the newest `createdAt` seen and the ids near it;
    runs in `left` (to look at again next time) are not counted as seen."""
    counted = [s for s in summaries if s.run_id not in left]
    times = [s.created_at for s in counted if s.created_at is not None]
    known = [t for t in (watch.seen_until, *times) if t is not None]
    until = max(known) if known else None
    if until is None:
        return None, tuple(s.run_id for s in counted)[:MAX_SEEN_IDS]
    ids = [s.run_id for s in counted if s.created_at is None or s.created_at > until - LOOKBACK]
    return until, tuple(ids[:MAX_SEEN_IDS])


@dataclass(kw_only=True, eq=False)
class WatchService:
    """Creates, lists and removes watches, and takes up their notebooks' new runs."""

    store: WatchStore
    runs: RunService
    deepnote: DeepnoteClient
    slack: SlackGateway
    clock: Clock
    every_seconds: float
    round_seconds: float
    app_url: str
    admins: tuple[str, ...] = ()
    _last_round: datetime | None = field(default=None, init=False)

    # -- creating ---------------------------------------------------------------------------

    def create(
        self, who: Requester, notebook: Notebook, *, notify: str, notify_if: str | None = None
    ) -> WatchRecord:
        """Check, take the starting mark, store the watch and announce it in the channel.

        Nothing is stored when the condition reads a name the notebook's outputs lack.
        """
        self.runs.access.check_notebook(who.channel_id, notebook.id, notebook.name)
        self._refuse_second(who, notebook)
        if notify_if is not None:
            notify_if = check_condition(
                notebook, notify_if, read_block=self.deepnote.get_block, refused=NOT_CREATED
            )
        try:
            summaries, _ = self.deepnote.list_notebook_runs_page(notebook.id, page_size=LIST_PAGE)
        except DeepnoteNotFound:
            raise NotebookNotFound(notebook.id) from None
        now = self.clock.now()
        draft = WatchRecord(
            id=0,
            team_id=who.team_id,
            channel_id=who.channel_id,
            owner_id=who.user_id,
            notebook_id=notebook.id,
            notebook_name=notebook.name,
            project_id=notebook.project_id,
            notify=notify,
            notify_if=notify_if,
            created_at=now,
            next_poll_at=now + timedelta(seconds=self.every_seconds),
        )
        until, ids = next_mark(summaries, draft)
        watch = self.store.insert(replace(draft, seen_until=until, seen_ids=ids))
        msg = watch_created(watch, every_seconds=self.every_seconds)
        try:
            self.runs.pacer.wait(who.channel_id)
            self.slack.post(who.channel_id, msg.text, msg.blocks)
        except SlackError as exc:
            self.store.delete(watch.id)
            raise UserError(
                f"{NOT_WATCHED} Slack refused the bot's post in this channel ({exc.message}), "
                "so it could not post the runs either.",
                hint=advice(exc),
            ) from None
        log.info("watch created", extra={"event": "watch_created", "watch": watch.id})
        details = {"notify": notify} | ({"notify_if": notify_if} if notify_if is not None else {})
        self._audit(who, "watch", watch, **details)
        return watch

    def _refuse_second(self, who: Requester, notebook: Notebook) -> None:
        """One watch per notebook: a run is followed (and posted) in one place only."""
        existing = self.store.of_notebook(who.team_id, notebook.id)
        if existing is None:
            return
        where = (
            "in this channel"
            if existing.channel_id == who.channel_id
            else f"in <#{existing.channel_id}>"
        )
        name = escape(truncate(notebook.name, 150))
        raise UserError(
            f"{NOT_WATCHED} *{name}* is already watched {where}: watch {code(str(existing.id))}, "
            f"by {user_mention(existing.owner_id)}. Each run is followed in one place only.",
            hint="`/deepnote watches` in that channel shows it; its owner or a bot admin can "
            f"stop it with `/deepnote unwatch {existing.id}`.",
        )

    def _audit(self, who: Requester, action: str, watch: WatchRecord, **details: object) -> None:
        """Write a change of a watch to the audit log."""
        self.runs.audit.record(
            at=self.clock.now(),
            user_id=who.user_id,
            action=action,
            target=f"watch {watch.id}: {watch.notebook_name} ({watch.notebook_id})",
            channel_id=who.channel_id,
            details={"watch": watch.id, "watch_channel": watch.channel_id, **details},
        )

    # -- looking up and removing ------------------------------------------------------------

    def listing(self, who: Requester) -> list[WatchRecord]:
        """The channel's watches."""
        return self.store.in_channel(who.team_id, who.channel_id)

    def editable(self, who: Requester, raw_id: str) -> WatchRecord:
        """The watch, when `who` is its owner or a bot admin; else a refusal naming who is."""
        id_ = parse_schedule_id(raw_id)
        watch = self.store.get(id_) if id_ is not None else None
        if watch is None or watch.team_id != who.team_id:
            raise UserError(
                f"There is no watch {code(raw_id, limit=40)}.",
                hint="`/deepnote watches` lists the watches of a channel with their ids.",
            )
        if who.user_id == watch.owner_id or who.user_id in self.admins:
            return watch
        who_can = who_may_change(watch.owner_id, self.admins)
        raise UserError(
            f"You cannot stop watch {code(str(watch.id))}: only {who_can} can.",
            hint="Ask them to run `/deepnote unwatch` for it.",
        )

    def delete(self, who: Requester, raw_id: str) -> WatchChange:
        """Stop a watch (owner or admin); runs it already took up are still followed."""
        watch = self.editable(who, raw_id)
        self.store.delete(watch.id)
        log.info("watch deleted", extra={"event": "watch_deleted", "watch": watch.id})
        self._audit(who, "unwatch", watch)
        msg = watch_deleted(watch, actor=who.user_id)
        return WatchChange(watch, who.user_id, announced=self._post(watch, msg))

    def _post(self, watch: WatchRecord, msg: Message) -> bool:
        """Post in the watch's channel; False when Slack refused."""
        try:
            self.runs.pacer.wait(watch.channel_id)
            self.slack.post(watch.channel_id, msg.text, msg.blocks)
        except SlackError:
            log.warning("watch message not posted", extra={"event": "watch_post_failed"})
            return False
        return True

    # -- background work --------------------------------------------------------------------

    def per_round(self, now: datetime) -> int:
        """How many watches this round looks at: their share of the time since the last round,
        so N watches cost N listings per `every_seconds`, spread out, never all at once."""
        since = self.round_seconds
        if self._last_round is not None:
            since = max(since, (now - self._last_round).total_seconds())
        self._last_round = now
        active = self.store.active_count()
        return max(1, math.ceil(active * since / self.every_seconds)) if active else 0

    def tick(self) -> None:
        """Look at the watches that are due (within the request budget)."""
        now = self.clock.now()
        limit = self.per_round(now)
        if not limit:
            return
        try:
            with self.deepnote.background():
                for watch in self.store.due(now, limit):
                    self.poll(watch, now)
        except BudgetExhausted:
            # The rest stays due: those due longest go first next round.
            log.debug("request budget used up for watches", extra={"event": "budget_round"})

    def poll(self, watch: WatchRecord, now: datetime) -> None:
        """List the notebook's newest runs and take up those after the watch's mark."""
        assert watch.next_poll_at is not None
        try:
            self.runs.access.check_notebook(
                watch.channel_id, watch.notebook_id, watch.notebook_name
            )
        except AccessDenied:
            self.pause(watch, "the bot's access rules no longer let this channel use it.")
            return
        following = now + timedelta(seconds=self.every_seconds)
        try:
            summaries, _ = self.deepnote.list_notebook_runs_page(
                watch.notebook_id, page_size=LIST_PAGE, retries=0
            )
        except DeepnoteNotFound:
            self.pause(
                watch,
                "Deepnote no longer has this notebook (HTTP 404): it was deleted, or the bot's "
                "API key can no longer see it.",
            )
            return
        except DeepnoteForbidden:
            self.pause(
                watch,
                "Deepnote refused the bot's API key access to this notebook (HTTP 403).",
            )
            return
        except DeepnoteError:
            # Deepnote may be back by the next look; nothing is lost (the mark stays).
            self.store.seen(
                watch.id,
                expected=watch.next_poll_at,
                seen_until=watch.seen_until,
                seen_ids=watch.seen_ids,
                next_poll_at=following,
            )
            return
        self._take_up(watch, summaries, now, following)

    def _take_up(
        self, watch: WatchRecord, summaries: list[RunSummary], now: datetime, following: datetime
    ) -> None:
        """Move the mark past these runs and adopt the new ones the bot does not follow."""
        store = self.runs.store
        known = store.by_run_ids([s.run_id for s in summaries])
        fresh = [s for s in summaries if s.run_id not in known and is_new(s, watch)]
        left: frozenset[str] = frozenset()
        if fresh and store.starting(watch.notebook_id):
            # The bot is starting a run of it: one of these may be that run, its id not yet
            # stored. They are looked at again next time, when the bot's row says.
            left = frozenset(s.run_id for s in fresh)
            fresh = []
        until, ids = next_mark(summaries, watch, left=left)
        # The mark moves first: a crash after it loses these runs, never posts them twice.
        moved = self.store.seen(
            watch.id,
            expected=watch.next_poll_at or now,
            seen_until=until,
            seen_ids=ids,
            next_poll_at=following,
        )
        if not moved:
            return
        for summary in reversed(fresh):  # oldest first, as they were started
            self._adopt(watch, summary, now)

    def _adopt(self, watch: WatchRecord, summary: RunSummary, now: datetime) -> None:
        """Follow a run the bot did not start, as its own: card, reason and results."""
        # A run already over is read once more (status, snapshot) before anything is posted.
        status = summary.status if not is_terminal(summary.status) else "running"
        created = summary.created_at or now
        record = RunRecord(
            id=uuid.uuid4().hex,
            notebook_id=watch.notebook_id,
            notebook_name=watch.notebook_name,
            project_id=watch.project_id,
            notebook_url=notebook_url(watch.notebook_id, watch.project_id, app_url=self.app_url),
            user_id="",
            team_id=watch.team_id,
            channel_id=watch.channel_id,
            status=status,
            created_at=created,
            started_at=created,
            run_id=summary.run_id,
            trigger=TRIGGER_WATCH,
            # An alert's runs are posted by its condition, decided when each run ends.
            quiet=watch.notify != "always" or watch.notify_if is not None,
            watch_id=watch.id,
        )
        self.runs.store.insert(record, notify_if=watch.notify_if)
        if not record.quiet:
            self.runs.store.queue_card(record.id)
        log.info(
            "watch found a run",
            extra={"event": "watch_run", "watch": watch.id, "run": summary.run_id},
        )

    def pause(self, watch: WatchRecord, reason: str) -> None:
        """Stop looking, and say why in the channel, once (`reason`: bot-written mrkdwn)."""
        if not self.store.pause(watch.id, reason=reason):
            return
        log.info("watch paused itself", extra={"event": "watch_paused", "watch": watch.id})
        self._post(watch, watch_paused_itself(watch, reason=reason))

    def on_finish(self, run: RunRecord) -> bool:
        """Record a watched run's result; True when a quiet run should be announced."""
        success = run.status == SUCCESS
        if run.watch_id is None:
            return True
        evaluation = run_evaluation(self.runs.store, run)
        outcome = self.store.record_outcome(
            run.watch_id,
            run_id=run.id,
            status=run.status,
            finished_at=run.completed_at or self.clock.now(),
            alert=None if evaluation is None else evaluation.result,
        )
        alerting = outcome is not None and outcome.watch.notify_if is not None
        if outcome is None or outcome.duplicate:
            # The watch is gone, or this was recorded before a restart: never hide a failure,
            # nor an alert run unless that round had decided it was a quiet one.
            if evaluation is not None and alerting:
                return not run.quiet or evaluation.kind != QUIET
            return not run.quiet or not success
        if evaluation is not None and alerting:
            alert = alert_decision(outcome.watch.notify, evaluation.result, outcome.previous_alert)
            # The run's reply says which it is: alert started, still holding, back to normal.
            self.runs.store.set_alert(run.id, replace(evaluation, kind=alert.kind).to_json())
            return not run.quiet or alert.post
        return not run.quiet or should_announce(
            outcome.watch.notify, success=success, previous_status=outcome.previous_status
        )
