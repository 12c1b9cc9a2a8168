"""Starting runs and following them to their result: one service made of three parts.

The flow for one run, each step stored before the next so a restart resumes it:
validate → row `creating` → card posted → POST /v2/runs → row gets the run id →
the poller reads the status → the outbox edits the card and posts the thread reply once.

`Starter` (bot/runs/start.py) does the first half, `Follower` (bot/runs/follow.py) reads the
statuses, and `Delivery` (bot/runs/deliver.py) posts what changed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.access import AccessPolicy
from bot.clock import Clock
from bot.deepnote.client import DeepnoteClient
from bot.ratelimit import ChannelPacer
from bot.runs.deliver import Delivery
from bot.runs.follow import Follower
from bot.runs.requester import Requester
from bot.runs.start import Starter
from bot.slack.gateway import SlackGateway
from storage.audit import AuditStore
from storage.records import RunRecord
from storage.results import ResultStore
from storage.runs import LeaseStore, RunStore

__all__ = ["Requester", "RunService"]


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
        on_finish: Callable[[RunRecord], bool] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        # Whether the last round left reads for want of budget (see `catch_up`).
        self.backlog = False
        self.pacer = pacer or ChannelPacer(0)
        self.access = access or AccessPolicy()
        self.audit = audit or AuditStore(store.db)
        results = ResultStore(store.db)
        self.delivery = Delivery(
            store=store,
            results=results,
            slack=slack,
            clock=clock,
            holder=holder,
            pacer=self.pacer,
            quiet=quiet,
        )
        self.starter = Starter(
            store=store,
            deepnote=deepnote,
            delivery=self.delivery,
            clock=clock,
            poll_seconds=poll_seconds,
            app_url=app_url,
            holder=holder,
            leases=leases,
            access=self.access,
            audit=self.audit,
        )
        # Starting is the starter's job alone: the service hands its `start` out as is.
        self.start = self.starter.start
        # `on_finish` is called once when a run reaches a final status; it returns whether
        # to announce a quiet run (the schedules' bookkeeping).
        self.follower = Follower(
            store=store,
            results=results,
            deepnote=deepnote,
            clock=clock,
            poll_seconds=poll_seconds,
            lost_after_seconds=lost_after_seconds,
            app_url=app_url,
            on_finish=on_finish,
        )

    def recover(self, *, older_than_seconds: float = 120.0) -> None:
        """Settle runs that a stopped process left half-started (status `creating`)."""
        self.starter.recover(older_than_seconds=older_than_seconds)

    def tick(self) -> None:
        """One round of background work: read due statuses, then post what changed."""
        self.starter.recover()
        self._follow()

    def catch_up(self) -> bool:
        """Read and post again, if the last round ran out of Deepnote request budget with
        reads left: with a long poll interval they would otherwise wait a whole interval.
        False when there was nothing left over."""
        if not self.backlog:
            return False
        self._follow()
        return True

    def _follow(self) -> None:
        self.backlog = self.follower.poll_due(self.clock.now())
        self.follower.settle_finished()
        self.delivery.deliver_all()

    def poll(self, run: RunRecord, now: datetime) -> None:
        """Read one run's status from Deepnote and store what changed."""
        self.follower.poll(run, now)

    def deliver_all(self) -> None:
        """Post every pending card edit and thread reply."""
        self.delivery.deliver_all()

    def deliver(self, id_: str) -> None:
        """Post what is pending for one run, now."""
        self.delivery.deliver(id_)
