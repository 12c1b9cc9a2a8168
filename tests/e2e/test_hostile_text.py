"""Hostile text from Deepnote or from people never becomes live Slack markup (issue 12, item 5).

A notebook named like a broadcast and a link, hostile input names and values, schedule text and
Deepnote error messages go through every reply, card, note and direct message a person can
reach with them; each must show the text as typed, with no mention, link or formatting live.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.errors import SlackError
from bot.offline.simulator import SALES_NOTEBOOK_ID, Simulator
from bot.offline.simulator.notebooks import SAMPLES_DIR
from bot.offline.slack_standin import SlackStandIn
from tests.conftest import DEEPNOTE_KEY, Bots, Harness

CHANNEL = "C0GENERAL"
OTHER = "C0OTHER"
HOSTILE = "<!channel> *bold* @here &lt; <https://evil.example|click me>"
# HOSTILE typed in Slack: Slack sends `&`, `<` and `>` in a command's text as entities.
TYPED = HOSTILE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def assert_inert(text: str) -> None:
    """No live markup from HOSTILE survives, and the name is shown (escaped) rather than lost."""
    own = text.replace("<!date^", "")  # the bot's own timestamps
    assert "<!channel" not in own
    assert "<!" not in own
    assert "<https://evil" not in own
    assert "@here" not in own
    # Inside code spans formatting is inert (and Slack sends a typed `<` as `&lt;`).
    prose = re.sub(r"```.*?```|`[^`]*`", "`code`", own, flags=re.DOTALL)
    assert "*bold*" not in prose
    assert " &lt; " not in prose  # an entity in a notebook name shows as typed


def seen(payload: Any) -> str:
    """Everything of a message Slack renders: blocks and fallback text."""
    if isinstance(payload, dict):
        return json.dumps(payload, ensure_ascii=False)
    blocks = getattr(payload, "blocks", None) or []
    return json.dumps(blocks, ensure_ascii=False) + " " + str(getattr(payload, "text", ""))


def reply(h: Harness, text: str, *, channel: str = CHANNEL) -> str:
    """Type a command; return the private answer it got (ack body or response_url post)."""
    before = len(h.slack.response_url_posts)
    resp = h.command(text, channel_id=channel)
    if resp.text.strip():
        return str(resp.text)
    h.slack.wait_for(lambda s: len(s.response_url_posts) > before)
    return seen(h.slack.response_url_posts[-1].payload)


def hostile_notebooks(tmp_path: Path) -> Path:
    """The sample notebooks, with the sales report renamed to HOSTILE."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    sales = (SAMPLES_DIR / "sales-report.deepnote").read_text()
    renamed = sales.replace("      name: Sales report", f"      name: {json.dumps(HOSTILE)}", 1)
    assert renamed != sales
    (folder / "sales-report.deepnote").write_text(renamed)
    return folder


@pytest.fixture
def hostile_deepnote(tmp_path: Path, clock: ManualClock) -> Iterator[Simulator]:
    """Deepnote, where the sales report has a hostile name."""
    with Simulator(
        api_key=DEEPNOTE_KEY, notebooks_dir=hostile_notebooks(tmp_path), clock=clock
    ) as s:
        yield s


@pytest.fixture
def hostile_bots(
    tmp_path: Path, slack: SlackStandIn, hostile_deepnote: Simulator, clock: ManualClock
) -> Iterator[Bots]:
    """Bots talking to that Deepnote, stopped at the end of the test."""
    factory = Bots(slack, hostile_deepnote, clock, tmp_path / "bot.db")
    yield factory
    for h in list(factory.running):
        factory.stop(h)


def test_replies_about_a_hostile_notebook_are_inert(hostile_bots: Bots) -> None:
    h = hostile_bots.start()
    listing = reply(h, f"inputs {SALES_NOTEBOOK_ID}")
    assert "&lt;!channel&gt;" in listing
    answers = [
        listing,
        reply(h, f'run {SALES_NOTEBOOK_ID} region=Europe --blocks "{TYPED}"'),
        reply(h, f'run {SALES_NOTEBOOK_ID} "{TYPED}=1"'),
        reply(h, f'run {SALES_NOTEBOOK_ID} region=Europe include_returns="{TYPED}"'),
        reply(h, f'schedule {SALES_NOTEBOOK_ID} "{TYPED} every day"'),
        reply(h, f'schedule {SALES_NOTEBOOK_ID} "every day at {TYPED}"'),
        reply(h, f"status {TYPED}"),
    ]
    for answer in answers:
        assert_inert(answer)
    assert "could not understand" in answers[4]
    assert "&lt;!channel&gt;" in answers[4]


def test_cards_status_and_deepnote_refusals_are_inert(hostile_bots: Bots) -> None:
    h = hostile_bots.start()
    h.deepnote.inject("POST", "/v2/runs", status=400, message=HOSTILE)
    refused = reply(h, f"run {SALES_NOTEBOOK_ID} region=Europe")
    assert "Deepnote did not start" in refused
    assert_inert(refused)
    h.command(f"run {SALES_NOTEBOOK_ID} region=Europe")
    h.slack.wait_for(lambda s: len(s.messages(CHANNEL)) >= 2)
    h.run_until_finished()
    for message in h.slack.all_messages(CHANNEL):
        assert_inert(seen(message))
        for edit in getattr(message, "edits", []) or []:
            assert_inert(seen(edit))
    rows = h.bot.services.db.query("SELECT id FROM runs ORDER BY created_at")
    for row in rows:
        assert_inert(reply(h, f"status {row['id']}"))


def test_direct_messages_about_a_run_are_inert(hostile_bots: Bots) -> None:
    h = hostile_bots.start()
    h.command(f"run {SALES_NOTEBOOK_ID} region=Europe")
    h.slack.wait_for(lambda s: len(s.messages(CHANNEL)) >= 1)
    store = h.bot.services.store
    (row,) = h.bot.services.db.query("SELECT id FROM runs")
    run = store.get(row["id"])
    assert run is not None
    delivery = h.bot.services.runs.delivery
    before = len(h.slack.all_messages())
    # Slack refusing an edit for good: the requester is told by direct message.
    delivery._slack_failed(run, SlackError("no", code="<!channel>"), h.bot.services.clock.now())
    h.slack.wait_for(lambda s: len(s.all_messages()) > before)
    dms = h.slack.all_messages()[before:]
    assert dms
    for dm in dms:
        assert "could not update the run" in dm.text
        assert "&lt;!channel&gt;" in dm.text
        assert_inert(seen(dm))


def test_access_refused_schedule_note_in_the_channel_is_inert(hostile_bots: Bots) -> None:
    h = hostile_bots.start()
    h.command(f"schedule {SALES_NOTEBOOK_ID} every hour region=Europe --notify always")
    h.slack.wait_for(lambda s: len(s.messages(CHANNEL)) >= 1)
    hostile_bots.stop(h)
    # A newer rule keeps the notebook out of this channel: the schedule can no longer start.
    h = hostile_bots.start(NOTEBOOK_ACCESS=f"{SALES_NOTEBOOK_ID}={OTHER}")
    before = len(h.slack.messages(CHANNEL))
    h.advance(3600)
    h.advance(1)
    h.slack.wait_for(lambda s: len(s.messages(CHANNEL)) > before)
    note = seen(h.slack.messages(CHANNEL)[-1])
    assert "could not start" in note
    assert "may not be run from this channel" in note
    assert "&lt;!channel&gt;" in note
    assert_inert(note)
    assert [r for r in h.deepnote.requests if r.method == "POST"] == []


def test_deepnote_error_messages_in_replies_are_inert(hostile_bots: Bots) -> None:
    h = hostile_bots.start()
    path = f"/v2/notebooks/{SALES_NOTEBOOK_ID}"
    for command in (f"inputs {SALES_NOTEBOOK_ID}", f"run {SALES_NOTEBOOK_ID} region=Europe"):
        h.deepnote.inject("GET", path, status=403, message=HOSTILE, times=5)
        answer = reply(h, command)
        assert "Deepnote said: &lt;!channel&gt;" in answer
        assert_inert(answer)
