"""The Deepnote API contract, checked on the wire with httpx.

By default these run against an in-process `Simulator`. Set `DEEPNOTE_CONTRACT_URL` and
`DEEPNOTE_CONTRACT_KEY` to run them against another server (e.g. `deepnote-bot simulator` in
another process, or a Deepnote workspace holding the sample notebooks); tests that need the
in-process simulator (its clock, fault injection, control API) are then skipped.

The end of the file tests the `.deepnote` loader on the samples and on Deepnote's own files.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bot.clock import ManualClock
from bot.deepnote.models import INPUT_TYPES
from bot.offline.simulator import (
    HELLO_NOTEBOOK_ID,
    QUALITY_NOTEBOOK_ID,
    SALES_NOTEBOOK_ID,
    SAMPLES_DIR,
    Simulator,
    load_notebooks,
)
from bot.offline.simulator.notebooks import api_notebook_id, api_project_id
from tests.conftest import DATA

KEY = "dn-contract-key-5c1d9e0aSECRET"
VIEWER_KEY = "dn-contract-viewer-1b2cSECRET"
START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
ISO_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
DASHED_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HEX32 = re.compile(r"[0-9a-f]{32}")
UNKNOWN_RUN = "3b0d7c36-94f1-4c55-8a8e-2f0c6d1e9b77"
REFERENCE_DIR = DATA / "deepnote" / "snapshots"

SALES_HEADER_BLOCK = "170bea8ce1ba05e2deb1ca1cda097a2f"
SALES_TOTALS_BLOCK = "4794c9154c170c4282779cf54ce8bd1a"
SALES_BIG_NUMBER_BLOCK = "7b5e0009938448f7bb9c8426ef3e4e88"
SALES_TABLE_BLOCK = "cab66f0d4e870089b57eab19351cabc6"
SALES_CHART_BLOCK = "ce71a42b85705a0c538db11bf5f1b9ec"
QUALITY_CHECK_BLOCK = "748cbc13f6b95ac7e306b16cac383de4"


@cache
def _tls() -> Any:
    # One CA bundle load for the whole module instead of one per client.
    return httpx.create_ssl_context()


@dataclass
class Target:
    """The server under test; `sim` and `clock` only when it runs in this process."""

    url: str
    key: str
    sim: Simulator | None = None
    clock: ManualClock | None = None

    def local(self) -> tuple[Simulator, ManualClock]:
        """The in-process simulator, or skip the test."""
        if self.sim is None or self.clock is None:
            pytest.skip("needs the in-process simulator")
        return self.sim, self.clock


@pytest.fixture
def target() -> Iterator[Target]:
    url, key = os.environ.get("DEEPNOTE_CONTRACT_URL"), os.environ.get("DEEPNOTE_CONTRACT_KEY")
    if url and key:
        yield Target(url.rstrip("/"), key)
        return
    clock = ManualClock(START)
    with Simulator(api_key=KEY, clock=clock, viewer_api_key=VIEWER_KEY) as sim:
        yield Target(sim.url, KEY, sim, clock)


@pytest.fixture
def api(target: Target) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {target.key}"}
    with httpx.Client(base_url=target.url, headers=headers, timeout=10, verify=_tls()) as client:
        yield client


@pytest.fixture
def anonymous(target: Target) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=target.url, timeout=10, verify=_tls()) as client:
        yield client


def _message(response: httpx.Response) -> str:
    """Deepnote's error body: a JSON object whose `message` is a non-empty string."""
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict)
    assert isinstance(body.get("message"), str)
    assert body["message"]
    message: str = body["message"]
    return message


def _start(api: httpx.Client, body: dict[str, Any]) -> str:
    response = api.post("/v2/runs", json=body)
    assert response.status_code == 202, response.text
    run_id: str = response.json()["runId"]
    return run_id


def _finished_run(
    api: httpx.Client, target: Target, body: dict[str, Any], delivery: str = "inline"
) -> dict[str, Any]:
    _, clock = target.local()
    run_id = _start(api, body)
    clock.advance(seconds=10)
    response = api.get(f"/v2/runs/{run_id}", params={"snapshotDelivery": delivery})
    assert response.status_code == 200
    run: dict[str, Any] = response.json()["run"]
    return run


def _blocks(snapshot_yaml: str) -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(snapshot_yaml)
    return {b["id"]: b for nb in document["project"]["notebooks"] for b in nb["blocks"]}


# -- auth ----------------------------------------------------------------------------------

ENDPOINTS = [
    ("GET", "/v2/me"),
    ("GET", f"/v2/notebooks/{SALES_NOTEBOOK_ID}"),
    ("GET", f"/v2/notebooks/{SALES_NOTEBOOK_ID}/runs"),
    ("GET", f"/v2/runs/{UNKNOWN_RUN}"),
    ("POST", "/v2/runs"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-key", "Basic abc", "Bearer"])
def test_every_call_needs_the_bearer_key(
    anonymous: httpx.Client, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    body = {"notebookId": HELLO_NOTEBOOK_ID} if method == "POST" else None

    response = anonymous.request(method, path, headers=headers, json=body)

    assert response.status_code == 401
    assert _message(response)


def test_a_revoked_key_is_refused_everywhere(api: httpx.Client, target: Target) -> None:
    sim, _ = target.local()
    assert api.get("/v2/me").status_code == 200

    sim.revoke_key()

    for method, path in ENDPOINTS:
        response = api.request(method, path, json={"notebookId": HELLO_NOTEBOOK_ID})
        assert (response.status_code, _message(response)) == (401, "This API key has been revoked")


# -- me, notebooks, projects ----------------------------------------------------------------


def test_me(api: httpx.Client) -> None:
    response = api.get("/v2/me")

    assert response.status_code == 200
    body = response.json()
    assert {"user", "workspace", "accessLevel"} <= body.keys()
    assert {"id", "slug", "name"} <= body["workspace"].keys()


def test_notebook_shape_covers_every_input_type(api: httpx.Client) -> None:
    response = api.get(f"/v2/notebooks/{SALES_NOTEBOOK_ID}")

    assert response.status_code == 200
    notebook = response.json()["notebook"]
    assert notebook["id"] == SALES_NOTEBOOK_ID
    assert HEX32.fullmatch(notebook["id"])
    assert DASHED_UUID.fullmatch(notebook["projectId"])
    assert notebook["name"] == "Sales report"
    assert all({"id", "type", "content"} <= b.keys() for b in notebook["blocks"])
    inputs = {i["name"]: i for i in notebook["inputs"]}
    assert {i["type"] for i in inputs.values()} == set(INPUT_TYPES)
    assert all({"name", "type", "value", "label", "blockId"} <= i.keys() for i in inputs.values())
    assert inputs["region"]["options"] == ["Europe", "North America", "Asia Pacific", "Mars"]
    assert inputs["region"]["allowMultipleValues"] is False
    assert inputs["channels"]["allowMultipleValues"] is True
    assert inputs["channels"]["value"] == ["Online", "Retail"]
    assert (inputs["top_n"]["value"], inputs["top_n"]["min"], inputs["top_n"]["max"]) == (
        "5",
        1,
        10,
    )
    assert inputs["top_n"]["step"] == 1
    assert inputs["include_returns"]["value"] is False
    assert inputs["as_of"]["value"] == "2026-01-31"
    assert inputs["period"]["value"] == ["2026-01-01", "2026-01-31"]
    assert inputs["price_list"]["allowedFileExtensions"] == ".csv,.xlsx"
    assert "options" not in inputs["report_title"]
    assert "min" not in inputs["report_title"]


def test_a_notebook_with_no_inputs(api: httpx.Client) -> None:
    notebook = api.get(f"/v2/notebooks/{HELLO_NOTEBOOK_ID}").json()["notebook"]

    assert (notebook["name"], notebook["inputs"]) == ("Hello world", [])


@pytest.mark.parametrize(
    ("notebook_id", "status"),
    [("0" * 32, 404), ("not-a-notebook-id", 400)],
)
def test_unknown_or_malformed_notebook(api: httpx.Client, notebook_id: str, status: int) -> None:
    for path in (f"/v2/notebooks/{notebook_id}", f"/v2/notebooks/{notebook_id}/runs"):
        response = api.get(path)
        assert response.status_code == status
        assert _message(response)


def test_dashed_notebook_ids_are_accepted(api: httpx.Client) -> None:
    dashed = str(uuid.UUID(SALES_NOTEBOOK_ID))

    assert api.get(f"/v2/notebooks/{dashed}").json()["notebook"]["id"] == SALES_NOTEBOOK_ID


def test_projects_list_with_name_filter(api: httpx.Client, target: Target) -> None:
    target.local()  # a real workspace holds other projects
    projects = api.get("/v2/projects", params={"pageSize": 2}).json()
    assert len(projects["projects"]) == 2
    assert projects["pagination"]["hasMore"] is True
    rest = api.get(
        "/v2/projects",
        params={"pageSize": 2, "pageToken": projects["pagination"]["nextPageToken"]},
    ).json()
    assert len(rest["projects"]) == 1
    assert rest["pagination"]["nextPageToken"] is None

    found = api.get("/v2/projects", params={"nameContains": "sales"}).json()["projects"]
    assert [(p["name"], p["notebooks"]) for p in found] == [
        ("Sales report", [{"id": SALES_NOTEBOOK_ID, "name": "Sales report"}])
    ]


def test_blocks_endpoint_serves_block_metadata(api: httpx.Client, target: Target) -> None:
    target.local()
    block = api.get("/v2/blocks/155b929b97eb572c6ad07711aa78d6b5").json()["block"]

    assert block["type"] == "input-slider"
    assert block["metadata"]["deepnote_slider_max_value"] == 10
    assert api.get("/v2/blocks/nope").status_code == 404


def test_unknown_paths_and_methods(api: httpx.Client) -> None:
    assert api.get("/v2/nothing-here").status_code == 404
    response = api.delete(f"/v2/notebooks/{SALES_NOTEBOOK_ID}")
    assert response.status_code in (404, 405)
    assert _message(response)


# -- POST /v2/runs ---------------------------------------------------------------------------


def test_create_run_answers_202(api: httpx.Client) -> None:
    response = api.post("/v2/runs", json={"notebookId": HELLO_NOTEBOOK_ID, "detached": True})

    assert response.status_code == 202
    body = response.json()
    assert DASHED_UUID.fullmatch(body["runId"])
    assert body["status"] in ("pending", "running")
    assert ISO_Z.fullmatch(body["createdAt"])


VALID_BODIES = [
    {"notebookId": SALES_NOTEBOOK_ID},
    {"notebookId": SALES_NOTEBOOK_ID, "detached": True, "detachedRunStorageMode": "readonly"},
    {"notebookId": SALES_NOTEBOOK_ID, "detached": True, "detachedRunStorageMode": "read_write"},
    {"notebookId": SALES_NOTEBOOK_ID, "detached": False},
    {"notebookId": SALES_NOTEBOOK_ID, "detached": False, "blockIds": [SALES_TABLE_BLOCK]},
    {
        "notebookId": SALES_NOTEBOOK_ID,
        "detached": False,
        "blockIds": [SALES_TABLE_BLOCK, SALES_HEADER_BLOCK],
        "runDependentBlocks": True,
    },
    {
        "notebookId": SALES_NOTEBOOK_ID,
        "inputs": {
            "report_title": "Q1",
            "notes": "line one\nline two",
            "include_returns": True,
            "region": "Asia Pacific",
            "channels": [],
            "top_n": "10",
            "as_of": "2026-02-28",
            "period": "customDays45",
            "price_list": "prices/q1.xlsx",
        },
    },
    {"notebookId": SALES_NOTEBOOK_ID, "inputs": {"period": "pastYear", "channels": ["Partners"]}},
    {"notebookId": SALES_NOTEBOOK_ID, "inputs": {"period": ["2026-01-01", "2026-01-01"]}},
    {"notebookId": SALES_NOTEBOOK_ID, "inputs": {"top_n": "1"}},
    {"notebookId": SALES_NOTEBOOK_ID, "inputs": {}},
    {"notebookId": str(uuid.UUID(HELLO_NOTEBOOK_ID)), "unknownField": 1},
]


@pytest.mark.parametrize("body", VALID_BODIES)
def test_create_run_accepts(api: httpx.Client, body: dict[str, Any]) -> None:
    response = api.post("/v2/runs", json=body)

    assert response.status_code == 202, response.text


S = SALES_NOTEBOOK_ID
INVALID_BODIES: list[tuple[Any, str]] = [
    ([], "must be a JSON object"),
    ({}, "notebookId is required"),
    ({"notebookId": "0" * 32}, f"Notebook {'0' * 32} was not found"),
    (
        {"notebookId": S, "blockIds": [SALES_HEADER_BLOCK]},
        "blockIds is not supported for detached runs",
    ),
    (
        {"notebookId": S, "detached": True, "blockIds": [SALES_HEADER_BLOCK]},
        "blockIds is not supported for detached runs",
    ),
    ({"notebookId": S, "detached": False, "blockIds": []}, "blockIds must not be empty"),
    ({"notebookId": S, "detached": False, "blockIds": "b1"}, "blockIds must be a list"),
    (
        {"notebookId": S, "detached": False, "blockIds": [SALES_HEADER_BLOCK, SALES_HEADER_BLOCK]},
        "blockIds must not contain duplicates",
    ),
    (
        {"notebookId": S, "detached": False, "blockIds": ["abc"]},
        f"Block abc was not found in notebook {S}",
    ),
    ({"notebookId": S, "detached": "yes"}, "detached must be a boolean"),
    (
        {"notebookId": S, "detached": False, "detachedRunStorageMode": "readonly"},
        "detachedRunStorageMode is only supported for detached runs",
    ),
    ({"notebookId": S, "detachedRunStorageMode": "cold"}, "detachedRunStorageMode must be"),
    (
        {"notebookId": S, "runDependentBlocks": True},
        "runDependentBlocks can only be used with blockIds",
    ),
    ({"notebookId": S, "inputs": ["region"]}, "inputs must be an object"),
    ({"notebookId": S, "inputs": {"colour": "red"}}, 'Unknown input "colour"'),
    ({"notebookId": HELLO_NOTEBOOK_ID, "inputs": {"x": "1"}}, "The notebook has no inputs"),
    (
        {"notebookId": S, "inputs": {"top_n": 7}},
        'Input "top_n" is a slider: send its value as a numeric string',
    ),
    (
        {"notebookId": S, "inputs": {"top_n": "07"}},
        'Input "top_n" expects a numeric string such as "5"',
    ),
    ({"notebookId": S, "inputs": {"top_n": "seven"}}, 'Input "top_n" expects a numeric string'),
    ({"notebookId": S, "inputs": {"top_n": "11"}}, 'Input "top_n" must be between 1 and 10'),
    ({"notebookId": S, "inputs": {"top_n": "2.5"}}, 'Input "top_n" must be a multiple of 1'),
    (
        {"notebookId": S, "inputs": {"include_returns": "true"}},
        'Input "include_returns" expects a boolean',
    ),
    ({"notebookId": S, "inputs": {"report_title": 5}}, 'Input "report_title" expects a string'),
    ({"notebookId": S, "inputs": {"notes": None}}, 'Input "notes" expects a string, got null'),
    ({"notebookId": S, "inputs": {"region": "Venus"}}, 'Input "region" has no option "Venus"'),
    ({"notebookId": S, "inputs": {"region": ["Europe"]}}, 'Input "region" expects a string'),
    ({"notebookId": S, "inputs": {"channels": "Online"}}, 'Input "channels" allows several values'),
    (
        {"notebookId": S, "inputs": {"channels": ["Online", "Fax"]}},
        'Input "channels" has no option "Fax"',
    ),
    (
        {"notebookId": S, "inputs": {"as_of": "31/01/2026"}},
        'Input "as_of" expects a date as YYYY-MM-DD',
    ),
    ({"notebookId": S, "inputs": {"as_of": "2026-02-30"}}, 'Input "as_of" expects a date'),
    (
        {"notebookId": S, "inputs": {"period": "lastWeek"}},
        'Input "period" expects one of past7days',
    ),
    ({"notebookId": S, "inputs": {"period": "customDays0"}}, 'Input "period" expects one of'),
    (
        {"notebookId": S, "inputs": {"period": ["2026-02-01", "2026-01-01"]}},
        'Input "period" starts after',
    ),
    ({"notebookId": S, "inputs": {"period": ["2026-02-01"]}}, 'Input "period" expects a preset'),
    ({"notebookId": S, "inputs": {"price_list": ["a.csv"]}}, 'Input "price_list" expects a string'),
]


@pytest.mark.parametrize(("body", "fragment"), INVALID_BODIES)
def test_create_run_rejects(api: httpx.Client, body: Any, fragment: str) -> None:
    response = api.post("/v2/runs", json=body)

    assert response.status_code == 400
    assert fragment in _message(response)


def test_create_run_rejects_a_body_that_is_not_json(api: httpx.Client) -> None:
    response = api.post("/v2/runs", content=b"notebookId=1", headers={"Content-Type": "text/plain"})

    assert response.status_code == 400
    assert _message(response)


def test_a_viewer_key_cannot_start_runs(target: Target) -> None:
    target.local()
    headers = {"Authorization": f"Bearer {VIEWER_KEY}"}
    with httpx.Client(base_url=target.url, headers=headers, verify=_tls()) as viewer:
        assert viewer.get("/v2/me").json()["accessLevel"] == "viewer"
        response = viewer.post("/v2/runs", json={"notebookId": HELLO_NOTEBOOK_ID})

    assert response.status_code == 403
    assert "does not allow running notebooks" in _message(response)


# -- GET /v2/runs/{id} -----------------------------------------------------------------------


def test_a_new_run_reads_as_pending(api: httpx.Client) -> None:
    run_id = _start(api, {"notebookId": HELLO_NOTEBOOK_ID})

    response = api.get(f"/v2/runs/{run_id}")

    assert response.status_code == 200
    run = response.json()["run"]
    assert run["runId"] == run_id
    assert run["notebookId"] == HELLO_NOTEBOOK_ID
    assert DASHED_UUID.fullmatch(run["projectId"])
    assert ISO_Z.fullmatch(run["createdAt"])
    if run["status"] in ("pending", "running"):
        assert run["completedAt"] is None
        assert "snapshotDownloadUrl" not in run
        assert "snapshotContent" not in run


def test_unknown_run_and_bad_parameters(api: httpx.Client) -> None:
    missing = api.get(f"/v2/runs/{UNKNOWN_RUN}")
    assert (missing.status_code, _message(missing)) == (404, "Run not found")
    assert api.get("/v2/runs/not-a-run").status_code == 400
    run_id = _start(api, {"notebookId": HELLO_NOTEBOOK_ID})
    bad = api.get(f"/v2/runs/{run_id}", params={"snapshotDelivery": "email"})
    assert bad.status_code == 400
    assert "snapshotDelivery" in _message(bad)


def test_run_progress_follows_the_clock(api: httpx.Client, target: Target) -> None:
    _, clock = target.local()
    run_id = _start(api, {"notebookId": HELLO_NOTEBOOK_ID})
    seen = []
    for step in (0.0, 0.999, 0.001, 1.999, 0.001, 60):
        clock.advance(seconds=step)
        run = api.get(f"/v2/runs/{run_id}").json()["run"]
        seen.append((run["status"], run["completedAt"]))

    done = "2026-03-02T08:30:03.000Z"
    assert seen == [
        ("pending", None),
        ("pending", None),
        ("running", None),
        ("running", None),
        ("success", done),
        ("success", done),
    ]


def test_snapshot_download_url_is_presigned_and_expires(api: httpx.Client, target: Target) -> None:
    _, clock = target.local()
    run = _finished_run(api, target, {"notebookId": HELLO_NOTEBOOK_ID}, delivery="downloadUrl")
    url = run["snapshotDownloadUrl"]
    assert "snapshotContent" not in run
    assert re.search(r"/_snapshots/[^?]+\?expires=\d+&signature=[0-9a-f]+$", url)

    with httpx.Client(verify=_tls()) as no_auth:
        fresh = no_auth.get(url)
        tampered = no_auth.get(url[:-1] + ("0" if url[-1] != "0" else "1"))
        clock.advance(minutes=15, seconds=1)
        expired = no_auth.get(url)

    assert fresh.status_code == 200
    assert "Hello world!" in fresh.text
    assert tampered.status_code == 403
    assert expired.status_code == 403
    assert "expired" in expired.text


def test_snapshot_can_attach_after_the_terminal_status(target: Target) -> None:
    target.local()
    clock = ManualClock(START)
    with (
        Simulator(api_key=KEY, clock=clock, snapshot_lag_seconds=2) as sim,
        httpx.Client(
            base_url=sim.url, headers={"Authorization": f"Bearer {KEY}"}, verify=_tls()
        ) as api,
    ):
        run_id = _start(api, {"notebookId": HELLO_NOTEBOOK_ID})
        clock.advance(seconds=3)
        early = api.get(f"/v2/runs/{run_id}").json()["run"]
        clock.advance(seconds=2)
        late = api.get(f"/v2/runs/{run_id}").json()["run"]

    assert early["status"] == "success"
    assert "snapshotDownloadUrl" not in early
    assert "snapshotDownloadUrl" in late


def test_sales_snapshot_reflects_the_inputs(api: httpx.Client, target: Target) -> None:
    run = _finished_run(
        api,
        target,
        {
            "notebookId": SALES_NOTEBOOK_ID,
            "inputs": {"report_title": "Board pack", "region": "North America", "top_n": "3"},
        },
    )
    assert (run["status"], run["error"]) == ("success", None)
    document = yaml.safe_load(run["snapshotContent"])
    blocks = _blocks(run["snapshotContent"])

    assert document["version"] == "1.0.0"
    execution = document["execution"]
    assert execution["triggeredBy"] == "api"
    assert execution["inputs"]["region"] == "North America"
    assert execution["summary"] == {
        "blocksExecuted": 5,
        "blocksFailed": 0,
        "blocksSucceeded": 5,
        "totalDurationMs": 2000,
    }
    header = blocks[SALES_HEADER_BLOCK]["outputs"][0]
    assert header["output_type"] == "stream"
    assert header["text"].startswith("Board pack\n")
    assert "Region: North America" in header["text"]
    big_number = blocks[SALES_BIG_NUMBER_BLOCK]["outputs"][0]["data"]["text/plain"]
    assert "North America" in big_number.encode().decode("unicode_escape")
    table = blocks[SALES_TABLE_BLOCK]["outputs"][0]["data"]
    frame = table["application/vnd.deepnote.dataframe.v3+json"]
    assert (frame["type"], frame["row_count"], frame["column_count"]) == ("dataframe", 3, 3)
    assert [c["name"] for c in frame["columns"]][-1] == "_deepnote_index_column"
    assert "text/plain" in table
    png = blocks[SALES_CHART_BLOCK]["outputs"][0]["data"]["image/png"]
    assert base64.b64decode(png).startswith(b"\x89PNG\r\n\x1a\n")
    region_block = next(
        b for b in blocks.values() if b["metadata"].get("deepnote_variable_name") == "region"
    )
    assert region_block["metadata"]["deepnote_variable_value"] == "North America"


def test_sales_big_number_is_computed_from_the_inputs(api: httpx.Client, target: Target) -> None:
    def revenue(inputs: dict[str, Any]) -> str:
        run = _finished_run(api, target, {"notebookId": SALES_NOTEBOOK_ID, "inputs": inputs})
        text: str = _blocks(run["snapshotContent"])[SALES_BIG_NUMBER_BLOCK]["outputs"][0]["data"][
            "text/plain"
        ]
        return text

    both = revenue({"channels": ["Online", "Retail"]})
    online = revenue({"channels": ["Online"]})
    returns = revenue({"channels": ["Online", "Retail"], "include_returns": True})

    assert len({both, online, returns}) == 3


def test_sales_fails_for_mars_with_a_null_run_error(api: httpx.Client, target: Target) -> None:
    run = _finished_run(
        api, target, {"notebookId": SALES_NOTEBOOK_ID, "inputs": {"region": "Mars"}}
    )

    assert (run["status"], run["error"]) == ("error", None)
    document = yaml.safe_load(run["snapshotContent"])
    blocks = _blocks(run["snapshotContent"])
    error = blocks[SALES_TOTALS_BLOCK]["outputs"][-1]
    assert (error["output_type"], error["ename"], error["evalue"]) == (
        "error",
        "ZeroDivisionError",
        "float division by zero",
    )
    assert any("revenue_per_store" in line for line in error["traceback"])
    assert "outputs" not in blocks[SALES_TABLE_BLOCK]  # never reached
    assert document["execution"]["summary"]["blocksFailed"] == 1
    assert document["execution"]["error"]["name"] == "ZeroDivisionError"


def test_quality_check_failure_sets_the_run_error(api: httpx.Client, target: Target) -> None:
    run = _finished_run(
        api, target, {"notebookId": QUALITY_NOTEBOOK_ID, "inputs": {"dataset": "orders_with_gaps"}}
    )

    message = "AssertionError: 3 of 120 rows in orders_with_gaps have no customer_id"
    assert (run["status"], run["error"]) == ("error", message)
    error = _blocks(run["snapshotContent"])[QUALITY_CHECK_BLOCK]["outputs"][0]
    assert f"{error['ename']}: {error['evalue']}" == message


@pytest.mark.parametrize("delivery", ["inline", "downloadUrl"])
def test_quality_check_success_has_no_snapshot(
    api: httpx.Client, target: Target, delivery: str
) -> None:
    run = _finished_run(api, target, {"notebookId": QUALITY_NOTEBOOK_ID}, delivery=delivery)

    assert (run["status"], run["error"]) == ("success", None)
    assert "snapshotContent" not in run
    assert "snapshotDownloadUrl" not in run


def test_a_block_run_executes_only_those_blocks(api: httpx.Client, target: Target) -> None:
    body = {"notebookId": SALES_NOTEBOOK_ID, "detached": False, "blockIds": [SALES_HEADER_BLOCK]}
    alone = yaml.safe_load(_finished_run(api, target, body)["snapshotContent"])
    body["runDependentBlocks"] = True
    chained = yaml.safe_load(_finished_run(api, target, body)["snapshotContent"])

    assert alone["execution"]["summary"]["blocksExecuted"] == 1
    assert chained["execution"]["summary"]["blocksExecuted"] == 5


def test_runs_list_is_newest_first_and_paginated(api: httpx.Client, target: Target) -> None:
    created = []
    for _ in range(3):
        created.append(_start(api, {"notebookId": HELLO_NOTEBOOK_ID}))
        if target.clock:
            target.clock.advance(seconds=1)

    first = api.get(f"/v2/notebooks/{HELLO_NOTEBOOK_ID}/runs", params={"pageSize": 2}).json()
    token = first["pagination"]["nextPageToken"]
    second = api.get(
        f"/v2/notebooks/{HELLO_NOTEBOOK_ID}/runs", params={"pageSize": 2, "pageToken": token}
    ).json()

    assert first["pagination"]["hasMore"] is True
    assert token
    listed = [r["runId"] for r in first["runs"] + second["runs"]]
    assert [r for r in listed if r in created] == created[::-1][: len(listed)]
    assert all({"runId", "status", "createdAt", "completedAt"} <= r.keys() for r in first["runs"])
    if target.sim:
        assert second["pagination"] == {"nextPageToken": None, "hasMore": False}
    bad = api.get(f"/v2/notebooks/{HELLO_NOTEBOOK_ID}/runs", params={"pageSize": 0})
    assert bad.status_code == 400
    assert _message(bad)


def test_suspended_project_refuses_run_reads(api: httpx.Client, target: Target) -> None:
    sim, _ = target.local()
    run_id = _start(api, {"notebookId": HELLO_NOTEBOOK_ID})

    sim.suspend_project()
    response = api.get(f"/v2/runs/{run_id}")

    assert (response.status_code, _message(response)) == (409, "Project is suspended")


# -- forcing outcomes ------------------------------------------------------------------------


def test_finish_run_and_set_status_override_the_clock(api: httpx.Client, target: Target) -> None:
    sim, clock = target.local()
    run_id = _start(api, {"notebookId": SALES_NOTEBOOK_ID})
    clock.advance(seconds=0.5)

    sim.set_status(run_id, "queued")
    clock.advance(seconds=30)
    queued = api.get(f"/v2/runs/{run_id}").json()["run"]
    sim.finish_run(run_id, "internal_error", "Machine ran out of memory")
    stopped = api.get(f"/v2/runs/{run_id}").json()["run"]

    assert (queued["status"], queued["completedAt"]) == ("queued", None)
    assert (stopped["status"], stopped["error"]) == ("internal_error", "Machine ran out of memory")
    assert stopped["completedAt"] == "2026-03-02T08:30:30.500Z"
    with pytest.raises(ValueError, match="terminal"):
        sim.finish_run(run_id, "running")
    with pytest.raises(KeyError):
        sim.finish_run(UNKNOWN_RUN)


# -- fault injection and control API -------------------------------------------------------


def test_injected_error_has_message_and_retry_after(api: httpx.Client, target: Target) -> None:
    sim, _ = target.local()
    sim.inject("GET", "/v2/me", status=429, message="Too many requests", retry_after=3, times=2)

    answers = [api.get("/v2/me") for _ in range(3)]

    assert [a.status_code for a in answers] == [429, 429, 200]
    assert _message(answers[0]) == "Too many requests"
    assert answers[0].headers["retry-after"] == "3"


def test_injected_faults_only_hit_matching_requests(api: httpx.Client, target: Target) -> None:
    sim, _ = target.local()
    sim.inject("POST", "/v2/runs", status=500, message="Hardware unable to start")

    assert api.get("/v2/me").status_code == 200
    assert api.get(f"/v2/runs/{UNKNOWN_RUN}").status_code == 404
    failed = api.post("/v2/runs", json={"notebookId": HELLO_NOTEBOOK_ID})
    assert (failed.status_code, _message(failed)) == (500, "Hardware unable to start")
    assert api.post("/v2/runs", json={"notebookId": HELLO_NOTEBOOK_ID}).status_code == 202


def test_malformed_reset_and_delay_faults(api: httpx.Client, target: Target) -> None:
    sim, _ = target.local()
    sim.inject("GET", "/v2/me", status=200, malformed=True)
    sim.inject("GET", "/v2/me", reset=True)
    sim.inject("GET", "/v2/me", delay=0.3)

    malformed = api.get("/v2/me")
    with pytest.raises(httpx.RemoteProtocolError):
        api.get("/v2/me")
    with pytest.raises(httpx.ReadTimeout):
        api.get("/v2/me", timeout=0.05)

    assert malformed.status_code == 200
    with pytest.raises(ValueError, match="Expecting value"):
        malformed.json()
    assert api.get("/v2/me").status_code == 200


def test_control_api_over_http(anonymous: httpx.Client, api: httpx.Client, target: Target) -> None:
    target.local()
    run_id = _start(api, {"notebookId": SALES_NOTEBOOK_ID})

    finished = anonymous.post(
        "/_sim/finish", json={"runId": run_id, "status": "error", "error": "Killed"}
    )
    injected = anonymous.post(
        "/_sim/inject",
        json={"method": "GET", "pathPrefix": "/v2/me", "status": 503, "message": "Down"},
    )
    down = api.get("/v2/me")
    recorded = anonymous.get("/_sim/requests").json()["requests"]

    assert finished.status_code == 200
    assert (finished.json()["run"]["status"], finished.json()["run"]["error"]) == (
        "error",
        "Killed",
    )
    assert injected.json() == {"ok": True}
    assert (down.status_code, _message(down)) == (503, "Down")
    assert [(r["method"], r["path"]) for r in recorded] == [
        ("POST", "/v2/runs"),
        ("GET", "/v2/me"),
    ]
    assert recorded[0]["body"] == {"notebookId": SALES_NOTEBOOK_ID}
    assert recorded[0]["authorized"] is True
    assert anonymous.post("/_sim/finish", json={"runId": UNKNOWN_RUN}).status_code == 404
    assert anonymous.post("/_sim/nothing").status_code == 404
    assert anonymous.post("/_sim/suspend").json() == {"ok": True}
    assert api.get(f"/v2/runs/{run_id}").status_code == 409


def test_recorded_requests_never_hold_the_key(api: httpx.Client, target: Target) -> None:
    sim, _ = target.local()
    api.get("/v2/me", params={"x": "1"})
    api.post("/v2/runs", json={"notebookId": HELLO_NOTEBOOK_ID})

    recorded = sim.requests

    assert [(r.method, r.path, r.query) for r in recorded] == [
        ("GET", "/v2/me", {"x": "1"}),
        ("POST", "/v2/runs", {}),
    ]
    assert KEY not in repr(recorded)
    assert "authorization" not in recorded[0].headers


def test_requests_are_recorded_from_many_threads(api: httpx.Client, target: Target) -> None:
    sim, _ = target.local()

    def call() -> None:
        with httpx.Client(
            base_url=target.url, headers={"Authorization": f"Bearer {KEY}"}, verify=_tls()
        ) as own:
            for _ in range(5):
                own.get("/v2/me")

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(sim.requests) == 20


def test_the_simulator_lifecycle() -> None:
    sim = Simulator(api_key=KEY)
    with pytest.raises(RuntimeError, match="not running"):
        _ = sim.url
    with sim:
        assert sim.url.startswith("http://127.0.0.1:")
        with pytest.raises(RuntimeError, match="already running"):
            sim.start()
    assert sorted(sim.notebooks) == sorted(
        [SALES_NOTEBOOK_ID, HELLO_NOTEBOOK_ID, QUALITY_NOTEBOOK_ID]
    )


# -- the .deepnote loader --------------------------------------------------------------------


def test_samples_are_three_version_1_files() -> None:
    files = sorted(p.name for p in SAMPLES_DIR.glob("*.deepnote"))

    assert files == ["data-quality-check.deepnote", "hello-world.deepnote", "sales-report.deepnote"]
    for path in SAMPLES_DIR.glob("*.deepnote"):
        assert yaml.safe_load(path.read_text())["version"] == "1.0.0"
    notebooks = {nb.name: nb for nb in load_notebooks([SAMPLES_DIR])}
    assert {n: nb.id for n, nb in notebooks.items()} == {
        "Sales report": SALES_NOTEBOOK_ID,
        "Hello world": HELLO_NOTEBOOK_ID,
        "Data quality check": QUALITY_NOTEBOOK_ID,
    }
    assert {i.type for i in notebooks["Sales report"].inputs} == set(INPUT_TYPES)
    assert all(
        HEX32.fullmatch(nb.id) and DASHED_UUID.fullmatch(nb.project_id) for nb in notebooks.values()
    )


def test_sample_block_ids_used_by_the_behaviours_exist() -> None:
    notebooks = {nb.id: nb for nb in load_notebooks([SAMPLES_DIR])}
    sales = {b.id for b in notebooks[SALES_NOTEBOOK_ID].notebook.blocks}

    assert {
        SALES_HEADER_BLOCK,
        SALES_TOTALS_BLOCK,
        SALES_BIG_NUMBER_BLOCK,
        SALES_TABLE_BLOCK,
        SALES_CHART_BLOCK,
    } <= sales
    assert notebooks[QUALITY_NOTEBOOK_ID].block(QUALITY_CHECK_BLOCK) is not None


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("921d82a6-7cb1-4fc6-a061-810ce23f803d", "921d82a67cb14fc6a061810ce23f803d"),
        ("7061f86dec6e4e11893288f295a82017", "7061f86dec6e4e11893288f295a82017"),
        ("921D82A6-7CB1-4FC6-A061-810CE23F803D", "921d82a67cb14fc6a061810ce23f803d"),
    ],
)
def test_uuid_notebook_ids_lose_their_dashes(source: str, expected: str) -> None:
    assert api_notebook_id(source, "project") == expected


def test_other_ids_are_hashed_stably() -> None:
    hashed = api_notebook_id("9b1f7c00-0000-4a00-9000-locrunnernb001", "p1")

    assert HEX32.fullmatch(hashed)
    assert hashed == api_notebook_id("9b1f7c00-0000-4a00-9000-locrunnernb001", "p1")
    assert hashed != api_notebook_id("9b1f7c00-0000-4a00-9000-locrunnernb001", "p2")
    assert DASHED_UUID.fullmatch(api_project_id("9b1f7c00-0000-4a00-9000-locrunnershow1"))
    assert api_project_id("D025B1DD-0EA7-49E8-8229-B571DD98D430") == (
        "d025b1dd-0ea7-49e8-8229-b571dd98d430"
    )


@pytest.fixture
def reference_dir() -> Path:
    return REFERENCE_DIR


def test_loader_reads_deepnotes_own_snapshot_files(reference_dir: Path) -> None:
    notebooks = {nb.name: nb for nb in load_notebooks(sorted(reference_dir.glob("*.deepnote")))}

    assert set(notebooks) == {
        "1. Hello World - example",
        "1. Text blocks",
        "2. Input blocks",
        "Dashboard",
    }
    assert notebooks["1. Hello World - example"].id == "7061f86dec6e4e11893288f295a82017"
    assert notebooks["1. Hello World - example"].inputs == ()
    assert notebooks["2. Input blocks"].id == "cb38dd6ada834319b6db067eb7730a68"
    blocks = {i.name: i for i in notebooks["2. Input blocks"].inputs}
    assert {n: (i.type, i.value) for n, i in blocks.items()} == {
        "input_text": ("input-text", "I am an input"),
        "input_textarea": (
            "input-textarea",
            "I am bigger and longer text that can be used for paragraphs.",
        ),
        "input_select": ("input-select", "I am a first option"),
        "input_slider": ("input-slider", "5"),
        "input_checkbox": ("input-checkbox", True),
        "input_date": ("input-date", "2025-11-03"),
        "input_date_range": ("input-date-range", ["2025-01-02", "2025-01-03"]),
    }
    assert (
        blocks["input_slider"].min,
        blocks["input_slider"].max,
        blocks["input_slider"].step,
    ) == (0, 10, 1)
    assert blocks["input_select"].options == ("I am a first option", "I am a second option")
    assert blocks["input_select"].block_id == "5bce645711428cddc48c17fdfc89e256"

    dashboard = notebooks["Dashboard"]
    assert HEX32.fullmatch(dashboard.id)
    assert DASHED_UUID.fullmatch(dashboard.project_id)
    inputs = {i.name: i for i in dashboard.inputs}
    assert inputs["as_of"].value == "2026-03-31"
    assert inputs["period"].value == ["2026-01-01", "2026-03-31"]
    assert (inputs["target_revenue_k"].min, inputs["target_revenue_k"].step) == (600, 50)
    assert inputs["show_forecast"].value is True
    assert inputs["region"].options
    assert inputs["region"].multiple is False


def test_simulator_serves_deepnotes_own_files(reference_dir: Path, tmp_path: Path) -> None:
    for name in ("deepnote-blocks_d025b1dd-0ea7-49e8-8229-b571dd98d430_latest.snapshot.deepnote",):
        shutil.copy(reference_dir / name, tmp_path / name)
    clock = ManualClock(START)
    with (
        Simulator(api_key=KEY, notebooks_dir=tmp_path, clock=clock) as sim,
        httpx.Client(
            base_url=sim.url, headers={"Authorization": f"Bearer {KEY}"}, verify=_tls()
        ) as api,
    ):
        notebook = api.get("/v2/notebooks/cb38dd6a-da83-4319-b6db-067eb7730a68").json()["notebook"]
        run_id = _start(
            api,
            {
                "notebookId": notebook["id"],
                "inputs": {"input_text": "Hi from the bot", "input_checkbox": False},
            },
        )
        clock.advance(seconds=5)
        run = api.get(f"/v2/runs/{run_id}", params={"snapshotDelivery": "inline"}).json()["run"]

    assert [i["name"] for i in notebook["inputs"]][:2] == ["input_text", "input_textarea"]
    assert run["status"] == "success"
    blocks = _blocks(run["snapshotContent"])
    assert blocks["dd89e10c880e6aea085862c8fa5d17c5"]["outputs"][0]["text"] == "Hi from the bot\n"
    assert blocks["11268833c36692f219a57d4a507803cf"]["outputs"][0]["text"] == "False\n"
    # A block the simulator cannot evaluate keeps the output stored in the file.
    assert blocks["e9657f13e6d0bdf2dd54ef8363abf406"]["outputs"][0]["text"].startswith(
        "[datetime.date"
    )
    # The other notebook of the project keeps its stored outputs untouched.
    assert blocks["2665e1a332df6436b0ce30d662bfe1f1"]["outputs"][0]["text"] == "Hello World!\n"


def test_a_stored_error_output_fails_the_run(tmp_path: Path) -> None:
    (tmp_path / "broken.deepnote").write_text(
        yaml.safe_dump(
            {
                "version": "1.0.0",
                "metadata": {"createdAt": "2026-01-01T00:00:00.000Z"},
                "project": {
                    "id": "3f0e2d1c-0b9a-4877-8665-544332211000",
                    "name": "Broken",
                    "notebooks": [
                        {
                            "id": "4e1f3a2b-1c0d-4e9f-8a7b-6c5d4e3f2a10",
                            "name": "Broken",
                            "blocks": [
                                {
                                    "id": "b1",
                                    "type": "code",
                                    "content": "1/0",
                                    "outputs": [
                                        {
                                            "output_type": "error",
                                            "ename": "ZeroDivisionError",
                                            "evalue": "division by zero",
                                            "traceback": [],
                                        }
                                    ],
                                }
                            ],
                        }
                    ],
                },
            }
        )
    )
    clock = ManualClock(START)
    with (
        Simulator(api_key=KEY, notebooks_dir=tmp_path, clock=clock, pending_seconds=0) as sim,
        httpx.Client(
            base_url=sim.url, headers={"Authorization": f"Bearer {KEY}"}, verify=_tls()
        ) as api,
    ):
        run_id = _start(api, {"notebookId": "4e1f3a2b1c0d4e9f8a7b6c5d4e3f2a10"})
        clock.advance(seconds=2.5)
        run = api.get(f"/v2/runs/{run_id}").json()["run"]

    assert (run["status"], run["error"]) == ("error", None)


def test_loader_rejects_files_that_are_not_deepnote(tmp_path: Path) -> None:
    (tmp_path / "a.deepnote").write_text("just: text\n")
    (tmp_path / "b.deepnote").write_text("{unclosed")

    with pytest.raises(ValueError, match=r"not a \.deepnote file"):
        load_notebooks([tmp_path / "a.deepnote"])
    with pytest.raises(ValueError, match="not valid YAML"):
        load_notebooks([tmp_path / "b.deepnote"])


def test_duplicate_notebooks_keep_the_first(tmp_path: Path) -> None:
    source = SAMPLES_DIR / "hello-world.deepnote"
    shutil.copy(source, tmp_path / "copy.deepnote")

    loaded = load_notebooks([source, tmp_path / "copy.deepnote"])

    assert [(nb.id, nb.path) for nb in loaded] == [(HELLO_NOTEBOOK_ID, source)]
