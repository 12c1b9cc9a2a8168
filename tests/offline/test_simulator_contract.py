"""The Deepnote API contract, checked on the wire with httpx.

By default these run against an in-process `Simulator`. Set `DEEPNOTE_CONTRACT_URL` and
`DEEPNOTE_CONTRACT_KEY` to run them against another server (e.g. `deepnote-bot simulator` in
another process, or a Deepnote workspace holding the sample notebooks); tests that need the
in-process simulator (its clock, fault injection, control API) are then skipped.

Fault injection and the control API are in test_simulator_control.py, the `.deepnote` loader
in test_simulator_notebooks.py.
"""

from __future__ import annotations

import base64
import re
import uuid
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
    Simulator,
)
from tests.offline.contract import (
    DASHED_UUID,
    HEX32,
    ISO_Z,
    KEY,
    QUALITY_CHECK_BLOCK,
    SALES_BIG_NUMBER_BLOCK,
    SALES_CHART_BLOCK,
    SALES_HEADER_BLOCK,
    SALES_TABLE_BLOCK,
    SALES_TOTALS_BLOCK,
    START,
    UNKNOWN_RUN,
    VIEWER_KEY,
    Target,
    error_message,
    finished_run,
    snapshot_blocks,
    start_run,
    tls,
)

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
    assert error_message(response)


def test_a_revoked_key_is_refused_everywhere(api: httpx.Client, target: Target) -> None:
    sim, _ = target.local()
    assert api.get("/v2/me").status_code == 200

    sim.revoke_key()

    for method, path in ENDPOINTS:
        response = api.request(method, path, json={"notebookId": HELLO_NOTEBOOK_ID})
        assert (response.status_code, error_message(response)) == (
            401,
            "This API key has been revoked",
        )


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
        assert error_message(response)


def test_dashed_notebook_ids_are_accepted(api: httpx.Client) -> None:
    dashed = str(uuid.UUID(SALES_NOTEBOOK_ID))

    assert api.get(f"/v2/notebooks/{dashed}").json()["notebook"]["id"] == SALES_NOTEBOOK_ID


def test_projects_list_with_name_filter(api: httpx.Client, target: Target) -> None:
    target.local()  # a real workspace holds other projects
    projects = api.get("/v2/projects", params={"pageSize": 3}).json()
    assert len(projects["projects"]) == 3
    assert projects["pagination"]["hasMore"] is True
    rest = api.get(
        "/v2/projects",
        params={"pageSize": 3, "pageToken": projects["pagination"]["nextPageToken"]},
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
    assert error_message(response)


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
    assert fragment in error_message(response)


def test_create_run_rejects_a_body_that_is_not_json(api: httpx.Client) -> None:
    response = api.post("/v2/runs", content=b"notebookId=1", headers={"Content-Type": "text/plain"})

    assert response.status_code == 400
    assert error_message(response)


def test_a_viewer_key_cannot_start_runs(target: Target) -> None:
    target.local()
    headers = {"Authorization": f"Bearer {VIEWER_KEY}"}
    with httpx.Client(base_url=target.url, headers=headers, verify=tls()) as viewer:
        assert viewer.get("/v2/me").json()["accessLevel"] == "viewer"
        response = viewer.post("/v2/runs", json={"notebookId": HELLO_NOTEBOOK_ID})

    assert response.status_code == 403
    assert "does not allow running notebooks" in error_message(response)


# -- GET /v2/runs/{id} -----------------------------------------------------------------------


def test_a_new_run_reads_as_pending(api: httpx.Client) -> None:
    run_id = start_run(api, {"notebookId": HELLO_NOTEBOOK_ID})

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
    assert (missing.status_code, error_message(missing)) == (404, "Run not found")
    assert api.get("/v2/runs/not-a-run").status_code == 400
    run_id = start_run(api, {"notebookId": HELLO_NOTEBOOK_ID})
    bad = api.get(f"/v2/runs/{run_id}", params={"snapshotDelivery": "email"})
    assert bad.status_code == 400
    assert "snapshotDelivery" in error_message(bad)


def test_run_progress_follows_the_clock(api: httpx.Client, target: Target) -> None:
    _, clock = target.local()
    run_id = start_run(api, {"notebookId": HELLO_NOTEBOOK_ID})
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
    run = finished_run(api, target, {"notebookId": HELLO_NOTEBOOK_ID}, delivery="downloadUrl")
    url = run["snapshotDownloadUrl"]
    assert "snapshotContent" not in run
    assert re.search(r"/_snapshots/[^?]+\?expires=\d+&signature=[0-9a-f]+$", url)

    with httpx.Client(verify=tls()) as no_auth:
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
            base_url=sim.url, headers={"Authorization": f"Bearer {KEY}"}, verify=tls()
        ) as api,
    ):
        run_id = start_run(api, {"notebookId": HELLO_NOTEBOOK_ID})
        clock.advance(seconds=3)
        early = api.get(f"/v2/runs/{run_id}").json()["run"]
        clock.advance(seconds=2)
        late = api.get(f"/v2/runs/{run_id}").json()["run"]

    assert early["status"] == "success"
    assert "snapshotDownloadUrl" not in early
    assert "snapshotDownloadUrl" in late


def test_sales_snapshot_reflects_the_inputs(api: httpx.Client, target: Target) -> None:
    run = finished_run(
        api,
        target,
        {
            "notebookId": SALES_NOTEBOOK_ID,
            "inputs": {"report_title": "Board pack", "region": "North America", "top_n": "3"},
        },
    )
    assert (run["status"], run["error"]) == ("success", None)
    document = yaml.safe_load(run["snapshotContent"])
    blocks = snapshot_blocks(run["snapshotContent"])

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
        run = finished_run(api, target, {"notebookId": SALES_NOTEBOOK_ID, "inputs": inputs})
        text: str = snapshot_blocks(run["snapshotContent"])[SALES_BIG_NUMBER_BLOCK]["outputs"][0][
            "data"
        ]["text/plain"]
        return text

    both = revenue({"channels": ["Online", "Retail"]})
    online = revenue({"channels": ["Online"]})
    returns = revenue({"channels": ["Online", "Retail"], "include_returns": True})

    assert len({both, online, returns}) == 3


def test_sales_fails_for_mars_with_a_null_run_error(api: httpx.Client, target: Target) -> None:
    run = finished_run(api, target, {"notebookId": SALES_NOTEBOOK_ID, "inputs": {"region": "Mars"}})

    assert (run["status"], run["error"]) == ("error", None)
    document = yaml.safe_load(run["snapshotContent"])
    blocks = snapshot_blocks(run["snapshotContent"])
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
    run = finished_run(
        api, target, {"notebookId": QUALITY_NOTEBOOK_ID, "inputs": {"dataset": "orders_with_gaps"}}
    )

    message = "AssertionError: 3 of 120 rows in orders_with_gaps have no customer_id"
    assert (run["status"], run["error"]) == ("error", message)
    error = snapshot_blocks(run["snapshotContent"])[QUALITY_CHECK_BLOCK]["outputs"][0]
    assert f"{error['ename']}: {error['evalue']}" == message


@pytest.mark.parametrize("delivery", ["inline", "downloadUrl"])
def test_quality_check_success_has_no_snapshot(
    api: httpx.Client, target: Target, delivery: str
) -> None:
    run = finished_run(api, target, {"notebookId": QUALITY_NOTEBOOK_ID}, delivery=delivery)

    assert (run["status"], run["error"]) == ("success", None)
    assert "snapshotContent" not in run
    assert "snapshotDownloadUrl" not in run


def test_a_block_run_executes_only_those_blocks(api: httpx.Client, target: Target) -> None:
    body = {"notebookId": SALES_NOTEBOOK_ID, "detached": False, "blockIds": [SALES_HEADER_BLOCK]}
    alone = yaml.safe_load(finished_run(api, target, body)["snapshotContent"])
    body["runDependentBlocks"] = True
    chained = yaml.safe_load(finished_run(api, target, body)["snapshotContent"])

    assert alone["execution"]["summary"]["blocksExecuted"] == 1
    assert chained["execution"]["summary"]["blocksExecuted"] == 5


def test_runs_list_is_newest_first_and_paginated(api: httpx.Client, target: Target) -> None:
    created = []
    for _ in range(3):
        created.append(start_run(api, {"notebookId": HELLO_NOTEBOOK_ID}))
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
    assert error_message(bad)


def test_suspended_project_refuses_run_reads(api: httpx.Client, target: Target) -> None:
    sim, _ = target.local()
    run_id = start_run(api, {"notebookId": HELLO_NOTEBOOK_ID})

    sim.suspend_project()
    response = api.get(f"/v2/runs/{run_id}")

    assert (response.status_code, error_message(response)) == (409, "Project is suspended")


# -- forcing outcomes ------------------------------------------------------------------------


def test_finish_run_and_set_status_override_the_clock(api: httpx.Client, target: Target) -> None:
    sim, clock = target.local()
    run_id = start_run(api, {"notebookId": SALES_NOTEBOOK_ID})
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
