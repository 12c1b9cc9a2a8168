"""The "KPI monitor" sample: big numbers and a table whose values tests and people set.

Its outputs change only when told to (`Simulator.set_kpi(churn_rate=0.052)` in-process, or
`POST /_sim/kpi {"churn_rate": 0.052}` from another process), so an alert (`--notify-if`) can
be made to fire, stay quiet and recover. Every run uses the values set when it was created.

| value | shown as | default |
|---|---|---|
| `churn_rate` | big number *Churn rate*, a fraction shown as a percentage (0.031 → 3.1%) | 0.031 |
| `revenue` | big number *Revenue*, in dollars | 1250000 |
| `freshness_hours` | big number *Data freshness* | 2 |
| `late_orders` | the table `late_orders` (under the heading *Late orders*): that many rows | 0 |
| `top_region` | the text output `top_region` | "Europe" |
| `fail` | true: the first code block raises `ConnectionError` (no outputs at all) | false |
| `missing` | names of big numbers (variable names) that print nothing this run | [] |
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.offline.simulator.behaviours import Failure, Script
from bot.offline.simulator.notebooks import SimNotebook
from bot.offline.simulator.outputs import dataframe_output

KPI_NOTEBOOK_ID = "7968cafc8e2a4f1d970843603af5071c"
KPI_DEFAULTS: dict[str, Any] = {
    "churn_rate": 0.031,
    "revenue": 1_250_000,
    "freshness_hours": 2,
    "late_orders": 0,
    "top_region": "Europe",
    "fail": False,
    "missing": [],
}
_LOAD = "03f8061fc06b4c64b4502d74f6a3ee11"
_BIG_NUMBERS = {
    "churn_rate": "6e12f470ad174aa2a20283261af428e3",
    "revenue": "7821b2bf9d634e50bcef3d46fa4f793e",
    "freshness_hours": "e6c2818bc8e74cf1a86673294a642e98",
}
_TITLES = {"churn_rate": "Churn rate", "revenue": "Revenue", "freshness_hours": "Data freshness"}
_LATE = "8e21c19882494099bbda5ac7dcdda7f3"
_REGION = "ba5c44a577cd42d1b0bde0597771973f"


def kpi_values(given: Mapping[str, Any]) -> dict[str, Any]:
    """The defaults with `given` applied; unknown names are refused (a typo in a test)."""
    unknown = sorted(set(given) - set(KPI_DEFAULTS))
    if unknown:
        raise ValueError(f"Unknown KPI values {unknown}; known: {sorted(KPI_DEFAULTS)}")
    return {**KPI_DEFAULTS, **given}


def kpi_behaviour(notebook: SimNotebook, kpi: Mapping[str, Any]) -> Script:
    """What the KPI monitor prints with these values (see the module's table)."""
    if kpi.get("fail"):
        failure = Failure(
            block_id=_LOAD,
            ename="ConnectionError",
            evalue="the warehouse did not answer",
            reported=True,
        )
        return Script(outputs={}, failure=failure)
    outputs: dict[str, list[dict[str, Any]]] = {}
    missing = set(kpi.get("missing") or ())
    for name, block_id in _BIG_NUMBERS.items():
        if name in missing:
            continue
        payload = json.dumps({"title": _TITLES[name], "value": str(kpi[name])})
        outputs[block_id] = [
            {"output_type": "execute_result", "data": {"text/plain": repr(payload)}}
        ]
    rows = [
        {"order_id": 1000 + i, "customer": f"C{i:03d}", "days_late": 1 + i % 5}
        for i in range(int(kpi["late_orders"]))
    ]
    outputs[_LATE] = [
        dataframe_output(
            [("order_id", "int64"), ("customer", "object"), ("days_late", "int64")], rows
        )
    ]
    region = repr(str(kpi["top_region"]))  # how Jupyter shows a str result: 'Europe'
    outputs[_REGION] = [{"output_type": "execute_result", "data": {"text/plain": region}}]
    return Script(outputs=outputs)
