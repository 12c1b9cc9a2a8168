"""Key results from a snapshot: big numbers, tables, text, images and charts."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from bot.deepnote.snapshot import (
    Snapshot,
    html_to_text,
    key_results,
    unmatched_selectors,
)
from bot.deepnote.snapshot.results import DATAFRAME_MIME, column_cells
from storage.records import BigNumberResult, ChartResult, ImageResult, TableResult, TextResult
from tests.bot.deepnote.snapshot.support import (
    BLOCKS,
    HELLO,
    PNG_SIGNATURE,
    SHOWCASE,
    load,
    snapshot_of,
)

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
    # Numbers get thousands separators and each column's decimals (the notebook's own
    # formatted text, "32.5%", stays as it is).
    assert table.rows[0] == ("North America", "2,137.3", "356.2", "32.5%")
    assert table.rows[1] == ("Europe", "1,913.0", "318.8", "29.1%")
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
            BigNumberResult("bn", "Revenue", "6,572,100", None),
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


VEGA_SPEC = {"$schema": "https://vega.github.io/schema/vega/v5.json", "marks": []}
# One block for each kind of output: charts (as a dict and as JSON text), SVG, an undecodable
# PNG, markdown, stderr, and an input block's stray output.
MIXED_OUTPUTS: tuple[dict[str, Any], ...] = (
    {
        "id": "v",
        "type": "visualization",
        "metadata": {"deepnote_variable_name": "sales"},
        "outputs": [
            {"output_type": "display_data", "data": {"application/vnd.vega.v5+json": VEGA_SPEC}}
        ],
    },
    {
        "id": "j",
        "type": "code",
        "content": "chart",
        "outputs": [
            {
                "output_type": "display_data",
                "data": {"application/vnd.vega.v5+json": json.dumps(VEGA_SPEC)},
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


def test_chart_and_other_mimes() -> None:
    spec = VEGA_SPEC
    snapshot = snapshot_of(*MIXED_OUTPUTS)
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


# --- numbers: one rule -----------------------------------------------------------------------


def frame_of(columns: list[tuple[str, str]], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A dataframe.v3 payload as Deepnote writes it."""
    return {
        "column_count": len(columns),
        "row_count": len(rows),
        "columns": [{"name": n, "dtype": t} for n, t in columns],
        "rows": rows,
    }


def test_table_numbers_share_one_rule_per_column() -> None:
    frame = frame_of(
        [("Product", "object"), ("Units", "int64"), ("Revenue", "float64"), ("Year", "int64")],
        [
            {"Product": "A", "Units": 1674, "Revenue": 115320.0, "Year": 2026},
            {"Product": "B", "Units": 961, "Revenue": 18212.5, "Year": 2025},
            {"Product": "C", "Units": None, "Revenue": 0.004, "Year": 2024},
        ],
    )
    block = {
        "id": "t",
        "type": "code",
        "content": "top",
        "outputs": [{"output_type": "execute_result", "data": {DATAFRAME_MIME: frame}}],
    }
    (table,) = key_results(snapshot_of(block))
    assert isinstance(table, TableResult)
    assert table.rows == (
        ("A", "1,674", "115,320.0", "2026"),
        ("B", "961", "18,212.5", "2025"),
        ("C", "", "0.004", "2024"),
    )


@pytest.mark.parametrize(
    ("name", "values", "shown"),
    [
        ("customer_id", [10001, 10002], ["10001", "10002"]),
        ("zip code", [12345], ["12345"]),
        ("Revenue ($k)", [2137.3, 1913], ["2,137.3", "1,913.0"]),
        ("price", [1.25, 2.1], ["1.25", "2.10"]),
        ("ratio", [1 / 3, 0.5], ["0.33", "0.50"]),
        ("count", [True, 1], ["true", "1"]),
        ("mixed", ["a", 1], ["a", "1"]),
        ("big", [12345678901234567890], ["12,345,678,901,234,567,890"]),
        ("missing", [float("nan"), 1.5], ["nan", "1.5"]),
    ],
)
def test_column_cells(name: str, values: list[Any], shown: list[str]) -> None:
    assert column_cells(name, values) == shown


@pytest.mark.parametrize(
    ("number_format", "value", "shown"),
    [
        ("currency", "296815.7", "$296,815.70"),  # the Sales report sample's big number
        ("number", "296815.7", "296,815.7"),
        ("percent", "0.053", "5.3%"),
        ("", "1234", "1,234"),
        ("currency", "n/a", "n/a"),
    ],
)
def test_big_number_in_its_blocks_format(number_format: str, value: str, shown: str) -> None:
    block = {
        "id": "bn",
        "type": "big-number",
        "metadata": {"deepnote_big_number_format": number_format},
        "outputs": [
            {
                "output_type": "execute_result",
                "data": {"text/plain": repr(json.dumps({"title": "Revenue", "value": value}))},
            }
        ],
    }
    assert key_results(snapshot_of(block)) == [BigNumberResult("bn", "Revenue", shown, None)]
