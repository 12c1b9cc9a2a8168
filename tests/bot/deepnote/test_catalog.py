"""NotebookCatalog against the simulator over real HTTP: pages, cache life, budget, one load."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.deepnote.catalog import EXACT, PART, PROJECT_AND_NAME, NotebookCatalog
from bot.deepnote.client import DeepnoteClient
from bot.offline.simulator import HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID, Simulator
from bot.ratelimit import RequestBudget
from tests.e2e.test_notebook_names import nb_id, write_project

KEY = "dn-test-key-catalog-5e1f"
START = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[Simulator]:
    with Simulator(api_key=KEY, clock=clock) as simulator:
        yield simulator


def listings(sim: Simulator) -> int:
    return sum(1 for r in sim.requests if r.path == "/v2/projects")


def test_the_samples_are_found_by_every_rule(sim: Simulator, clock: ManualClock) -> None:
    with DeepnoteClient(base_url=sim.url, api_key=KEY) as client:
        catalog = NotebookCatalog(client, clock)
        found, listing = catalog.find("SALES report")
        assert (found.rule, [n.id for n in found.notebooks]) == (EXACT, [SALES_NOTEBOOK_ID])
        assert listing.complete
        found, _ = catalog.find("Hello world / hello  WORLD")
        assert (found.rule, [n.id for n in found.notebooks]) == (
            PROJECT_AND_NAME,
            [HELLO_NOTEBOOK_ID],
        )
        found, _ = catalog.find("quality")
        assert found.rule == PART
        assert listings(sim) == 1


def test_each_page_spends_the_budget_and_the_pages_stop_at_the_limit(
    tmp_path: Path, clock: ManualClock
) -> None:
    for n in range(250):
        write_project(tmp_path, f"P{n:03d}", [(nb_id(n + 1), f"N{n:03d}")])
    budget = RequestBudget(1000)
    with (
        Simulator(api_key=KEY, clock=clock, notebooks_dir=tmp_path) as sim,
        DeepnoteClient(base_url=sim.url, api_key=KEY, budget=budget) as client,
    ):
        whole = NotebookCatalog(client, clock).listing()
        assert (len(whole.notebooks), whole.pages, whole.complete) == (250, 3, True)
        assert budget.taken == 3
        cut = NotebookCatalog(client, clock, max_pages=2).listing()
        assert (len(cut.notebooks), cut.pages, cut.complete) == (200, 2, False)
        assert budget.taken == 5


def test_the_cache_lives_five_minutes_and_a_miss_refreshes_after_30_seconds(
    sim: Simulator, clock: ManualClock
) -> None:
    with DeepnoteClient(base_url=sim.url, api_key=KEY) as client:
        catalog = NotebookCatalog(client, clock)
        assert catalog.cached() is None
        catalog.find("Hello world")
        assert catalog.cached() is not None
        catalog.find("nothing like it")
        assert listings(sim) == 1  # a miss within 30 s
        clock.advance(seconds=31)
        catalog.find("Hello world")
        assert listings(sim) == 1  # a hit does not refresh
        catalog.find("nothing like it")
        assert listings(sim) == 2  # a miss after 30 s does, once
        clock.advance(seconds=300)
        assert catalog.cached() is None
        catalog.find("Hello world")
        assert listings(sim) == 3


def test_concurrent_lookups_share_one_load(sim: Simulator, clock: ManualClock) -> None:
    sim.inject("GET", "/v2/projects", status=200, delay=0.3, times=1)
    with DeepnoteClient(base_url=sim.url, api_key=KEY) as client:
        catalog = NotebookCatalog(client, clock)
        threads = [threading.Thread(target=catalog.find, args=("Hello world",)) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        assert listings(sim) == 1


def test_a_search_beyond_a_cut_listing_finds_projects_by_name(
    sim: Simulator, clock: ManualClock
) -> None:
    # 403 projects, two pages of 100 read: the projects after the cut are only found by their
    # project name, which Deepnote filters itself (nameContains).
    sim.add_generated_notebooks(400)
    with DeepnoteClient(base_url=sim.url, api_key=KEY) as client:
        catalog = NotebookCatalog(client, clock, max_pages=2)
        found = catalog.search("product team 0039")
        assert not found.listing.complete
        names = [n.project_name for n in found.notebooks]
        assert names == [f"Product team {n:05d}" for n in (394, 399)]
        named = [r for r in sim.requests if r.path == "/v2/projects" and "nameContains" in r.query]
        assert len(named) == 1
        # A notebook's own name beyond the cut is not searched (said in the answer).
        assert catalog.search("users export 00399").notebooks == ()


def test_a_search_matches_notebook_and_project_names_from_one_listing(
    sim: Simulator, clock: ManualClock
) -> None:
    sim.add_generated_notebooks(20, per_project=4)
    with DeepnoteClient(base_url=sim.url, api_key=KEY) as client:
        catalog = NotebookCatalog(client, clock)
        by_project = catalog.search("OPS TEAM")
        assert {n.project_name for n in by_project.notebooks} == {"Ops team 00003"}
        assert len(by_project.notebooks) == 4
        by_name = catalog.search("churn")
        assert [n.name for n in by_name.notebooks] == [
            "Churn dashboard 00009",
            "Churn model 00017",
            "Churn report 00001",
        ]
        assert listings(sim) == 1
        catalog.search("churn", refresh=True)  # fresh: not read again
        assert listings(sim) == 1
        clock.advance(seconds=31)
        catalog.search("churn", refresh=True)
        assert listings(sim) == 2
