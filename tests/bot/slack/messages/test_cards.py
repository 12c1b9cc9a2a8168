"""Durations, the run card in every state, and the status reply."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from bot.slack.messages.blocks import Message
from bot.slack.messages.cards import run_card, status_reply
from bot.slack.messages.status import format_duration
from storage import records
from tests.bot.slack.checks import (
    HOSTILE,
    NOTEBOOK_URL,
    SNAPSHOT_URL,
    T0,
    WJ,
    all_text,
    assert_valid_message,
    finished,
    make_run,
    mrkdwn_texts,
)

# --- durations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "less than 1 s"),
        (0.4, "less than 1 s"),
        (-5, "less than 1 s"),
        (float("nan"), "less than 1 s"),
        (1, "1 s"),
        (4, "4 s"),
        (59.9, "59 s"),
        (60, "1 min"),
        (125, "2 min 5 s"),
        (3599, "59 min 59 s"),
        (3600, "1 h"),
        (3780, "1 h 3 min"),
        (3789, "1 h 3 min"),
        (86399, "23 h 59 min"),
        (86400, "1 d"),
        (90000, "1 d 1 h"),
    ],
)
def test_format_duration(seconds: float, words: str) -> None:
    assert format_duration(seconds) == words


# --- run card -----------------------------------------------------------------------------


def buttons(msg: Message) -> dict[str, dict[str, Any]]:
    actions = [b for b in msg.blocks if b["type"] == "actions"]
    assert len(actions) <= 1
    return {e["action_id"]: e for e in actions[0]["elements"]} if actions else {}


NOW = T0 + timedelta(seconds=95)


@pytest.mark.parametrize(
    ("run", "emoji", "phrase"),
    [
        (make_run(status="creating", run_id=None), "⏳", "is starting…"),
        (make_run(status="pending"), "⏳", "has been waiting to start for 1 min 35 s"),
        (
            make_run(status="running", started_at=T0 + timedelta(seconds=30)),
            "🏃",
            "has been running for 1 min 5 s",
        ),
        (finished("success"), "✅", "succeeded in 2 min 5 s"),
        (finished("error", error="ValueError: bad region"), "❌", "failed after 2 min 5 s"),
        (finished("internal_error"), "⚠️", "hit an internal error in Deepnote after 2 min 5 s"),
        (finished("stopped"), "⏹", "was stopped after 2 min 5 s"),
        (
            make_run(status="create_failed", run_id=None, error="Deepnote said: no"),
            "❌",
            "could not be started",
        ),
        (
            make_run(status="lost", error="status unreadable for 30 min"),
            "⚠️",
            "is no longer followed by the bot",
        ),
        (
            make_run(status="queued_somewhere"),
            "⏳",
            "has status `queued_somewhere` (1 min 35 s so far)",
        ),
    ],
    ids=lambda v: v.status if isinstance(v, records.RunRecord) else None,
)
def test_run_card_every_status(run: records.RunRecord, emoji: str, phrase: str) -> None:
    msg = run_card(run, now=NOW)
    assert_valid_message(msg)
    summary = msg.blocks[0]["text"]["text"]
    # The notebook's link is the button; the name is not linked a second time.
    assert summary.startswith(f"{emoji} *Sales performance* {phrase}")
    assert NOTEBOOK_URL not in json.dumps(msg.blocks[:-1])
    assert "Started by <@U0ALICE>" in summary
    assert msg.text.startswith(f"{emoji} Sales performance {phrase}")
    assert "<@U0ALICE>" in msg.text
    got = buttons(msg)
    assert got["rerun"]["value"] == "run-7"
    assert got["rerun_form"]["value"] == "run-7"
    assert got["open_notebook"]["url"] == NOTEBOOK_URL
    assert got["rerun"]["text"]["text"] == "Re-run"
    assert got["rerun_form"]["text"]["text"] == "Re-run with changes…"
    assert got["open_notebook"]["text"]["text"] == "Open in Deepnote"
    assert "open_snapshot" not in got
    context = " ".join(mrkdwn_texts([msg.blocks[-2]]))
    if run.run_id:
        assert f"Deepnote run `{run.run_id}`" in context
    if run.status in ("error", "create_failed", "lost"):
        assert "*Why:* " in summary
    else:
        assert "*Why:*" not in summary


@pytest.mark.parametrize(
    ("status", "snapshot_url", "shown"),
    [
        ("success", SNAPSHOT_URL, True),
        ("error", SNAPSHOT_URL, True),
        ("stopped", SNAPSHOT_URL, True),
        ("running", SNAPSHOT_URL, False),
        ("pending", SNAPSHOT_URL, False),
        ("success", None, False),
        ("success", "file:///etc/passwd", False),
    ],
)
def test_run_card_snapshot_button(status: str, snapshot_url: str | None, shown: bool) -> None:
    msg = run_card(finished(status, snapshot_url=snapshot_url), now=NOW)
    assert_valid_message(msg)
    got = buttons(msg)
    assert ("open_snapshot" in got) is shown
    if shown:
        assert got["open_snapshot"]["url"] == snapshot_url
        assert got["open_snapshot"]["text"]["text"] == "Snapshot"


def test_run_card_by_schedule() -> None:
    msg = run_card(make_run(trigger="schedule", schedule_id="sched-42", user_id=""), now=NOW)
    assert_valid_message(msg)
    assert "Started by schedule `sched-42`" in msg.blocks[0]["text"]["text"]
    assert "<@" not in all_text(msg)


def test_run_card_without_url_has_no_link_or_url_button() -> None:
    for url in (None, "javascript:alert(1)", "https://x|<!channel>"):
        msg = run_card(make_run(notebook_url=url), now=NOW)
        assert_valid_message(msg)
        assert msg.blocks[0]["text"]["text"].startswith("🏃 *Sales performance* has been running")
        assert "open_notebook" not in buttons(msg)


def test_run_card_flags() -> None:
    ids = tuple(f"block{i}" for i in range(8))
    msg = run_card(make_run(block_ids=ids, run_dependents=True, readonly=True), now=NOW)
    assert_valid_message(msg)
    context = " ".join(mrkdwn_texts([b for b in msg.blocks if b["type"] == "context"]))
    assert "Blocks `block0`, `block1`, `block2`, `block3`, `block4` and 3 more" in context
    assert "and the blocks that depend on them" in context
    assert "Read-only" in context
    plain_run = run_card(make_run(), now=NOW)
    assert "Read-only" not in all_text(plain_run)
    assert "Blocks" not in all_text(plain_run)


def test_run_card_inputs() -> None:
    msg = run_card(
        make_run(inputs={"region": "Europe", "flag": True, "period": ["2026-01-01", "2026-03-31"]}),
        now=NOW,
    )
    assert_valid_message(msg)
    inputs = msg.blocks[1]["text"]["text"]
    assert inputs.splitlines() == [
        "*Inputs*",
        "• `region` = `Europe`",
        "• `flag` = `true`",
        "• `period` = `2026-01-01, 2026-03-31`",
    ]
    no_inputs = run_card(make_run(inputs={}), now=NOW)
    assert "*Inputs*" not in all_text(no_inputs)


def test_run_card_hostile_everything() -> None:
    run = finished(
        "error",
        notebook_name=HOSTILE,
        inputs={HOSTILE: HOSTILE, "x": "`a` ```b``` <!channel>"},
        error=HOSTILE + "\nsecond line",
        block_ids=(HOSTILE,),
        run_id=HOSTILE,
        snapshot_url=SNAPSHOT_URL,
    )
    msg = run_card(run, now=NOW)
    assert_valid_message(msg)
    text = re.sub(r"`[^`]*`", "", all_text(msg))  # inside inline code nothing is formatted
    assert "*bold*" not in text
    assert "_it_" not in text
    assert "@everyone" not in text
    assert f"{WJ}*{WJ}bold{WJ}*{WJ}" in msg.blocks[0]["text"]["text"]


def test_run_card_long_value_and_many_inputs() -> None:
    inputs: dict[str, Any] = {f"input_{i:03d}": "v" * (i + 1) for i in range(200)}
    inputs["input_000"] = "&" * 10_000
    msg = run_card(make_run(inputs=inputs), now=NOW)
    assert_valid_message(msg)
    lines = msg.blocks[1]["text"]["text"].splitlines()
    assert lines[0] == "*Inputs*"
    assert len(lines) == 22
    assert lines[-1] == "…and 180 more"
    assert lines[1].startswith("• `input_000` = `&amp;&amp;")
    assert lines[1].endswith("…`")
    assert len(lines[1]) < 150


def test_run_card_long_names_and_huge_name_everywhere() -> None:
    huge = "<!channel>" * 2000
    run = finished(
        "error", notebook_name=huge, error=huge, inputs={huge: huge}, user_id="U1" + "A" * 5000
    )
    msg = run_card(run, now=NOW)
    assert_valid_message(msg)
    assert status_reply(run, now=NOW).blocks


def test_run_card_naive_and_aware_times_mix() -> None:
    run = make_run(created_at=T0.replace(tzinfo=None), status="running")
    msg = run_card(run, now=NOW)
    assert "has been running for 1 min 35 s" in msg.text


def test_status_reply() -> None:
    msg = status_reply(finished("success", snapshot_url=SNAPSHOT_URL), now=NOW)
    assert_valid_message(msg)
    assert "actions" not in [b["type"] for b in msg.blocks]
    assert msg.text.startswith("✅ Sales performance succeeded in 2 min 5 s")
    # No button here, so the name is the link to the notebook (once).
    summary = msg.blocks[0]["text"]["text"]
    assert summary.startswith(f"✅ *<{NOTEBOOK_URL}|Sales performance>* succeeded")
    assert json.dumps(msg.blocks).count(NOTEBOOK_URL) == 1
