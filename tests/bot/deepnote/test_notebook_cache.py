"""NotebookCache against the simulator over real HTTP: calls at the same moment share one read."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from bot.clock import ManualClock
from bot.deepnote.client import DeepnoteClient
from bot.deepnote.models import Notebook
from bot.deepnote.notebook_cache import NotebookCache
from bot.offline.simulator import HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID, Simulator

KEY = "dn-cache-key-2b7d40SECRET"
READ = f"/v2/notebooks/{HELLO_NOTEBOOK_ID}"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(api_key=KEY, clock=ManualClock(datetime(2026, 6, 1, tzinfo=UTC))) as s:
        yield s


@pytest.fixture
def cache(sim: Simulator) -> Iterator[NotebookCache]:
    with DeepnoteClient(base_url=sim.url, api_key=KEY) as client:
        yield NotebookCache(client, ManualClock(datetime(2026, 6, 1, tzinfo=UTC)))


def reads(sim: Simulator, path: str = READ) -> int:
    return sum(1 for r in sim.requests if r.method == "GET" and r.path == path)


def together(calls: list[Callable[[], tuple[Notebook, bool]]]) -> list[tuple[Notebook, bool]]:
    """Make the calls from as many threads at once; their answers, in order."""
    answers: list[tuple[Notebook, bool] | None] = [None] * len(calls)
    gate = threading.Barrier(len(calls))

    def call(i: int) -> None:
        gate.wait()
        answers[i] = calls[i]()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]


def test_commands_naming_a_notebook_at_the_same_moment_share_one_read(
    sim: Simulator, cache: NotebookCache
) -> None:
    sim.inject("GET", READ, delay=0.3)  # the first read is slow: the others arrive meanwhile
    answers = together([lambda: cache.get(HELLO_NOTEBOOK_ID)] * 8)

    assert reads(sim) == 1
    assert {notebook.id for notebook, _ in answers} == {HELLO_NOTEBOOK_ID}
    assert sorted(from_cache for _, from_cache in answers) == [False] + [True] * 7


def test_a_fresh_read_is_not_answered_from_a_read_begun_before_it(
    sim: Simulator, cache: NotebookCache
) -> None:
    cache.get(HELLO_NOTEBOOK_ID)
    notebook, from_cache = cache.get(HELLO_NOTEBOOK_ID, fresh=True)
    assert (notebook.id, from_cache) == (HELLO_NOTEBOOK_ID, False)
    assert reads(sim) == 2
    # Fresh reads asked for together (commands refused by the cached copy) share reads: a
    # call that began after a read began waits for the next one, so at most two are made.
    sim.inject("GET", READ, delay=0.3)
    answers = together([lambda: cache.get(HELLO_NOTEBOOK_ID, fresh=True)] * 4)
    assert 3 <= reads(sim) <= 4
    assert all(not from_cache for _, from_cache in answers)


def test_different_notebooks_are_read_each_on_its_own(sim: Simulator, cache: NotebookCache) -> None:
    answers = together(
        [lambda: cache.get(HELLO_NOTEBOOK_ID), lambda: cache.get(SALES_NOTEBOOK_ID)] * 2
    )
    assert [notebook.id for notebook, _ in answers] == [HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID] * 2
    assert reads(sim) == 1
    assert reads(sim, f"/v2/notebooks/{SALES_NOTEBOOK_ID}") == 1
