"""Naming a notebook by its Deepnote name before the bot has ever used it (issue 13, item 8).

The bot finds names in Deepnote's listing of projects (`GET /v2/projects`), kept for five
minutes; these tests drive the real bot against the simulator and count its requests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.offline.simulator import HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID, Simulator
from bot.offline.slack_standin import SlackStandIn
from bot.text.mrkdwn import escape
from tests.conftest import DEEPNOTE_KEY, Harness, start_bot

CHANNEL = "C0GENERAL"


def reply(h: Harness, text: str) -> str:
    """Type `/deepnote <text>` and return the private answer it gets, as text."""
    before = len(h.slack.response_url_posts)
    resp = h.command(text, channel_id=CHANNEL)
    if resp.text.strip():
        return str(resp.text)
    h.slack.wait_for(lambda s: len(s.response_url_posts) > before)
    return json.dumps(h.slack.response_url_posts[-1].payload, ensure_ascii=False)


def listings(sim: Simulator) -> list[dict[str, str]]:
    """The query of every GET /v2/projects the simulator received, oldest first."""
    return [r.query for r in sim.requests if r.method == "GET" and r.path == "/v2/projects"]


def creates(sim: Simulator) -> list[Any]:
    """The bodies of every POST /v2/runs."""
    return [r.body for r in sim.requests if r.method == "POST" and r.path == "/v2/runs"]


def write_project(folder: Path, project: str, notebooks: list[tuple[str, str]]) -> None:
    """A `.deepnote` file: one project holding these (id, name) notebooks, each one block."""
    lines = [
        "version: 1.0.0",
        "metadata:",
        "  createdAt: '2026-01-05T09:00:00.000Z'",
        "project:",
        f"  id: {json.dumps('project-' + project)}",
        f"  name: {json.dumps(project)}",
        "  notebooks:",
    ]
    for notebook_id, name in notebooks:
        lines += [
            f"    - id: {json.dumps(notebook_id)}",
            f"      name: {json.dumps(name)}",
            "      blocks:",
            f"        - id: {json.dumps(notebook_id[::-1])}",
            "          type: code",
            "          sortingKey: a0",
            "          content: print('hi')",
            "          metadata: {}",
        ]
    (folder / f"{len(list(folder.iterdir())):04d}.deepnote").write_text("\n".join(lines) + "\n")


def nb_id(n: int) -> str:
    """A 32-hex notebook id made from a number."""
    return f"{n:032x}"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An empty folder of `.deepnote` files for a simulator of the test's making."""
    path = tmp_path / "notebooks"
    path.mkdir()
    return path


StartBot = Callable[[], tuple[Simulator, Harness]]


@pytest.fixture
def own_bot(
    folder: Path, tmp_path: Path, slack: SlackStandIn, clock: ManualClock
) -> Iterator[StartBot]:
    """Starts a simulator serving what the test wrote into `folder`, and a bot against it;
    stops both at the end."""
    started: list[tuple[Simulator, Harness]] = []

    def make() -> tuple[Simulator, Harness]:
        sim = Simulator(api_key=DEEPNOTE_KEY, notebooks_dir=folder, clock=clock).start()
        started.append((sim, start_bot(slack, sim, clock, tmp_path / "bot.db")))
        return started[-1]

    yield make
    for sim, h in started:
        h.stop()
        sim.stop()


def test_a_fresh_bot_finds_a_notebook_by_its_name(harness: Harness) -> None:
    h = harness
    assert h.bot.services.notebook_names.recent() == []  # the bot has seen no notebook yet
    answer = reply(h, 'inputs "Sales report"')
    assert "region" in answer  # the Sales report's inputs
    assert "top_n" in answer
    assert len(listings(h.deepnote)) == 1
    # `run` by name, in another case and spacing, starts that notebook.
    h.command('run "sales   REPORT" region=Europe', channel_id=CHANNEL)
    h.slack.wait_for(lambda s: len(creates(h.deepnote)) == 1)
    assert creates(h.deepnote)[0]["notebookId"] == SALES_NOTEBOOK_ID


def test_a_second_lookup_within_five_minutes_asks_deepnote_nothing(harness: Harness) -> None:
    h = harness
    assert "region" in reply(h, 'inputs "Sales report"')
    assert len(listings(h.deepnote)) == 1
    # Another name, four minutes later: answered from the cached listing.
    h.clock.advance(seconds=240)
    assert "no inputs" in reply(h, 'inputs "Hello world"').lower()
    assert len(listings(h.deepnote)) == 1
    # Past five minutes the listing is read again, once.
    h.clock.advance(seconds=61)
    assert "dataset" in reply(h, 'inputs "Data quality check"')
    assert len(listings(h.deepnote)) == 2


def test_an_unknown_name_says_so_with_a_hint(harness: Harness) -> None:
    h = harness
    answer = reply(h, 'inputs "Sales reprt"')
    assert "`Sales reprt` is not an alias" in answer
    assert "notebook the bot's API key can see in Deepnote" in answer
    assert "Did you mean `Sales report`?" in answer
    assert "/deepnote aliases" in answer
    # A miss in a fresh listing does not read it again (within 30 s)...
    reply(h, 'inputs "Forecast"')
    assert len(listings(h.deepnote)) == 1
    assert creates(h.deepnote) == []


def test_a_name_made_after_the_listing_is_found_after_30_seconds(
    folder: Path, own_bot: StartBot, tmp_path: Path
) -> None:
    write_project(folder, "Finance", [(nb_id(1), "Budget")])
    sim, h = own_bot()
    assert "no inputs" in reply(h, "inputs Budget").lower()
    later = tmp_path / "later"
    later.mkdir()
    write_project(later, "Finance 2027", [(nb_id(2), "Forecast")])
    sim.add_notebooks(later)
    # Within 30 s of the listing a miss is a miss: no new request.
    assert "is not an alias" in reply(h, "inputs Forecast")
    assert len(listings(sim)) == 1
    # Later, a miss reads the listing once more, and finds the new notebook.
    h.clock.advance(seconds=31)
    assert "no inputs" in reply(h, "inputs Forecast").lower()
    assert len(listings(sim)) == 2


def test_an_ambiguous_name_lists_candidates_with_their_projects(
    folder: Path, own_bot: StartBot
) -> None:
    write_project(folder, "Finance", [(nb_id(1), "Weekly report"), (nb_id(2), "Budget")])
    write_project(folder, "Ops <!channel> *team*", [(nb_id(3), "Weekly report")])
    sim, h = own_bot()
    answer = reply(h, 'run "weekly report"')
    assert "2 notebooks are named `weekly report`" in answer
    assert f"*Weekly report* (project *Finance*) `{nb_id(1)}`" in answer
    # Deepnote's names are escaped: no broadcast, no stray formatting.
    assert f"(project *{escape('Ops <!channel> *team*')}*) `{nb_id(3)}`" in answer
    assert "<!channel>" not in answer
    assert 'e.g. `\\"Finance / Weekly report\\"`' in answer  # how to pick one (JSON-quoted)
    assert creates(sim) == []
    # "Project / Notebook" picks one.
    h.command('run "finance / weekly report"', channel_id=CHANNEL)
    h.slack.wait_for(lambda s: len(creates(sim)) == 1)
    assert creates(sim)[0]["notebookId"] == nb_id(1)
    # A part of a name works when only one notebook has it; else the candidates are listed.
    assert "no inputs" in reply(h, "inputs budg").lower()
    answer = reply(h, "inputs report")
    assert "2 notebooks match `report`" in answer


def test_names_are_found_on_every_page_of_many_projects(folder: Path, own_bot: StartBot) -> None:
    for n in range(250):
        write_project(folder, f"Project {n:03d}", [(nb_id(1000 + n), f"Notebook {n:03d}")])
    sim, h = own_bot()
    # Projects are listed by name: "Project 249" is on the third page of 100.
    assert "no inputs" in reply(h, 'inputs "Notebook 249"').lower()
    pages = listings(sim)
    assert len(pages) == 3
    assert [p.get("pageSize") for p in pages] == ["100", "100", "100"]
    assert "pageToken" not in pages[0]
    assert all(p.get("pageToken") for p in pages[1:])
    assert len({p.get("pageToken") for p in pages}) == 3
    # Everything else is answered from that listing.
    assert "no inputs" in reply(h, 'inputs "Project 000 / Notebook 000"').lower()
    assert len(listings(sim)) == 3


def test_a_lookup_through_many_pages_keeps_the_request_budget(
    folder: Path, tmp_path: Path, slack: SlackStandIn, clock: ManualClock
) -> None:
    for n in range(450):
        write_project(folder, f"Project {n:03d}", [(nb_id(1000 + n), f"Notebook {n:03d}")])
    with Simulator(api_key=DEEPNOTE_KEY, notebooks_dir=folder, clock=clock) as sim:
        h = start_bot(slack, sim, clock, tmp_path / "bot.db", DEEPNOTE_REQUESTS_PER_SECOND="2")
        try:
            assert "no inputs" in reply(h, 'inputs "Notebook 449"').lower()
        finally:
            h.stop()
    arrived = sorted(r.received for r in sim.requests if r.path.startswith("/v2/"))
    assert len(arrived) == 6  # five pages of projects, then the notebook
    # Deepnote never sees more than 2 of them in any one second.
    assert all(later - earlier >= 1.0 for earlier, later in zip(arrived, arrived[2:], strict=False))


def test_a_key_that_may_not_list_projects_still_finds_names_it_has_seen(
    harness: Harness,
) -> None:
    h = harness
    h.deepnote.inject("GET", "/v2/projects", status=403, message="Forbidden", times=10)
    answer = reply(h, 'inputs "Hello world"')
    assert "`Hello world` is not an alias" in answer
    assert "its API key may not list projects" in answer
    reply(h, f"inputs {HELLO_NOTEBOOK_ID}")
    assert "no inputs" in reply(h, 'inputs "hello WORLD"').lower()
    # The refusal is remembered for the cache's life: other names do not ask again.
    assert "is not an alias" in reply(h, 'inputs "Sales report"')
    assert len(listings(h.deepnote)) == 1
    h.clock.advance(seconds=301)
    reply(h, 'inputs "Sales report"')
    assert len(listings(h.deepnote)) == 2


def test_ids_links_aliases_and_seen_names_cost_no_listing(harness: Harness) -> None:
    h = harness
    reply(h, f"inputs {HELLO_NOTEBOOK_ID}")
    reply(h, f"inputs https://deepnote.com/project/x/notebook/Hello-{HELLO_NOTEBOOK_ID}")
    reply(h, f"alias hello {HELLO_NOTEBOOK_ID}")
    reply(h, "inputs hello")
    # A name the bot has seen, unique among them, needs no listing either.
    assert "no inputs" in reply(h, 'inputs "Hello world"').lower()
    assert listings(h.deepnote) == []
