"""The in-process simulator's own controls: injected faults, the control API, recorded
requests and its lifecycle."""

from __future__ import annotations

import threading

import httpx
import pytest

from bot.offline.simulator import (
    HELLO_NOTEBOOK_ID,
    KPI_NOTEBOOK_ID,
    QUALITY_NOTEBOOK_ID,
    SALES_NOTEBOOK_ID,
    Simulator,
)
from tests.offline.contract import KEY, UNKNOWN_RUN, Target, error_message, start_run, tls

# -- fault injection and control API -------------------------------------------------------


def test_injected_error_has_message_and_retry_after(api: httpx.Client, target: Target) -> None:
    sim, _ = target.local()
    sim.inject("GET", "/v2/me", status=429, message="Too many requests", retry_after=3, times=2)

    answers = [api.get("/v2/me") for _ in range(3)]

    assert [a.status_code for a in answers] == [429, 429, 200]
    assert error_message(answers[0]) == "Too many requests"
    assert answers[0].headers["retry-after"] == "3"


def test_injected_faults_only_hit_matching_requests(api: httpx.Client, target: Target) -> None:
    sim, _ = target.local()
    sim.inject("POST", "/v2/runs", status=500, message="Hardware unable to start")

    assert api.get("/v2/me").status_code == 200
    assert api.get(f"/v2/runs/{UNKNOWN_RUN}").status_code == 404
    failed = api.post("/v2/runs", json={"notebookId": HELLO_NOTEBOOK_ID})
    assert (failed.status_code, error_message(failed)) == (500, "Hardware unable to start")
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
    run_id = start_run(api, {"notebookId": SALES_NOTEBOOK_ID})

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
    assert (down.status_code, error_message(down)) == (503, "Down")
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
            base_url=target.url, headers={"Authorization": f"Bearer {KEY}"}, verify=tls()
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
        [SALES_NOTEBOOK_ID, HELLO_NOTEBOOK_ID, QUALITY_NOTEBOOK_ID, KPI_NOTEBOOK_ID]
    )


# -- runs started elsewhere, deleted notebooks ---------------------------------------------


def test_runs_started_elsewhere_are_listed_and_only_their_snapshot_says_who(
    api: httpx.Client, anonymous: httpx.Client, target: Target
) -> None:
    sim, clock = target.local()
    mine = api.post("/v2/runs", json={"notebookId": HELLO_NOTEBOOK_ID}).json()["runId"]
    clock.advance(seconds=1)
    ui = sim.start_elsewhere(HELLO_NOTEBOOK_ID, "user")
    clock.advance(seconds=1)
    answer = anonymous.post(
        "/_sim/elsewhere", json={"notebookId": HELLO_NOTEBOOK_ID, "source": "schedule"}
    )
    assert answer.status_code == 200
    scheduled = answer.json()["run"]["runId"]
    listed = api.get(f"/v2/notebooks/{HELLO_NOTEBOOK_ID}/runs").json()["runs"]
    assert [r["runId"] for r in listed] == [scheduled, ui, mine]
    assert set(listed[0]) == {"runId", "status", "createdAt", "completedAt"}  # no "who"
    clock.advance(seconds=10)
    sources = {}
    for run_id in (mine, ui, scheduled):
        run = api.get(f"/v2/runs/{run_id}", params={"snapshotDelivery": "inline"}).json()["run"]
        sources[run_id] = run["snapshotContent"].split("triggeredBy: ")[1].split()[0]
    assert sources == {mine: "api", ui: "user", scheduled: "schedule"}


def test_bad_runs_elsewhere_are_refused(anonymous: httpx.Client, target: Target) -> None:
    sim, _ = target.local()
    with pytest.raises(ValueError, match="source must be one of"):
        sim.start_elsewhere(HELLO_NOTEBOOK_ID, "robot")
    unknown = anonymous.post("/_sim/elsewhere", json={"notebookId": "0" * 32})
    assert unknown.status_code == 404
    bad = anonymous.post(
        "/_sim/elsewhere", json={"notebookId": QUALITY_NOTEBOOK_ID, "inputs": {"dataset": "x"}}
    )
    assert bad.status_code == 400


def test_a_removed_notebook_answers_404_but_its_runs_stay_readable(
    api: httpx.Client, anonymous: httpx.Client, target: Target
) -> None:
    sim, clock = target.local()
    run_id = sim.start_elsewhere(QUALITY_NOTEBOOK_ID, "user", {"dataset": "orders_with_gaps"})
    assert anonymous.post("/_sim/remove", json={"notebookId": QUALITY_NOTEBOOK_ID}).json() == {
        "ok": True
    }
    assert api.get(f"/v2/notebooks/{QUALITY_NOTEBOOK_ID}").status_code == 404
    assert api.get(f"/v2/notebooks/{QUALITY_NOTEBOOK_ID}/runs").status_code == 404
    clock.advance(seconds=10)
    run = api.get(f"/v2/runs/{run_id}", params={"snapshotDelivery": "inline"}).json()["run"]
    assert run["status"] == "error"
    assert "snapshotContent" in run
    assert (
        anonymous.post("/_sim/remove", json={"notebookId": QUALITY_NOTEBOOK_ID}).status_code == 404
    )
