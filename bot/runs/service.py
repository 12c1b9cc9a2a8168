"""Starting runs and following them to their result.

The flow for one run, each step stored before the next so a restart resumes it:
validate → row `creating` → card posted → POST /v2/runs → row gets the run id →
the poller reads the status → the outbox edits the card and posts the thread reply once.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.access import AccessPolicy
from bot.clock import Clock
from bot.deepnote.charts import render_chart
from bot.deepnote.client import DeepnoteClient
from bot.deepnote.models import (
    FAILED_STATUSES,
    InputValue,
    Notebook,
    Run,
    RunRequest,
    RunSummary,
    is_terminal,
)
from bot.deepnote.notebook_ref import notebook_url
from bot.deepnote.snapshot import failure_reason, key_results, parse_snapshot
from bot.errors import (
    BudgetExhausted,
    DeepnoteAuthError,
    DeepnoteError,
    DeepnoteNotFound,
    SlackError,
    UserError,
)
from bot.ratelimit import ChannelPacer
from bot.slack.gateway import SlackGateway, explain
from bot.slack.messages.cards import run_card
from bot.slack.messages.results import run_result_reply
from bot.slack.messages.status import format_duration
from storage.audit import AuditStore
from storage.records import CREATING, ChartResult, ImageResult, RunOptions, RunRecord
from storage.results import ResultStore
from storage.runs import LeaseStore, RunStore

log = logging.getLogger(__name__)

SNAPSHOT_WAITS = 3
SNAPSHOT_WAIT_SECONDS = 1.5
MAX_POLL_INTERVAL = 30.0
MAX_LIST_PAGES = 20
MAX_DUE_PER_ROUND = 2000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LIST_EVERY = 1.0
SLACK_RETRY_CAP = 300.0


@dataclass(frozen=True)
class Requester:
    """Who asked for a run and where its card goes."""

    user_id: str
    team_id: str
    channel_id: str
    thread_ts: str | None = None
    trigger: str = "command"
    schedule_id: str | None = None
    # A slash command's or click's trigger_id: lets the bot open a modal (for about 3 s).
    trigger_id: str | None = None


def poll_interval(age_seconds: float, base: float) -> float:
    """Seconds until the next status read of a run this old: new runs often, old ones less.

    >>> poll_interval(10, 1.0), poll_interval(600, 1.0), poll_interval(10**6, 1.0)
    (1.0, 5.0, 30.0)
    """
    if age_seconds <= 60:
        return base
    return min(MAX_POLL_INTERVAL, max(base, base * age_seconds / 120))


def failure_backoff(failures: int, base: float) -> float:
    """Seconds until the next try after `failures` failed status reads in a row."""
    return float(min(MAX_POLL_INTERVAL * 2, base * 2 ** min(failures, 10)))


class RunService:
    """Starts runs and keeps their Slack messages in step with Deepnote."""

    def __init__(
        self,
        *,
        store: RunStore,
        deepnote: DeepnoteClient,
        slack: SlackGateway,
        clock: Clock,
        poll_seconds: float,
        lost_after_seconds: float,
        app_url: str,
        holder: str,
        leases: LeaseStore,
        access: AccessPolicy | None = None,
        audit: AuditStore | None = None,
        pacer: ChannelPacer | None = None,
        quiet: Callable[[], object] | None = None,
    ) -> None:
        self.pacer = pacer or ChannelPacer(0)
        # Called before posting a run's messages (the bot waits there while Slack's requests
        # are answered), before the channel's slot is taken: the post follows its slot at once.
        self.quiet = quiet
        self.access = access or AccessPolicy()
        self.audit = audit or AuditStore(store.db)
        self.holder = holder
        self.leases = leases
        self.store = store
        self.results = ResultStore(store.db)
        self.deepnote = deepnote
        self.slack = slack
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.lost_after = timedelta(seconds=lost_after_seconds)
        self.app_url = app_url
        self._snapshot_waits: dict[str, int] = {}
        self._listed_at: dict[str, datetime] = {}
        self._finished_seen: dict[str, RunRecord] = {}
        # Called once when a run reaches a final status; returns whether to announce a quiet run.
        self.on_finish: Callable[[RunRecord], bool] | None = None

    # -- starting ---------------------------------------------------------------------

    def start(
        self,
        who: Requester,
        notebook: Notebook,
        inputs: Mapping[str, InputValue],
        options: RunOptions,
        *,
        quiet: bool = False,
    ) -> RunRecord:
        """Post the card, start the run in Deepnote, and store both; inputs are already valid.

        A `quiet` run posts no card now: `on_finish` decides at the end whether to announce it.
        """
        self.access.check_notebook(who.channel_id, notebook.id, notebook.name)
        now = self.clock.now()
        record = RunRecord(
            id=uuid.uuid4().hex,
            notebook_id=notebook.id,
            notebook_name=notebook.name,
            project_id=notebook.project_id,
            notebook_url=notebook_url(notebook.id, notebook.project_id, app_url=self.app_url),
            inputs=dict(inputs),
            user_id=who.user_id,
            team_id=who.team_id,
            channel_id=who.channel_id,
            thread_ts=who.thread_ts,
            status=CREATING,
            created_at=now,
            readonly=options.readonly,
            block_ids=options.block_ids,
            run_dependents=options.run_dependents,
            trigger=who.trigger,
            schedule_id=who.schedule_id,
            quiet=quiet,
        )
        self.store.insert(record, post_outputs=options.post_outputs)
        self.audit.record(
            at=now,
            user_id=who.user_id,
            action="run" if who.trigger != "schedule" else "scheduled run",
            target=f"{notebook.name} ({notebook.id})",
            channel_id=who.channel_id,
            details={
                "run": record.id,
                "trigger": who.trigger,
                "schedule": who.schedule_id,
                "inputs": dict(inputs),
            },
        )
        if not quiet:
            if self.pacer.allow(record.channel_id):
                self._post_first_card(record, now)
            else:
                # The channel had a message this second: the card follows at its pace.
                self.store.queue_card(record.id)
        request = RunRequest(
            notebook_id=notebook.id,
            inputs=dict(inputs),
            readonly=options.readonly,
            block_ids=options.block_ids,
            run_dependents=options.run_dependents,
        )
        self.store.mark_create_started(record.id)
        try:
            created = self.deepnote.create_run(request)
        except DeepnoteError as exc:
            self.store.set_create_failed(record.id, error=exc.user_message, now=self.clock.now())
            self.deliver(record.id)
            log.info(
                "run create failed",
                extra={"event": "create_failed", "run": record.id, "notebook": notebook.id},
            )
            raise UserError(
                f"Deepnote did not start *{notebook.name}*: {exc.user_message}"
            ) from None
        now = self.clock.now()
        self.store.set_created(
            record.id,
            run_id=created.run_id,
            status=created.status or "pending",
            now=now,
            next_poll_at=now + timedelta(seconds=self.poll_seconds),
        )
        log.info(
            "run started",
            extra={
                "event": "run_started",
                "run": created.run_id,
                "channel": who.channel_id,
                "notebook": notebook.id,
            },
        )
        self.deliver(record.id)
        started = self.store.get(record.id)
        assert started is not None
        return started

    def _post_first_card(self, record: RunRecord, now: datetime) -> None:
        """Post the run's card; if Slack refuses, nothing is started."""
        card = run_card(record, now=now)
        self.store.set_intent(record.id, "card", self.holder)
        try:
            ts = self.slack.post(
                record.channel_id,
                card.text,
                card.blocks,
                thread_ts=record.thread_ts,
                metadata=_metadata(record.id, "card"),
            )
        except SlackError as exc:
            self.store.set_intent(record.id, "card", None)
            self.store.set_create_failed(record.id, error=f"Slack: {exc.message}", now=now)
            raise UserError(
                f"The run was not started: the bot cannot post in this channel ({exc.message}).",
                hint="Invite the bot with `/invite @Deepnote`, or run the command in another "
                "channel.",
            ) from None
        self.store.set_card(record.id, ts)

    # -- following ----------------------------------------------------------------------

    def settle_in_doubt(self) -> None:
        """Posts a dead process started: look in Slack, adopt what is there, else post again."""
        now = self.clock.now()
        for run, kind, other in self.store.in_doubt(self.holder):
            if self.leases.alive(other, now=now):
                continue  # that process is still working on it
            try:
                ts = self.slack.find_posted(
                    run.channel_id,
                    run_key=run.id,
                    kind=kind,
                    thread_ts=run.thread_ts if kind == "card" else (run.thread_ts or run.card_ts),
                    oldest=run.created_at.timestamp() - 60,
                )
            except SlackError:
                continue  # cannot tell yet; posting now could post twice
            if kind == "card":
                if ts is not None:
                    self.store.set_card(run.id, ts)
                else:
                    self.store.set_intent(run.id, "card", None)
            elif ts is not None:
                self.store.reply_done(run.id, ts)
            else:
                self.store.set_intent(run.id, "reply", None)
            log.info(
                "settled an interrupted post",
                extra={"event": "post_settled", "run": run.id, "kind": kind, "found": bool(ts)},
            )

    def recover(self, *, older_than_seconds: float = 120.0) -> None:
        """Settle runs that a stopped process left half-started (status `creating`)."""
        self.settle_in_doubt()
        now = self.clock.now()
        for run, sent in self.store.stuck_creating(now - timedelta(seconds=older_than_seconds)):
            if not sent:
                # Stopped before the create request went out: nothing runs in Deepnote.
                self.store.set_create_failed(
                    run.id,
                    error="The bot stopped before starting this run; nothing was started.",
                    now=now,
                )
                self._tell_user(
                    run,
                    f"The bot restarted before it could start *{run.notebook_name}* for you; "
                    "nothing was started. Please run the command again.",
                )
                continue
            adopted = self._find_started(run)
            if adopted is not None:
                self.store.set_created(
                    run.id,
                    run_id=adopted.run_id,
                    status=adopted.status,
                    now=now,
                    next_poll_at=now,
                )
                log.info(
                    "adopted run after restart",
                    extra={"event": "run_adopted", "run": adopted.run_id},
                )
            else:
                self.store.set_create_failed(
                    run.id,
                    error="The bot stopped while starting this run, so it cannot tell whether "
                    "Deepnote started it. Check the notebook's runs in Deepnote before running "
                    "it again.",
                    now=now,
                )
            self.deliver(run.id)

    def _find_started(self, run: RunRecord) -> RunSummary | None:
        """The one Deepnote run that this half-started row most likely created, if any."""
        try:
            summaries = self.deepnote.list_notebook_runs(run.notebook_id, page_size=50)
        except DeepnoteError:
            return None
        low = run.created_at - timedelta(seconds=5)
        high = run.created_at + timedelta(seconds=120)
        candidates = [
            s
            for s in summaries
            if s.created_at is not None
            and low <= s.created_at <= high
            and self.store.get(s.run_id) is None
        ]
        return candidates[0] if len(candidates) == 1 else None

    def _tell_user(self, run: RunRecord, text: str) -> None:
        try:
            self.slack.post(run.user_id, text)
        except SlackError:
            log.warning("could not message the user", extra={"event": "dm_failed", "run": run.id})

    def tick(self) -> None:
        """One round of background work: read due statuses, then post what changed."""
        now = self.clock.now()
        self.recover()
        due = self.store.due_for_poll(now, limit=MAX_DUE_PER_ROUND)
        try:
            with self.deepnote.background():
                # Runs a listing showed finished come first: people are waiting for them.
                self._poll_seen_finished(now)
                listed, waiting = self._list_statuses(due, now)
                for run in due:
                    summary = listed.get(run.run_id or "")
                    if summary is not None and is_terminal(summary.status):
                        self._finished_seen[run.id] = run
                self._poll_seen_finished(now)
                for run in due:
                    summary = listed.get(run.run_id or "")
                    if summary is not None:
                        if not is_terminal(summary.status):
                            self._record_listed(run, summary.status, now)
                    elif run.notebook_id not in waiting:
                        self.poll(run, now)  # not batched, or not in its notebook's list
        except BudgetExhausted:
            # The rest stays due: the most overdue runs go first next round.
            log.debug("request budget used up this round", extra={"event": "budget_round"})
        self.settle_finished()
        self.deliver_all()

    def _poll_seen_finished(self, now: datetime) -> None:
        """Read the details of runs a listing showed finished (oldest first)."""
        for key, run in list(self._finished_seen.items()):
            self.poll(run, now)
            self._finished_seen.pop(key, None)

    def _list_statuses(
        self, due: list[RunRecord], now: datetime
    ) -> tuple[dict[str, RunSummary], set[str]]:
        """Statuses of many runs at once: GET /v2/notebooks/{id}/runs per notebook.

        Used for notebooks with several runs due, at most once per `LIST_EVERY` seconds per
        notebook. Returns the statuses found, and the notebooks listed so recently that their
        runs wait for the next listing instead of being read one by one.
        """
        by_notebook: dict[str, list[RunRecord]] = {}
        for run in due:
            by_notebook.setdefault(run.notebook_id, []).append(run)
        found: dict[str, RunSummary] = {}
        waiting: set[str] = set()
        # The notebook listed longest ago goes first, so every notebook gets its turn.
        order = sorted(by_notebook, key=lambda n: self._listed_at.get(n, EPOCH))
        for position, notebook_id in enumerate(order):
            runs = by_notebook[notebook_id]
            if len(runs) < 2:
                continue
            last = self._listed_at.get(notebook_id)
            if last is not None and (now - last).total_seconds() < LIST_EVERY:
                waiting.add(notebook_id)
                continue
            self._listed_at[notebook_id] = now
            wanted = {r.run_id for r in runs if r.run_id}
            token: str | None = None
            for _ in range(MAX_LIST_PAGES):
                try:
                    page, token = self.deepnote.list_notebook_runs_page(
                        notebook_id, page_size=100, page_token=token, retries=0
                    )
                except DeepnoteError:
                    break  # its runs are read one by one instead
                except BudgetExhausted:
                    # No budget left to list: the rest waits for the next round, and the
                    # finished runs found so far are still read first.
                    waiting.update(n for n in order[position:] if len(by_notebook[n]) >= 2)
                    return found, waiting
                for summary in page:
                    if summary.run_id in wanted:
                        found[summary.run_id] = summary
                if wanted.issubset(found) or not page or not token:
                    break
        return found, waiting

    def _record_listed(self, run: RunRecord, status: str, now: datetime) -> None:
        """Store an unfinished status read from a notebook's run list."""
        age = (now - (run.started_at or run.created_at)).total_seconds()
        next_at = now + timedelta(seconds=poll_interval(age, self.poll_seconds))
        self.store.record_status(run.id, status=status, now=now, next_poll_at=next_at)

    def settle_finished(self) -> None:
        """Run the follow-up of every run that just ended (e.g. schedule bookkeeping)."""
        for run in self.store.finish_pending():
            announce = True
            if self.on_finish is not None:
                try:
                    announce = self.on_finish(run)
                except Exception:
                    # The run's own messages must still go out; the hook is retried next round.
                    log.exception("finish hook failed", extra={"event": "finish_hook_error"})
                    continue
            self.store.finish_done(run.id, announce=announce)

    def poll(self, run: RunRecord, now: datetime) -> None:
        """Read one run's status from Deepnote and store what changed."""
        assert run.run_id is not None
        try:
            remote = self.deepnote.get_run(run.run_id, retries=0)
        except DeepnoteError as exc:
            self._poll_failed(run, exc, now)
            return
        age = (now - (run.started_at or run.created_at)).total_seconds()
        next_at = now + timedelta(seconds=poll_interval(age, self.poll_seconds))
        if not remote.finished:
            self.store.record_status(run.id, status=remote.status, now=now, next_poll_at=next_at)
            return
        select = self.store.post_outputs(run.id)
        want_results = remote.status == "success" and select != "none"
        snapshot_text = self._snapshot(remote, want_results=want_results)
        if snapshot_text is None and not remote.snapshot_url:
            waited = self._snapshot_waits.get(run.id, 0)
            if waited < SNAPSHOT_WAITS:
                # The snapshot can attach a little after the terminal status.
                self._snapshot_waits[run.id] = waited + 1
                wait = now + timedelta(seconds=SNAPSHOT_WAIT_SECONDS)
                self.store.record_status(run.id, status=run.status, now=now, next_poll_at=wait)
                return
        self._snapshot_waits.pop(run.id, None)
        error: str | None = None
        failing: str | None = None
        snapshot = parse_snapshot(snapshot_text) if snapshot_text else None
        if remote.status in FAILED_STATUSES:
            error, block = failure_reason(remote.error, snapshot, remote.status)
            failing = block.describe() if block is not None else None
        elif want_results and snapshot is not None:
            self.results.save(
                run.id, key_results(snapshot, select=select, notebook_id=run.notebook_id)
            )
        self.store.record_status(
            run.id,
            status=remote.status,
            now=now,
            next_poll_at=None,
            completed_at=remote.completed_at or now,
            error=error,
            failing_block=failing,
            snapshot_url=remote.snapshot_url,
            project_id=remote.project_id,
            notebook_url=notebook_url(run.notebook_id, remote.project_id, app_url=self.app_url),
        )
        log.info(
            "run finished",
            extra={
                "event": "run_finished",
                "run": run.run_id,
                "status": remote.status,
                "channel": run.channel_id,
                "notebook": run.notebook_id,
            },
        )

    def _snapshot(self, remote: Run, *, want_results: bool) -> str | None:
        if remote.snapshot_content:
            return remote.snapshot_content
        if not want_results and (remote.status not in FAILED_STATUSES or remote.error):
            return None
        try:
            return self.deepnote.fetch_snapshot(remote)
        except DeepnoteError:
            return None

    def _poll_failed(self, run: RunRecord, exc: DeepnoteError, now: datetime) -> None:
        failures = self.store.counter(run.id, "poll_failures") + 1
        wait = failure_backoff(failures, self.poll_seconds)
        if isinstance(exc, DeepnoteNotFound | DeepnoteAuthError):
            wait = max(wait, 10.0)
        self.store.record_poll_failure(
            run.id, error=exc.user_message, next_poll_at=now + timedelta(seconds=wait)
        )
        last_ok = self.store.last_read_at(run.id) or run.created_at
        log.warning(
            "status read failed",
            extra={"event": "poll_failed", "run": run.run_id, "failures": failures},
        )
        if now - last_ok >= self.lost_after:
            answer = exc.user_message.rstrip(". ")
            self.store.mark_lost(
                run.id,
                reason=f"its status could not be read for "
                f"{format_duration(self.lost_after.total_seconds())} (last answer: {answer})",
                now=now,
            )

    # -- posting ------------------------------------------------------------------------

    def deliver_all(self) -> None:
        """Post every pending card edit and thread reply."""
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

    def _deliver(self, run: RunRecord, card: bool, reply: bool, files: bool) -> None:
        if self.quiet is not None:
            self.quiet()
        now = self.clock.now()
        try:
            channel = run.channel_id
            if run.card_ts is None:
                # A queued card, or a quiet run announced at its end (then it shows the outcome).
                if not self.pacer.allow(channel):
                    return
                msg = run_card(run, now=now)
                self.store.set_intent(run.id, "card", self.holder)
                ts = self.slack.post(
                    run.channel_id,
                    msg.text,
                    msg.blocks,
                    thread_ts=run.thread_ts,
                    metadata=_metadata(run.id, "card"),
                )
                self.store.set_card(run.id, ts)
                self.store.card_done(run.id, run.status)
                run = replace(run, card_ts=ts)
            elif card:
                if not self.pacer.allow(channel):
                    return  # the next round edits it, to the state it has by then
                msg = run_card(run, now=now)
                self.slack.update(run.channel_id, run.card_ts, msg.text, msg.blocks)
                self.store.card_done(run.id, run.status)
            if reply and not self.pacer.allow(channel):
                return
            if reply:
                msg = run_result_reply(run, results=self.results.load(run.id))
                self.store.set_intent(run.id, "reply", self.holder)
                ts = self.slack.post(
                    run.channel_id,
                    msg.text,
                    msg.blocks,
                    thread_ts=run.thread_ts or run.card_ts,
                    metadata=_metadata(run.id, "result"),
                )
                self.store.reply_done(run.id, ts)
                return  # its files, if any, follow in later rounds at the channel's pace
            if files:
                self._post_files(run)
        except SlackError as exc:
            # A refused post was not posted: no doubt to settle later.
            if run.card_ts is None:
                self.store.set_intent(run.id, "card", None)
            self.store.set_intent(run.id, "reply", None)
            self._slack_failed(run, exc, now)

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
        if exc.code in ("invalid_auth", "token_revoked", "account_inactive"):
            return  # nothing can be posted anywhere with this token
        self._tell_user(
            run,
            f"I could not update the run of *{run.notebook_name}* in <#{run.channel_id}>: "
            f"{explain(exc.code)}. Its status is `{run.status}`.",
        )


def _slug(text: str) -> str:
    """A file name made from a title.

    >>> _slug("Revenue by region (Q3)!")
    'revenue-by-region-q3'
    """
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words)[:60] or "result"


def _metadata(run_id: str, kind: str) -> dict[str, Any]:
    return {"event_type": "deepnote_run", "event_payload": {"run": run_id, "kind": kind}}
