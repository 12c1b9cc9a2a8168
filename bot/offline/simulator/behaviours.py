"""What each simulated notebook prints for its inputs, and where it fails.

The shipped samples have their own behaviour (`SAMPLE_BEHAVIOURS`); every other notebook gets
`echo_behaviour`: simple `print(...)` blocks are evaluated, other blocks keep the outputs stored
in the file, and a stored `error` output fails the run.
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.deepnote.models import (
    NotebookInput,
)
from bot.offline.simulator.inputs import date_range_bounds
from bot.offline.simulator.notebooks import QUALITY_NOTEBOOK_ID, SALES_NOTEBOOK_ID, SimNotebook
from bot.offline.simulator.outputs import (
    dataframe_output,
    ipython_traceback,
    line_of,
    png_bar_chart,
    python_str,
    stream,
)

# -- execution ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """The exception a block raises during a run."""

    block_id: str
    ename: str
    evalue: str
    traceback: tuple[str, ...] = ()
    reported: bool = False
    """Whether the run's `error` field names it (real Deepnote often leaves it null)."""

    @property
    def text(self) -> str:
        """`ename: evalue`, the way Deepnote's tools describe a failure."""
        return f"{self.ename}: {self.evalue}"

    def output(self) -> dict[str, Any]:
        """The nbformat `error` output shown under the failing block."""
        return {
            "output_type": "error",
            "ename": self.ename,
            "evalue": self.evalue,
            "traceback": list(self.traceback),
        }


@dataclass(frozen=True)
class Script:
    """What a notebook does for given inputs: outputs per block, and the failure, if any."""

    outputs: Mapping[str, list[dict[str, Any]]]
    failure: Failure | None = None


Behaviour = Callable[[SimNotebook, Mapping[str, Any], date], Script]
"""(notebook, effective input values, the run's date) → what each block prints."""


# -- behaviours -----------------------------------------------------------------------------


def python_value(spec: NotebookInput | None, value: Any, today: date) -> str:
    """How print() shows an input's variable: date ranges are lists of datetime.date."""
    if spec is not None and spec.type == "input-date-range":
        try:
            start, end = date_range_bounds(value, today)
        except ValueError:
            return python_str(value)
        return f"[{start!r}, {end!r}]"
    return python_str(value)


def _print_text(code: str, shown: Mapping[str, str]) -> str | None:
    """What a block made only of `print(literal or input)` calls prints; None for other code."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    printed = []
    for statement in tree.body:
        call = statement.value if isinstance(statement, ast.Expr) else None
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id == "print"
            and not call.keywords
        ):
            return None
        parts = []
        for arg in call.args:
            if isinstance(arg, ast.Constant):
                parts.append(python_str(arg.value))
            elif isinstance(arg, ast.Name) and arg.id in shown:
                parts.append(shown[arg.id])
            else:
                return None
        printed.append(" ".join(parts) + "\n")
    return "".join(printed) if printed else None


def echo_behaviour(notebook: SimNotebook, values: Mapping[str, Any], today: date) -> Script:
    """Any notebook: evaluate simple print blocks, replay the file's other outputs."""
    shown = {
        name: python_value(notebook.notebook.input_named(name), value, today)
        for name, value in values.items()
    }
    outputs: dict[str, list[dict[str, Any]]] = {}
    failure = None
    for block in notebook.blocks:
        block_id = str(block["id"])
        code = str(block.get("content") or "")
        text = _print_text(code, shown) if block.get("type") == "code" else None
        if text is not None:
            outputs[block_id] = [stream(text)]
            continue
        stored = [dict(o) for o in block.get("outputs") or [] if isinstance(o, Mapping)]
        errors = [o for o in stored if o.get("output_type") == "error"]
        outputs[block_id] = [o for o in stored if o.get("output_type") != "error"]
        if errors and failure is None:
            first = errors[0]
            failure = Failure(
                block_id=block_id,
                ename=str(first.get("ename") or "Error"),
                evalue=str(first.get("evalue") or ""),
                traceback=tuple(str(t) for t in first.get("traceback") or ()),
            )
    return Script(outputs=outputs, failure=failure)


# The sales sample: block ids from samples/sales-report.deepnote.
_SALES_HEADER = "170bea8ce1ba05e2deb1ca1cda097a2f"
_SALES_TOTALS = "4794c9154c170c4282779cf54ce8bd1a"
_SALES_BIG_NUMBER = "7b5e0009938448f7bb9c8426ef3e4e88"
_SALES_TABLE = "cab66f0d4e870089b57eab19351cabc6"
_SALES_CHART = "ce71a42b85705a0c538db11bf5f1b9ec"

SALES_PRODUCTS = {
    "Widget": 12.5,
    "Gadget": 30.0,
    "Sprocket": 4.25,
    "Gizmo": 18.0,
    "Doohickey": 7.5,
    "Thingamajig": 55.0,
    "Whatsit": 9.99,
    "Contraption": 120.0,
    "Dingus": 2.5,
    "Gubbins": 15.0,
}
SALES_STORES = {"Europe": 42, "North America": 57, "Asia Pacific": 31, "Mars": 0}


def sales_daily_units(region: str, channel: str, product: str) -> int:
    """Deterministic synthetic units sold per day (the notebook computes the same)."""
    if SALES_STORES.get(region, 0) == 0:
        return 0
    digest = hashlib.sha256(f"{region}|{channel}|{product}".encode()).digest()
    return 1 + digest[0] % 40


def _cell_failure(
    notebook: SimNotebook, block_id: str, ename: str, evalue: str, *, at: str, reported: bool
) -> Failure:
    """`block_id` raising `ename`, its IPython traceback pointing at the line containing `at`."""
    code = str((notebook.block(block_id) or {}).get("content") or "")
    return Failure(
        block_id=block_id,
        ename=ename,
        evalue=evalue,
        traceback=ipython_traceback(ename, evalue, cell=2, code=code, line=line_of(code, at)),
        reported=reported,
    )


def _no_stores(notebook: SimNotebook) -> Failure:
    """The totals block's failure for a region without stores: a division by zero."""
    return _cell_failure(
        notebook,
        _SALES_TOTALS,
        "ZeroDivisionError",
        "float division by zero",
        at="/ SALES_STORES",
        reported=False,
    )


def sales_behaviour(notebook: SimNotebook, values: Mapping[str, Any], today: date) -> Script:
    """The "Sales report" sample: header, totals (fails for Mars), big number, table, chart."""
    region = str(values.get("region", ""))
    channels = [str(c) for c in values.get("channels") or []]
    start, end = date_range_bounds(values.get("period"), today)
    days = (end - start).days + 1
    units = {
        p: sum(sales_daily_units(region, c, p) for c in channels) * days for p in SALES_PRODUCTS
    }
    revenue = {
        p: u * price for (p, price), u in zip(SALES_PRODUCTS.items(), units.values(), strict=True)
    }
    if values.get("include_returns") is True:
        revenue = {p: r * 0.97 for p, r in revenue.items()}
    total = round(sum(revenue.values()), 2)
    header = (
        f"{values.get('report_title', '')}\n"
        f"Region: {region} · Channels: {', '.join(channels)}\n"
        f"Period: {start} → {end} ({days} days), as of {values.get('as_of', '')}\n"
        f"Returns subtracted: {'yes' if values.get('include_returns') is True else 'no'}\n"
        f"Price list: {values.get('price_list', '')}\n"
        f"Notes: {values.get('notes', '')}\n"
    )
    outputs: dict[str, list[dict[str, Any]]] = {_SALES_HEADER: [stream(header)]}
    failure = None
    stores = SALES_STORES.get(region, 0)
    if stores:
        outputs[_SALES_TOTALS] = [stream(f"Revenue per store: ${total / stores:,.2f}\n")]
    else:
        failure = _no_stores(notebook)
    title = f"Revenue · {region}"
    big_number = json.dumps({"title": title, "value": str(total)})
    outputs[_SALES_BIG_NUMBER] = [
        {"output_type": "execute_result", "data": {"text/plain": repr(big_number)}}
    ]
    top_n = int(float(str(values.get("top_n") or 5)))
    ranked = sorted(revenue, key=lambda p: (-revenue[p], p))[:top_n]
    rows: list[dict[str, Any]] = [
        {"Product": p, "Units": units[p], "Revenue ($)": round(revenue[p], 2)} for p in ranked
    ]
    outputs[_SALES_TABLE] = [
        dataframe_output(
            [("Product", "object"), ("Units", "int64"), ("Revenue ($)", "float64")], rows
        )
    ]
    outputs[_SALES_CHART] = [
        {
            "output_type": "display_data",
            "data": {
                "image/png": png_bar_chart([float(r["Revenue ($)"]) for r in rows]),
                "text/plain": "<Figure size 600x300 with 1 Axes>",
            },
        }
    ]
    return Script(outputs=outputs, failure=failure)


_QUALITY_CHECK = "748cbc13f6b95ac7e306b16cac383de4"
QUALITY_DATASETS = {"orders": (120, 0), "customers": (45, 0), "orders_with_gaps": (120, 3)}
"""dataset → (rows, rows without a customer_id)."""


def quality_behaviour(notebook: SimNotebook, values: Mapping[str, Any], today: date) -> Script:
    """The "Data quality check" sample: silent when the data is clean, fails on gaps."""
    dataset = str(values.get("dataset", ""))
    rows, missing = QUALITY_DATASETS.get(dataset, (0, 0))
    if not missing:
        return Script(outputs={})
    evalue = f"{missing} of {rows} rows in {dataset} have no customer_id"
    failure = _cell_failure(
        notebook, _QUALITY_CHECK, "AssertionError", evalue, at="assert missing", reported=True
    )
    return Script(outputs={}, failure=failure)


SAMPLE_BEHAVIOURS: dict[str, Behaviour] = {
    SALES_NOTEBOOK_ID: sales_behaviour,
    QUALITY_NOTEBOOK_ID: quality_behaviour,
}
"""Notebooks with their own behaviour; every other one (Hello world included) echoes."""
