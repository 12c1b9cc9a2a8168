"""The "busy channel" scenario: K runs in one channel finishing over 15 s, under Slack's limits.

The Slack stand-in enforces `SLACK_LIMITS` (about one post a second per channel with a short
burst, chat.update in Tier 3 across the workspace; 429 with Retry-After past them). Next to the
bot's latencies the scenario prints the floor: what an ideal bot could reach under the same
limits model and the same finish times (it learns of each finish at once and spends every token
of the channel's and the workspace's buckets on outcomes, in finish order).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import datetime
from typing import Any

from bench.harness import Session, utc_now
from bench.report import Check
from bench.scenarios import _seed
from bench.stats import summary
from bot.offline.slack_standin import SLACK_LIMITS, Limit

CHANNEL = "C0BUSY"
SPREAD_SECONDS = 15.0
SETTLE_SECONDS = 3.0


def busy_channel(session: Session, *, runs: int, seed: int = 1) -> dict[str, Any]:
    """Finish `runs` runs of one channel at random instants over 15 s; measure their outcomes."""
    session.start_fakes()
    records = _seed(session, runs, [CHANNEL], post_cards=True)  # before the limits apply
    session.slack.enforce_limits(SLACK_LIMITS)
    session.start_bot()
    time.sleep(SETTLE_SECONDS)
    rng = random.Random(seed)
    offsets = sorted(rng.uniform(0, SPREAD_SECONDS) for _ in records)
    order = list(records)
    rng.shuffle(order)
    began = time.monotonic()
    finished: dict[str, datetime] = {}
    for record, offset in zip(order, offsets, strict=True):
        time.sleep(max(0.0, began + offset - time.monotonic()))
        assert record.run_id is not None
        session.sim.finish_run(record.run_id, "success")
        finished[record.id] = utc_now()
    cards = {r.id: r.card_ts or "" for r in records}
    # Until every reply and every card's final edit is in: the edits' budget (per workspace)
    # is smaller than the channel's, so the last edits come well after the last reply.
    deadline = time.monotonic() + 30 + 2.0 * runs
    while time.monotonic() < deadline and (
        len(_replies(session)) < runs or len(_final_edits(session)) < runs
    ):
        time.sleep(0.2)
    time.sleep(2.0)  # a reply posted twice would show by now
    return _measure(session, cards, finished)


def _final_edits(session: Session) -> dict[str, datetime]:
    """When each card was first edited to its final state, by the card's ts."""
    edits: dict[str, datetime] = {}
    for call in session.slack.calls("chat.update"):
        if call.ok and "succeeded" in str(call.args.get("text")):
            edits.setdefault(str(call.args.get("ts")), call.at)
    return edits


def _replies(session: Session) -> dict[str, list[datetime]]:
    """When each run's result reply was posted, by the bot's run id (more than one: a dup)."""
    out: dict[str, list[datetime]] = {}
    for message in session.slack.all_messages(CHANNEL):
        payload = (message.metadata or {}).get("event_payload") or {}
        if message.thread_ts and payload.get("kind") == "result":
            out.setdefault(str(payload.get("run")), []).append(message.posted_at)
    return out


def _measure(
    session: Session, cards: dict[str, str], finished: dict[str, datetime]
) -> dict[str, Any]:
    """Reply and final-edit latencies, the floor, 429s, messages lost and posted twice."""
    replies = _replies(session)
    calls = session.slack.calls()
    edits = _final_edits(session)
    reply_lat = [(replies[i][0] - at).total_seconds() for i, at in finished.items() if i in replies]
    edit_lat = [
        (edits[cards[i]] - at).total_seconds() for i, at in finished.items() if cards[i] in edits
    ]
    times = sorted(finished.values())
    start = times[0]
    offsets = [(t - start).total_seconds() for t in times]
    limited = [c for c in calls if c.http_status == 429]
    writes = [c for c in calls if c.method in ("chat.postMessage", "chat.update")]
    return {
        "runs": len(finished),
        "reply_seconds": summary(reply_lat, missing=len(finished) - len(reply_lat)),
        "edit_seconds": summary(edit_lat, missing=len(finished) - len(edit_lat)),
        "floor": {
            "reply_seconds": summary(floor(offsets, SLACK_LIMITS["chat.postMessage"])),
            "edit_seconds": summary(floor(offsets, SLACK_LIMITS["chat.update"])),
        },
        "rate_limited": len(limited),
        "slack_writes": len(writes),
        "lost": len(finished) - len(replies),
        "posted_twice": sum(len(v) - 1 for v in replies.values()),
        "by_method_429": dict(Counter(c.method for c in limited)),
        "costs": session.metrics(len(finished)),
    }


def floor(offsets: list[float], limit: Limit) -> list[float]:
    """Each outcome's wait for a token of a bucket that starts full, taken in finish order.

    >>> floor([0.0, 0.0, 0.0, 0.0, 10.0], Limit(1.0, 3))
    [0.0, 0.0, 0.0, 1.0, 0.0]
    """
    tokens, last, waits = float(limit.burst), 0.0, []
    for at in sorted(offsets):
        now = max(at, last)
        tokens = min(float(limit.burst), tokens + (now - last) * limit.rate)
        if tokens < 1.0:
            now += (1.0 - tokens) / limit.rate
            tokens = 1.0
        tokens -= 1.0
        last = now
        waits.append(round(now - at, 3))
    return waits


def table(results: dict[str, Any]) -> str:
    """The busy-channel rows: the bot's p50/p99 beside the floor, 429s, lost, posted twice."""
    rows = []
    for name, data in results.get("scenarios", {}).items():
        if not name.startswith("busy-") or "reply_seconds" not in data:
            continue
        rep, fl = data["reply_seconds"], data["floor"]["reply_seconds"]
        edit, fe = data["edit_seconds"], data["floor"]["edit_seconds"]
        rows.append(
            f"| {data['runs']} | {_pp(rep)} | {_pp(fl)} | {_pp(edit)} | {_pp(fe)} |"
            f" {data['rate_limited']} of {data['slack_writes']} | {data['lost']} |"
            f" {data['posted_twice']} |"
        )
    if not rows:
        return ""
    head = (
        "| runs in one channel | thread reply p50 / p99 | floor | card final p50 / p99 | floor |"
        " 429s | lost | twice |\n|---|---|---|---|---|---|---|---|"
    )
    return "\n".join([head, *rows])


def _pp(stats: dict[str, Any]) -> str:
    return f"{stats['p50']:.1f} s / {stats['p99']:.1f} s"


def _check(label: str, value: float, target: str, passed: bool) -> Check:
    return Check(label, f"{value:.3g}", target, "PASS" if passed else "FAIL")


def checks(scenarios: dict[str, Any]) -> list[Check]:
    """The issue's targets for a busy channel: near the floor, few 429s, nothing lost."""
    out = []
    for name, data in scenarios.items():
        if not name.startswith("busy-") or "reply_seconds" not in data:
            continue
        bound = 1.5 * max(data["floor"]["reply_seconds"]["p99"], 1.0)
        out.append(
            _check(
                f"thread reply p99 (s), {name}",
                data["reply_seconds"]["p99"],
                f"≤ {bound:.3g} s (1.5 × max(floor, 1 s))",
                data["reply_seconds"]["p99"] <= bound,
            )
        )
        edit_bound = 1.5 * max(data["floor"]["edit_seconds"]["p99"], 1.0)
        out.append(
            _check(
                f"card edit to the final state p99 (s), {name}",
                data["edit_seconds"]["p99"],
                f"≤ {edit_bound:.3g} s (1.5 × max(floor, 1 s))",
                data["edit_seconds"]["p99"] <= edit_bound,
            )
        )
        share = data["rate_limited"] / max(1, data["slack_writes"])
        out.append(_check(f"429s of Slack writes, {name}", share, "< 5%", share < 0.05))
        wrong = data["lost"] + data["posted_twice"]
        out.append(_check(f"replies lost or twice, {name}", wrong, "0", wrong == 0))
    return out
