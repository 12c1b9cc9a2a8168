"""`spread-50`: Deepnote requests per finished run, runs spread over separate channels.

50 runs (one notebook per 10 runs) are started with slash commands, one per channel, so
Slack's per-channel pace does not decide anything; then every run is finished at a random
instant within 15 s. Counted: the Deepnote requests the simulator received from the first
finish until every thread reply arrived, per finished run and by endpoint, and the thread
replies' latency from the finish.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any

from bench.drive import CardTracker, channel_names
from bench.harness import Session, endpoint
from bench.report import table
from bench.scenarios import REPLY_GRACE, SETTLE_SECONDS, _finish, _ramp, _sleep_until, _wait
from bench.stats import summary

COMMAND_RATE = 10.0  # commands per second while the runs are started


def spread(session: Session, *, runs: int, finish_over: float, seed: int = 7) -> dict[str, Any]:
    """Start `runs` runs in as many channels, finish them all within `finish_over` seconds,
    and count the Deepnote requests it took to report them."""
    session.start_fakes(notebooks=max(1, runs // 10))
    tracker = CardTracker(session.slack, session.sim)
    rng = random.Random(seed)
    bot, sender = _ramp(session, tracker, runs, channel_names(runs, 1), COMMAND_RATE)
    commands = Counter(endpoint(r.method, r.path) for r in session.sim.requests)
    time.sleep(SETTLE_SECONDS)
    order = sorted(tracker.cards)
    rng.shuffle(order)
    offsets = sorted(rng.uniform(0.0, finish_over) for _ in order)
    before = len(session.sim.requests)
    started = time.monotonic()
    for run_id, offset in zip(order, offsets, strict=True):
        _sleep_until(started + offset)
        _finish(session.sim, run_id, tracker)
    _wait(lambda: not tracker.waiting_replies(), tracker, finish_over + REPLY_GRACE)
    sender.close()
    window = session.sim.requests[before:]
    by_endpoint = Counter(endpoint(r.method, r.path) for r in window)
    finished = len(order)
    replies = [
        (tracker.replies[r] - at).total_seconds()
        for r, at in tracker.finished.items()
        if r in tracker.replies
    ]
    costs = session.metrics(runs)
    return {
        "runs": runs,
        "finish_over_seconds": finish_over,
        "finished": finished,
        "deepnote_requests_while_finishing": len(window),
        "deepnote_per_finished_run": round(len(window) / max(finished, 1), 2),
        "by_endpoint_while_finishing": dict(by_endpoint.most_common()),
        "notebook_reads_per_command": round(
            commands.get("GET /v2/notebooks/{id}", 0) / max(runs, 1), 2
        ),
        "reply_seconds": summary(replies, missing=finished - len(replies)),
        "bot_in_flight_after": bot.health().get("runs_in_flight"),
        "costs": costs,
    }


def requests_table(results: dict[str, Any]) -> str | None:
    """Deepnote requests per finished run, by endpoint, for each `spread-*` scenario run."""
    rows = []
    for name, found in results.get("scenarios", {}).items():
        if not name.startswith("spread-") or "deepnote_per_finished_run" not in found:
            continue
        by = found["by_endpoint_while_finishing"]
        reply = found["reply_seconds"]
        rows.append(
            [
                name,
                f"{found['deepnote_per_finished_run']:.2f}",
                str(by.get("GET /v2/runs/{id}", 0)),
                str(by.get("GET /_snapshots/{id}", 0)),
                str(by.get("GET /v2/notebooks/{id}/runs", 0)),
                f"{found['notebook_reads_per_command']:.2f}",
                f"{reply.get('p50', float('nan')):.1f} / {reply.get('p99', float('nan')):.1f} s",
            ]
        )
    if not rows:
        return None
    headers = [
        "scenario",
        "DN req/finished run",
        "run reads",
        "snapshot downloads",
        "listings",
        "notebook reads/command",
        "reply p50 / p99",
    ]
    return table(headers, rows)
