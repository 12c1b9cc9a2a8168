"""The measured scenarios: acknowledgements, notifications, and memory with many runs in flight.

Each takes a fresh `Session` (fakes, database, bot process) and returns plain JSON-able data.
Every loop is bounded by a count or a deadline, so a scenario ends even if the bot misbehaves.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bench.drive import RUN_COMMAND, CardTracker, CommandSender, channel_names
from bench.harness import DEEPNOTE_KEY, Session, channel_message_peak, utc_now
from bench.seed import create_runs
from bench.stats import mb, summary
from bot.simulator import HELLO_NOTEBOOK_ID, Simulator
from bot.slack_standin import Delivery
from storage.db import Database
from storage.records import RunRecord
from storage.runs import RunStore

DEEPNOTE_DELAY = 2.0
SETTLE_SECONDS = 3.0

# --------------------------------------------------------------------------- acknowledgements


def ack(session: Session, *, concurrency: int, rounds: int, keepalive: int = 0) -> dict[str, Any]:
    """Ack latency of `/deepnote run` while Deepnote answers every call after 2 s.

    `rounds` bursts of `concurrency` commands, 1 s apart, each command on a new connection;
    later bursts meet the lazy work of earlier ones, as in a busy workspace. Then `keepalive`
    commands one at a time, 1 s apart, over one reused connection.
    """
    session.sim.inject("*", "/", delay=DEEPNOTE_DELAY, times=10**9)
    session.start_bot()
    session.requester().slash_command("help")  # the first request pays one-off import costs
    channels = channel_names(50, 1)
    bursts = []
    for round_ in range(rounds):
        turn = channels[round_ % len(channels) :] + channels[: round_ % len(channels)]
        bursts.append(_burst(session, concurrency, turn))
        time.sleep(1.0)
    every = [d for burst in bursts for d in burst]
    result: dict[str, Any] = {
        "deepnote_delay_seconds": DEEPNOTE_DELAY,
        "concurrency": concurrency,
        "rounds": rounds,
        **_ack_stats(every),
        "first_burst": _ack_stats(bursts[0]) if bursts else None,
    }
    if keepalive:
        reused = session.requester()
        kept = []
        for i in range(keepalive):
            kept.append(reused.slash_command(RUN_COMMAND, channel_id=channels[i % len(channels)]))
            time.sleep(1.0)
        result["keepalive"] = _ack_stats(kept)
        every += kept
    result["costs"] = session.metrics(len(every))
    result["costs"]["deepnote"]["runs_created"] = len(session.sim.runs)
    return result


def _ack_stats(deliveries: Sequence[Delivery | None]) -> dict[str, Any]:
    """Latency in ms of commands answered 200; others count as missing, by HTTP status."""
    answered = [d for d in deliveries if d is not None and d.status_code == 200]
    statuses = Counter(str(d.status_code) if d else "no answer" for d in deliveries)
    refused = len(deliveries) - len(answered)
    return {
        "statuses": dict(statuses),
        "ms": summary([d.elapsed * 1000 for d in answered], missing=refused),
    }


def _burst(session: Session, concurrency: int, channels: list[str]) -> list[Delivery | None]:
    """`concurrency` commands released together, each on its own new connection."""
    requesters = [session.requester() for _ in range(concurrency)]
    barrier = threading.Barrier(concurrency)
    out: list[Delivery | None] = [None] * concurrency

    def one(i: int) -> None:
        barrier.wait(timeout=30)
        out[i] = requesters[i].slash_command(RUN_COMMAND, channel_id=channels[i % len(channels)])

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for requester in requesters:
        requester.close()
    return out


# --------------------------------------------------------------------------- notifications


def notify(
    session: Session,
    *,
    in_flight: int,
    samples: int,
    mean_gap: float,
    command_rate: float,
    per_channel: int = 10,
    seed: int = 7,
) -> dict[str, Any]:
    """Finish→card-edit latency with `in_flight` runs being followed.

    Start `in_flight` runs with slash commands, wait until every card shows its run, then
    finish `samples` of them (chosen at random, at random instants `mean_gap` apart on average)
    and start a new run in the same channel for each, so the number in flight stays put.
    """
    bot = session.start_bot()
    tracker = CardTracker(session.slack, session.sim)
    sender = CommandSender(session)
    rng = random.Random(seed)
    channels = channel_names(in_flight, per_channel)
    ramp_started = time.monotonic()
    for i in range(in_flight):
        _sleep_until(ramp_started + i / command_rate)
        sender.submit(RUN_COMMAND, channels[i % len(channels)])
    _wait(lambda: len(tracker.cards) >= in_flight, tracker, 30.0 + in_flight * 0.05)
    ramp_seconds = time.monotonic() - ramp_started
    time.sleep(SETTLE_SECONDS)
    in_flight_before = bot.health().get("runs_in_flight")
    window_started, window_started_at = time.monotonic(), utc_now()
    started = in_flight
    next_at = window_started
    for _ in range(samples):
        next_at += rng.uniform(0.5, 1.5) * mean_gap
        _sleep_until(next_at)
        run_id = _pick(tracker, rng)
        if run_id is None:
            break
        if mean_gap == 0:
            time.sleep(rng.uniform(0.0, 1.0))  # a random phase against the poll interval
        tracker.finish(run_id, _finish(session.sim, run_id))
        if in_flight == 1:
            # One run at a time: the next starts once this one is reported, a moment later.
            _wait(lambda r=run_id: r in tracker.final, tracker, 30.0)
            time.sleep(1.0)
        sender.submit(RUN_COMMAND, tracker.cards[run_id].channel)
        started += 1
        next_at = max(next_at, time.monotonic()) if mean_gap == 0 else next_at
    window_seconds = time.monotonic() - window_started
    drain_limit = max(15.0, 1.5 * in_flight / 10 + 10.0)
    _wait(lambda: not tracker.waiting(), tracker, drain_limit)
    sender.close()
    tracker.update()
    return _notify_result(
        session,
        tracker,
        in_flight=in_flight,
        started=started,
        refused=len(sender.refused),
        window=(window_started, window_started_at, window_seconds),
        extra={
            "channels": len(channels),
            "ramp_seconds": round(ramp_seconds, 1),
            "bot_in_flight_before": in_flight_before,
            "bot_in_flight_after": bot.health().get("runs_in_flight"),
            "drain_limit_seconds": drain_limit,
        },
    )


def _notify_result(
    session: Session,
    tracker: CardTracker,
    *,
    in_flight: int,
    started: int,
    refused: int,
    window: tuple[float, datetime, float],
    extra: dict[str, Any],
) -> dict[str, Any]:
    window_mono, window_at, window_seconds = window
    latencies = [
        (tracker.final[r] - at).total_seconds()
        for r, at in tracker.finished.items()
        if r in tracker.final
    ]
    replies = [
        (tracker.replies[r] - at).total_seconds()
        for r, at in tracker.finished.items()
        if r in tracker.replies
    ]
    missing = len(tracker.finished) - len(latencies)
    costs = session.metrics(started)
    assert session.sampler is not None
    steady = session.sampler.rate_between(window_mono, window_mono + window_seconds)
    costs["deepnote"]["window_per_second"] = round(steady, 1)
    costs["deepnote"]["status_reads_per_run_second"] = _reads_per_run_second(
        session, costs["deepnote"]["by_endpoint"].get("GET /v2/runs/{id}", 0)
    )
    costs["slack"]["max_messages_per_channel_per_second_in_window"] = channel_message_peak(
        session.slack.calls(), window_at
    )
    return {
        "in_flight": in_flight,
        "commands_refused": refused,
        "notify_seconds": summary(latencies, missing=missing),
        "reply_seconds": summary(replies, missing=len(tracker.finished) - len(replies)),
        "window_seconds": round(window_seconds, 1),
        **extra,
        "costs": costs,
    }


def _finish(sim: Simulator, run_id: str) -> datetime:
    """Finish the run in the simulator now; return the instant it recorded."""
    sim.finish_run(run_id, "success")
    forced = sim.runs[run_id].forced_at
    assert forced is not None
    return forced


def _pick(tracker: CardTracker, rng: random.Random, min_age: float = 1.0) -> str | None:
    """A random run whose card has shown it for at least `min_age` s and is not finished."""
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline:
        tracker.update()
        cutoff = utc_now() - timedelta(seconds=min_age)
        ready = [
            r
            for r, card in tracker.cards.items()
            if r not in tracker.finished and card.seen_at <= cutoff
        ]
        if ready:
            return rng.choice(sorted(ready))
        time.sleep(0.05)
    return None


def _reads_per_run_second(session: Session, reads: int) -> float:
    """Status reads per second of run time in flight (creation to finish, or now)."""
    now = utc_now()
    seconds = sum(
        ((run.forced_at or now) - run.created_at).total_seconds()
        for run in session.sim.runs.values()
    )
    return round(reads / seconds, 3) if seconds > 0 else float("nan")


def _wait(done: Any, tracker: CardTracker, limit: float) -> bool:
    """Re-read Slack until `done()` or `limit` seconds pass; True when done."""
    deadline = time.monotonic() + limit
    while True:
        tracker.update()
        if done():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def _sleep_until(instant: float) -> None:
    delay = instant - time.monotonic()
    if delay > 0:
        time.sleep(delay)


# --------------------------------------------------------------------------- memory


def memory(
    session: Session, *, runs: int, seconds: float, per_channel: int = 100
) -> dict[str, Any]:
    """Peak RSS while the bot follows `runs` pending runs, seeded straight into its database.

    The runs are created in the simulator over its API and their rows go in through the bot's
    own RunStore (status `pending`, card already showing that), as if the bot had started them
    and then restarted. The cards' ts are placeholders: nothing changes, so no card is edited.
    """
    prepared = time.monotonic()
    run_ids = create_runs(session.sim.url, DEEPNOTE_KEY, HELLO_NOTEBOOK_ID, runs)
    channels = channel_names(runs, per_channel)
    channel_of = [channels[i % len(channels)] for i in range(runs)]
    cards = [f"1700000000.{i:06d}" for i in range(runs)]
    _seed_database(session, run_ids, channel_of, cards)
    prepare_seconds = time.monotonic() - prepared
    bot = session.start_bot()
    rss: list[int] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rss.append(bot.memory().get("VmRSS", 0))
        time.sleep(0.5)
    health = bot.health()
    costs = session.metrics(runs)
    polled = {
        r.path for r in session.sim.requests if r.method == "GET" and r.path.startswith("/v2/runs/")
    }
    return {
        "runs": runs,
        "seconds": seconds,
        "prepare_seconds": round(prepare_seconds, 1),
        "bot_in_flight": health.get("runs_in_flight"),
        "distinct_runs_polled": len(polled),
        "rss_mb_max_sampled": mb(max(rss, default=0)),
        "costs": costs,
    }


def _seed_database(
    session: Session, run_ids: list[str], channels: list[str], cards: list[str]
) -> None:
    """Insert one pending, already-announced run row per run, through the bot's RunStore."""
    name = session.sim.notebooks[HELLO_NOTEBOOK_ID].name
    db = Database(session.db_path)
    db.migrate()
    store = RunStore(db)
    now = utc_now()
    for run_id, channel, ts in zip(run_ids, channels, cards, strict=True):
        record = RunRecord(
            id=uuid.uuid4().hex,
            notebook_id=HELLO_NOTEBOOK_ID,
            notebook_name=name,
            user_id="U0ALICE",
            team_id="T0TEST",
            channel_id=channel,
            status="pending",
            created_at=now,
            run_id=run_id,
            card_ts=ts,
            started_at=now,
        )
        store.insert(record)
        store.card_done(record.id, "pending")
    db.close()
