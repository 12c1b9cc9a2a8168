"""The composition root: builds every part of the bot from a Config and wires them up.

Nothing is built at import time and nothing registers globally: tests build as many bots
as they like, each with its own clients, database and clock.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.deepnote.catalog import NotebookCatalog
from bot.deepnote.client import DeepnoteClient
from bot.deepnote.notebook_cache import NotebookCache
from bot.errors import (
    CredentialRejected,
    DeepnoteAuthError,
    DeepnoteForbidden,
    SlackError,
    StorageError,
)
from bot.health import (
    RETRY_FIRST_SECONDS,
    CallRecorder,
    Connections,
    ServiceCheck,
    read_health,
    save_heartbeat,
    waiting_status,
)
from bot.ratelimit import AdaptivePacer, ChannelPacer, RequestBudget
from bot.runs.service import RunService
from bot.runs.workflow_step import StepCompleter
from bot.schedules.service import ScheduleService
from bot.schedules.watches import WatchService
from bot.services import Services
from bot.slack.gateway import SlackGateway, make_web_client, to_slack_error
from bot.web.foreground import Background, Foreground, ForegroundApp
from handlers import commands, home, interactions, mentions, schedule_edit, workflow_step
from handlers.intake import Intake
from storage.aliases import AliasStore, NotebookNames
from storage.audit import AuditStore
from storage.db import Database
from storage.engine import open_database
from storage.events import SeenEvents
from storage.function_runs import FunctionRunStore
from storage.intents import IntentStore
from storage.records import RunRecord
from storage.results import ResultStore
from storage.runs import POLLER_LEASE, LeaseStore, RunStore
from storage.schedules import ScheduleStore
from storage.watches import WatchStore

log = logging.getLogger(__name__)

# The longest a dead leader's lease holds: a replica takes over within this plus one check.
LEADER_LEASE_SECONDS = 10.0
# Threads for the slow half of requests: a burst of commands each waiting seconds on Deepnote
# must not queue behind each other.
WORKERS = 256
# Of those, how many are started (each with its database connection) before the first request.
PRESTARTED_WORKERS = 64
# How often the bot checks whether a message held back by a channel's pace may go now.
DELIVER_CHECK_SECONDS = 0.1
# How soon reads a round left for want of Deepnote budget are made, when the poll interval is
# at least twice as long: a little over the budget's window, so its slots are free again.
CATCH_UP_SECONDS = 1.2
# How long a stopping bot lets work under way finish before closing its Deepnote client.
SHUTDOWN_GRACE_SECONDS = 10.0
# How long one start-up check of Slack or Deepnote may take before it counts as unreachable.
CHECK_TIMEOUT_SECONDS = 10.0
# auth.test answers these when the token itself is refused: asking again cannot help.
REJECTED_TOKEN = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked"})
# The start-up auth.test's logger: `Connections` logs each failed attempt once, at warning;
# slack_sdk would log each again at ERROR, as if the bot had failed.
_PROBE_LOG = logging.Logger("bot.app.auth_test")
_PROBE_LOG.addHandler(logging.NullHandler())


@dataclass
class BotApp:
    """A built bot: the Bolt app, its services and its background work."""

    bolt: ForegroundApp
    services: Services
    leases: LeaseStore
    holder: str
    calls: CallRecorder
    scheduler: BackgroundScheduler | None = None
    # Finishes or explains what a stopped process acknowledged but left undone.
    recover_intents: Callable[[], object] | None = None
    # Slack and Deepnote as found since start-up (`check_connections`); None until asked.
    connections: Connections | None = None
    # Completes Workflow Builder steps whose runs can be reported (the leader's round).
    steps: StepCompleter | None = None
    _warned_other_holder: bool = False
    _leading: bool = False
    # Rounds never overlap; schedule notes between rounds wait for the round (`deliver_held`).
    _round: threading.Lock = field(default_factory=threading.Lock)
    # Held while a job asks the scheduler for the next round, and by `shutdown` to say it is
    # stopping: APScheduler's shutdown waits for running jobs while holding the lock that
    # modify_job needs, so a job calling modify_job then would never finish.
    _stopping_lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: bool = False

    @property
    def lease_seconds(self) -> float:
        """How long the leases last unrenewed: a few rounds, at most `LEADER_LEASE_SECONDS`."""
        return min(LEADER_LEASE_SECONDS, max(3.0, self.services.config.poll_interval_seconds * 5))

    def keep_lease(self) -> bool:
        """Renew this process's heartbeat and take or renew the poller lease; True when this
        process is the leader.

        It runs on its own timer, apart from the rounds: a long round never lets the lease
        lapse, and a follower notices a dead leader within a fraction of the lease.
        """
        now, ttl = self.services.clock.now(), self.lease_seconds
        # A heartbeat, so other processes can tell this one is alive.
        self.leases.acquire(f"process:{self.holder}", self.holder, now=now, ttl_seconds=ttl)
        leading = self.leases.acquire(POLLER_LEASE, self.holder, now=now, ttl_seconds=ttl)
        if leading and not self._leading:
            log.info("leading", extra={"event": "leader", "holder": self.holder})
            with self._stopping_lock:
                scheduler = self.scheduler
                if scheduler is not None and scheduler.running and not self._stopping:
                    # Start the first round as leader now, not at the next interval.
                    scheduler.modify_job("tick", next_run_time=datetime.now(UTC))
        self._leading = leading
        return leading

    def tick(self) -> bool:
        """One round of background work, when this process holds the poller lease."""
        services = self.services
        if not self.keep_lease():
            if not self._warned_other_holder:
                current = self.leases.holder(POLLER_LEASE)
                log.warning(
                    "another bot process is following runs on this database; this one stays "
                    "idle for background work until that one stops",
                    extra={"event": "lease_busy", "holder": current[0] if current else None},
                )
                self._warned_other_holder = True
            return False
        self._warned_other_holder = False
        if self.recover_intents is not None:
            self.recover_intents()
        services.schedules.tick()
        # New runs a watch finds are read and posted by the runs' round right after.
        services.watches.tick()
        services.runs.tick()
        if self.steps is not None:
            self.steps.tick()
        save_heartbeat(services.db, self.holder, services.clock.now(), self.calls)
        return True

    def start_background(self) -> None:
        """Start the APScheduler job that polls runs and posts updates, and the worker threads."""
        self.services.background.prestart(PRESTARTED_WORKERS, self.services.db.warm)
        scheduler = BackgroundScheduler(timezone="UTC")
        scheduler.add_job(
            self._safe_keep_lease,
            "interval",
            seconds=max(0.5, self.lease_seconds / 4),
            id="lease",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        scheduler.add_job(
            self._safe_tick,
            "interval",
            seconds=self.services.config.poll_interval_seconds,
            id="tick",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC),  # the first round at once: ready sooner
        )
        # Between rounds: what a channel's pace held back goes out as soon as its slot is free.
        scheduler.add_job(
            self._safe_deliver,
            "interval",
            seconds=DELIVER_CHECK_SECONDS,
            id="deliver",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        if self.services.config.poll_interval_seconds >= 2 * CATCH_UP_SECONDS:
            scheduler.add_job(
                self._safe_catch_up,
                "interval",
                seconds=CATCH_UP_SECONDS,
                id="catch_up",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        scheduler.start()
        self.scheduler = scheduler

    def _safe_tick(self) -> None:
        # Requests being answered go first; the round waits for them (a bounded time).
        self.bolt.foreground.wait_quiet()
        try:
            with self._round:
                self.tick()
        except Exception:
            # One bad round must not stop the job; the next round tries again.
            log.exception("background round failed", extra={"event": "tick_error"})

    def deliver_held(self) -> bool:
        """Post what a channel's pace held back, once a refused slot is free; True if it ran.

        Only the process holding the poller lease posts (as in `tick`). Runs' messages go out
        even while a round reads Deepnote (a long round would otherwise waste the channels'
        slots); the outbox is passed once at a time (`Delivery`). Schedule notes wait for the
        round.
        """
        if not self.services.runs.pacer.retry_due() or not self._holds_poller_lease():
            return False
        self.services.runs.deliver_all()
        if self._round.acquire(blocking=False):
            try:
                self.services.schedules.deliver_notes()
            finally:
                self._round.release()
        return True

    def _safe_keep_lease(self) -> None:
        try:
            self.keep_lease()
        except StorageError as exc:
            # The database may be away for a moment; the lease is renewed at the next check.
            log.warning("lease renewal failed", extra={"event": "lease_error", "error": str(exc)})
        except Exception:
            log.exception("lease renewal failed", extra={"event": "lease_error"})

    def catch_up(self) -> bool:
        """Make the reads the last round left for want of Deepnote budget, and post what
        they found, between rounds; True if it ran. Only the process holding the poller
        lease, and never beside a round."""
        if not self.services.runs.backlog or not self._holds_poller_lease():
            return False
        if not self._round.acquire(blocking=False):
            return False
        try:
            return self.services.runs.catch_up()
        finally:
            self._round.release()

    def _holds_poller_lease(self) -> bool:
        """Whether this process holds the poller lease now, as the database says (`tick`
        renews it; this only reads it)."""
        current = self.leases.holder(POLLER_LEASE)
        return current is not None and current[0] == self.holder

    def _safe_catch_up(self) -> None:
        self.bolt.foreground.wait_quiet()
        try:
            self.catch_up()
        except Exception:
            log.exception("catch-up round failed", extra={"event": "tick_error"})

    def _safe_deliver(self) -> None:
        try:
            self.deliver_held()
        except Exception:
            log.exception("delivery failed", extra={"event": "deliver_error"})

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Is the bot able to work? Database, background work, poller lag, last good calls, and
        whether Slack and Deepnote have answered the start-up checks."""
        config = self.services.config
        try:
            report = read_health(
                self.services.db,
                self.services.clock.now(),
                stale_after=max(30.0, config.poll_interval_seconds * 10),
            )
        except Exception as exc:
            return False, {"database": f"error: {type(exc).__name__}", "status": "database error"}
        details = dict(report.details)
        running = bool(self.scheduler and self.scheduler.running)
        details["scheduler"] = "running" if running else "stopped"
        waiting = self.connections.waiting() if self.connections is not None else {}
        if waiting:
            details["waiting_for"] = waiting
            if report.ok:
                details["status"] = waiting_status(sorted(waiting))
        return report.ok and running and not waiting, details

    def check_connections(
        self,
        on_rejected: Callable[[CredentialRejected], None],
        *,
        first_retry: float = RETRY_FIRST_SECONDS,
    ) -> Connections:
        """Ask Slack (auth.test) and Deepnote (GET /v2/me) whether they accept the bot's token
        and key, each on its own thread; one that cannot be reached is asked again with backoff
        and the bot is not healthy until it answers (see `Connections`)."""
        services = self.services
        checks = [
            ServiceCheck("Slack", _slack_check(services.slack.client, self.calls, services.clock)),
            ServiceCheck("Deepnote", _deepnote_check(services.deepnote)),
        ]
        self.connections = Connections(checks, on_rejected=on_rejected, first_retry=first_retry)
        self.connections.start()
        return self.connections

    def shutdown(self) -> None:
        """Stop background work, let work under way finish (a bounded time) and release the
        leases so another process can take over."""
        if self.connections is not None:
            self.connections.stop()
        with self._stopping_lock:
            self._stopping = True
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
        # Commands being started finish first (bounded), while this process still holds its
        # heartbeat: what it was posting is its own until then.
        left = self.services.background.shutdown(SHUTDOWN_GRACE_SECONDS)
        if left:
            log.warning(
                "stopping with work under way; the next start picks it up",
                extra={"event": "shutdown_unfinished", "count": left},
            )
        self.leases.release(POLLER_LEASE, self.holder)
        self.leases.release(f"process:{self.holder}", self.holder)
        self.services.deepnote.close()


def build_app(
    config: Config,
    *,
    slack: WebClient | None = None,
    deepnote: DeepnoteClient | None = None,
    db: Database | None = None,
    clock: Clock | None = None,
) -> BotApp:
    """Build the bot from its settings; every dependency can be passed in instead.

    A Deepnote client passed in lends its settings (URL, key, transport, timeouts): the bot
    builds its own from them, with its request budget and hooks (`DeepnoteClient.with_hooks`).
    """
    clock = clock or SystemClock()
    db = db or open_database(config.database_url or config.database_path)
    db.migrate()
    web = slack or make_web_client(config.slack_bot_token, config.slack_api_url)
    foreground = Foreground()
    calls = CallRecorder()
    client = _deepnote_client(config, deepnote, foreground=foreground, calls=calls, clock=clock)
    pacer = _pacer(config)
    gateway = SlackGateway(
        web, on_success=lambda: calls.slack(clock.now()), on_throttled=pacer.throttled
    )
    leases = LeaseStore(db)
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    runs, schedules, watches = _run_services(
        config,
        db,
        client,
        gateway,
        clock,
        foreground=foreground,
        leases=leases,
        holder=holder,
        pacer=pacer,
    )
    services = Services(
        config=config,
        clock=clock,
        db=db,
        store=runs.store,
        deepnote=client,
        slack=gateway,
        runs=runs,
        schedules=schedules,
        aliases=AliasStore(db),
        notebook_names=NotebookNames(db),
        catalog=NotebookCatalog(client, clock),
        notebooks=NotebookCache(client, clock),
        events=SeenEvents(db),
        audit=runs.audit,
        background=Background(foreground, workers=WORKERS),
        watches=watches,
    )
    intake = Intake(services, store=IntentStore(db), leases=leases, holder=holder)
    steps = StepCompleter(
        store=FunctionRunStore(db),
        runs=runs.store,
        results=ResultStore(db),
        slack=gateway,
        clock=clock,
    )
    bolt = _bolt_app(config, web, foreground, services, intake, steps)
    return BotApp(
        bolt=bolt,
        services=services,
        leases=leases,
        holder=holder,
        calls=calls,
        recover_intents=intake.recover,
        steps=steps,
    )


def _pacer(config: Config) -> ChannelPacer:
    """Slack's limits, adaptively; or the fixed pace `SLACK_CHANNEL_PACE_SECONDS` asks for."""
    if config.slack_channel_pace_seconds is None:
        return AdaptivePacer()
    return ChannelPacer(config.slack_channel_pace_seconds)


def _deepnote_client(
    config: Config,
    given: DeepnoteClient | None,
    *,
    foreground: Foreground,
    calls: CallRecorder,
    clock: Clock,
) -> DeepnoteClient:
    """The bot's Deepnote client: paced by its budget, behind Slack's requests, observed."""

    def good_call(_label: str, status: int | None, _seconds: float) -> None:
        """Note a good answer: the health report shows when Deepnote last answered well."""
        if status is not None and status < 400:
            calls.deepnote(clock.now())

    budget = RequestBudget(config.deepnote_requests_per_second)
    if given is not None:
        return given.with_hooks(
            budget=given.budget if given.budget is not None else budget,
            before_call=foreground.wait_quiet,
            observers=[good_call],
        )
    return DeepnoteClient(
        base_url=config.deepnote_api_url,
        api_key=config.deepnote_api_key,
        budget=budget,
        before_call=foreground.wait_quiet,
        observers=[good_call],
    )


def _run_services(
    config: Config,
    db: Database,
    deepnote: DeepnoteClient,
    gateway: SlackGateway,
    clock: Clock,
    *,
    foreground: Foreground,
    leases: LeaseStore,
    holder: str,
    pacer: ChannelPacer,
) -> tuple[RunService, ScheduleService, WatchService]:
    """The run service, and the schedule and watch services, which follow runs through it."""

    def finished(run: RunRecord) -> bool:
        """The schedules' or watches' bookkeeping of a run that ended; True to announce a
        quiet run."""
        # The services are built with the run service, so they are looked up when a run
        # ends (always after all are built).
        if run.watch_id is not None:
            return watches.on_finish(run)
        announce = schedules.on_finish(run)
        # A workflow step's run without a channel has no card: the step's outputs report it.
        return announce and bool(run.channel_id)

    runs = RunService(
        store=RunStore(db),
        deepnote=deepnote,
        slack=gateway,
        clock=clock,
        poll_seconds=config.poll_interval_seconds,
        lost_after_seconds=config.lost_after_seconds,
        app_url=config.deepnote_app_url,
        holder=holder,
        leases=leases,
        access=config.access(),
        audit=AuditStore(db),
        pacer=pacer,
        quiet=foreground.wait_quiet,
        on_finish=finished,
    )
    schedules = ScheduleService(
        store=ScheduleStore(db),
        runs=runs,
        deepnote=deepnote,
        slack=gateway,
        clock=clock,
        grace_seconds=config.schedule_grace_seconds,
        admins=config.admin_user_ids,
    )
    watches = WatchService(
        store=WatchStore(db),
        runs=runs,
        deepnote=deepnote,
        slack=gateway,
        clock=clock,
        every_seconds=config.watch_poll_seconds,
        round_seconds=config.poll_interval_seconds,
        app_url=config.deepnote_app_url,
        admins=config.admin_user_ids,
    )
    return runs, schedules, watches


def _bolt_app(
    config: Config,
    web: WebClient,
    foreground: Foreground,
    services: Services,
    intake: Intake,
    steps: StepCompleter,
) -> ForegroundApp:
    """The Bolt app with every listener registered."""
    bolt = ForegroundApp(
        foreground=foreground,
        client=web,
        signing_secret=config.slack_signing_secret or None,
        request_verification_enabled=not config.socket_mode,
        token_verification_enabled=False,
        logger=logging.getLogger("slack_bolt"),
        # Every listener acknowledges on the thread that received the request (no hand-off to
        # a pool and no 10 ms polling for the acknowledgement) and hands anything slow to
        # `services.background`, which runs it once requests are answered (bot/web/foreground.py).
        process_before_response=True,
    )
    commands.register(bolt, services, listener=commands.SlashCommand(services, intake=intake))
    interactions.register(bolt, services, intake=intake)
    mentions.register(bolt, services, listener=mentions.MentionListener(services, intake=intake))
    home.register(bolt, services)
    schedule_edit.register(bolt, services, intake=intake)
    workflow_step.register(bolt, services, steps, intake=intake)
    return bolt


def _slack_check(web: WebClient, calls: CallRecorder, clock: Clock) -> Callable[[], None]:
    """auth.test with the bot token: returns when Slack accepts it."""
    # A client of its own: one attempt within CHECK_TIMEOUT_SECONDS (the bot's client retries),
    # so the next attempt follows the start-up backoff.
    probe = WebClient(
        token=web.token,
        base_url=web.base_url,
        timeout=int(CHECK_TIMEOUT_SECONDS),
        retry_handlers=[],
        logger=_PROBE_LOG,
    )

    def check() -> None:
        """Ask Slack once."""
        try:
            probe.auth_test()
        except OSError as exc:
            reason = getattr(exc, "reason", None) or exc
            raise SlackError(f"Slack could not be reached ({reason})", retryable=True) from None
        except (SlackApiError, SlackClientError, ValueError) as exc:
            err = to_slack_error(exc)
            if err.code in REJECTED_TOKEN:
                raise CredentialRejected(
                    "Slack",
                    "SLACK_BOT_TOKEN",
                    err.code,
                    "Copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions "
                    "page (reinstall the app if it was revoked), set SLACK_BOT_TOKEN and start "
                    "the bot again.",
                ) from None
            status = f"HTTP {err.status}, " if err.status else ""
            raise SlackError(
                f"Slack answered auth.test with {status}{err.code or 'an unreadable answer'}",
                code=err.code,
                status=err.status,
                retryable=True,
            ) from None
        calls.slack(clock.now())

    return check


def _deepnote_check(deepnote: DeepnoteClient) -> Callable[[], None]:
    """GET /v2/me with the API key: returns when Deepnote accepts it."""

    def check() -> None:
        """Ask Deepnote once (a good answer is recorded by the client's health observer)."""
        try:
            deepnote.me(retries=0)
        except (DeepnoteAuthError, DeepnoteForbidden) as exc:
            raise CredentialRejected(
                "Deepnote",
                "DEEPNOTE_API_KEY",
                f"HTTP {exc.status}",
                "Create a key in Deepnote (Settings & members > Security > API keys) as a user "
                "who can run the notebooks, set DEEPNOTE_API_KEY (or DEEPNOTE_TOKEN) and start "
                "the bot again.",
            ) from None

    return check
