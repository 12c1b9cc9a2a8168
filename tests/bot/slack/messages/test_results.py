"""The thread reply when a run ends: key results, failure reasons, tables."""

from __future__ import annotations

import json

import pytest

from bot.deepnote.snapshot import key_results, parse_snapshot
from bot.slack.messages.results import run_result_reply, table_text
from storage import records
from tests.bot.slack.checks import (
    HOSTILE,
    NOTEBOOK_URL,
    SNAPSHOT_URL,
    SNAPSHOTS,
    WJ,
    all_text,
    assert_valid_message,
    finished,
    make_run,
    mrkdwn_texts,
)

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
    # In the card's thread: the card's button links the notebook, the reply does not again.
    assert head.startswith("✅ *Sales performance* succeeded in 2 min 5 s.")
    assert NOTEBOOK_URL not in json.dumps(msg.blocks)
    assert "<https://api.deepnote.com/v2/runs/x/snapshot?sig=a&amp;exp=1|" in head
    texts = mrkdwn_texts(msg.blocks)
    table = next(t for t in texts if t.startswith(f"*by{WJ}_{WJ}region*"))
    assert "North America       2,137.3          356.2  32.5%" in table
    assert "Europe              1,913.0          318.8  29.1%" in table
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
            "“x = 1 / 0” (code block b1 in Dashboard)\n\nx = 1 / 0\n\nTraceback (last lines):\n"
            "ZeroDivisionError: division by zero",
            "*Why it failed:* ZeroDivisionError: division by zero",
            "Fix the failing block (above) in Deepnote",
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
        assert "*Failing block:* “x = 1 / 0” (code block b1 in Dashboard)\n```x = 1 / 0\n" in text
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


def test_failure_without_a_known_block_says_where_to_find_it() -> None:
    text = all_text(run_result_reply(finished("error", error="ValueError: bad")))
    assert "Failing block" not in text
    assert "Fix the failing block (above)" not in text
    assert "*What next:* Open the run in Deepnote to find the block that failed" in text


def test_failing_block_name_is_escaped() -> None:
    hostile = "“<!channel> *x* <https://evil|y>” (code block b1 in <@U1>)\n\nprint(1)"
    msg = run_result_reply(finished("error", error="E: x", failing_block=hostile))
    assert_valid_message(msg)
    (line,) = [t for t in mrkdwn_texts(msg.blocks) if t.startswith("*Failing block:*")]
    head = line.splitlines()[0]
    assert "<" not in head
    assert "&lt;!channel&gt;" in head
    assert "&lt;@U1&gt;" in head
