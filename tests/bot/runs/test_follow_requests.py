"""How many Deepnote requests a finished run costs: its status and snapshot in one read.

The real bot against the simulator: a run is held `running`, then finished, and the requests
the simulator received from that instant on are counted, next to the reply people see.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.offline.simulator import HELLO_NOTEBOOK_ID, Simulator
from bot.offline.slack_standin import SlackStandIn
from tests.conftest import DEEPNOTE_KEY, Bots, Harness

CHANNEL = "C0GENERAL"


def started(h: Harness) -> str:
    """Run the hello-world notebook, hold it `running` and follow it a few rounds."""
    h.command(f"run {HELLO_NOTEBOOK_ID}")
    h.slack.wait_for(lambda s: any(c.method == "chat.update" for c in s.calls()))
    (run_id,) = h.deepnote.runs
    h.deepnote.set_status(run_id, "running")
    for _ in range(3):
        h.advance(1)
    return run_id


def finish(h: Harness, run_id: str) -> int:
    """Finish the run in Deepnote now; the number of requests received before."""
    count = len(h.deepnote.requests)
    h.deepnote.finish_run(run_id)
    return count


def reads_since(h: Harness, count: int) -> list[str]:
    """The requests received since `count`, as `METHOD path?query`."""
    return [
        f"{r.method} {r.path}" + (f"?{'&'.join(f'{k}={v}' for k, v in r.query.items())}")
        for r in h.deepnote.requests[count:]
    ]


def reply(h: Harness) -> str:
    """Everything the one reply in the run card's thread shows."""
    (card,) = [m for m in h.slack.messages(CHANNEL) if m.thread_ts is None]
    (answer,) = h.slack.thread(CHANNEL, card.ts)
    return json.dumps(answer.blocks)


def test_a_finished_run_costs_one_read_when_its_snapshot_is_inline(harness: Harness) -> None:
    h = harness
    run_id = started(h)
    before = finish(h, run_id)

    h.advance(1)

    assert reads_since(h, before) == [f"GET /v2/runs/{run_id}?snapshotDelivery=inline"]
    shown = reply(h)
    assert "Hello world!" in shown  # the key results, from the inline snapshot
    assert "See the run's snapshot in Deepnote" in shown
    assert not [r for r in h.deepnote.requests if r.path.startswith("/_snapshots/")]


def test_a_snapshot_too_large_to_inline_is_downloaded(harness: Harness) -> None:
    h = harness
    h.deepnote.inline_snapshot_limit = 10  # bytes: Deepnote sends a download URL instead
    run_id = started(h)
    before = finish(h, run_id)

    h.advance(1)

    reads = reads_since(h, before)
    assert reads[0] == f"GET /v2/runs/{run_id}?snapshotDelivery=inline"
    assert [r.split("?")[0] for r in reads[1:]] == [f"GET /_snapshots/{run_id}"]
    shown = reply(h)
    assert "Hello world!" in shown
    assert "Download the run's snapshot" in shown


@pytest.fixture
def late_snapshots(
    request: pytest.FixtureRequest, clock: ManualClock, slack: SlackStandIn, tmp_path: Path
) -> Iterator[Harness]:
    """A bot against a Deepnote whose snapshots attach `request.param` seconds after the
    run's terminal status."""
    with Simulator(api_key=DEEPNOTE_KEY, clock=clock, snapshot_lag_seconds=request.param) as sim:
        bots = Bots(slack, sim, clock, tmp_path / "bot.db")
        yield bots.start()
        for h in list(bots.running):
            bots.stop(h)


@pytest.mark.parametrize("late_snapshots", [2.0], indirect=True)
def test_a_late_snapshot_is_read_again_inline_not_downloaded(late_snapshots: Harness) -> None:
    h = late_snapshots
    run_id = started(h)
    before = finish(h, run_id)

    h.advance(1)  # finished, no snapshot yet: nothing is posted, it is read again 1.5 s later
    assert reads_since(h, before) == [f"GET /v2/runs/{run_id}?snapshotDelivery=inline"]
    assert len(h.slack.messages(CHANNEL)) == 1  # the card only
    h.advance(1.5)  # 2.5 s after the finish: the snapshot has attached

    inline = f"GET /v2/runs/{run_id}?snapshotDelivery=inline"
    assert reads_since(h, before) == [inline, inline]
    assert "Hello world!" in reply(h)


@pytest.mark.parametrize("late_snapshots", [3600.0], indirect=True)
def test_a_snapshot_that_never_attaches_is_waited_for_three_times(late_snapshots: Harness) -> None:
    h = late_snapshots
    run_id = started(h)
    before = finish(h, run_id)

    for _ in range(6):
        h.advance(1.5)

    inline = f"GET /v2/runs/{run_id}?snapshotDelivery=inline"
    assert reads_since(h, before) == [inline] * 4  # the first read and 3 more, 1.5 s apart
    assert "Deepnote kept no snapshot for this run." in reply(h)


def test_runs_past_their_notebooks_typical_duration_are_read_first(harness: Harness) -> None:
    h = harness
    follower = h.bot.services.runs.follower
    h.command(f"run {HELLO_NOTEBOOK_ID}")
    h.slack.wait_for(lambda s: any(c.method == "chat.update" for c in s.calls()))
    h.run_until_finished()  # hello world takes 3 s in the simulator: now its typical time
    for channel in ("C0NEW", "C0OLD", "C0OTHER"):
        h.command(f"run {HELLO_NOTEBOOK_ID}", channel_id=channel)
    store = h.bot.services.store
    later = h.clock.now() + timedelta(hours=1)
    deadline = time.monotonic() + 5
    while len(store.due_for_poll(later)) < 3:  # all three started in Deepnote
        assert time.monotonic() < deadline
        time.sleep(0.02)
    runs = {r.channel_id: r for r in store.due_for_poll(later)}
    now = h.clock.now()
    old = replace(runs["C0OLD"], started_at=now - timedelta(seconds=10))
    older = replace(runs["C0OTHER"], started_at=now - timedelta(seconds=20))
    new = replace(runs["C0NEW"], started_at=now - timedelta(seconds=1))
    unknown = replace(runs["C0NEW"], id="unknown", notebook_id="f" * 32, started_at=now)

    order = follower.likely_finished_first([new, unknown, old, older], now)

    # Past 3 s, oldest first; then a notebook never seen finishing; then the young run.
    assert [r.id for r in order] == [older.id, old.id, "unknown", new.id]
