"""Hostile names and values through every message builder and every error they reach
(issue 12, item 5): no mention, broadcast, link or formatting from them stays live.

The card, status and result renderers have their own hostile tests in test_render.py; this
file covers the schedule messages, the inputs listing and the errors of access rules, input
checks, schedule text and `--blocks`, and checks that no Message builder is left out.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest

from bot.access import AccessPolicy
from bot.deepnote.inputs import describe_input, validate_inputs
from bot.deepnote.models import Notebook, NotebookBlock, NotebookInput
from bot.errors import UserError
from bot.schedules.when import parse_when
from bot.slack.messages import cards, inputs, results, schedules
from bot.slack.messages.blocks import Message
from bot.text.mrkdwn import fill, user_mention
from handlers.run_commands import _check_blocks
from storage.records import RunRecord, TableResult, TextResult
from storage.schedules import FieldChange, ScheduleRecord

HOSTILE = "<!channel> *bold* @here &lt; <https://evil.example|click me> <@U0EVIL>"
T0 = datetime(2026, 3, 31, 9, 0, tzinfo=UTC)
NOTEBOOK_ID = "0123456789abcdef0123456789abcdef"


def assert_inert(text: str) -> None:
    """Nothing of HOSTILE is live: no special mention, link, user mention or formatting."""
    own = text.replace("<!date^", "")
    assert "<!" not in own
    assert "<https://evil" not in own
    assert "<@U0EVIL>" not in own
    assert "@here" not in own
    prose = re.sub(r"```.*?```|`[^`]*`", "`code`", own, flags=re.DOTALL)
    assert "*bold*" not in prose
    assert " &lt; " not in prose


def rendered(msg: Message) -> str:
    return json.dumps(msg.blocks, ensure_ascii=False) + " " + msg.text


SCHEDULE = ScheduleRecord(
    id=7,
    team_id="T1",
    channel_id="C1",
    owner_id="U0ALICE",
    notebook_id=NOTEBOOK_ID,
    notebook_name=HOSTILE,
    expression="0 9 * * 1-5",
    tz="Europe/Prague",
    notify="always",
    created_at=T0,
    inputs={HOSTILE: HOSTILE, "region": HOSTILE},
    post_outputs=HOSTILE,
    paused=True,
    paused_reason="paused by <@U0BOB>",  # bot-written mrkdwn, as the service stores it
    next_fire_at=T0 + timedelta(days=1),
    last_run_id=HOSTILE,
    last_status=HOSTILE,
    last_finished_at=T0,
)
RUN = RunRecord(
    id="run-7",
    notebook_id=NOTEBOOK_ID,
    notebook_name=HOSTILE,
    user_id="U0ALICE",
    team_id="T1",
    channel_id="C1",
    status="failed",
    created_at=T0,
    inputs={HOSTILE: HOSTILE},
    run_id="6f1c2d3e-0000-4000-8000-000000000001",
    error=HOSTILE,
    schedule_id="7",
    trigger="schedule",
)
NOTEBOOK = Notebook(
    id=NOTEBOOK_ID,
    name=HOSTILE,
    project_id="p1",
    inputs=(
        NotebookInput(
            name="region", type="input-select", options=(HOSTILE, "Europe"), label=HOSTILE
        ),
        NotebookInput(name="go", type="input-checkbox"),
        NotebookInput(name="when", type="input-date"),
    ),
    blocks=(NotebookBlock(id="b1", type="code"),),
)
WORDS = fill("every weekday at 9:00 ({x})", x=HOSTILE)

BUILDERS: dict[str, Callable[[], Message]] = {
    "run_card": lambda: cards.run_card(RUN, now=T0),
    "status_reply": lambda: cards.status_reply(RUN, now=T0),
    "run_result_reply": lambda: results.run_result_reply(
        RUN,
        results=[
            TextResult(block_id=HOSTILE, title=HOSTILE, text=HOSTILE),
            TableResult(
                block_id="t", title=HOSTILE, columns=(HOSTILE,), rows=((HOSTILE,),), total_rows=1
            ),
        ],
    ),
    "inputs_listing": lambda: inputs.inputs_listing(NOTEBOOK, describe=describe_input),
    "schedule_created": lambda: schedules.schedule_created(
        SCHEDULE, words=WORDS, tz_source=HOSTILE, next_runs=[T0]
    ),
    "schedules_listing": lambda: schedules.schedules_listing(
        [(SCHEDULE, WORDS), (replace(SCHEDULE, paused=False), WORDS)], example="`x`"
    ),
    "schedule_paused": lambda: schedules.schedule_paused(
        SCHEDULE, actor=user_mention(HOSTILE), words=WORDS
    ),
    "schedule_resumed": lambda: schedules.schedule_resumed(
        SCHEDULE, actor=user_mention("U0BOB"), words=WORDS
    ),
    "schedule_deleted": lambda: schedules.schedule_deleted(
        SCHEDULE, actor=user_mention("U0BOB"), words=WORDS
    ),
    "schedule_skipped": lambda: schedules.schedule_skipped(
        SCHEDULE,
        first=T0,
        last=T0 + timedelta(hours=3),
        count=4,
        late_seconds=7200,
        grace_seconds=300,
        running=T0 + timedelta(hours=3),
    ),
    "schedule_not_started": lambda: schedules.schedule_not_started(
        SCHEDULE, reason=fill("Deepnote said: {x}", x=HOSTILE)
    ),
    "schedule_edited": lambda: schedules.schedule_edited(
        SCHEDULE,
        actor="U0BOB",
        changes=[
            FieldChange("when", WORDS, WORDS),
            FieldChange(f"inputs.{HOSTILE}", HOSTILE, None),
            FieldChange("post_outputs", None, HOSTILE),
            FieldChange("tz", HOSTILE, "UTC"),
        ],
        words=WORDS,
        next_runs=[T0],
    ),
    "schedule_back_to_normal": lambda: schedules.schedule_back_to_normal(SCHEDULE, failures=2),
    "schedule_auto_paused": lambda: schedules.schedule_auto_paused(
        SCHEDULE, failures=3, words=WORDS
    ),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_message_builder_keeps_hostile_text_inert(name: str) -> None:
    text = rendered(BUILDERS[name]())
    assert_inert(text)
    assert "&lt;!channel&gt;" in text or "channel" in text  # shown, not dropped


def _message_builders(module: ModuleType) -> set[str]:
    return {
        name
        for name, fn in inspect.getmembers(module, inspect.isfunction)
        if fn.__module__ == module.__name__
        and not name.startswith("_")
        and inspect.signature(fn).return_annotation in (Message, "Message")
    }


def test_no_message_builder_is_left_out() -> None:
    found: set[str] = set()
    for module in (cards, results, inputs, schedules):
        found |= _message_builders(module)
    assert found <= set(BUILDERS), f"add to BUILDERS: {sorted(found - set(BUILDERS))}"


def refusal(call: Callable[[], Any]) -> str:
    with pytest.raises(UserError) as caught:
        call()
    return caught.value.user_message


ERRORS: dict[str, Callable[[], Any]] = {
    "access: notebook": lambda: AccessPolicy(
        admins=("U0ADMIN",), notebook_channels={NOTEBOOK_ID: ("C0FIN",)}
    ).check_notebook("C0GEN", NOTEBOOK_ID, HOSTILE),
    "access: status": lambda: AccessPolicy(notebook_channels={"*": ()}).check_notebook(
        "C0GEN", NOTEBOOK_ID, HOSTILE, use="have its runs shown in"
    ),
    "inputs: unknown name": lambda: validate_inputs(NOTEBOOK, [(HOSTILE, "1")], today=T0.date()),
    "inputs: bad option": lambda: validate_inputs(
        NOTEBOOK, [("region", HOSTILE + "x")], today=T0.date()
    ),
    "inputs: bad checkbox": lambda: validate_inputs(NOTEBOOK, [("go", HOSTILE)], today=T0.date()),
    "inputs: bad date": lambda: validate_inputs(NOTEBOOK, [("when", HOSTILE)], today=T0.date()),
    "schedule text": lambda: parse_when(HOSTILE),
    "schedule time": lambda: parse_when("every day at <!channel>"),
    "--blocks": lambda: _check_blocks(NOTEBOOK, (HOSTILE,)),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_every_error_keeps_hostile_text_inert(name: str) -> None:
    assert_inert(refusal(ERRORS[name]))
