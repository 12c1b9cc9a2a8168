"""Escaping and message rendering: every message is valid Block Kit within Slack's limits."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.commands.docs import CommandDoc
from bot.deepnote.models import Notebook, NotebookInput
from bot.deepnote.snapshot import key_results, parse_snapshot
from bot.slack.messages.blocks import Message
from bot.slack.messages.cards import run_card, status_reply
from bot.slack.messages.help import error_reply, help_message, info_reply
from bot.slack.messages.inputs import example_command, inputs_listing
from bot.slack.messages.results import run_result_reply, table_text
from bot.slack.messages.status import format_duration
from bot.text.mrkdwn import (
    WORD_JOINER,
    ZERO_WIDTH_SPACE,
    code,
    code_block,
    escape,
    link,
    plain,
    slack_date,
    truncate,
    user_mention,
)
from storage import records
from tests.conftest import DATA

SNAPSHOTS = DATA / "deepnote" / "snapshots"
T0 = datetime(2026, 3, 31, 9, 0, tzinfo=UTC)
NOTEBOOK_URL = (
    "https://deepnote.com/workspace/acme-w1/project/-p1/notebook/0123456789abcdef0123456789abcdef"
)
SNAPSHOT_URL = "https://api.deepnote.com/v2/runs/x/snapshot?sig=a&exp=1"
HOSTILE = (
    "<!channel> <!here> <@U123> <https://evil.example|click> *bold* _it_ ~st~ `tick` "
    "@everyone &amp;"
)
ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")


# --- the validity checker -----------------------------------------------------------------


def mrkdwn_texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every mrkdwn string in the blocks."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return found


def assert_valid_message(msg: Message) -> None:
    """Valid Block Kit (slack_sdk's own models) within every limit Slack documents."""
    assert isinstance(msg, Message)
    assert msg.text.strip(), "fallback text must not be empty"
    assert len(msg.text) <= 40_000
    assert 1 <= len(msg.blocks) <= 50
    json.dumps({"text": msg.text, "blocks": msg.blocks})
    for raw in msg.blocks:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()
        kind = raw["type"]
        if kind == "section":
            assert "text" in raw or "fields" in raw
            if "text" in raw:
                assert 1 <= len(raw["text"]["text"]) <= 3000
            fields = raw.get("fields", [])
            assert len(fields) <= 10
            assert all(1 <= len(f["text"]) <= 2000 for f in fields)
        elif kind == "header":
            assert raw["text"]["type"] == "plain_text"
            assert 1 <= len(raw["text"]["text"]) <= 150
        elif kind == "context":
            assert 1 <= len(raw["elements"]) <= 10
            assert all(1 <= len(e["text"]) <= 3000 for e in raw["elements"])
        elif kind == "actions":
            assert 1 <= len(raw["elements"]) <= 25
            action_ids = [e["action_id"] for e in raw["elements"]]
            assert len(action_ids) == len(set(action_ids))
            for button in raw["elements"]:
                assert button["text"]["type"] == "plain_text"
                assert 1 <= len(button["text"]["text"]) <= 75
                assert len(button.get("value", "")) <= 2000
                assert len(button.get("url", "")) <= 3000
        else:
            assert kind == "divider", kind
    for text in [*mrkdwn_texts(msg.blocks), msg.text]:
        assert "<!channel>" not in text
        assert "<!here>" not in text
        assert "<@U123>" not in text
        assert "<https://evil" not in text
        assert not ENTITY.search(_without_links_and_dates(text)), text


def _without_links_and_dates(text: str) -> str:
    # Our own `<url|…>` links carry `&amp;` already; `<!date^…>` carries no `&`.
    return re.sub(r"<(https?://[^|>]*)\|", "<|", text)


def all_text(msg: Message) -> str:
    return "\n".join([msg.text, *mrkdwn_texts(msg.blocks)])


def visible(text: str) -> str:
    """What a reader sees, roughly: entities decoded, invisible characters gone."""
    text = text.replace(WORD_JOINER, "").replace(ZERO_WIDTH_SPACE, "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# --- mrkdwn -------------------------------------------------------------------------------

WJ = WORD_JOINER


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain words", "plain words"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("<!here|here>", "&lt;!here|here&gt;"),
        ("<@U123>", "&lt;@U123&gt;"),
        ("<#C123|general>", "&lt;#C123|general&gt;"),
        ("<!subteam^S1|@team>", "&lt;!subteam^S1|@team&gt;"),
        ("<https://evil|click>", "&lt;https://evil|click&gt;"),
        ("a & b", "a &amp; b"),
        ("&amp;", "&amp;amp;"),
        ("*bold*", f"{WJ}*{WJ}bold{WJ}*{WJ}"),
        ("_it_", f"{WJ}_{WJ}it{WJ}_{WJ}"),
        ("~gone~", f"{WJ}~{WJ}gone{WJ}~{WJ}"),
        ("`code`", f"{WJ}`{WJ}code{WJ}`{WJ}"),
        ("snake_case_name", f"snake{WJ}_{WJ}case{WJ}_{WJ}name"),
        ("@channel", f"@{ZERO_WIDTH_SPACE}channel"),
        ("hi @HERE and @everyone", f"hi @{ZERO_WIDTH_SPACE}HERE and @{ZERO_WIDTH_SPACE}everyone"),
        ("mail a@example.com", "mail a@example.com"),
        ("> quoted", f"{WJ}&gt; quoted"),
        ("a\n> b", f"a\n{WJ}&gt; b"),
        ("a > b", "a &gt; b"),
        ("nul\x00 bell\x07 rtl\u202eok", "nul bell rtlok"),
        ("crlf\r\nline", "crlf\nline"),
        ("", ""),
    ],
)
def test_escape(text: str, expected: str) -> None:
    assert escape(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_escape_is_inert_and_faithful(text: str) -> None:
    out = escape(text)
    assert "<" not in out
    assert ">" not in out
    assert not ENTITY.search(out)
    for match in re.finditer(r"[*_~`]", out):
        assert out[match.start() - 1] == WJ
        assert out[match.end()] == WJ
    assert re.search(r"@(?i:channel|here|everyone)", out) is None
    cleaned = re.sub(
        "[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]", "", text.replace("\r\n", "\n")
    )
    assert visible(out) == cleaned.replace(WJ, "").replace(ZERO_WIDTH_SPACE, "")


@pytest.mark.parametrize(
    ("text", "limit", "marker", "expected"),
    [
        ("hello", 10, "…", "hello"),
        ("hello", 5, "…", "hello"),
        ("hello world", 6, "…", "hello…"),
        ("hello world", 7, "…", "hello…"),
        ("a &amp; b", 5, "…", "a…"),
        ("a &amp; b", 7, "…", "a…"),
        ("a &amp; b", 8, "…", "a &amp;…"),
        ("&lt;&lt;&lt;", 6, "…", "&lt;…"),
        ("&lt;&lt;&lt;", 9, "…", "&lt;&lt;…"),
        ("x & y z", 4, "…", "x &…"),
        ("abcdef", 4, "...", "a..."),
        ("abcdef", 2, "...", ".."),
        ("abcdef", 0, "…", ""),
    ],
)
def test_truncate(text: str, limit: int, marker: str, expected: str) -> None:
    assert truncate(text, limit, marker=marker) == expected


def test_truncate_rejects_negative_limit() -> None:
    with pytest.raises(ValueError, match="limit"):
        truncate("x", -1)


@settings(max_examples=300, deadline=None)
@given(st.text(), st.integers(min_value=0, max_value=60))
def test_truncate_keeps_entities_whole(text: str, limit: int) -> None:
    out = truncate(escape(text), limit)
    assert len(out) <= limit
    assert not re.search(r"&[a-z]{0,3}…?$", out.removesuffix("…")) or out.endswith(";")
    assert not ENTITY.search(out)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("run_id", None, "`run_id`"),
        ("a`b", None, "`aˋb`"),
        ("```", None, "`ˋˋˋ`"),
        ("<!here> & <@U1>", None, "`&lt;!here&gt; &amp; &lt;@U1&gt;`"),
        ("line1\nline2\tx", None, "`line1 line2 x`"),
        ("@channel", None, f"`@{ZERO_WIDTH_SPACE}channel`"),
        ("", None, "`\u00a0`"),
        ("abcdefghij", 6, "`abc…`"),
        ("&&&&", 9, "`&amp;…`"),
    ],
)
def test_code(text: str, limit: int | None, expected: str) -> None:
    assert code(text, limit=limit) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(), st.one_of(st.none(), st.integers(min_value=3, max_value=50)))
def test_code_cannot_be_broken_out_of(text: str, limit: int | None) -> None:
    out = code(text, limit=limit)
    assert out.count("`") == 2
    assert out.startswith("`")
    assert out.endswith("`")
    assert "\n" not in out
    assert "<" not in out
    if limit is not None:
        assert len(out) <= limit


@settings(max_examples=200, deadline=None)
@given(st.text(), st.one_of(st.none(), st.integers(min_value=9, max_value=80)))
def test_code_block_cannot_be_closed_early(text: str, limit: int | None) -> None:
    out = code_block(text, limit=limit)
    assert out.startswith("```")
    assert out.endswith("```")
    inner = out[3:-3]
    assert "``" not in inner
    assert not inner.startswith("`")
    assert not inner.endswith("`")
    assert "<" not in inner
    if limit is not None:
        assert len(out) <= limit


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Run it", None, "Run it"),
        ("  padded  ", None, "padded"),
        ("", None, "-"),
        ("\x00\x01", None, "-"),
        ("@here now", None, f"@{ZERO_WIDTH_SPACE}here now"),
        ("<b>not html</b>", None, "<b>not html</b>"),
        ("x" * 100, 75, "x" * 74 + "…"),
    ],
)
def test_plain(text: str, limit: int | None, expected: str) -> None:
    assert plain(text, limit=limit) == expected


@pytest.mark.parametrize(
    ("url", "label", "expected"),
    [
        ("https://deepnote.com/x", "Sales", "<https://deepnote.com/x|Sales>"),
        ("https://a.b/?x=1&y=2", "q", "<https://a.b/?x=1&amp;y=2|q>"),
        ("https://a.b/", "<!channel> *x*", f"<https://a.b/|&lt;!channel&gt; {WJ}*{WJ}x{WJ}*{WJ}>"),
        ("https://a.b/", "", "<https://a.b/|https://a.b/>"),
        ("javascript:alert(1)", "Sales", "Sales"),
        ("https://a.b/|evil", "Sales", "Sales"),
        ("https://a.b/>x", "Sales", "Sales"),
        ("https://a b", "Sales", "Sales"),
        (None, "Sales", "Sales"),
        ("https://a.b/" + "x" * 3000, "Long", "Long"),
    ],
)
def test_link(url: str | None, label: str, expected: str) -> None:
    assert link(url, label) == expected


@pytest.mark.parametrize(
    ("user_id", "expected"),
    [
        ("U123ABC", "<@U123ABC>"),
        ("W0AB12", "<@W0AB12>"),
        ("<!channel>", "`&lt;!channel&gt;`"),
        ("u123", "`u123`"),
        ("", "`\u00a0`"),
    ],
)
def test_user_mention(user_id: str, expected: str) -> None:
    assert user_mention(user_id) == expected


def test_slack_date() -> None:
    assert slack_date(T0) == "<!date^1774947600^{date_short_pretty} {time}|2026-03-31 09:00 UTC>"
    assert slack_date(T0.replace(tzinfo=None)) == slack_date(T0)


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


def make_run(**changes: Any) -> records.RunRecord:
    base = records.RunRecord(
        id="run-7",
        notebook_id="0123456789abcdef0123456789abcdef",
        notebook_name="Sales performance",
        user_id="U0ALICE",
        team_id="T1",
        channel_id="C1",
        status="running",
        created_at=T0,
        inputs={"region": "Europe", "trailing_months": "6"},
        run_id="6f1c2d3e-0000-4000-8000-000000000001",
        notebook_url=NOTEBOOK_URL,
    )
    return replace(base, **changes)


def finished(status: str, **changes: Any) -> records.RunRecord:
    return make_run(
        status=status, started_at=T0, completed_at=T0 + timedelta(seconds=125), **changes
    )


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
    assert summary.startswith(f"{emoji} *<{NOTEBOOK_URL}|Sales performance>* {phrase}")
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


# --- the thread reply ---------------------------------------------------------------------


def showcase_results(select: str | None = None) -> list[records.ResultItem]:
    snapshot = parse_snapshot((SNAPSHOTS / "snapshot-showcase.snapshot.deepnote").read_text())
    return key_results(snapshot, select=select)


def test_result_reply_success_with_snapshot_and_results() -> None:
    msg = run_result_reply(
        finished("success", snapshot_url=SNAPSHOT_URL), results=showcase_results()
    )
    assert_valid_message(msg)
    head = msg.blocks[0]["text"]["text"]
    assert head.startswith(f"✅ *<{NOTEBOOK_URL}|Sales performance>* succeeded in 2 min 5 s.")
    assert "<https://api.deepnote.com/v2/runs/x/snapshot?sig=a&amp;exp=1|" in head
    texts = mrkdwn_texts(msg.blocks)
    table = next(t for t in texts if t.startswith(f"*by{WJ}_{WJ}region*"))
    assert "North America        2137.3          356.2  32.5%" in table
    assert "Europe                 1913          318.8  29.1%" in table
    assert "Showing" not in table
    assert any("Executive readout" in t for t in texts)
    assert any("🖼 *Sales performance*: PNG image" in t for t in texts)
    assert msg.text == "✅ Sales performance succeeded"


def test_result_reply_success_without_snapshot() -> None:
    msg = run_result_reply(finished("success"))
    assert_valid_message(msg)
    assert "Deepnote kept no snapshot for this run." in msg.blocks[0]["text"]["text"]


def test_result_reply_all_showcase_results() -> None:
    msg = run_result_reply(finished("success"), results=showcase_results("all"))
    assert_valid_message(msg)
    assert any("$6,572,100" in t for t in mrkdwn_texts(msg.blocks))


@pytest.mark.parametrize(
    ("status", "error", "failing", "why", "next_step"),
    [
        (
            "error",
            "ZeroDivisionError: division by zero",
            "code block b1 in Dashboard\n\nx = 1 / 0\n\nTraceback (last lines):\n"
            "ZeroDivisionError: division by zero",
            "*Why it failed:* ZeroDivisionError: division by zero",
            "Fix the failing block in Deepnote",
        ),
        (
            "error",
            "Traceback\nline two",
            "b1",
            "*Why it failed*\n```Traceback\nline two```",
            "Fix the failing block",
        ),
        (
            "internal_error",
            None,
            None,
            "*Why it failed:* The run ended with status `internal_error`.",
            "Deepnote's side",
        ),
        (
            "stopped",
            "The run ended with status `stopped`.",
            None,
            "*Why it failed:* The run ended with status `stopped`.",
            "stopped before it finished",
        ),
        (
            "create_failed",
            "Deepnote said: Hardware unable to start",
            None,
            "Hardware unable to start",
            "Nothing ran in Deepnote",
        ),
    ],
)
def test_result_reply_failure(
    status: str, error: str | None, failing: str | None, why: str, next_step: str
) -> None:
    msg = run_result_reply(finished(status, error=error, failing_block=failing))
    assert_valid_message(msg)
    text = all_text(msg)
    assert why in text
    assert "*What next:* " in text
    assert next_step in text
    if failing and "\n" in failing:
        assert "*Failing block*\n```code block b1 in Dashboard" in text
    elif failing:
        assert "*Failing block:* `b1`" in text
    else:
        assert "Failing block" not in text
    assert msg.text.startswith(("❌", "⚠️", "⏹"))


@pytest.mark.parametrize(
    ("error", "url", "reason", "where"),
    [
        (
            "its status could not be read for 30 min",
            NOTEBOOK_URL,
            "because its status could not be read for 30 min.",
            f"<{NOTEBOOK_URL}?secondary-sidebar=runs|the notebook's runs in Deepnote>",
        ),
        (
            None,
            NOTEBOOK_URL + "?a=1",
            "could not be read for too long.",
            "?a=1&amp;secondary-sidebar=runs|",
        ),
        ("<!channel>", None, "because &lt;!channel&gt;.", "check the notebook's runs in Deepnote."),
    ],
)
def test_result_reply_lost(error: str | None, url: str | None, reason: str, where: str) -> None:
    msg = run_result_reply(make_run(status="lost", error=error, notebook_url=url))
    assert_valid_message(msg)
    text = all_text(msg)
    assert "The bot lost track of" in text
    assert reason in text
    assert where in text
    assert "What next" not in text


def test_result_reply_hostile_results() -> None:
    results: list[records.ResultItem] = [
        records.TextResult("b1", HOSTILE, "```\n<!channel> escaped? ```" + "x" * 5000),
        records.BigNumberResult("b2", HOSTILE, HOSTILE, HOSTILE),
        records.TableResult(
            "b3", HOSTILE, (HOSTILE, "n"), ((HOSTILE, "1"), ("&" * 500, "2")), 2, 2
        ),
        records.ImageResult("b4", HOSTILE, "image/png", b"x" * 5000),
        records.ChartResult("b5", HOSTILE, {"mark": "bar"}),
    ]
    msg = run_result_reply(
        finished("success", notebook_name=HOSTILE, error=HOSTILE), results=results
    )
    assert_valid_message(msg)
    for text in mrkdwn_texts(msg.blocks):
        inner = text.split("```")
        assert len(inner) in (1, 3), text


def test_result_reply_caps_blocks() -> None:
    results: list[records.ResultItem] = [
        records.TextResult(f"b{i}", f"t{i}", f"out {i}") for i in range(120)
    ]
    results += [records.BigNumberResult(f"n{i}", f"k{i}", str(i)) for i in range(25)]
    msg = run_result_reply(finished("error", error="E: v", failing_block="b"), results=results)
    assert_valid_message(msg)
    assert len(msg.blocks) == 50
    assert msg.blocks[-1]["type"] == "context"
    assert "more results in the snapshot" in mrkdwn_texts(msg.blocks[-2:-1])[0]
    fields = [b for b in msg.blocks if "fields" in b]
    assert [len(b["fields"]) for b in fields] == [10, 10, 5]


def test_big_numbers_as_fields() -> None:
    results: list[records.ResultItem] = [
        records.BigNumberResult("a", "Revenue", "$6,572,100", "+13.7% vs prior period"),
        records.BigNumberResult("b", "To target", "110%"),
    ]
    msg = run_result_reply(finished("success"), results=results)
    assert_valid_message(msg)
    (fields,) = [b["fields"] for b in msg.blocks if "fields" in b]
    assert [f["text"] for f in fields] == [
        "*Revenue*\n$6,572,100\n_+13.7% vs prior period_",
        "*To target*\n110%",
    ]


@pytest.mark.parametrize(
    ("columns", "rows", "width", "expected"),
    [
        (["name", "n"], [["a", "1"], ["bb", "22"]], 24, "name   n\n────  ──\na      1\nbb    22"),
        (
            ["", "v"],
            [["North", "1.5"], ["S", "10"]],
            24,
            "         v\n─────  ───\nNorth  1.5\nS       10",
        ),
        (["long header"], [["x"]], 6, "long …\n──────\nx"),
        (["a", "b"], [["1"]], 24, "a  b\n─  ─\n1"),
        (["p"], [], 24, "p\n─"),
    ],
)
def test_table_text(columns: list[str], rows: list[list[str]], width: int, expected: str) -> None:
    assert table_text(columns, rows, width) == expected


def test_big_table_fits_one_section() -> None:
    columns = tuple(f"column number {i} with a long name" for i in range(6))
    rows = tuple(tuple("&<>" * 20 for _ in range(6)) for _ in range(10))
    msg = run_result_reply(
        finished("success"), results=[records.TableResult("t", "wide", columns, rows, 5000, 40)]
    )
    assert_valid_message(msg)
    table = next(t for t in mrkdwn_texts(msg.blocks) if t.startswith("*wide*"))
    assert "_Showing" in table
    assert "of 5000 rows" in table
    assert "6 of 40 columns" in table


# --- inputs listing -----------------------------------------------------------------------


def describe(item: NotebookInput) -> str:
    if item.options:
        return "one of " + ", ".join(item.options)
    return "any text" if item.type.startswith("input-text") else item.type


SHOWCASE_NOTEBOOK = Notebook(
    id="0123456789abcdef0123456789abcdef",
    name="Sales performance",
    inputs=(
        NotebookInput("report_title", "input-text", "Q1 2026 Sales Review", "Report title"),
        NotebookInput(
            "region", "input-select", "All regions", "Region", options=("All regions", "Europe")
        ),
        NotebookInput(
            "trailing_months", "input-slider", "6", "Trailing months", min=3, max=12, step=1
        ),
        NotebookInput("show_forecast", "input-checkbox", True, "Show forecast"),
        NotebookInput(
            "period", "input-date-range", ["2026-01-01", "2026-03-31"], "Reporting period"
        ),
        NotebookInput("notes", "input-textarea", 'say "hi"\\now', "notes"),
        NotebookInput("unset", "input-file", None),
    ),
)


def test_inputs_listing() -> None:
    msg = inputs_listing(SHOWCASE_NOTEBOOK, describe=describe)
    assert_valid_message(msg)
    texts = mrkdwn_texts(msg.blocks)
    assert texts[0] == "*Inputs of Sales performance* (`0123456789abcdef0123456789abcdef`)"
    assert (
        texts[2] == "`region` (Region) · input-select\nCurrent: `All regions`\n"
        "Allowed: one of All regions, Europe"
    )
    assert "`unset` · input-file\nCurrent: not set\nAllowed: input-file" in texts
    assert texts[-1] == (
        "*Run it with these values:*\n```/deepnote run 0123456789abcdef0123456789abcdef "
        """report_title="Q1 2026 Sales Review" region="All regions" trailing_months=6 """
        'show_forecast=true period=2026-01-01..2026-03-31 notes="say \\"hi\\"\\\\now"```'
    )
    assert msg.text.startswith("Inputs of Sales performance: report")


def test_example_command_quotes() -> None:
    notebook = Notebook(
        "nb",
        "n",
        inputs=(NotebookInput("a", "input-text", ""), NotebookInput("b", "input-text", "x y")),
    )
    assert example_command(notebook) == '/deepnote run nb a="" b="x y"'


def test_inputs_listing_without_inputs() -> None:
    msg = inputs_listing(Notebook("nb1", "Empty"), describe=describe)
    assert_valid_message(msg)
    assert "This notebook has no inputs." in all_text(msg)
    assert "/deepnote run nb1```" in all_text(msg)


def test_inputs_listing_hostile_and_huge() -> None:
    inputs = tuple(
        NotebookInput(f"in_{i}", "input-select", HOSTILE * 3, HOSTILE, options=(HOSTILE,) * 5)
        for i in range(200)
    )
    msg = inputs_listing(Notebook("nb", HOSTILE, inputs=inputs), describe=describe)
    assert_valid_message(msg)
    assert msg.blocks[-1]["text"]["text"].startswith("*Run it with these values:*")


# --- help and plain replies ---------------------------------------------------------------


COMMANDS = [
    CommandDoc(
        "run",
        "/deepnote run <notebook> [name=value ...]",
        "Start a run & follow it.",
        ("/deepnote run abc region=EU",),
    ),
    CommandDoc("inputs", "/deepnote inputs <notebook>", "List a notebook's inputs.", ()),
]


def test_help_message() -> None:
    msg = help_message(COMMANDS)
    assert_valid_message(msg)
    assert msg.blocks[0]["type"] == "header"
    run = msg.blocks[1]["text"]["text"]
    assert run.splitlines() == [
        "*run*: Start a run &amp; follow it.",
        "Usage: `/deepnote run &lt;notebook&gt; [name=value ...]`",
        "Examples:",
        "• `/deepnote run abc region=EU`",
    ]
    assert "Examples" not in msg.blocks[2]["text"]["text"]
    assert msg.text == "Deepnote bot commands: run, inputs"


def test_help_message_many_commands() -> None:
    many = [
        CommandDoc(f"c{i}", f"/deepnote c{i} " + "<x> " * 200, "s" * 5000, ("e",) * 50)
        for i in range(80)
    ]
    assert_valid_message(help_message(many))


@pytest.mark.parametrize(
    ("message", "first"),
    [
        ("Unknown notebook `abc`.", ":warning: Unknown notebook `abc`."),
        ("  spaced  ", ":warning: spaced"),
        ("x" * 10_000, ":warning: " + "x" * 2989 + "…"),
    ],
)
def test_error_reply(message: str, first: str) -> None:
    msg = error_reply(message)
    assert_valid_message(msg)
    assert msg.blocks[0]["text"]["text"] == first
    assert msg.text.startswith(":warning:")


def test_error_reply_many_lines() -> None:
    msg = error_reply("\n".join(f"problem {i}: " + "y" * 100 for i in range(2000)))
    assert_valid_message(msg)
    assert len(msg.blocks) == 50


@pytest.mark.parametrize(
    ("text", "expected"), [("Scheduled.", "Scheduled."), ("", "Done."), ("  ", "Done.")]
)
def test_info_reply(text: str, expected: str) -> None:
    msg = info_reply(text)
    assert_valid_message(msg)
    assert msg.blocks[0]["text"]["text"] == expected
    assert msg.text == expected
