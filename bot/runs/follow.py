"""Following runs in Deepnote: rounds of status reads, notebook listings and lost runs.

A run due for a read is read on its own (GET /v2/runs/{id}?snapshotDelivery=inline, so a
finished run's status and snapshot come in one request), or, when its notebook has
several runs due, from the notebook's run list. New runs are read often, old ones less
(`poll_interval`); failed reads back off (`failure_backoff`) until the run counts as lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from bot.clock import Clock
from bot.conditions import evaluate_text
from bot.deepnote.client import DeepnoteClient
from bot.deepnote.models import FAILED_STATUSES, Run, RunSummary, is_terminal
from bot.deepnote.notebook_ref import notebook_url
from bot.deepnote.snapshot import condition_facts, failure_reason, key_results, parse_snapshot
from bot.errors import BudgetExhausted, DeepnoteAuthError, DeepnoteError, DeepnoteNotFound
from bot.slack.messages.status import format_duration
from storage.records import RunRecord
from storage.results import ResultStore
from storage.runs import RunStore

log = logging.getLogger(__name__)

SNAPSHOT_WAITS = 3
SNAPSHOT_WAIT_SECONDS = 1.5
MAX_POLL_INTERVAL = 30.0
MAX_LIST_PAGES = 20
MAX_DUE_PER_ROUND = 2000
LIST_EVERY = 1.0
# Rounds start a few milliseconds early or late (the scheduler's jitter): a read due that
# little after a round's start is made in that round rather than a whole interval later.
DUE_EARLY_FRACTION = 0.25
# Notebooks whose typical duration and last listing are remembered (the oldest forgotten).
MAX_NOTEBOOKS_REMEMBERED = 10_000

V = TypeVar("V")


def remember(kept: dict[str, V], key: str, value: V) -> None:
    """Keep `value` under `key` as the newest entry of `kept`, forgetting the oldest entry
    beyond `MAX_NOTEBOOKS_REMEMBERED` (a dict keeps the order of insertion).

    >>> kept = {"a": 1, "b": 2}; remember(kept, "a", 3); list(kept.items())
    [('b', 2), ('a', 3)]
    """
    kept.pop(key, None)
    kept[key] = value
    if len(kept) > MAX_NOTEBOOKS_REMEMBERED:
        del kept[next(iter(kept))]


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


@dataclass(kw_only=True, eq=False)
class Follower:
    """Reads the statuses of unfinished runs from Deepnote and stores what changed."""

    store: RunStore
    results: ResultStore
    deepnote: DeepnoteClient
    clock: Clock
    poll_seconds: float
    lost_after_seconds: float
    app_url: str
    # Called once when a run reaches a final status; returns whether to announce a quiet run.
    on_finish: Callable[[RunRecord], bool] | None = None
    _snapshot_waits: dict[str, int] = field(default_factory=dict, init=False)
    _listed_at: dict[str, datetime] = field(default_factory=dict, init=False)
    _finished_seen: dict[str, RunRecord] = field(default_factory=dict, init=False)
    # Seconds a notebook's runs typically take, to read the runs likely finished first.
    _typical: dict[str, float] = field(default_factory=dict, init=False)

    @property
    def lost_after(self) -> timedelta:
        """How long a run's status may go unread before the run counts as lost."""
        return timedelta(seconds=self.lost_after_seconds)

    # -- rounds ---------------------------------------------------------------------------

    def poll_due(self, now: datetime) -> bool:
        """Read the statuses of the runs due, within this round's request budget; True when
        the budget ran out with reads left (see `RunService.catch_up`)."""
        ran_out = False
        early = timedelta(seconds=self.poll_seconds * DUE_EARLY_FRACTION)
        due = self.store.due_for_poll(now + early, limit=MAX_DUE_PER_ROUND)
        due = self.likely_finished_first(due, now)
        # Unfinished statuses from listings are stored together: one transaction per round,
        # not one per run (a database over the network pays a round trip per statement).
        listed_reads: list[tuple[str, str, datetime]] = []
        # Runs read this round: `due` was taken before, so it still shows them unfinished.
        read: set[str] = set()
        try:
            with self.deepnote.background():
                # Runs a listing showed finished come first: people are waiting for them.
                self._poll_seen_finished(now, read)
                due = [run for run in due if run.id not in read]
                listed, waiting, ran_out = self._list_statuses(due, now, read)
                for run in due:
                    if run.id in read or run.id in self._finished_seen:
                        continue
                    summary = listed.get(run.run_id or "")
                    if summary is not None:
                        if not is_terminal(summary.status):
                            listed_reads.append((run.id, summary.status, self._next_read(run, now)))
                    elif run.notebook_id not in waiting:
                        self.poll(run, now)  # not batched, or not in its notebook's list
        except BudgetExhausted:
            # The rest stays due: the most overdue runs go first next round.
            ran_out = True
        finally:
            self.store.record_listed(listed_reads, now=now)
        if ran_out:
            log.debug("request budget used up this round", extra={"event": "budget_round"})
        return ran_out

    def likely_finished_first(self, due: list[RunRecord], now: datetime) -> list[RunRecord]:
        """The runs due, those most likely finished first, so that a round's budget finds
        finished runs: runs older than their notebook's typical duration (oldest first),
        then runs whose notebook has no finished run yet, then the rest (as they came)."""

        def rank(item: tuple[int, RunRecord]) -> tuple[int, float, int]:
            position, run = item
            typical = self._typical.get(run.notebook_id)
            age = (now - (run.started_at or run.created_at)).total_seconds()
            if typical is None:
                return (1, 0.0, position)
            if age >= typical:
                return (0, -age, position)
            return (2, 0.0, position)

        return [run for _, run in sorted(enumerate(due), key=rank)]

    def _learn_duration(self, run: RunRecord, remote: Run, now: datetime) -> None:
        """Keep the notebook's typical run duration (a moving average of finished runs)."""
        took = ((remote.completed_at or now) - (run.started_at or run.created_at)).total_seconds()
        if took < 0:
            return
        old = self._typical.get(run.notebook_id)
        remember(self._typical, run.notebook_id, took if old is None else (old + took) / 2)

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

    def _poll_seen_finished(self, now: datetime, read: set[str]) -> None:
        """Read the details of runs a listing showed finished (oldest first); add their ids
        to `read`."""
        for key, run in list(self._finished_seen.items()):
            self.poll(run, now)
            self._finished_seen.pop(key, None)
            read.add(key)

    # -- listings ---------------------------------------------------------------------------

    def _list_statuses(
        self, due: list[RunRecord], now: datetime, read: set[str]
    ) -> tuple[dict[str, RunSummary], set[str], bool]:
        """Statuses of many runs at once: GET /v2/notebooks/{id}/runs per notebook.

        Used for notebooks with several runs due, at most once per `LIST_EVERY` seconds per
        notebook. The runs a listing shows finished are read right after it, before the next
        notebook is listed: people are waiting for those (their ids are added to `read`).
        Returns the statuses found, the notebooks listed so recently (or not listed for want
        of budget) that their runs wait for the next listing instead of being read one by
        one, and whether the budget ran out.
        """
        by_notebook: dict[str, list[RunRecord]] = {}
        for run in due:
            by_notebook.setdefault(run.notebook_id, []).append(run)
        found: dict[str, RunSummary] = {}
        waiting: set[str] = set()
        # The notebook listed longest ago goes first, so every notebook gets its turn
        # (`_listed_at` is kept in the order of listing: see below).
        order = [n for n in by_notebook if n not in self._listed_at]
        order += [n for n in self._listed_at if n in by_notebook]
        for position, notebook_id in enumerate(order):
            runs = by_notebook[notebook_id]
            if len(runs) < 2:
                continue
            last = self._listed_at.get(notebook_id)
            if last is not None and (now - last).total_seconds() < LIST_EVERY * (
                1 - DUE_EARLY_FRACTION
            ):
                waiting.add(notebook_id)
                continue
            try:
                self._list_notebook(notebook_id, runs, found)
            except BudgetExhausted:
                # No budget left to list: the rest waits for the next round, and the
                # finished runs found so far are still read first. A notebook whose listing
                # found no budget keeps its place at the head of the queue.
                waiting.update(n for n in order[position:] if len(by_notebook[n]) >= 2)
                return found, waiting, True
            remember(self._listed_at, notebook_id, now)
            for run in runs:
                summary = found.get(run.run_id or "")
                if summary is not None and is_terminal(summary.status):
                    self._finished_seen[run.id] = run
            try:
                self._poll_seen_finished(now, read)
            except BudgetExhausted:
                # Those not read yet go first next round; the notebooks not listed wait.
                waiting.update(n for n in order[position + 1 :] if len(by_notebook[n]) >= 2)
                return found, waiting, True
        return found, waiting, False

    def _list_notebook(
        self, notebook_id: str, runs: list[RunRecord], found: dict[str, RunSummary]
    ) -> None:
        """Add the statuses of these runs to `found`, from their notebook's run list.

        Stops at the first failed page: the runs not found are read one by one instead.
        BudgetExhausted propagates; what the pages before it showed stays in `found`.
        """
        wanted = {r.run_id for r in runs if r.run_id}
        token: str | None = None
        for _ in range(MAX_LIST_PAGES):
            try:
                page, token = self.deepnote.list_notebook_runs_page(
                    notebook_id, page_size=100, page_token=token, retries=0
                )
            except DeepnoteError:
                break
            for summary in page:
                if summary.run_id in wanted:
                    found[summary.run_id] = summary
            if wanted.issubset(found) or not page or not token:
                break

    # -- status reads -----------------------------------------------------------------------

    def _next_read(self, run: RunRecord, now: datetime) -> datetime:
        """When to read this unfinished run's status again (older runs less often)."""
        age = (now - (run.started_at or run.created_at)).total_seconds()
        return now + timedelta(seconds=poll_interval(age, self.poll_seconds))

    def poll(self, run: RunRecord, now: datetime) -> None:
        """Read one run's status from Deepnote and store what changed."""
        assert run.run_id is not None
        try:
            # Inline delivery: a finished run's status and snapshot come in this one request.
            remote = self.deepnote.get_run(run.run_id, snapshot_delivery="inline", retries=0)
        except DeepnoteError as exc:
            self._poll_failed(run, exc, now)
            return
        if not remote.finished:
            self.store.record_status(
                run.id, status=remote.status, now=now, next_poll_at=self._next_read(run, now)
            )
            return
        select = self.store.post_outputs(run.id)
        want_results = remote.status == "success" and select != "none"
        condition = self.store.notify_if(run.id)
        needed = want_results or remote.status in FAILED_STATUSES or condition is not None
        snapshot_text = self._snapshot(remote, needed=needed)
        # Waited for even when not needed for results: the reply links the snapshot.
        if snapshot_text is None and not remote.snapshot_url:
            waited = self._snapshot_waits.get(run.id, 0)
            if waited < SNAPSHOT_WAITS:
                # The snapshot can attach a little after the terminal status.
                self._snapshot_waits[run.id] = waited + 1
                wait = now + timedelta(seconds=SNAPSHOT_WAIT_SECONDS)
                self.store.record_status(run.id, status=run.status, now=now, next_poll_at=wait)
                return
        self._snapshot_waits.pop(run.id, None)
        self._record_finished(
            run,
            remote,
            snapshot_text,
            now,
            select=select,
            want_results=want_results,
            condition=condition,
        )

    def _record_finished(
        self,
        run: RunRecord,
        remote: Run,
        snapshot_text: str | None,
        now: datetime,
        *,
        select: str | None,
        want_results: bool,
        condition: str | None,
    ) -> None:
        """Store a finished run: its outcome, why it failed, the results to post and what its
        `--notify-if` `condition` said."""
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
        if condition is not None:
            # Checked against every output, not only those posted; stored before the status,
            # so whoever sees the run finished sees what its condition said.
            facts = condition_facts(snapshot, status=remote.status, notebook_id=run.notebook_id)
            self.store.set_alert(run.id, evaluate_text(condition, facts).to_json())
        self._learn_duration(run, remote, now)
        execution = snapshot.execution if snapshot is not None else None
        if run.watch_id is not None and execution is not None and execution.triggered_by:
            # A run the bot did not start: the snapshot alone says who or what started it.
            self.store.set_source(run.id, execution.triggered_by)
        page = notebook_url(run.notebook_id, remote.project_id, app_url=self.app_url)
        self.store.record_status(
            run.id,
            status=remote.status,
            now=now,
            next_poll_at=None,
            completed_at=remote.completed_at or now,
            error=error,
            failing_block=failing,
            snapshot_url=self._snapshot_link(run, remote, snapshot_text),
            project_id=remote.project_id,
            notebook_url=page,
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

    def _snapshot_link(self, run: RunRecord, remote: Run, snapshot_text: str | None) -> str | None:
        """Where a person can see the run's snapshot: Deepnote's download URL when it gave one;
        for a snapshot that came inline (no URL), the notebook's runs list in Deepnote, which
        shows it (and, unlike a presigned URL, does not expire)."""
        if remote.snapshot_url or not (snapshot_text or remote.snapshot_content):
            return remote.snapshot_url
        return notebook_url(run.notebook_id, remote.project_id, app_url=self.app_url, runs=True)

    def _snapshot(self, remote: Run, *, needed: bool) -> str | None:
        """The run's snapshot YAML when it is `needed` (results to post, or why it failed):
        the inline content, else downloaded when Deepnote gave a URL instead (too large to
        inline, or an older server)."""
        if remote.snapshot_content:
            return remote.snapshot_content
        # A failed run's snapshot is read even when Deepnote gave the reason: only the
        # snapshot says which block failed, and the reply names it.
        if not needed:
            return None
        try:
            return self.deepnote.fetch_snapshot(remote)
        except DeepnoteError:
            return None

    def _poll_failed(self, run: RunRecord, exc: DeepnoteError, now: datetime) -> None:
        """Back off after a failed read; a run unread for `lost_after` counts as lost."""
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
