"""Reading snapshots: the real reference files, failure reasons, and key results."""

from __future__ import annotations

import base64
import doctest
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.deepnote.snapshot import (
    FailingBlock,
    Snapshot,
    failure_reason,
    html_to_text,
    key_results,
    parse_snapshot,
    strip_ansi,
    unmatched_selectors,
)
from bot.deepnote.snapshot import failure as snapshot_failure
from bot.deepnote.snapshot import parse as snapshot_parse
from bot.deepnote.snapshot import results as snapshot_results
from storage.records import BigNumberResult, ChartResult, ImageResult, TableResult, TextResult
from tests.conftest import DATA

SNAPSHOTS = DATA / "deepnote" / "snapshots"
SHOWCASE = "snapshot-showcase.snapshot.deepnote"
HELLO = "hello-world_18aaab73-3599-4bb5-b2ab-c05ac09f597d_latest.snapshot.deepnote"
BLOCKS = "deepnote-blocks_d025b1dd-0ea7-49e8-8229-b571dd98d430_latest.snapshot.deepnote"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def load(name: str) -> Snapshot:
    snapshot = parse_snapshot((SNAPSHOTS / name).read_text(encoding="utf-8"))
    assert snapshot is not None
    return snapshot


def raw(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((SNAPSHOTS / name).read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def snapshot_of(*blocks: dict[str, Any], execution: dict[str, Any] | None = None) -> Snapshot:
    """A snapshot built from block dicts, through YAML like a real one."""
    doc: dict[str, Any] = {
        "version": "1.0.0",
        "project": {
            "id": "p1",
            "name": "P",
            "notebooks": [{"id": "n1", "name": "NB", "blocks": list(blocks)}],
        },
    }
    if execution is not None:
        doc["execution"] = execution
    parsed = parse_snapshot(yaml.safe_dump(doc, allow_unicode=True))
    assert parsed is not None
    return parsed


def test_doctests() -> None:
    for module in (snapshot_parse, snapshot_failure, snapshot_results):
        assert doctest.testmod(module).failed == 0


# --- parsing the real files ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "project", "blocks", "notebooks", "started", "finished"),
    [
        (
            HELLO,
            "Hello world",
            1,
            {"1. Hello World - example"},
            datetime(2026, 1, 14, 13, 54, 10, 175000, tzinfo=UTC),
            datetime(2026, 1, 14, 13, 54, 10, 191000, tzinfo=UTC),
        ),
        (
            BLOCKS,
            "Deepnote blocks",
            16,
            {"1. Text blocks", "2. Input blocks"},
            datetime(2026, 1, 14, 13, 55, 41, 519000, tzinfo=UTC),
            datetime(2026, 1, 14, 13, 55, 41, 542000, tzinfo=UTC),
        ),
        (
            SHOWCASE,
            "Sales performance",
            17,
            {"Dashboard"},
            datetime(2026, 3, 31, 9, 0, 0, tzinfo=UTC),
            datetime(2026, 3, 31, 9, 0, 5, tzinfo=UTC),
        ),
    ],
)
def test_parse_reference_snapshots(
    name: str, project: str, blocks: int, notebooks: set[str], started: datetime, finished: datetime
) -> None:
    snapshot = load(name)
    assert snapshot.project_name == project
    assert len(snapshot.blocks) == blocks
    assert {b.notebook_name for b in snapshot.blocks} == notebooks
    assert snapshot.execution is not None
    assert snapshot.execution.started_at == started
    assert snapshot.execution.finished_at == finished
    assert all(b.error_output is None for b in snapshot.blocks)


def test_parse_keeps_execution_summary() -> None:
    execution = load(HELLO).execution
    assert execution is not None
    assert execution.triggered_by == "user"
    assert execution.summary is not None
    assert (execution.summary.blocks_executed, execution.summary.total_duration_ms) == (1, 16)
    assert execution.error is None


@pytest.mark.parametrize(
    ("block_id", "type_", "name", "label"),
    [
        ("b0000000000000000000000000000003", "input-text", "report_title", "Report title"),
        ("b0000000000000000000000000000009", "input-date-range", "period", "Reporting period"),
        ("b000000000000000000000000000000d", "code", None, None),
        ("c00000000000000000000000000a0002", "agent", None, None),
    ],
)
def test_parse_block_names_and_labels(
    block_id: str, type_: str, name: str | None, label: str | None
) -> None:
    block = load(SHOWCASE).block(block_id)
    assert block is not None
    assert (block.type, block.name, block.label) == (type_, name, label)


def test_parse_stream_output_of_hello_world() -> None:
    (block,) = load(HELLO).blocks
    assert block.content == 'print("Hello world!")'
    (output,) = block.outputs
    assert (output.output_type, output.name, output.text) == ("stream", "stdout", "Hello world!\n")


@pytest.mark.parametrize(
    "text",
    [
        "{{{ not yaml",
        "key: [unclosed",
        "",
        "just a string",
        "- a\n- list",
        "42",
        "\t\x00binary",
    ],
)
def test_parse_unreadable_is_none(text: str) -> None:
    assert parse_snapshot(text) is None


@pytest.mark.parametrize(
    ("text", "blocks"),
    [
        ("{}", 0),
        ("project: 7", 0),
        ("project: {notebooks: nope}", 0),
        ("project: {notebooks: [7, {blocks: [1, {type: code}, {id: x}]}]}", 1),
        ("project: {notebooks: [{blocks: [{id: x, outputs: [3, {output_type: stream}]}]}]}", 1),
    ],
)
def test_parse_tolerates_missing_pieces(text: str, blocks: int) -> None:
    snapshot = parse_snapshot(text)
    assert snapshot is not None
    assert len(snapshot.blocks) == blocks
    assert snapshot.execution is None


def test_parse_joins_list_text_and_reads_string_times() -> None:
    snapshot = snapshot_of(
        {
            "id": "a",
            "type": "code",
            "outputs": [{"output_type": "stream", "name": "stdout", "text": ["x\n", "y\n"]}],
        },
        execution={
            "startedAt": "2026-01-01T00:00:00Z",
            "finishedAt": "garbage",
            "summary": {"blocksFailed": "2"},
        },
    )
    assert snapshot.blocks[0].outputs[0].text == "x\ny\n"
    assert snapshot.execution is not None
    assert snapshot.execution.started_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert snapshot.execution.finished_at is None
    assert snapshot.execution.summary is not None
    assert snapshot.execution.summary.blocks_failed == 2


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_parse_never_raises(text: str) -> None:
    result = parse_snapshot(text)
    assert result is None or isinstance(result, Snapshot)


# --- why a run failed ---------------------------------------------------------------------

TRACEBACK = (
    "\x1b[0;31m---------------------------------------------------------------------------\x1b[0m",
    "\x1b[0;31mZeroDivisionError\x1b[0m                         Traceback (most recent call last)",
    "Cell \x1b[0;32mIn[3], line 30\x1b[0m\n\x1b[1;32m     29\x1b[0m y \x1b[38;5;241m=\x1b[39m 2\n"
    "\x1b[0;32m---> 30\x1b[0m x \x1b[38;5;241m=\x1b[39m "
    "\x1b[38;5;241m1\x1b[39m \x1b[38;5;241m/\x1b[39m 0",
    "\x1b[0;31mZeroDivisionError\x1b[0m: division by zero",
)
LONG_CODE = "\n".join(
    [f"line_{n} = {n}" for n in range(1, 30)]
    + ["x = 1 / 0"]
    + [f"after_{n} = 0" for n in range(10)]
)


def failing_snapshot() -> Snapshot:
    doc = raw(SHOWCASE)
    blocks = doc["project"]["notebooks"][0]["blocks"]
    target = next(b for b in blocks if b["id"] == "b000000000000000000000000000000d")
    target["content"] = LONG_CODE
    target["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": "partial\n"},
        {
            "output_type": "error",
            "ename": "ZeroDivisionError",
            "evalue": "division by zero",
            "traceback": list(TRACEBACK),
        },
    ]
    later = next(b for b in blocks if b["id"] == "b000000000000000000000000000000e")
    later["outputs"] = [
        {"output_type": "error", "ename": "NameError", "evalue": "x", "traceback": []}
    ]
    parsed = parse_snapshot(yaml.safe_dump(doc, allow_unicode=True))
    assert parsed is not None
    return parsed


@pytest.mark.parametrize(
    ("run_error", "use_snapshot", "status", "reason", "failing_id"),
    [
        (
            "Hardware unable to start",
            True,
            "error",
            "Hardware unable to start",
            "b000000000000000000000000000000d",
        ),
        ("  Out of memory \n", False, "error", "Out of memory", None),
        (
            None,
            True,
            "error",
            "ZeroDivisionError: division by zero",
            "b000000000000000000000000000000d",
        ),
        (
            "   ",
            True,
            "error",
            "ZeroDivisionError: division by zero",
            "b000000000000000000000000000000d",
        ),
        (None, False, "internal_error", "The run ended with status `internal_error`.", None),
        (None, False, "stopped", "The run ended with status `stopped`.", None),
        ("", False, "error", "The run ended with status `error`.", None),
        (None, False, "we`ird", "The run ended with status `we'ird`.", None),
    ],
)
def test_failure_reason(
    run_error: str | None, use_snapshot: bool, status: str, reason: str, failing_id: str | None
) -> None:
    snapshot = failing_snapshot() if use_snapshot else load(HELLO)
    got, failing = failure_reason(run_error, snapshot, status)
    assert got == reason
    assert (failing.block_id if failing else None) == failing_id


def test_failure_reason_without_snapshot() -> None:
    assert failure_reason(None, None, "error") == ("The run ended with status `error`.", None)


def test_failing_block_excerpt_and_traceback() -> None:
    _, failing = failure_reason(None, failing_snapshot(), "error")
    assert isinstance(failing, FailingBlock)
    assert (failing.block_type, failing.ename, failing.evalue) == (
        "code",
        "ZeroDivisionError",
        "division by zero",
    )
    code_lines = [line for line in failing.excerpt.splitlines() if not line.startswith("…")]
    assert len(code_lines) == 15
    assert "x = 1 / 0" in code_lines
    assert failing.excerpt.startswith("… (")
    assert failing.excerpt.endswith("more lines)")
    assert len(failing.traceback) <= 10
    assert failing.traceback[-1] == "ZeroDivisionError: division by zero"
    assert not any("\x1b" in line for line in failing.traceback)
    text = failing.describe()
    assert text.startswith("code block b000000000000000000000000000000d in Dashboard")
    assert "Traceback (last lines):" in text


@pytest.mark.parametrize(
    ("content", "traceback", "expected"),
    [
        ("a = 1\nb = 2", (), "a = 1\nb = 2"),
        (
            "\n".join(f"l{n}" for n in range(20)),
            (),
            "\n".join([*(f"l{n}" for n in range(15)), "… (5 more lines)"]),
        ),
        (
            "\n".join(f"l{n}" for n in range(40)),
            ("---> 40 l39",),
            "\n".join(["… (25 lines above)", *(f"l{n}" for n in range(25, 40))]),
        ),
    ],
)
def test_failing_block_excerpt_window(
    content: str, traceback: tuple[str, ...], expected: str
) -> None:
    snapshot = snapshot_of(
        {
            "id": "a",
            "type": "code",
            "content": content,
            "outputs": [
                {"output_type": "error", "ename": "E", "evalue": "v", "traceback": list(traceback)}
            ],
        }
    )
    _, failing = failure_reason(None, snapshot, "error")
    assert failing is not None
    assert failing.excerpt == expected


def test_error_output_without_evalue() -> None:
    snapshot = snapshot_of(
        {
            "id": "a",
            "type": "code",
            "outputs": [{"output_type": "error", "ename": "KeyboardInterrupt"}],
        }
    )
    assert failure_reason(None, snapshot, "stopped")[0] == "KeyboardInterrupt"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\x1b[0;31mError\x1b[0m", "Error"),
        ("\x1b[38;5;241m=\x1b[39m", "="),
        ("plain", "plain"),
        ("\x1b]8;;http://x\x07link\x1b]8;;\x07", "link"),
        ("\x1b[1;32m---> 3\x1b[0m", "---> 3"),
    ],
)
def test_strip_ansi(text: str, expected: str) -> None:
    assert strip_ansi(text) == expected


# --- key results --------------------------------------------------------------------------


def kinds(results: list[Any]) -> list[tuple[str, str]]:
    return [(type(r).__name__, r.block_id) for r in results]


def test_showcase_default_results() -> None:
    results = key_results(load(SHOWCASE))
    assert kinds(results) == [
        ("TableResult", "b000000000000000000000000000000d"),
        ("ImageResult", "b000000000000000000000000000000e"),
        ("TextResult", "c00000000000000000000000000a0002"),
    ]
    table, image, text = results
    assert isinstance(table, TableResult)
    assert table.title == "by_region"
    assert table.columns == ("", "Revenue ($k)", "Avg / mo ($k)", "Share")
    assert table.rows[0] == ("North America", "2137.3", "356.2", "32.5%")
    assert table.rows[1] == ("Europe", "1913", "318.8", "29.1%")
    assert (table.total_rows, table.total_columns, len(table.rows)) == (4, 3, 4)
    assert isinstance(image, ImageResult)
    assert image.mime == "image/png"
    assert image.data.startswith(PNG_SIGNATURE)
    assert isinstance(text, TextResult)
    assert text.title == "Agentic analysis"
    assert text.text.startswith("Executive readout — Q1 2026 Sales Review")


@pytest.mark.parametrize(
    ("name", "select", "expected"),
    [
        (SHOWCASE, "none", []),
        (SHOWCASE, "NONE", []),
        (
            SHOWCASE,
            "all",
            [
                ("TextResult", "b000000000000000000000000000000b"),
                ("TextResult", "b000000000000000000000000000000c"),
                ("TableResult", "b000000000000000000000000000000d"),
                ("ImageResult", "b000000000000000000000000000000e"),
                ("TextResult", "b000000000000000000000000000000f"),
                ("TextResult", "c00000000000000000000000000a0002"),
            ],
        ),
        (SHOWCASE, "by_region", [("TableResult", "b000000000000000000000000000000d")]),
        (SHOWCASE, "BY_REGION", [("TableResult", "b000000000000000000000000000000d")]),
        (
            SHOWCASE,
            "agentic analysis, b000000000000000000000000000000e",
            [
                ("TextResult", "c00000000000000000000000000a0002"),
                ("ImageResult", "b000000000000000000000000000000e"),
            ],
        ),
        (SHOWCASE, "by_region,by_region", [("TableResult", "b000000000000000000000000000000d")]),
        (SHOWCASE, "no_such_thing", []),
        (SHOWCASE, " , ", []),
        (HELLO, None, [("TextResult", "15bc86a3d6684d3aa0eaad3b0c42a1eb")]),
        (
            HELLO,
            "15bc86a3d6684d3aa0eaad3b0c42a1eb",
            [("TextResult", "15bc86a3d6684d3aa0eaad3b0c42a1eb")],
        ),
        (BLOCKS, None, [("TextResult", "e9657f13e6d0bdf2dd54ef8363abf406")]),
        (
            BLOCKS,
            "This is a markdown heading",
            [("TextResult", "2665e1a332df6436b0ce30d662bfe1f1")],
        ),
    ],
)
def test_key_results_selection(
    name: str, select: str | None, expected: list[tuple[str, str]]
) -> None:
    assert kinds(key_results(load(name), select=select)) == expected


def test_key_results_of_nothing() -> None:
    assert key_results(None) == []
    assert key_results(Snapshot()) == []


def test_key_results_for_one_notebook() -> None:
    snapshot = load(BLOCKS)
    first = key_results(snapshot, select="all", notebook_id="921d82a6-7cb1-4fc6-a061-810ce23f803d")
    assert kinds(first) == [("TextResult", "2665e1a332df6436b0ce30d662bfe1f1")]
    unknown = key_results(snapshot, select="all", notebook_id="not-there")
    assert len(unknown) == 8


def test_titles_do_not_leak_across_notebooks() -> None:
    results = key_results(load(BLOCKS), select="all")
    assert results[0].title == "This is a markdown heading"
    assert {r.title for r in results[1:]} == {"2. Input blocks"}


@pytest.mark.parametrize(
    ("select", "expected"),
    [
        ("by_region, nope ,Agentic analysis,  other", ["nope", "other"]),
        ("all", []),
        ("none", []),
        ("", []),
    ],
)
def test_unmatched_selectors(select: str, expected: list[str]) -> None:
    assert unmatched_selectors(load(SHOWCASE), select) == expected


def big_number(meta: dict[str, Any], plain_text: str | None) -> dict[str, Any]:
    outputs = (
        []
        if plain_text is None
        else [{"output_type": "execute_result", "data": {"text/plain": plain_text}}]
    )
    return {"id": "bn", "type": "big-number", "content": "", "metadata": meta, "outputs": outputs}


@pytest.mark.parametrize(
    ("meta", "plain_text", "expected"),
    [
        (
            {"deepnote_big_number_title": "Revenue", "deepnote_big_number_value": "rev"},
            '{"title": "Revenue", "value": "6572100"}',
            BigNumberResult("bn", "Revenue", "6572100", None),
        ),
        (
            {
                "deepnote_big_number_title": "Sales for {{ year }}",
                "deepnote_big_number_comparison_enabled": True,
                "deepnote_big_number_comparison_type": "percentage-change",
                "deepnote_big_number_comparison_title": "vs a",
            },
            json.dumps(
                {
                    "comparisonTitle": "vs a",
                    "comparisonValue": "10",
                    "title": "Sales for 2026",
                    "value": "30",
                }
            ),
            BigNumberResult("bn", "Sales for 2026", "30", "+200% vs a"),
        ),
        (
            {
                "deepnote_big_number_comparison_type": "absolute-change",
                "deepnote_big_number_comparison_enabled": True,
            },
            json.dumps(
                {
                    "comparisonTitle": "vs last month",
                    "comparisonValue": "1,000",
                    "title": "Orders",
                    "value": "1,250",
                }
            ),
            BigNumberResult("bn", "Orders", "1,250", "+250 vs last month"),
        ),
        (
            {"deepnote_big_number_comparison_type": "absolute-change"},
            '{"comparisonTitle": "", "comparisonValue": "12.5", "title": "T", "value": "10"}',
            BigNumberResult("bn", "T", "10", "-2.5"),
        ),
        (
            {
                "deepnote_big_number_comparison_type": "absolute-value",
                "deepnote_big_number_comparison_enabled": True,
            },
            '{"comparisonTitle": "target", "comparisonValue": "40", "title": "T", "value": "30"}',
            BigNumberResult("bn", "T", "30", "target: 40"),
        ),
        (
            {
                "deepnote_big_number_comparison_type": "percentage-change",
                "deepnote_big_number_comparison_enabled": False,
            },
            '{"comparisonTitle": "vs a", "comparisonValue": "10", "title": "Off", "value": "30"}',
            BigNumberResult("bn", "Off", "30", None),
        ),
        (
            {"deepnote_big_number_comparison_type": "percentage-change"},
            '{"comparisonTitle": "vs zero", "comparisonValue": "0", "title": "Z", "value": "5"}',
            BigNumberResult("bn", "Z", "5", "vs zero: 0"),
        ),
        (
            {"deepnote_big_number_title": "Plain"},
            "1234",
            BigNumberResult("bn", "Plain", "1234", None),
        ),
        (
            {"deepnote_big_number_title": "Broken"},
            "{not json",
            BigNumberResult("bn", "Broken", "{not json", None),
        ),
    ],
)
def test_big_numbers(meta: dict[str, Any], plain_text: str, expected: BigNumberResult) -> None:
    assert key_results(snapshot_of(big_number(meta, plain_text))) == [expected]


def test_big_number_without_output_is_skipped() -> None:
    assert key_results(snapshot_of(big_number({"deepnote_big_number_title": "x"}, None))) == []


def dataframe(
    columns: list[str], rows: list[dict[str, Any]], row_count: int | None = None
) -> dict[str, Any]:
    frame: dict[str, Any] = {
        "column_count": len([c for c in columns if c != "_deepnote_index_column"]),
        "columns": [{"name": c, "dtype": "object"} for c in columns],
        "rows": rows,
        "type": "dataframe",
    }
    if row_count is not None:
        frame["row_count"] = row_count
    return {
        "id": "df",
        "type": "sql",
        "content": "select 1",
        "metadata": {"deepnote_variable_name": "orders"},
        "outputs": [
            {
                "output_type": "execute_result",
                "data": {
                    "application/vnd.deepnote.dataframe.v3+json": frame,
                    "text/plain": "ignored",
                },
            }
        ],
    }


def test_dataframe_limits_rows_and_columns_and_skips_range_index() -> None:
    columns = [f"c{i}" for i in range(9)] + ["_deepnote_index_column"]
    rows = [{**{f"c{i}": i * r for i in range(9)}, "_deepnote_index_column": r} for r in range(25)]
    (table,) = key_results(snapshot_of(dataframe(columns, rows, row_count=1000)))
    assert isinstance(table, TableResult)
    assert table.title == "orders"
    assert table.columns == ("c0", "c1", "c2", "c3", "c4", "c5")
    assert len(table.rows) == 10
    assert table.rows[3] == ("0", "3", "6", "9", "12", "15")
    assert (table.total_rows, table.total_columns) == (1000, 9)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        (True, "true"),
        (3.0, "3"),
        (2.5, "2.5"),
        ({"a": 1}, '{"a": 1}'),
        ("multi\nline   text", "multi line text"),
        ("x" * 500, "x" * 99 + "…"),
    ],
)
def test_dataframe_cells(value: Any, cell: str) -> None:
    (table,) = key_results(snapshot_of(dataframe(["v"], [{"v": value}])))
    assert isinstance(table, TableResult)
    assert table.rows == ((cell,),)
    assert table.total_rows == 1


def test_chart_and_other_mimes() -> None:
    spec = {"$schema": "https://vega.github.io/schema/vega/v5.json", "marks": []}
    snapshot = snapshot_of(
        {
            "id": "v",
            "type": "visualization",
            "metadata": {"deepnote_variable_name": "sales"},
            "outputs": [
                {"output_type": "display_data", "data": {"application/vnd.vega.v5+json": spec}}
            ],
        },
        {
            "id": "j",
            "type": "code",
            "content": "chart",
            "outputs": [
                {
                    "output_type": "display_data",
                    "data": {"application/vnd.vega.v5+json": json.dumps(spec)},
                }
            ],
        },
        {
            "id": "s",
            "type": "code",
            "outputs": [{"output_type": "display_data", "data": {"image/svg+xml": "<svg/>"}}],
        },
        {
            "id": "bad",
            "type": "code",
            "outputs": [
                {
                    "output_type": "display_data",
                    "data": {
                        "image/png": "!!!not base64",
                        "text/plain": "<Figure size 640x480 with 1 Axes>",
                    },
                }
            ],
        },
        {
            "id": "m",
            "type": "code",
            "outputs": [
                {
                    "output_type": "execute_result",
                    "data": {"text/markdown": "**hi**", "text/plain": "x"},
                }
            ],
        },
        {
            "id": "e",
            "type": "code",
            "outputs": [{"output_type": "stream", "name": "stderr", "text": "warning"}],
        },
        {
            "id": "i",
            "type": "input-text",
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "no"}],
        },
    )
    assert key_results(snapshot, select="all") == [
        ChartResult("v", "sales", spec),
        ChartResult("j", "chart", spec),
        ImageResult("s", "NB", "image/svg+xml", b"<svg/>"),
        TextResult("bad", "NB", "<Figure size 640x480 with 1 Axes>"),
        TextResult("m", "NB", "**hi**"),
    ]


def test_png_from_base64() -> None:
    png = PNG_SIGNATURE + b"rest"
    snapshot = snapshot_of(
        {
            "id": "p",
            "type": "code",
            "outputs": [
                {
                    "output_type": "display_data",
                    "data": {"image/png": base64.b64encode(png).decode()},
                }
            ],
        }
    )
    assert key_results(snapshot) == [ImageResult("p", "NB", "image/png", png)]


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<div><b>Revenue</b></div><div>$6,572,100</div>", "Revenue\n$6,572,100"),
        ("<style>.x{color:red}</style><p>a &amp; b</p>", "a & b"),
        ("<table><tr><th>k</th><td>v</td></tr></table>", "k v"),
        ("<script>alert(1)</script>", ""),
        ("", ""),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_showcase_html_becomes_text() -> None:
    (kpis,) = key_results(load(SHOWCASE), select="b000000000000000000000000000000c")
    assert isinstance(kpis, TextResult)
    assert kpis.text.splitlines()[:3] == ["Revenue · 6 mo", "$6,572,100", "▲ 13.7% vs prior period"]
