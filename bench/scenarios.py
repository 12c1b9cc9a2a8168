"""The measured scenarios: acknowledgements, notifications, and memory with many runs in flight.

Each takes a fresh `Session` (fakes, database, bot process) and returns plain JSON-able data.
Every loop is bounded by a count or a deadline, so a scenario ends even if the bot misbehaves.
"""

from __future__ import annotations

import base64
import json
import random
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk import WebClient

from bench.drive import CardTracker, CommandSender, channel_names, run_command
from bench.harness import (
    BOT_TOKEN,
    DEEPNOTE_KEY,
    REPO,
    SIGNING_SECRET,
    BotProcess,
    Session,
    channel_peaks,
    utc_now,
)
from bench.seed import create_runs
from bench.stats import mb, summary
from bot.offline.simulator import HELLO_NOTEBOOK_ID, Simulator
from bot.offline.slack_standin import SlackRequester, sign_request
from bot.slack.messages.cards import run_card
from storage.engine import open_database
from storage.records import RunRecord
from storage.runs import RunStore

DEEPNOTE_DELAY = 2.0
SETTLE_SECONDS = 3.0
REPLY_GRACE = 10.0  # after the last outcome is shown, how long to wait for thread replies
MAX_CHANNELS = 100
RUNS_PER_NOTEBOOK = 10

# --------------------------------------------------------------------------- acknowledgements


def ack(session: Session, *, concurrency: int, rounds: int, keepalive: int = 0) -> dict[str, Any]:
    """Ack latency of `/deepnote run` while Deepnote answers every call after 2 s.

    `rounds` bursts of `concurrency` commands, 1 s apart, each command on a new connection;
    later bursts meet the work of earlier ones, as in a busy workspace. Then `keepalive`
    commands one at a time, 1 s apart, over one reused connection. The requests leave from
    the `bench.load` process (see there why), signed here just before each burst.
    """
    session.start_fakes()
    session.sim.inject("*", "/", delay=DEEPNOTE_DELAY, times=10**9)
    session.start_bot()
    channels = channel_names(50, 1)
    bursts = []
    slack = session.requester()  # builds and signs the requests; the load process sends them
    with LoadProcess(session) as load:
        # Not measured: the first requests of the bot and of the sender pay one-off costs.
        load.send([_signed(slack, "help", channels[0]) for _ in range(10)], mode="burst")
        time.sleep(0.5)
        for round_ in range(rounds):
            turn = channels[round_ % len(channels) :] + channels[: round_ % len(channels)]
            requests = [_signed(slack, RUN, turn[i % len(turn)]) for i in range(concurrency)]
            bursts.append(load.send(requests, mode="burst"))
            time.sleep(1.0)
        kept = []
        if keepalive:
            requests = [_signed(slack, RUN, channels[i % len(channels)]) for i in range(keepalive)]
            kept = load.send(requests, mode="reuse", gap=1.0)
    every = [d for burst in bursts for d in burst]
    result: dict[str, Any] = {
        "deepnote_delay_seconds": DEEPNOTE_DELAY,
        "concurrency": concurrency,
        "rounds": rounds,
        **_ack_stats(every),
        "first_burst": _ack_stats(bursts[0]) if bursts else None,
    }
    if keepalive:
        result["keepalive"] = _ack_stats(kept)
        every += kept
    result["costs"] = session.metrics(len(every))
    result["costs"]["deepnote"]["runs_created"] = len(session.sim.runs)
    # Stopping Deepnote first cuts the 2 s answers short, so the bot can exit promptly.
    session.sim.stop()
    return result


RUN = run_command(HELLO_NOTEBOOK_ID)


def _signed(slack: SlackRequester, text: str, channel: str) -> bytes:
    """The raw bytes of a signed `/deepnote <text>` request, as Slack would send it."""
    form = slack.slash_command_form(text, channel_id=channel)
    body = urlencode(form).encode()
    headers = {
        "Host": httpx.URL(slack.bot_url).netloc.decode(),
        "Content-Type": "application/x-www-form-urlencoded",
        **sign_request(SIGNING_SECRET, body, int(time.time())),
        "Content-Length": str(len(body)),
    }
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"POST /slack/events HTTP/1.1\r\n{head}\r\n".encode() + body


class LoadProcess:
    """The `python -m bench.load` child process that sends requests to the bot."""

    def __init__(self, session: Session) -> None:
        assert session.bot is not None
        self.port = session.bot.port
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.load"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def send(self, requests: list[bytes], *, mode: str, gap: float = 1.0) -> list[dict[str, Any]]:
        """Send the requests (all at once, or one by one on one connection); their outcomes."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        job = {
            "host": "127.0.0.1",
            "port": self.port,
            "requests": [base64.b64encode(r).decode() for r in requests],
            "mode": mode,
            "gap": gap,
        }
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the bench.load process stopped")
        results: list[dict[str, Any]] = json.loads(line)["results"]
        return results

    def __enter__(self) -> LoadProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _ack_stats(outcomes: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Latency in ms of commands answered 200; others count as missing, by status or error."""
    answered = [o["ms"] for o in outcomes if o.get("status") == 200]
    statuses = Counter(str(o.get("status") or o.get("error") or "no answer") for o in outcomes)
    return {
        "statuses": dict(statuses),
        "ms": summary(answered, missing=len(outcomes) - len(answered)),
    }


# --------------------------------------------------------------------------- notifications


def notify(
    session: Session,
    *,
    in_flight: int,
    samples: int,
    mean_gap: float,
    command_rate: float = 0.0,
    seed: int = 7,
) -> dict[str, Any]:
    """Finish→card-edit latency with `in_flight` runs being followed.

    Start `in_flight` runs, spread over up to 100 channels and one notebook per 10 runs: with
    slash commands at `command_rate` per second, or (rate 0) seeded as if the bot had started
    them before a restart. Then finish `samples` of them (chosen at random, at random instants
    `mean_gap` apart on average) and start a new run of the same notebook in the same channel
    with a slash command for each, so the number in flight stays put.
    """
    notebooks = max(1, in_flight // RUNS_PER_NOTEBOOK)
    session.start_fakes(notebooks=notebooks if notebooks > 1 else 0)
    tracker = CardTracker(session.slack, session.sim)
    rng = random.Random(seed)
    channels = channel_names(in_flight, -(-in_flight // MAX_CHANNELS))
    ids = session.notebook_ids
    ramp_started = time.monotonic()
    bot, sender = _ramp(session, tracker, in_flight, channels, command_rate)
    ramp_seconds = time.monotonic() - ramp_started
    time.sleep(SETTLE_SECONDS)
    in_flight_before = bot.health().get("runs_in_flight")
    window_started, window_started_at = time.monotonic(), utc_now()
    started = in_flight + _finish_and_replace(
        session, tracker, sender, rng, in_flight=in_flight, samples=samples, mean_gap=mean_gap
    )
    window_seconds = time.monotonic() - window_started
    # A card later than the target is a failure anyway: wait a little longer, no more.
    drain_limit = max(10.0, target_p99(in_flight) + 5.0)
    _wait(lambda: not tracker.waiting(), tracker, drain_limit)
    # Thread replies follow their card's outcome at the channel's pace: give them a moment too.
    _wait(lambda: not tracker.waiting_replies(), tracker, REPLY_GRACE)
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
            "started_by": "slash commands" if command_rate > 0 else "seeded before start",
            "channels": len(channels),
            "notebooks": len(ids),
            "ramp_seconds": round(ramp_seconds, 1),
            "bot_in_flight_before": in_flight_before,
            "bot_in_flight_after": bot.health().get("runs_in_flight"),
            "drain_limit_seconds": drain_limit,
        },
    )


def _ramp(
    session: Session,
    tracker: CardTracker,
    in_flight: int,
    channels: list[str],
    command_rate: float,
) -> tuple[BotProcess, CommandSender]:
    """Bring `in_flight` runs into being: seeded before the bot starts, or by slash commands."""
    ids = session.notebook_ids
    ramp_started = time.monotonic()
    if command_rate <= 0:
        for run in _seed(session, in_flight, channels, post_cards=True):
            assert run.run_id is not None
            assert run.card_ts is not None
            tracker.known(run.run_id, run.channel_id, run.card_ts)
        return session.start_bot(), CommandSender(session)
    bot = session.start_bot()
    sender = CommandSender(session)
    for i in range(in_flight):
        _sleep_until(ramp_started + i / command_rate)
        sender.submit(run_command(ids[i % len(ids)]), channels[i % len(channels)])
    # A card shows its run id once edited, and card edits share the workspace's budget of
    # about 50 a minute (Slack's Tier 3): 50 new runs take most of a minute to show.
    _wait(lambda: len(tracker.cards) >= in_flight, tracker, 30.0 + in_flight * 1.2)
    return bot, sender


def _finish_and_replace(
    session: Session,
    tracker: CardTracker,
    sender: CommandSender,
    rng: random.Random,
    *,
    in_flight: int,
    samples: int,
    mean_gap: float,
) -> int:
    """Finish up to `samples` runs, starting a new one for each; how many were started."""
    started = 0
    next_at = time.monotonic()
    for _ in range(samples):
        next_at += rng.uniform(0.5, 1.5) * mean_gap
        _sleep_until(next_at)
        run_id = _pick(tracker, rng)
        if run_id is None:
            break
        if mean_gap == 0:
            time.sleep(rng.uniform(0.0, 1.0))  # a random phase against the poll interval
        notebook = _finish(session.sim, run_id, tracker)
        if in_flight == 1:
            # One run at a time: the next starts once this one is reported, a moment later.
            _wait(lambda r=run_id: r in tracker.final, tracker, 30.0)
            time.sleep(1.0)
        sender.submit(run_command(notebook), tracker.cards[run_id].channel)
        started += 1
        next_at = max(next_at, time.monotonic()) if mean_gap == 0 else next_at
    return started


def target_p99(in_flight: int) -> float:
    """The issue's p99 bound for notifications: 3 s up to 10 in flight, else 1.5 × N ÷ 10/s.

    >>> target_p99(10), target_p99(1000)
    (3.0, 150.0)
    """
    return 3.0 if in_flight <= 10 else 1.5 * in_flight / 10


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
    steady = session.deepnote_rate(window_mono, window_mono + window_seconds)
    costs["deepnote"]["window_per_second"] = round(steady, 1)
    costs["deepnote"]["status_reads_per_run_second"] = _reads_per_run_second(
        session, costs["deepnote"]["by_endpoint"].get("GET /v2/runs/{id}", 0)
    )
    costs["slack"]["per_channel_per_second_in_window"] = channel_peaks(
        session.slack.calls(), window_at
    )
    return {
        "in_flight": in_flight,
        "commands_refused": refused,
        "notify_seconds": summary(latencies, missing=missing),
        "reply_seconds": summary(replies, missing=len(tracker.finished) - len(replies)),
        "samples": [
            {
                "run": r,
                "finished_at": at.isoformat(),
                "card_final_at": tracker.final[r].isoformat() if r in tracker.final else None,
            }
            for r, at in tracker.finished.items()
        ],
        "window_seconds": round(window_seconds, 1),
        **extra,
        "costs": costs,
    }


def _finish(sim: Simulator, run_id: str, tracker: CardTracker) -> str:
    """Finish the run in the simulator now and note the instant; return its notebook id."""
    sim.finish_run(run_id, "success")
    run = sim.runs[run_id]
    assert run.forced_at is not None
    tracker.finish(run_id, run.forced_at)
    return run.notebook_id


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


def memory(session: Session, *, runs: int, seconds: float) -> dict[str, Any]:
    """Peak RSS while the bot follows `runs` pending runs, seeded straight into its database.

    The runs (10 per notebook, 100 per channel) are created in the simulator over its API and
    their rows go in through the bot's own RunStore (status `pending`, card already showing
    that), as if the bot had started them and then restarted. The cards' ts are placeholders:
    nothing changes, so no card is edited.
    """
    session.start_fakes(notebooks=max(1, runs // RUNS_PER_NOTEBOOK))
    prepared = time.monotonic()
    _seed(session, runs, channel_names(runs, 100), post_cards=False)
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
        "notebooks": len(session.notebook_ids),
        "seconds": seconds,
        "prepare_seconds": round(prepare_seconds, 1),
        "bot_in_flight": health.get("runs_in_flight"),
        "distinct_runs_read_one_by_one": len(polled),
        "rss_mb_max_sampled": mb(max(rss, default=0)),
        "costs": costs,
    }


def _seed(
    session: Session, count: int, channels: list[str], *, post_cards: bool
) -> list[RunRecord]:
    """`count` pending runs, as if the bot had started them and then restarted.

    The runs (one notebook after the other, one channel after the other) are created in the
    simulator over its API; with `post_cards` their cards, as the bot renders them, are posted
    to the Slack stand-in over its Web API, otherwise their ts are placeholders. The rows go in
    through the bot's own RunStore, each with its card marked as up to date.
    """
    ids = session.notebook_ids
    notebooks = [ids[i % len(ids)] for i in range(count)]
    run_ids = create_runs(session.sim.url, DEEPNOTE_KEY, notebooks)
    names = {k: v.name for k, v in session.sim.notebooks.items()}
    now = utc_now()
    records = [
        RunRecord(
            id=uuid.uuid4().hex,
            notebook_id=notebook,
            notebook_name=names[notebook],
            user_id="U0ALICE",
            team_id="T0TEST",
            channel_id=channels[i % len(channels)],
            status="pending",
            created_at=now,
            run_id=run_id,
            card_ts=f"1700000000.{i:06d}",
            started_at=now,
        )
        for i, (run_id, notebook) in enumerate(zip(run_ids, notebooks, strict=True))
    ]
    if post_cards:
        records = _post_cards(session, records, now)
    db = open_database(session.database)
    db.migrate()
    store = RunStore(db)
    for record in records:
        store.insert(record)
        store.card_done(record.id, "pending")
    db.close()
    return records


def _post_cards(session: Session, records: list[RunRecord], now: datetime) -> list[RunRecord]:
    """Post each run's card as the bot would have; return the records with their card ts."""
    web = WebClient(token=BOT_TOKEN, base_url=session.slack.api_url)

    def post(record: RunRecord) -> RunRecord:
        card = run_card(record, now=now)
        answer = web.chat_postMessage(channel=record.channel_id, text=card.text, blocks=card.blocks)
        return replace(record, card_ts=str(answer["ts"]))

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(post, records))
