"""`/deepnote run <notebook> --as-is`: the notebook's own values, started at once, no form."""

from __future__ import annotations

import json

from bot.offline.simulator import SALES_NOTEBOOK_ID
from tests.conftest import Harness

CHANNEL = "C0GENERAL"


def creates(h: Harness) -> list[object]:
    """Every POST /v2/runs Deepnote received."""
    return [r for r in h.deepnote.requests if r.method == "POST" and r.path == "/v2/runs"]


def test_as_is_starts_at_once_with_the_notebooks_values_and_opens_no_form(
    harness: Harness,
) -> None:
    h = harness
    h.command(f"run {SALES_NOTEBOOK_ID} --as-is")
    h.slack.wait_for(lambda s: any(c.method == "chat.update" for c in s.calls()))
    (create,) = creates(h)
    assert create.body["notebookId"] == SALES_NOTEBOOK_ID  # type: ignore[attr-defined]
    assert not create.body.get("inputs")  # type: ignore[attr-defined]
    assert h.slack.views == []
    h.run_until_finished()
    card = h.slack.messages(CHANNEL)[0]
    assert "succeeded" in card.text
    # The notebook ran with its own current values (the sample's region is Europe).
    reply = json.dumps(h.slack.thread(CHANNEL, card.ts)[0].blocks, ensure_ascii=False)
    assert "Revenue · Europe" in reply


def test_without_as_is_the_same_command_opens_the_form(harness: Harness) -> None:
    h = harness
    h.command(f"run {SALES_NOTEBOOK_ID}")
    h.slack.wait_for(lambda s: len(s.views) == 1)
    assert creates(h) == []


def test_as_is_with_inputs_runs_them_and_keeps_the_rest(harness: Harness) -> None:
    h = harness
    h.command(f'run {SALES_NOTEBOOK_ID} region="North America" --as-is')
    h.slack.wait_for(lambda s: any(c.method == "chat.update" for c in s.calls()))
    (create,) = creates(h)
    assert create.body["inputs"] == {"region": "North America"}  # type: ignore[attr-defined]
    assert h.slack.views == []


def test_as_is_with_form_is_refused_before_anything_starts(harness: Harness) -> None:
    h = harness
    resp = h.command(f"run {SALES_NOTEBOOK_ID} --as-is --form")
    text = resp.text or json.dumps(h.slack.response_url_posts[-1].payload)
    assert "`--as-is` and `--form` contradict each other" in text
    assert creates(h) == []
    assert h.slack.views == []
    assert h.slack.messages(CHANNEL) == []
