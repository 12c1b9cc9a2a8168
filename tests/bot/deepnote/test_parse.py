"""The lenient parser of Deepnote's answers (bot/deepnote/parse.py), as table tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.deepnote import parse
from bot.errors import DeepnoteUnavailable

T0 = datetime(2026, 1, 14, 13, 54, 10, 191000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"run": {"runId": "r1", "status": "running"}}, {"run_id": "r1", "status": "running"}),
        ({"id": "r2", "status": "success"}, {"run_id": "r2"}),
        ({"run": {"id": "r3", "status": "error", "error": "boom"}}, {"error": "boom"}),
        ({"runId": "r", "status": "error", "error": {"message": "boom"}}, {"error": "boom"}),
        (
            {"runId": "r", "status": "error", "error": {"name": "KeyError", "message": "'x'"}},
            {"error": "KeyError: 'x'"},
        ),
        ({"runId": "r", "status": "error", "error": None}, {"error": None}),
        ({"runId": "r", "status": "error", "error": ""}, {"error": None}),
        (
            {"runId": "r", "status": "success", "completedAt": "2026-01-14T13:54:10.191Z"},
            {"completed_at": T0},
        ),
        (
            {"runId": "r", "status": "success", "createdAt": "2026-01-14T14:54:10.191+01:00"},
            {"created_at": T0},
        ),
        (
            {"runId": "r", "status": "pending", "createdAt": "2026-01-14T13:54:10.191"},
            {"created_at": T0},
        ),
        ({"runId": "r", "status": "pending", "createdAt": 1768398850191}, {"created_at": T0}),
        ({"runId": "r", "status": "pending", "completedAt": None}, {"completed_at": None}),
        (
            {"runId": "r", "status": "success", "snapshotDownloadUrl": "https://s3/x"},
            {"snapshot_url": "https://s3/x", "snapshot_content": None},
        ),
        (
            {"runId": "r", "status": "success", "snapshotContent": "a: 1"},
            {"snapshot_content": "a: 1"},
        ),
        (
            {"runId": "r", "status": "success", "snapshot": {"downloadUrl": "https://s3/y"}},
            {"snapshot_url": "https://s3/y"},
        ),
        (
            {"runId": "r", "status": "success", "snapshot": {"snapshotContent": "b: 2"}},
            {"snapshot_content": "b: 2"},
        ),
        (
            {"runId": "r", "status": "queued", "brandNewField": {"x": [1]}, "notebookId": "nb"},
            {"status": "queued", "notebook_id": "nb"},
        ),
    ],
)
def test_parse_run_is_lenient(payload: Any, expected: dict[str, Any]) -> None:
    run = parse.parse_run(payload)

    assert {k: getattr(run, k) for k in expected} == expected


@pytest.mark.parametrize(
    "payload",
    [
        {"runId": "r1", "status": "pending", "createdAt": "2026-01-14T13:54:10.191Z"},
        {"run": {"id": "r1", "status": "pending", "createdAt": "2026-01-14T13:54:10.191Z"}},
        {"id": "r1", "createdAt": "2026-01-14T13:54:10.191Z", "extra": True},
    ],
)
def test_parse_run_created_accepts_both_shapes(payload: Any) -> None:
    created = parse.parse_run_created(payload)

    assert (created.run_id, created.status, created.created_at) == ("r1", "pending", T0)


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        ([], "should be a JSON object"),
        ({"status": "success"}, "has no 'runId' or 'id'"),
        ({"runId": "r"}, "has no 'status'"),
        ({"runId": ["r"], "status": "success"}, "'runId' should be a string"),
        ({"runId": "r", "status": "success", "createdAt": "yesterday"}, "is not a timestamp"),
        ({"runId": "r", "status": "success", "snapshot": 3}, "'snapshot' should be an object"),
        ({"run": "r"}, "has no 'runId' or 'id'"),
    ],
)
def test_parse_run_rejects_bad_shapes(payload: Any, detail: str) -> None:
    with pytest.raises(DeepnoteUnavailable) as caught:
        parse.parse_run(payload)

    assert caught.value.message.startswith("Deepnote sent an answer the bot could not read: ")
    assert detail in caught.value.message


def test_parse_notebook_reads_inputs_with_and_without_extras() -> None:
    notebook = parse.parse_notebook(
        {
            "notebook": {
                "name": "N",
                "projectId": "p",
                "blocks": [{"id": "b1", "type": "code", "content": "x"}, {"type": "orphan"}],
                "inputs": [
                    {
                        "name": "region",
                        "type": "input-select",
                        "value": "EU",
                        "options": ["EU", "US"],
                    },
                    {
                        "name": "n",
                        "type": "input-slider",
                        "value": 7,
                        "min": "1",
                        "max": 10,
                        "step": 0.5,
                        "blockId": "b2",
                    },
                    {
                        "name": "tags",
                        "type": "input-select",
                        "value": ["a"],
                        "options": [{"value": "a", "label": "A"}, {"value": "b"}],
                        "allowMultipleValues": True,
                    },
                    {
                        "variableName": "old",
                        "type": "input-slider",
                        "metadata": {
                            "deepnote_input_label": "Old style",
                            "deepnote_variable_value": "3",
                            "deepnote_slider_min_value": 0,
                            "deepnote_slider_max_value": 5,
                        },
                    },
                    {"name": "f", "type": "input-file", "allowedFileExtensions": [".csv", ".tsv"]},
                    {"name": "unknown", "type": "input-colour", "value": "red", "shade": 3},
                ],
            }
        },
        notebook_id="nb1",
    )

    assert (notebook.id, notebook.name, notebook.project_id) == ("nb1", "N", "p")
    assert [b.id for b in notebook.blocks] == ["b1"]
    region, n, tags, old, f, unknown = notebook.inputs
    assert region.options == ("EU", "US")
    assert not region.multiple
    assert region.min is None
    assert (n.value, n.min, n.max, n.step, n.block_id) == ("7", 1.0, 10.0, 0.5, "b2")
    assert tags.multiple
    assert tags.options == ("a", "b")
    assert (old.name, old.label, old.value, old.min, old.max) == ("old", "Old style", "3", 0, 5)
    assert f.allowed_extensions == ".csv,.tsv"
    assert (unknown.type, unknown.value) == ("input-colour", "red")


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        ({"notebook": {"id": "n", "inputs": {"a": 1}}}, "'inputs' should be a list"),
        ({"notebook": {"id": "n", "inputs": [{"type": "input-text"}]}}, "an input has no 'name'"),
        ({"notebook": {"id": "n", "inputs": [{"name": "a"}]}}, "input 'a' has no 'type'"),
        ({"notebook": {"id": "n", "inputs": ["a"]}}, "an input should be a JSON object"),
        (
            {
                "notebook": {
                    "id": "n",
                    "inputs": [{"name": "a", "type": "input-slider", "min": "lo"}],
                }
            },
            "'min' should be a number",
        ),
        ({"notebook": {"id": "n", "blocks": "b"}}, "'blocks' should be a list"),
        ("<html>", "should be a JSON object"),
    ],
)
def test_parse_notebook_rejects_bad_shapes(payload: Any, detail: str) -> None:
    with pytest.raises(DeepnoteUnavailable, match="could not read") as caught:
        parse.parse_notebook(payload)

    assert detail in caught.value.message


@pytest.mark.parametrize(
    ("payload", "ids", "token"),
    [
        ({"runs": [], "pagination": {"nextPageToken": None, "hasMore": False}}, [], None),
        (
            {"runs": [{"runId": "a", "status": "success"}], "pagination": {"nextPageToken": "t"}},
            ["a"],
            "t",
        ),
        ({"runs": [{"id": "b", "status": "error"}], "nextPageToken": "u"}, ["b"], "u"),
        ({"runs": [], "pagination": {"nextPageToken": "v", "hasMore": False}}, [], None),
    ],
)
def test_parse_runs_page(payload: Any, ids: list[str], token: str | None) -> None:
    runs, next_token = parse.parse_runs_page(payload)

    assert ([r.run_id for r in runs], next_token) == (ids, token)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"message": "Notebook not found"}', "Notebook not found"),
        (b'{"error": "Bad thing"}', "Bad thing"),
        (b'{"error": {"message": "Nested"}}', "Nested"),
        (b'{"message": ""}', None),
        (b"<html>502</html>", None),
        (b'["x"]', None),
        (b"\xff\xfe", None),
    ],
)
def test_parse_error_message(body: bytes, message: str | None) -> None:
    assert parse.parse_error_message(body) == message


def test_read_json_rejects_non_json() -> None:
    with pytest.raises(DeepnoteUnavailable, match="the body is not JSON"):
        parse.read_json(b"<html>")
