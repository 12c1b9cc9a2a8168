"""The KPI monitor sample: its numbers change only when told to (in-process or over the control
API), each run keeps the numbers it was created with, and its snapshot shows them as Deepnote
would (big numbers, a table of that many rows, a text output)."""

from __future__ import annotations

import httpx

from bot.deepnote.snapshot import condition_facts, parse_snapshot
from bot.offline.simulator import KPI_NOTEBOOK_ID
from tests.offline.contract import Target, start_run


def _finished_snapshot(api: httpx.Client, target: Target, run_id: str) -> str:
    _sim, clock = target.local()
    clock.advance(seconds=10)
    run = api.get(f"/v2/runs/{run_id}", params={"snapshotDelivery": "inline"}).json()["run"]
    assert run["status"] == "success"
    return str(run["snapshotContent"])


def test_kpi_values_are_set_over_http_and_each_run_keeps_its_own(
    anonymous: httpx.Client, api: httpx.Client, target: Target
) -> None:
    sim, _ = target.local()
    before = start_run(api, {"notebookId": KPI_NOTEBOOK_ID})
    answer = anonymous.post("/_sim/kpi", json={"churn_rate": 0.052, "late_orders": 3})
    assert answer.status_code == 200
    assert answer.json()["kpi"]["churn_rate"] == 0.052
    after = start_run(api, {"notebookId": KPI_NOTEBOOK_ID})

    old = condition_facts(parse_snapshot(_finished_snapshot(api, target, before)), status="success")
    new = condition_facts(parse_snapshot(_finished_snapshot(api, target, after)), status="success")
    assert old.values["churn rate"].shown == "3.1%"
    assert old.tables["late orders"] == ("late_orders", 0)
    assert new.values["churn rate"].shown == "5.2%"
    assert new.values["revenue"].shown == "$1,250,000.00"
    assert new.values["data freshness"].shown == "2"
    assert new.values["top region"].shown == "'Europe'"
    assert new.tables["late orders"] == ("late_orders", 3)

    refused = anonymous.post("/_sim/kpi", json={"churn": 1})
    assert refused.status_code == 400
    assert "Unknown KPI values ['churn']" in refused.json()["message"]
    sim.set_kpi(reset=True)
    assert sim.kpi()["churn_rate"] == 0.031


def test_a_failing_or_partial_run(api: httpx.Client, target: Target) -> None:
    sim, _ = target.local()
    sim.set_kpi(missing=["revenue"])
    partial = start_run(api, {"notebookId": KPI_NOTEBOOK_ID})
    facts = condition_facts(
        parse_snapshot(_finished_snapshot(api, target, partial)), status="success"
    )
    assert "revenue" not in facts.values
    assert "churn rate" in facts.values
    sim.set_kpi(fail=True)
    failed = start_run(api, {"notebookId": KPI_NOTEBOOK_ID})
    target.local()[1].advance(seconds=10)
    run = api.get(f"/v2/runs/{failed}").json()["run"]
    assert (run["status"], run["error"]) == (
        "error",
        "ConnectionError: the warehouse did not answer",
    )
