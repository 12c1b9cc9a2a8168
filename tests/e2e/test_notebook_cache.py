"""A notebook read from Deepnote is reused for a minute, and read again when it changed there.

The real bot and the simulator: the requests the simulator received are what is counted.
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from bot.offline.simulator import HELLO_NOTEBOOK_ID, SAMPLES_DIR
from tests.conftest import Harness

CHANNEL = "C0GENERAL"
NOTEBOOK_READ = f"/v2/notebooks/{HELLO_NOTEBOOK_ID}"


def notebook_reads(h: Harness) -> int:
    """How many times the bot read the hello-world notebook."""
    return sum(1 for r in h.deepnote.requests if r.method == "GET" and r.path == NOTEBOOK_READ)


def creates(h: Harness) -> list[object]:
    """The bodies of the runs the bot started."""
    return [r.body for r in h.deepnote.requests if r.method == "POST" and r.path == "/v2/runs"]


def run(h: Harness, text: str, runs: int) -> None:
    """Type `/deepnote run <text>` and wait until Deepnote has `runs` runs."""
    h.command(f"run {text}")
    deadline = time.monotonic() + 5
    while len(creates(h)) < runs:
        assert time.monotonic() < deadline, f"the run of {text!r} did not start"
        time.sleep(0.02)


def with_greeting_input(tmp_path: Path) -> Path:
    """The hello-world notebook as someone edited it in Deepnote: a `greeting` input added."""
    document = yaml.safe_load((SAMPLES_DIR / "hello-world.deepnote").read_text())
    blocks = document["project"]["notebooks"][0]["blocks"]
    blocks.insert(
        0,
        {
            "id": "5e1c0b7a9d3f4e2a8b6c1d0e9f8a7b6c",
            "blockGroup": "0d9f4e2a-1c7b-4e55-8f3a-6b2d9c0e1a00",
            "sortingKey": "a00",
            "type": "input-text",
            "content": "",
            "metadata": {
                "deepnote_variable_name": "greeting",
                "deepnote_input_label": "Greeting",
                "deepnote_variable_value": "Hello",
            },
        },
    )
    path = tmp_path / "hello-world.deepnote"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_two_commands_within_a_minute_read_the_notebook_once(harness: Harness) -> None:
    h = harness
    run(h, HELLO_NOTEBOOK_ID, runs=1)
    h.advance(30)
    run(h, HELLO_NOTEBOOK_ID, runs=2)

    assert notebook_reads(h) == 1
    assert len(creates(h)) == 2

    h.advance(31)  # the cached copy is over a minute old: read again
    run(h, HELLO_NOTEBOOK_ID, runs=3)
    assert notebook_reads(h) == 2


def test_an_input_added_in_deepnote_is_found_by_reading_the_notebook_again(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    run(h, HELLO_NOTEBOOK_ID, runs=1)  # the notebook, without inputs, is now cached
    h.deepnote.replace_notebooks(with_greeting_input(tmp_path))

    run(h, f"{HELLO_NOTEBOOK_ID} greeting=Hi", runs=2)

    assert notebook_reads(h) == 2  # the cached copy knew no `greeting`: read once more
    assert creates(h)[-1] == {
        "notebookId": HELLO_NOTEBOOK_ID,
        "detached": True,
        "inputs": {"greeting": "Hi"},
    }
    assert h.slack.response_url_posts == []  # nothing refused


def test_an_unknown_input_is_refused_after_one_more_read(harness: Harness) -> None:
    h = harness
    run(h, HELLO_NOTEBOOK_ID, runs=1)

    h.command(f"run {HELLO_NOTEBOOK_ID} greting=Hi")
    h.slack.wait_for(lambda s: len(s.response_url_posts) == 1)

    refusal = h.slack.response_url_posts[0].payload["text"]
    assert "greting" in refusal
    assert notebook_reads(h) == 2  # the cached copy, then Deepnote's current one
    assert len(creates(h)) == 1


def test_a_schedule_with_an_input_added_in_deepnote_is_created(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    run(h, HELLO_NOTEBOOK_ID, runs=1)  # the notebook, without inputs, is now cached
    h.deepnote.replace_notebooks(with_greeting_input(tmp_path))

    h.command(f"schedule {HELLO_NOTEBOOK_ID} every day at 9:00 greeting=Hi")
    h.slack.wait_for(lambda s: len(s.messages(CHANNEL)) == 2)  # the run's card, the notice

    assert notebook_reads(h) == 2
    schedule = h.bot.services.schedules.store.get(1)
    assert schedule is not None
    assert h.slack.response_url_posts == []  # nothing refused
    assert schedule.inputs == {"greeting": "Hi"}
