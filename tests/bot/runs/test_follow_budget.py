"""Follower rounds against the simulator over real HTTP, with a request budget too small for
everything due: no notebook is starved of listings and no finished run is read twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.deepnote.client import DeepnoteClient
from bot.deepnote.models import RunRequest
from bot.offline.simulator import (
    HELLO_NOTEBOOK_ID,
    QUALITY_NOTEBOOK_ID,
    SALES_NOTEBOOK_ID,
    Simulator,
)
from bot.ratelimit import RequestBudget
from bot.runs.follow import Follower
from storage.results import ResultStore
from storage.runs import RunStore
from storage.sqlite import SQLiteDatabase
from tests.conftest import run_record

KEY = "dn-follow-budget-key-5c2e91SECRET"
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


class World:
    """A store, the simulator, and a follower whose Deepnote budget runs on a fake clock."""

    def __init__(self, tmp_path: Path, rate: int) -> None:
        self.clock = ManualClock(T0)
        # Runs stay `running` until a test finishes them.
        self.sim = Simulator(api_key=KEY, clock=self.clock, running_seconds=3600).start()
        self.seconds = 0.0  # the budget's monotonic clock
        budget = RequestBudget(rate, monotonic=lambda: self.seconds, sleep=self._sleep)
        self.deepnote = DeepnoteClient(base_url=self.sim.url, api_key=KEY, budget=budget)
        self.setup = DeepnoteClient(base_url=self.sim.url, api_key=KEY)
        db = SQLiteDatabase(tmp_path / "bot.db")
        db.migrate()
        self.store = RunStore(db)
        self.follower = Follower(
            store=self.store,
            results=ResultStore(db),
            deepnote=self.deepnote,
            clock=self.clock,
            poll_seconds=1.0,
            lost_after_seconds=3600,
            app_url="https://deepnote.com",
        )

    def _sleep(self, seconds: float) -> None:
        self.seconds += seconds

    def start_runs(self, notebook_id: str, count: int) -> list[str]:
        """Start `count` runs in Deepnote and store them as the bot would; their run ids."""
        ids = []
        for _ in range(count):
            run_id = self.setup.create_run(RunRequest(notebook_id)).run_id
            n = len(self.store.due_for_poll(T0 + timedelta(days=1)))
            self.store.insert(
                run_record(
                    id=f"r{n}",
                    run_id=run_id,
                    notebook_id=notebook_id,
                    created_at=T0,
                    started_at=T0,
                )
            )
            ids.append(run_id)
        return ids

    def round(self) -> list[str]:
        """One round, a second after the last (the budget's window has passed); the paths
        it requested."""
        before = len(self.sim.requests)
        self.seconds += 2.0
        self.clock.advance(seconds=1.0)
        self.follower.poll_due(self.clock.now())
        return [r.path for r in self.sim.requests[before:]]

    def close(self) -> None:
        self.deepnote.close()
        self.setup.close()
        self.sim.stop()


@pytest.fixture
def world(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[World]:
    w = World(tmp_path, rate=request.param)
    try:
        yield w
    finally:
        w.close()


def _listed(paths: list[str]) -> list[str]:
    return [p.split("/")[3] for p in paths if p.endswith("/runs")]


@pytest.mark.parametrize("world", [3], indirect=True)
def test_a_notebook_the_budget_left_unlisted_is_listed_first_next_round(world: World) -> None:
    notebooks = [HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID, QUALITY_NOTEBOOK_ID]
    for notebook_id in notebooks:
        world.start_runs(notebook_id, 2)
    # Two background requests a window (one slot stays free for people): two listings.
    first = _listed(world.round())
    assert len(first) == 2
    (left_out,) = set(notebooks) - set(first)
    second = _listed(world.round())
    assert second[0] == left_out
    # Turn by turn: over three rounds, every notebook was listed twice.
    third = _listed(world.round())
    assert [(first + second + third).count(n) for n in notebooks] == [2, 2, 2]


@pytest.mark.parametrize("world", [4], indirect=True)
def test_each_finished_run_is_read_once_when_the_budget_runs_out_mid_round(
    world: World,
) -> None:
    run_ids = world.start_runs(HELLO_NOTEBOOK_ID, 4)
    world.round()  # one listing: all running
    for run_id in run_ids:
        world.sim.finish_run(run_id, "success")
    paths: list[str] = []
    for _ in range(4):
        paths += world.round()
    # Three background requests a window: the listing and two reads, then the other two.
    reads = [p for p in paths if p.startswith("/v2/runs/")]
    assert sorted(reads) == sorted(f"/v2/runs/{r}" for r in run_ids)
    assert world.store.due_for_poll(world.clock.now() + timedelta(days=1)) == []
    finished = [world.store.get(f"r{n}") for n in range(4)]
    assert [run.status if run else None for run in finished] == ["success"] * 4
