"""What users see when Deepnote or the request itself goes wrong, and restarts mid-run."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.offline.simulator import SALES_NOTEBOOK_ID, Simulator
from bot.offline.slack_standin import SlackStandIn
from tests.conftest import SIGNING_SECRET, Harness, start_bot

CHANNEL = "C0GENERAL"


def shown(message: object) -> str:
    """What a person sees in a message: its blocks, else its fallback text."""
    return json.dumps(getattr(message, "blocks", None) or getattr(message, "text", ""))


def ephemeral_reply(h: Harness) -> str:
    """The one ephemeral reply the command got through its response_url."""
    h.slack.wait_for(lambda s: len(s.response_url_posts) >= 1)
    post = h.slack.response_url_posts[-1]
    return json.dumps(post.payload)


def creates(h: Harness) -> list[object]:
    return [r for r in h.deepnote.requests if r.method == "POST" and r.path == "/v2/runs"]


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (400, "Notebook has no runnable blocks", "Notebook has no runnable blocks"),
        (401, "Unauthorized", "rejected the bot"),
        (403, "You do not have permission to run this notebook", "permission"),
        (429, "Too many parallel runs", "Too many parallel runs"),
        (500, "Hardware unable to start", "Hardware unable to start"),
    ],
)
def test_create_errors_reach_the_user_and_the_card(
    harness: Harness, status: int, message: str, expected: str
) -> None:
    h = harness
    times = 10 if status == 429 else 1
    h.deepnote.inject("POST", "/v2/runs", status=status, message=message, times=times)
    h.command(f"run {SALES_NOTEBOOK_ID} region=Europe")
    assert expected in ephemeral_reply(h)
    h.slack.wait_for(lambda s: any(c.method == "chat.update" for c in s.calls()))
    cards = h.slack.messages(CHANNEL)
    assert len(cards) == 1
    assert expected in shown(cards[0])
    # No run is followed, and nothing else gets posted later.
    h.advance(5)
    assert h.bot.services.store.open_count() == 0
    assert h.slack.thread(CHANNEL, cards[0].ts) == []


def test_create_timeout_is_never_retried(harness: Harness) -> None:
    h = harness
    h.deepnote.inject("POST", "/v2/runs", reset=True)
    h.command(f"run {SALES_NOTEBOOK_ID} region=Europe")
    text = ephemeral_reply(h)
    assert "may or may not have started" in text
    assert len(creates(h)) == 1


def test_unknown_notebook(harness: Harness) -> None:
    h = harness
    h.command("run 0123456789abcdef0123456789abcdef")
    text = ephemeral_reply(h)
    assert "0123456789abcdef0123456789abcdef" in text
    assert creates(h) == []
    assert h.slack.messages(CHANNEL) == []


def test_not_a_notebook_reference(harness: Harness) -> None:
    h = harness
    resp = h.command("run forecast")  # no alias, id, link or notebook name has it
    h.slack.wait_for(lambda s: len(s.response_url_posts) >= 1)
    assert "is not an alias" in ephemeral_reply(h)
    assert resp.status_code == 200
    assert creates(h) == []


def test_syntax_error_answered_in_the_acknowledgement(harness: Harness) -> None:
    resp = harness.command(f"run {SALES_NOTEBOOK_ID} region")
    assert resp.status_code == 200
    assert "region" in resp.text
    assert creates(harness) == []


def test_bad_slider_value_names_input_value_and_range(harness: Harness) -> None:
    h = harness
    h.command(f"run {SALES_NOTEBOOK_ID} top_n=70")
    text = ephemeral_reply(h)
    assert "top_n" in text
    assert "70" in text
    assert creates(h) == []


def test_blocks_and_readonly_bodies(harness: Harness) -> None:
    h = harness
    block = h.deepnote.notebooks[SALES_NOTEBOOK_ID].blocks[-1]["id"]
    h.command(f"run {SALES_NOTEBOOK_ID} region=Europe --blocks {block} --with-dependents")
    h.slack.wait_for(lambda s: any(c.method == "chat.update" for c in s.calls()))
    assert creates(h)[-1].body == {
        "notebookId": SALES_NOTEBOOK_ID,
        "detached": False,
        "blockIds": [block],
        "runDependentBlocks": True,
        "inputs": {"region": "Europe"},
    }
    h.command(f"run {SALES_NOTEBOOK_ID} region=Europe --readonly")
    h.slack.wait_for(lambda s: len(creates(h)) == 2)
    assert creates(h)[-1].body == {
        "notebookId": SALES_NOTEBOOK_ID,
        "detached": True,
        "detachedRunStorageMode": "readonly",
        "inputs": {"region": "Europe"},
    }


def test_unknown_block_id_rejected(harness: Harness) -> None:
    h = harness
    h.command(f"run {SALES_NOTEBOOK_ID} region=Europe --blocks deadbeef")
    assert "deadbeef" in ephemeral_reply(h)
    assert creates(h) == []


def test_inputs_lists_every_input(harness: Harness) -> None:
    h = harness
    h.command(f"inputs {SALES_NOTEBOOK_ID}")
    text = ephemeral_reply(h)
    for name in ("report_title", "region", "top_n", "period", "include_returns", "channels"):
        assert name in text


def test_status_of_a_run(harness: Harness) -> None:
    h = harness
    h.command(f"run {SALES_NOTEBOOK_ID} region=Europe")
    h.slack.wait_for(lambda s: any(c.method == "chat.update" for c in s.calls()))
    run_id = next(iter(h.deepnote.runs))
    h.command(f"status {run_id}")
    h.slack.wait_for(lambda s: len(s.response_url_posts) >= 1)
    assert run_id in ephemeral_reply(h)
    h.command("status 11111111-2222-3333-4444-555555555555")
    h.slack.wait_for(lambda s: len(s.response_url_posts) >= 2)
    assert "no run" in ephemeral_reply(h)


def test_poll_errors_are_retried_then_the_run_completes(harness: Harness) -> None:
    h = harness
    h.command(f"run {SALES_NOTEBOOK_ID} region=Europe")
    h.slack.wait_for(lambda s: any(c.method == "chat.update" for c in s.calls()))
    h.deepnote.inject("GET", "/v2/runs/", status=503, message="Service unavailable", times=3)
    h.deepnote.inject("GET", "/v2/runs/", status=429, message="Slow down", times=1)
    for _ in range(40):
        h.advance(2)
    assert h.bot.services.store.open_count() == 0
    card = h.slack.messages(CHANNEL)[0]
    assert len(h.slack.thread(CHANNEL, card.ts)) == 1


def test_forged_and_stale_requests_get_401_and_do_nothing(harness: Harness) -> None:
    h = harness
    body = f"command=%2Fdeepnote&text=run+{SALES_NOTEBOOK_ID}&user_id=U0EVE&channel_id={CHANNEL}"
    forged = h.requester.forge(body, signing_secret="not-the-secret")
    stale = h.requester.forge(body, signing_secret=SIGNING_SECRET, timestamp=int(time.time()) - 600)
    unsigned = h.requester.forge(body, signed=False)
    assert [forged.status_code, stale.status_code, unsigned.status_code] == [401, 401, 401]
    assert h.deepnote.requests == []
    assert h.slack.calls("chat.postMessage") == []


def test_restart_mid_run_loses_nothing_and_posts_nothing_twice(
    tmp_path: Path, slack: SlackStandIn, deepnote: Simulator, clock: ManualClock
) -> None:
    db = tmp_path / "bot.db"
    first = start_bot(slack, deepnote, clock, db)
    first.command(f"run {SALES_NOTEBOOK_ID} region=Europe")
    first.command(f"run {SALES_NOTEBOOK_ID} region=Mars")
    slack.wait_for(lambda s: len(s.calls("chat.update")) >= 2)
    first.advance(1.5)  # both running now
    first.stop()
    clock.advance(seconds=30)  # both finish while the bot is down
    second = start_bot(slack, deepnote, clock, db)
    try:
        second.bot.services.runs.recover()
        second.run_until_finished()
        for _ in range(5):
            second.advance(2)
        cards = slack.messages(CHANNEL)
        assert len(cards) == 2
        outcomes = sorted(
            "failed" if "ZeroDivisionError" in shown(slack.thread(CHANNEL, c.ts)[0]) else "ok"
            for c in cards
        )
        assert outcomes == ["failed", "ok"]
        for card in cards:
            assert len(slack.thread(CHANNEL, card.ts)) == 1
        assert slack.violations == []
    finally:
        second.stop()


def test_the_example_command_from_inputs_runs_as_is(harness: Harness) -> None:
    from bot.slack.messages.inputs import example_command

    h = harness
    notebook = h.bot.services.deepnote.get_notebook(SALES_NOTEBOOK_ID)
    line = example_command(notebook)
    assert "period=2026-01-01..2026-01-31" in line
    h.command(line.removeprefix("/deepnote "))
    h.slack.wait_for(lambda s: len(creates(h)) == 1)
    sent = creates(h)[0].body["inputs"]
    assert sent["period"] == ["2026-01-01", "2026-01-31"]
    assert sent["channels"] == ["Online", "Retail"]
    assert sent["include_returns"] is False
