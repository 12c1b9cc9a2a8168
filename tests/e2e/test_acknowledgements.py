"""Every kind of request Slack sends is answered before the slow work it starts.

Slack shows the person an error when the HTTP answer takes more than 3 s. Here Deepnote (or
Slack's Web API) answers every call only after `SLOW` seconds; each request must still be
answered well before that, and the work it started must then still happen.
"""

from __future__ import annotations

from bot.offline.simulator import HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID
from tests.conftest import Harness
from tests.e2e.test_interactions import cards, click, creates, submit, unchanged_state, wait_cards
from tests.e2e.test_mentions_home_aliases import CHANNEL, mention

SLOW = 3.0  # seconds every slow call takes: Slack's own deadline for an answer


def test_commands_and_mentions_are_answered_before_deepnote_answers(harness: Harness) -> None:
    h = harness
    h.deepnote.inject("*", "/", delay=SLOW, times=4)  # each: read the notebook, create the run
    command = h.command(f"run {HELLO_NOTEBOOK_ID}")
    _, event = mention(h, f"run {HELLO_NOTEBOOK_ID}")
    for answer in (command, event):
        assert answer.status_code == 200
        assert answer.elapsed < SLOW / 2
    assert creates(h) == []  # the runs start after the answers, not before
    wait_cards(h, 2)
    assert len(creates(h)) == 2
    h.run_until_finished()
    assert h.slack.violations == []


def test_the_home_tab_is_answered_before_slack_takes_the_view(harness: Harness) -> None:
    h = harness
    h.slack.inject("views.publish", delay=SLOW, times=1)
    opened = h.requester.event(
        {"type": "app_home_opened", "user": "U0ALICE", "channel": "D0HOME", "tab": "home"}
    )
    assert opened.status_code == 200
    assert opened.elapsed < SLOW / 2
    assert h.slack.home("U0ALICE") is None
    h.slack.wait_for(lambda s: s.home("U0ALICE") is not None, timeout=SLOW + 5)


def test_buttons_and_the_form_are_answered_before_the_run_is_created(harness: Harness) -> None:
    h = harness
    h.command(f"run {HELLO_NOTEBOOK_ID}")
    card = wait_cards(h, 1)[0]
    h.command(f"run {SALES_NOTEBOOK_ID}")  # no inputs given: the run form opens
    h.slack.wait_for(lambda s: len(s.views) == 1)
    view = h.slack.views[0]

    h.deepnote.inject("POST", "/v2/runs", delay=SLOW, times=10)
    pressed = click(h, h.slack.message(card.channel, card.ts), "rerun")
    state = unchanged_state(view)
    state["input:region"]["value"]["selected_option"] = {"value": "Asia Pacific"}
    submitted = submit(h, view, state)
    for answer in (pressed, submitted):
        assert answer.status_code == 200
        assert answer.elapsed < SLOW / 2
    assert len(creates(h)) == 1  # only the first command's run so far
    assert "errors" not in submitted.text  # the form closed: nothing was wrong with it

    h.slack.wait_for(lambda s: len(creates(h)) == 3, timeout=SLOW + 5)
    assert {c.body["notebookId"] for c in creates(h)[1:]} == {HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID}
    wait_cards(h, 3, CHANNEL)
    assert len(cards(h)) == 3
