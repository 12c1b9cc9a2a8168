"""Parsing snapshots: the real reference files, and what is missing or malformed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.deepnote.snapshot import (
    Snapshot,
    parse_snapshot,
)
from tests.bot.deepnote.snapshot.support import (
    BLOCKS,
    HELLO,
    SHOWCASE,
    load,
    snapshot_of,
)

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
