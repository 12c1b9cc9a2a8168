"""The Workflow Builder step "Run a Deepnote notebook", end to end.

The Slack stand-in starts an execution of the step and delivers its `function_executed` event
to the real bot (signed HTTP here; Socket Mode in test_socket_mode.py), which starts the run
on the Deepnote simulator and completes the step with `functions.completeSuccess` or
`functions.completeError`, recorded by the stand-in.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.offline.simulator import SALES_NOTEBOOK_ID
from bot.offline.slack_standin.functions import COMPLETED, FAILED, RUNNING, Execution
from handlers.workflow_step import STEP as STEP_KIND
from handlers.workflow_step import stored_payload
from storage.engine import open_database
from storage.intents import Intent, IntentStore
from tests.conftest import Bots, Harness
from tests.e2e.test_schedules import (
    ALICE,
    CHANNEL,
    OTHER,
    creates,
    newest_run_id,
    private,
    shown,
    top,
)
from tests.pg import ENGINES

STEP = "run_notebook"


def start_step(h: Harness, **inputs: Any) -> tuple[str, dict[str, Any]]:
    """A workflow reaches the step: Slack sends `function_executed`; (execution id, event)."""
    inputs.setdefault("run_as", ALICE)
    event = h.slack.functions.execute(STEP, inputs)
    assert h.requester.event(event).status_code == 200
    return str(event["function_execution_id"]), event


def started(h: Harness) -> None:
    """Wait until the step's run has started in Deepnote: its card shows the run id (the card
    is posted first, then edited once Deepnote has answered)."""
    h.slack.wait_for(lambda s: len(top(h)) == 1 and bool(top(h)[0].edits))


def outcome(h: Harness, execution_id: str) -> Execution:
    """The execution once the bot completed it."""
    h.slack.wait_for(lambda s: s.functions.get(execution_id).state != RUNNING)
    execution = h.slack.functions.get(execution_id)
    assert execution is not None
    return execution


def test_a_bad_input_fails_the_step_with_the_commands_message(harness: Harness) -> None:
    h = harness
    execution_id, _ = start_step(
        h, notebook=SALES_NOTEBOOK_ID, inputs="region=Atlantis", channel=CHANNEL
    )
    failed = outcome(h, execution_id)
    assert failed.state == FAILED
    said = private(h, f"run {SALES_NOTEBOOK_ID} region=Atlantis")
    first_line = failed.error.splitlines()[0] if failed.error else ""
    assert "Atlantis" in first_line
    assert first_line.replace("&lt;", "<").replace("&gt;", ">") in said.replace(
        "&lt;", "<"
    ).replace("&gt;", ">")
    assert not creates(h)
    assert top(h) == []
    bad_line = start_step(h, notebook=SALES_NOTEBOOK_ID, inputs="region Europe")[0]
    assert "is not `name=value`" in (outcome(h, bad_line).error or "")


def test_waiting_step_completes_when_the_run_ends_with_its_outputs(harness: Harness) -> None:
    h = harness
    execution_id, _ = start_step(
        h, notebook=SALES_NOTEBOOK_ID, inputs="region=Europe\ntop_n=3", wait=True, channel=CHANNEL
    )
    started(h)
    assert creates(h)[0].body["inputs"] == {"region": "Europe", "top_n": "3"}
    assert "<@U0ALICE> from a workflow" in shown(top(h)[0])
    h.advance(1)
    assert h.slack.functions.get(execution_id).state == RUNNING  # the run has not ended
    h.run_until_finished()
    done = outcome(h, execution_id)
    assert done.state == COMPLETED
    run = h.bot.services.store.get(next(iter(h.bot.services.store.recent_for_user(ALICE, 1))).id)
    assert run is not None
    assert done.outputs["run_id"] == run.run_id
    assert done.outputs["status"] == "success"
    assert done.outputs["notebook_url"] == run.notebook_url
    assert done.outputs["snapshot_url"] == run.snapshot_url
    assert done.outputs["big_number"].startswith("$")
    assert "failure_reason" not in done.outputs
    # Audited as the slash command's runs are, as the person the step runs as.
    (entry,) = [e for e in h.bot.services.audit.latest(10) if e.action == "run"]
    assert (entry.user_id, entry.details["trigger"]) == (ALICE, "workflow")
    assert h.slack.violations == []


def test_a_failed_run_fails_the_step_with_the_reason(harness: Harness) -> None:
    h = harness
    execution_id, _ = start_step(
        h, notebook=SALES_NOTEBOOK_ID, inputs="region=Mars", channel=CHANNEL
    )
    started(h)
    h.run_until_finished()
    failed = outcome(h, execution_id)
    assert failed.state == FAILED
    assert "Sales report ended with error" in (failed.error or "")
    assert "ZeroDivisionError" in (failed.error or "")
    assert "failed" in top(h)[0].text


def test_a_step_that_does_not_wait_completes_once_the_run_has_started(harness: Harness) -> None:
    h = harness
    execution_id, _ = start_step(
        h, notebook=SALES_NOTEBOOK_ID, inputs="", wait=False, channel=CHANNEL
    )
    done = outcome(h, execution_id)
    assert done.state == COMPLETED
    assert done.outputs["status"] in ("pending", "running")
    assert done.outputs["run_id"] == newest_run_id(h)
    assert SALES_NOTEBOOK_ID in done.outputs["notebook_url"]
    h.run_until_finished()
    assert len(h.slack.functions.completed()) == 1  # completed once, not again at the end
    assert "succeeded" in top(h)[0].text


def test_the_access_rules_of_the_command_apply(bots: Bots) -> None:
    h = bots.start(NOTEBOOK_ACCESS=f"{SALES_NOTEBOOK_ID}={OTHER}")
    refused = start_step(h, notebook=SALES_NOTEBOOK_ID, inputs="", channel=CHANNEL)[0]
    message = outcome(h, refused).error or ""
    assert "may not be run from this channel" in message
    assert "may not be run from this channel" in private(h, f"run {SALES_NOTEBOOK_ID} --as-is")
    no_channel = start_step(h, notebook=SALES_NOTEBOOK_ID, inputs="")[0]
    assert "names no channel" in (outcome(h, no_channel).error or "")
    allowed = start_step(h, notebook=SALES_NOTEBOOK_ID, inputs="", channel=OTHER, wait=False)[0]
    assert outcome(h, allowed).state == COMPLETED
    assert len(creates(h)) == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_a_restart_in_between_still_completes_the_step(bots: Bots, engine: str) -> None:
    h = bots.start()
    execution_id, _ = start_step(h, notebook=SALES_NOTEBOOK_ID, inputs="", channel=CHANNEL)
    h.slack.wait_for(lambda s: len(creates(h)) == 1)
    bots.stop(h)
    assert h.slack.functions.get(execution_id).state == RUNNING
    h2 = bots.start()
    h2.run_until_finished()
    done = outcome(h2, execution_id)
    assert done.state == COMPLETED
    assert done.outputs["status"] == "success"
    assert len(creates(h2)) == 1


def test_slacks_retry_of_the_event_is_not_acted_on_twice(harness: Harness) -> None:
    h = harness
    event = h.slack.functions.execute(
        STEP, {"notebook": SALES_NOTEBOOK_ID, "run_as": ALICE, "wait": False}
    )
    first = h.requester.event(event, event_id="Ev0STEP0001")
    retry = h.requester.event(event, event_id="Ev0STEP0001", retry_num=1)
    assert (first.status_code, retry.status_code) == (200, 200)
    done = outcome(h, str(event["function_execution_id"]))
    assert done.state == COMPLETED
    h.run_until_finished()
    assert len(creates(h)) == 1
    # No channel was given: no card anywhere, the step's outputs are the result.
    assert top(h) == []
    assert h.slack.calls("chat.postMessage") == []
    # The execution's own token is never stored with the event.
    stored = json.dumps([dict(r) for r in h.bot.services.db.query("SELECT * FROM intents")])
    assert event["bot_access_token"] not in stored
    assert "bot_access_token" not in stored


def test_an_event_a_stopped_bot_acknowledged_is_carried_out_after_the_restart(
    bots: Bots,
) -> None:
    h = bots.start()
    bots.stop(h)
    event = h.slack.functions.execute(
        STEP, {"notebook": SALES_NOTEBOOK_ID, "run_as": ALICE, "channel": CHANNEL}
    )
    # What the stopped process had stored before acknowledging the event, and never carried out.
    body = stored_payload({"team_id": "T0TEST", "event_id": "Ev0LOST", "event": event})
    db = open_database(bots.path)
    IntentStore(db).add(
        Intent(
            id="event:Ev0LOST",
            team_id="T0TEST",
            user_id=ALICE,
            channel_id="",
            thread_ts=None,
            text=str(event["function_execution_id"]),
            response_url=None,
            holder="a-stopped-process",
            received_at=h.clock.now(),
            kind=STEP_KIND,
            payload=json.dumps(body),
        )
    )
    db.close()
    h2 = bots.start()
    h2.advance(1)
    started(h2)
    assert len(creates(h2)) == 1
    h2.run_until_finished()
    done = outcome(h2, str(event["function_execution_id"]))
    assert done.state == COMPLETED
    assert "succeeded" in top(h2)[0].text


def test_a_refusal_slack_did_not_take_is_told_again_by_the_next_round(harness: Harness) -> None:
    h = harness
    h.slack.inject("functions.completeError", status=503)
    execution_id, _ = start_step(h, notebook=SALES_NOTEBOOK_ID, inputs="regoin=Europe")
    h.slack.wait_for(lambda s: len(s.calls("functions.completeError")) == 1)
    assert h.slack.functions.get(execution_id).state == RUNNING
    h.advance(3)  # past the backoff: the round tells Slack again
    failed = outcome(h, execution_id)
    assert "regoin" in (failed.error or "")
    assert not creates(h)
