"""The notebook's long URL is in a run's messages once: the card's *Open in Deepnote* button."""

from __future__ import annotations

import json

from bot.offline.simulator import HELLO_NOTEBOOK_ID
from tests.conftest import Harness

CHANNEL = "C0GENERAL"


def test_notebook_url_is_shown_once_on_the_card_and_not_in_its_thread(harness: Harness) -> None:
    h = harness
    h.command(f"run {HELLO_NOTEBOOK_ID}")
    h.slack.wait_for(lambda s: any(c.method == "chat.update" for c in s.calls()))
    h.run_until_finished()
    (card,) = h.slack.messages(CHANNEL)
    url = f"/notebook/{HELLO_NOTEBOOK_ID}"
    blocks = json.dumps(card.blocks)
    assert blocks.count(url) == 1
    (button,) = [
        e for b in card.blocks if b["type"] == "actions" for e in b["elements"] if url in str(e)
    ]
    assert button["text"]["text"] == "Open in Deepnote"
    assert "*Hello world* succeeded" in blocks
    (reply,) = h.slack.thread(CHANNEL, card.ts)
    # The reply links the run's snapshot through the notebook's runs list, not the notebook.
    assert json.dumps(reply.blocks).count(url) == json.dumps(reply.blocks).count(
        f"{url}?secondary-sidebar=runs"
    )
    assert "*Hello world* succeeded" in json.dumps(reply.blocks)
    # Every edit of the card kept to one link too.
    edits = [c for c in h.slack.calls() if c.method == "chat.update"]
    assert edits
    for edit in edits:
        assert str(edit.args.get("blocks")).count(url) <= 1
