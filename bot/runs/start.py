"""Starting runs, and settling the ones a stopped process left half-started.

The flow for one run, each step stored before the next so a restart resumes it:
validate → row `creating` → card posted → POST /v2/runs → row gets the run id.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.access import AccessPolicy
from bot.clock import Clock
from bot.deepnote.client import DeepnoteClient
from bot.deepnote.models import InputValue, Notebook, RunRequest, RunSummary
from bot.deepnote.notebook_ref import notebook_url
from bot.errors import DeepnoteError, SlackError, UserError
from bot.runs.deliver import Delivery
from bot.runs.requester import Requester
from bot.text.mrkdwn import Markup, escape, fill
from storage.audit import AuditStore
from storage.records import CREATING, RunOptions, RunRecord
from storage.runs import LeaseStore, RunStore

log = logging.getLogger(__name__)


@dataclass(kw_only=True, eq=False)
class Starter:
    """Starts runs in Deepnote with their cards posted first, and adopts them after a crash."""

    store: RunStore
    deepnote: DeepnoteClient
    delivery: Delivery
    clock: Clock
    poll_seconds: float
    app_url: str
    holder: str
    leases: LeaseStore
    access: AccessPolicy
    audit: AuditStore

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
        if who.intent_id is not None:
            existing = self.store.get(who.intent_id)
            if existing is not None:
                return existing  # this command's run started before a restart: never twice
        now = self.clock.now()
        record = self._new_record(who, notebook, inputs, options, quiet=quiet, now=now)
        self.store.insert(record, post_outputs=options.post_outputs, notify_if=options.notify_if)
        self._audit(who, notebook, record, now)
        if not quiet:
            if self.delivery.pacer.allow(record.channel_id):
                self.delivery.post_first_card(record, now)
            else:
                # The channel had a message this second: the card follows at its pace.
                self.store.queue_card(record.id)
        self._create(record, notebook, options)
        self.delivery.deliver(record.id)
        started = self.store.get(record.id)
        assert started is not None
        return started

    def _new_record(
        self,
        who: Requester,
        notebook: Notebook,
        inputs: Mapping[str, InputValue],
        options: RunOptions,
        *,
        quiet: bool,
        now: datetime,
    ) -> RunRecord:
        """The row of a run about to be started (status `creating`)."""
        return RunRecord(
            id=who.intent_id or uuid.uuid4().hex,
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

    def _audit(self, who: Requester, notebook: Notebook, record: RunRecord, now: datetime) -> None:
        """Record who started which notebook with which inputs."""
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
                "inputs": dict(record.inputs),
            },
        )

    def _create(self, record: RunRecord, notebook: Notebook, options: RunOptions) -> None:
        """POST /v2/runs and store the run id; a refusal is stored and told to the user."""
        request = RunRequest(
            notebook_id=notebook.id,
            inputs=dict(record.inputs),
            readonly=options.readonly,
            block_ids=options.block_ids,
            run_dependents=options.run_dependents,
        )
        self.store.mark_create_started(record.id)
        try:
            created = self.deepnote.create_run(request)
        except DeepnoteError as exc:
            self.store.set_create_failed(record.id, error=exc.user_message, now=self.clock.now())
            self.delivery.deliver(record.id)
            log.info(
                "run create failed",
                extra={"event": "create_failed", "run": record.id, "notebook": notebook.id},
            )
            raise UserError(
                fill(
                    "Deepnote did not start *{name}*: {reason}",
                    name=notebook.name,
                    reason=Markup(exc.render(escape)),
                )
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
                "channel": record.channel_id,
                "notebook": notebook.id,
            },
        )

    # -- after a restart --------------------------------------------------------------------

    def settle_in_doubt(self) -> None:
        """Posts a dead process started: look in Slack, adopt what is there, else post again."""
        now = self.clock.now()
        for run, kind, other in self.store.in_doubt(self.holder):
            if self.leases.alive(other, now=now):
                continue  # that process is still working on it
            try:
                ts = self.delivery.slack.find_posted(
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
            self._settle_stuck(run, sent, now)

    def settle_abandoned(self, run_id: str) -> bool:
        """Settle a half-started run whose starting process is known to have stopped, without
        waiting for `recover`'s age; True once it is no longer half-started."""
        now = self.clock.now()
        run = self.store.get(run_id)
        if run is None or run.status != CREATING:
            return True
        for stuck, sent in self.store.stuck_creating(now + timedelta(seconds=1)):
            if stuck.id == run_id:
                self._settle_stuck(stuck, sent, now)
                return True
        return False  # a post of its card is in doubt: `settle_in_doubt` goes first

    def _settle_stuck(self, run: RunRecord, sent: bool, now: datetime) -> None:
        """Adopt the Deepnote run a half-started row created, or tell the person none was."""
        if not sent:
            # Stopped before the create request went out: nothing runs in Deepnote.
            self.store.set_create_failed(
                run.id,
                error="The bot stopped before starting this run; nothing was started.",
                now=now,
            )
            self.delivery.tell_user(
                run,
                fill(
                    "The bot restarted before it could start *{name}* for you; "
                    "nothing was started. Please run the command again.",
                    name=run.notebook_name,
                ),
            )
            return
        self._adopt(run, now)
        self.delivery.deliver(run.id)

    def _adopt(self, run: RunRecord, now: datetime) -> None:
        """Take over the Deepnote run a half-started row created, or mark the row failed."""
        adopted = self._find_started(run)
        if adopted is None:
            self.store.set_create_failed(
                run.id,
                error="The bot stopped while starting this run, so it cannot tell whether "
                "Deepnote started it. Check the notebook's runs in Deepnote before running "
                "it again.",
                now=now,
            )
            return
        self.store.set_created(
            run.id, run_id=adopted.run_id, status=adopted.status, now=now, next_poll_at=now
        )
        log.info("adopted run after restart", extra={"event": "run_adopted", "run": adopted.run_id})

    def _find_started(self, run: RunRecord) -> RunSummary | None:
        """The one Deepnote run that this half-started row most likely created, if any.

        Several rows of one notebook killed mid-create at once (commands typed together) leave
        up to as many unknown Deepnote runs. When those rows ask for the same inputs and
        options they are interchangeable: the n-th oldest row takes the n-th oldest run, so
        every run gets exactly one card. Otherwise only a single candidate is adopted.
        """
        try:
            summaries = self.deepnote.list_notebook_runs(run.notebook_id, page_size=50)
        except DeepnoteError:
            return None
        low = run.created_at - timedelta(seconds=5)
        high = run.created_at + timedelta(seconds=120)
        candidates = sorted(
            (
                s
                for s in summaries
                if s.created_at is not None
                and low <= s.created_at <= high
                and self.store.get(s.run_id) is None
            ),
            key=lambda s: (s.created_at, s.run_id),
        )
        if len(candidates) == 1:
            return candidates[0]
        twins = [t.id for t in self._twins(run, low, high)]
        if 1 < len(candidates) <= len(twins):
            # Fewer runs than rows: some requests never reached Deepnote; which ones does not
            # matter between twins, so the oldest rows take the runs.
            index = twins.index(run.id)
            return candidates[index] if index < len(candidates) else None
        return None

    def _twins(self, run: RunRecord, low: datetime, high: datetime) -> list[RunRecord]:
        """The half-started rows (this one included, oldest first) that asked Deepnote for the
        same run as `run`; empty when one of them asked for something else."""
        rows = [
            other
            for other, sent in self.store.stuck_creating(self.clock.now() + timedelta(seconds=1))
            if sent and other.notebook_id == run.notebook_id and low <= other.created_at <= high
        ]
        same = self.store.options(run)
        if any(other.inputs != run.inputs or self.store.options(other) != same for other in rows):
            return []
        return sorted(rows, key=lambda r: (r.created_at, r.id))
