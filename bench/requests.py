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
from collections.abc import Mapping
from typing import Any

from bench.drive import CardTracker, channel_names
from bench.harness import Session, endpoint
from bench.report import Check, table
from bench.scenarios import REPLY_GRACE, SETTLE_SECONDS, _finish, _ramp, _sleep_until, _wait
from bench.stats import summary
from bot.config import Config

COMMAND_RATE = 10.0  # commands per second while the runs are started


def spread(
    session: Session,
    *,
    runs: int,
    finish_over: float,
    seed: int = 7,
    settings: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Start `runs` runs in as many channels, finish them all within `finish_over` seconds,
    and count the Deepnote requests it took to report them. `settings` are given to the bot
    (a variant: the defaults otherwise)."""
    session.settings.update(settings or {})
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
    # A slower poll learns of the last finishes later: the wait grows with it.
    poll = float(session.settings.get("POLL_INTERVAL_SECONDS", Config.poll_interval_seconds))
    _wait(lambda: not tracker.waiting_replies(), tracker, finish_over + REPLY_GRACE + 3 * poll)
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
        "settings": dict(settings or {}),
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
    """Deepnote requests per finished run, by endpoint, for each `spread-*` scenario run and
    its `cli-*` baseline (Deepnote's CLI, one process per run)."""
    rows = []
    for name, found in results.get("scenarios", {}).items():
        if not name.startswith(("spread-", "cli-")) or "deepnote_per_finished_run" not in found:
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
                f"{found['notebook_reads_per_command']:.2f}"
                if "notebook_reads_per_command" in found
                else "-",
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


def listing_bound(runs: int, finish_over: float, staleness: float) -> float:
    """The fewest Deepnote requests per finished run of any bot that learns of each finish
    within `staleness` seconds, when finishes are spread over `finish_over` seconds across
    `runs // 10` notebooks (as in `spread-*`): a run list covers one notebook, so every
    notebook is listed at least once per `staleness`, and each finished run is read once
    for its snapshot.

    >>> listing_bound(10, 15.0, 2.5), listing_bound(50, 15.0, 1.0)
    (1.6, 2.5)
    """
    notebooks = max(1, runs // 10)
    return round((runs + notebooks * finish_over / staleness) / runs, 2)


def checks(scenarios: dict[str, Any]) -> list[Check]:
    """The issue's targets for runs over separate channels: at most 1.2 Deepnote requests per
    finished run, and thread replies within 1 s of Deepnote's CLI (`cli-K`) at p99. Next to
    the first: the least any bot could spend at the CLI's latency (`listing_bound`). A variant
    with settings of its own (not the defaults) is shown against the same targets as INFO.
    """
    out = []
    for name, data in scenarios.items():
        if not name.startswith("spread-") or "deepnote_per_finished_run" not in data:
            continue

        def verdict(ok: bool, data: dict[str, Any] = data) -> str:
            return "INFO" if data.get("settings") else "PASS" if ok else "FAIL"

        baseline = scenarios.get(f"cli-{data['runs']}", {})
        cli_p99 = (baseline.get("reply_seconds") or {}).get("p99")
        bot_p99 = data["reply_seconds"].get("p99")
        per_run = data["deepnote_per_finished_run"]
        target = "≤ 1.2"
        if cli_p99 is not None:
            bound = listing_bound(data["runs"], data["finish_over_seconds"], cli_p99 + 1)
            target += f" (any bot within CLI p99 + 1 s needs ≥ {bound:.2f})"
        out.append(
            Check(
                f"Deepnote requests per finished run, {name}",
                f"{per_run:.2f}",
                target,
                verdict(per_run <= 1.2),
            )
        )
        label = f"thread reply p99, {name}, vs Deepnote's CLI"
        if cli_p99 is None or bot_p99 is None:
            why = baseline.get("skipped", "cli scenario not run")
            out.append(Check(label, "not run", why, "SKIP"))
            continue
        out.append(
            Check(
                label,
                f"{bot_p99:.2f} s",
                f"≤ {cli_p99 + 1:.2f} s (CLI p99 {cli_p99:.2f} s + 1 s)",
                verdict(bot_p99 <= cli_p99 + 1),
            )
        )
    return out
