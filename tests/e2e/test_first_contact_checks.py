"""Refusals that say exactly what did not happen, and one audit entry per change (issue 13,
item 10): `--post-outputs` names checked before a run or schedule, schedule refusals, the
audit log's wording, and repointing an alias only with `--replace`."""

from __future__ import annotations

import json
import time
from typing import Any

from bot.offline.simulator import HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID
from tests.conftest import Bots, Harness

CHANNEL = "C0GENERAL"
TEAM = "T0TEST"
ALICE, BOB, ADMIN = "U0ALICE", "U0BOB", "U0ADMIN"
BIG_NUMBER_BLOCK = "7b5e0009938448f7bb9c8426ef3e4e88"


def private(h: Harness, text: str, *, user: str = ALICE) -> str:
    """Type a command answered only to the user; return that answer as it reads."""
    before = len(h.slack.response_url_posts)
    resp = h.command(text, user_id=user, channel_id=CHANNEL)
    if resp.text.strip():
        return str(resp.text)
    h.slack.wait_for(lambda s: len(s.response_url_posts) > before)
    payload = h.slack.response_url_posts[-1].payload
    text = json.dumps(payload.get("blocks") or [], ensure_ascii=False) + " " + payload["text"]
    return text.replace("\u2060", "")


def creates(h: Harness) -> list[Any]:
    """Every POST /v2/runs Deepnote received."""
    return [r for r in h.deepnote.requests if r.method == "POST" and r.path == "/v2/runs"]


def top(h: Harness) -> list[Any]:
    """The channel's top-level messages."""
    return [m for m in h.slack.messages(CHANNEL) if m.thread_ts is None]


def audit_lines(h: Harness) -> list[tuple[str, str]]:
    """(user, action) of every audit entry, oldest first."""
    return [(e.user_id, e.action) for e in reversed(h.bot.services.audit.latest(200))]


def wait_audit(h: Harness, count: int) -> None:
    """Wait until the audit log has `count` entries (written just after the channel post)."""
    deadline = time.monotonic() + 10
    while len(h.bot.services.audit.latest(200)) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(h.bot.services.audit.latest(200)) == count


# --- --post-outputs ------------------------------------------------------------------------


def test_run_refuses_post_outputs_that_name_no_output(harness: Harness) -> None:
    h = harness
    answer = private(h, f"run {SALES_NOTEBOOK_ID} region=Europe --post-outputs revnue_chart,top")
    assert "*Sales report* has no output named `revnue_chart`." in answer
    assert "`top`" in answer  # the names it does have
    assert "Revenue · {{ region }}" in answer
    assert "Nothing was started." in answer
    assert creates(h) == []
    assert top(h) == []


def test_run_accepts_a_variable_and_a_big_numbers_title(harness: Harness) -> None:
    h = harness
    h.command(
        f'run {SALES_NOTEBOOK_ID} region=Europe --post-outputs "top,Revenue · Europe"',
        channel_id=CHANNEL,
    )
    h.slack.wait_for(lambda s: len(creates(h)) == 1)
    # The big number's title lives in its metadata: read once, to check the name.
    blocks = [r.path for r in h.deepnote.requests if r.path.startswith("/v2/blocks/")]
    assert blocks == [f"/v2/blocks/{BIG_NUMBER_BLOCK}"]
    h.slack.wait_for(lambda s: any(c.method == "chat.update" for c in s.calls()))
    h.run_until_finished()
    reply = json.dumps(h.slack.thread(CHANNEL, top(h)[0].ts)[0].blocks, ensure_ascii=False)
    assert "Revenue · Europe" in reply


def test_schedule_refuses_post_outputs_that_name_no_output(harness: Harness) -> None:
    h = harness
    answer = private(
        h, f'schedule {SALES_NOTEBOOK_ID} "0 9 * * 1-5" --tz UTC --post-outputs summary'
    )
    assert "has no output named `summary`" in answer
    assert "No schedule was created." in answer
    assert "Nothing was started" not in answer
    assert h.bot.services.schedules.store.in_channel(TEAM, CHANNEL) == []
    assert top(h) == []


def test_a_refused_schedule_says_no_schedule_was_created(harness: Harness) -> None:
    h = harness
    answer = private(h, f'schedule {SALES_NOTEBOOK_ID} "0 9 * * 1-5" --tz UTC regoin=Europe')
    assert "`regoin`" in answer
    assert "No schedule was created." in answer
    assert "Nothing was started" not in answer
    answer = private(h, f'schedule {HELLO_NOTEBOOK_ID} "0 9 * * 1-5" --tz UTC x=1')
    assert "takes no inputs" in answer
    assert "No schedule was created." in answer
    assert h.bot.services.schedules.store.in_channel(TEAM, CHANNEL) == []


# --- the audit log ---------------------------------------------------------------------------


def test_each_schedule_change_is_one_audit_entry_that_reads_well(bots: Bots) -> None:
    h = bots.start(ADMIN_USER_IDS=ADMIN)
    h.command(f'schedule {HELLO_NOTEBOOK_ID} "0 9 * * 1-5" --tz UTC', channel_id=CHANNEL)
    wait_audit(h, 1)
    schedule = h.bot.services.schedules.store.in_channel(TEAM, CHANNEL)[0]
    # Each change is announced in the channel; its audit entry follows.
    for count, change in enumerate(("pause", "resume", "trigger", "unschedule"), start=2):
        h.command(f"{change} {schedule.id}", channel_id=CHANNEL)
        wait_audit(h, count)
    assert audit_lines(h) == [
        (ALICE, "schedule"),
        (ALICE, "pause"),
        (ALICE, "resume"),
        (ALICE, "run"),
        (ALICE, "unschedule"),
    ]
    log = private(h, "audit", user=ADMIN)
    sid = schedule.id
    assert f"<@{ALICE}> created schedule {sid}: Hello world ({HELLO_NOTEBOOK_ID})" in log
    assert f"<@{ALICE}> paused schedule {sid}: Hello world" in log
    assert f"<@{ALICE}> resumed schedule {sid}: Hello world" in log
    assert f"<@{ALICE}> ran schedule {sid} now: Hello world ({HELLO_NOTEBOOK_ID})" in log
    assert f"<@{ALICE}> deleted schedule {sid}: Hello world" in log
    assert "schedule schedule" not in log


# --- aliases ---------------------------------------------------------------------------------


def test_repointing_an_alias_needs_replace_and_says_what_it_names(bots: Bots) -> None:
    h = bots.start(ADMIN_USER_IDS=ADMIN)
    assert "now names" in private(h, f"alias daily {SALES_NOTEBOOK_ID}")
    # The owner, without --replace: told what it names now, nothing changes.
    answer = private(h, f"alias daily {HELLO_NOTEBOOK_ID}")
    assert f"`daily` already names *Sales report* (`{SALES_NOTEBOOK_ID}`)" in answer
    assert "Nothing was changed." in answer
    assert f"`/deepnote alias daily {HELLO_NOTEBOOK_ID} --replace`" in answer
    alias = h.bot.services.aliases.get(TEAM, "daily")
    assert alias is not None
    assert alias.notebook_id == SALES_NOTEBOOK_ID
    # Someone else: refused with whose it is, even with --replace.
    answer = private(h, f"alias daily {HELLO_NOTEBOOK_ID} --replace", user=BOB)
    assert f"belongs to <@{ALICE}>" in answer
    # The same target again changes nothing.
    assert "already names *Sales report*" in private(h, 'alias daily "Sales report"')
    # With --replace the owner repoints it; an admin needs --replace too.
    answer = private(h, 'alias daily "Hello world" --replace')
    assert "`daily` now names *Hello world*" in answer
    assert "It used to name *Sales report*" in answer
    assert "already names *Hello world*" in private(
        h, f"alias daily {SALES_NOTEBOOK_ID}", user=ADMIN
    )
    assert "now names *Sales report*" in private(
        h, f"alias daily {SALES_NOTEBOOK_ID} --replace", user=ADMIN
    )
    alias = h.bot.services.aliases.get(TEAM, "daily")
    assert alias is not None
    assert (alias.notebook_id, alias.owner_id) == (SALES_NOTEBOOK_ID, ALICE)
    # One audit entry per change; refusals and no-ops write none.
    assert audit_lines(h) == [(ALICE, "alias"), (ALICE, "alias"), (ADMIN, "alias")]
    log = private(h, "audit", user=ADMIN)
    assert f"<@{ALICE}> set the alias daily → Sales report ({SALES_NOTEBOOK_ID})" in log
    assert f"<@{ALICE}> repointed the alias daily → Hello world ({HELLO_NOTEBOOK_ID})" in log
