"""`/deepnote run` end to end: signed slash command → run created → polled → card and thread."""

from __future__ import annotations

import json

import pytest

from bot.offline.simulator import HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID
from tests.conftest import Harness
from tests.pg import ENGINES, both_engines

CHANNEL = "C0GENERAL"


@pytest.fixture(params=ENGINES, name="engine")
def _engine(request: pytest.FixtureRequest) -> str:
    """Every scenario here runs on SQLite and on PostgreSQL."""
    return both_engines(request)


def shown(message: object) -> str:
    """Everything a person sees in a message: its blocks' text, or the fallback."""
    return json.dumps(getattr(message, "blocks", None) or getattr(message, "text", ""))


def card_of(h: Harness) -> object:
    """The one card the bot posted in the channel."""
    cards = [m for m in h.slack.messages(CHANNEL) if m.thread_ts is None]
    assert len(cards) == 1, f"expected one card, got {len(cards)}"
    return cards[0]


def finished_card(h: Harness, text: str) -> object:
    """Type `/deepnote <text>`, let the run finish, and return its one card."""
    h.command(text)
    h.slack.wait_for(lambda s: any(c.method == "chat.update" for c in s.calls()))
    h.run_until_finished()
    return card_of(h)


def test_run_success_card_edited_and_one_thread_reply(harness: Harness) -> None:
    h = harness
    resp = h.command(f'run {SALES_NOTEBOOK_ID} region=Europe top_n=7 report_title="Q3 report"')
    assert resp.status_code == 200
    h.slack.wait_for(lambda s: any(c.method == "chat.update" for c in s.calls()))

    creates = [r for r in h.deepnote.requests if r.method == "POST" and r.path == "/v2/runs"]
    assert len(creates) == 1
    assert creates[0].body == {
        "notebookId": SALES_NOTEBOOK_ID,
        "detached": True,
        "inputs": {"region": "Europe", "top_n": "7", "report_title": "Q3 report"},
    }
    card = card_of(h)
    assert "Sales" in card.text
    h.run_until_finished()
    card = card_of(h)
    assert "succeeded" in card.text.lower() or "success" in card.text.lower()
    replies = h.slack.thread(CHANNEL, card.ts)
    assert len(replies) == 1
    # The snapshot came inline: the reply links it in the notebook's runs list in Deepnote.
    assert "See the run's snapshot in Deepnote" in shown(replies[0])
    assert "secondary-sidebar=runs" in shown(replies[0])
    assert h.slack.violations == []
    # Nothing more is posted once the run is done.
    before = len(h.slack.calls())
    h.advance(5)
    assert len(h.slack.calls()) == before


def test_run_failure_reports_reason_in_thread(harness: Harness) -> None:
    h = harness
    card = finished_card(h, f"run {SALES_NOTEBOOK_ID} region=Mars")
    replies = h.slack.thread(CHANNEL, card.ts)
    assert len(replies) == 1
    assert "ZeroDivisionError" in shown(replies[0])


def test_unknown_input_rejected_before_anything_starts(harness: Harness) -> None:
    h = harness
    h.command(f"run {SALES_NOTEBOOK_ID} regoin=Europe")
    h.slack.wait_for(lambda s: len(s.response_url_posts) == 1)
    text = h.slack.response_url_posts[0].payload["text"]
    assert "regoin" in text
    assert "region" in text
    assert not [r for r in h.deepnote.requests if r.method == "POST"]
    assert h.slack.messages(CHANNEL) == []


def test_help_is_answered_in_the_acknowledgement(harness: Harness) -> None:
    resp = harness.command("help")
    assert resp.status_code == 200
    assert "run" in resp.text


def test_hello_world_no_inputs(harness: Harness) -> None:
    h = harness
    card = finished_card(h, f"run {HELLO_NOTEBOOK_ID}")
    assert len(h.slack.thread(CHANNEL, card.ts)) == 1


def test_key_results_in_the_thread_with_the_chart_as_a_file(harness: Harness) -> None:
    h = harness
    card = finished_card(h, f"run {SALES_NOTEBOOK_ID} region=Europe")
    reply = shown(h.slack.thread(CHANNEL, card.ts)[0])
    assert "Europe" in reply  # the dataframe preview and big number reflect the inputs
    files = h.slack.files(CHANNEL)
    assert len(files) == 1
    assert files[0].thread_ts == card.ts
    assert files[0].content.startswith(b"\x89PNG")
    # Later rounds post nothing more.
    h.advance(5)
    assert len(h.slack.files(CHANNEL)) == 1


def test_post_outputs_none_posts_only_the_link(harness: Harness) -> None:
    h = harness
    card = finished_card(h, f"run {SALES_NOTEBOOK_ID} region=Europe --post-outputs none")
    assert h.slack.files(CHANNEL) == []
    assert "See the run's snapshot in Deepnote" in shown(h.slack.thread(CHANNEL, card.ts)[0])
