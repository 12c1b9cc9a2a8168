"""Key results of a run from its snapshot: big numbers, tables, text, images and charts."""

from __future__ import annotations

import ast
import base64
import binascii
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from bot.conditions import Fact, Facts
from bot.deepnote.snapshot.parse import Snapshot, SnapshotBlock, as_int, as_items, as_str
from storage.records import (
    BigNumberResult,
    ChartResult,
    ImageResult,
    ResultItem,
    TableResult,
    TextResult,
)

DATAFRAME_MIME = "application/vnd.deepnote.dataframe.v3+json"
CHART_MIMES = (
    "application/vnd.vega.v5+json",
    "application/vnd.vegalite.v5+json",
    "application/vnd.vegalite.v4+json",
)
IMAGE_MIMES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")
INDEX_COLUMN = "_deepnote_index_column"

MAX_TABLE_ROWS = 10
MAX_TABLE_COLUMNS = 6
MAX_CELL_CHARS = 100

_PLACEHOLDER = re.compile(r"^<[\w.]+ (?:object|at 0x[0-9a-f]+)>$")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEADING_TYPES = ("text-cell-h1", "text-cell-h2", "text-cell-h3")


class _TextOfHtml(HTMLParser):
    _BREAKS = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "table", "ul"})
    _SKIP = frozenset({"style", "script", "head"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The readable text of an HTML fragment, one line per block element.

    >>> html_to_text("<div><b>Revenue</b></div><div>$6,572,100</div>")
    'Revenue\\n$6,572,100'
    """
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        text = str(int(value))
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, default=str, ensure_ascii=False)
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


# --- numbers --------------------------------------------------------------------------------
# One rule for every number the bot formats itself (table cells, big numbers, comparisons):
# thousands separators and at most 2 decimals, trailing zeros dropped; a table column shows
# all its numbers with the same decimals so they line up; money always has 2 decimals. A
# non-zero value that would show as 0 keeps 2 significant digits. Text a notebook printed is
# shown as it printed it. Whole-number columns named like ids, years or codes are left alone
# (`2026`, not `2,026`).

MAX_DECIMALS = 2
_PLAIN_INTEGER_COLUMN = re.compile(r"(?:^|[\s_.-])(?:id|year|yr|zip|code|no)$", re.IGNORECASE)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def decimals_needed(value: float) -> int:
    """How many decimals (0 to 2) `value` needs once rounded to 2.

    >>> [decimals_needed(v) for v in (3, 2.5, 0.125, 1e20)]
    [0, 1, 2, 0]
    """
    if not math.isfinite(value):
        return 0
    text = f"{round(value, MAX_DECIMALS):.{MAX_DECIMALS}f}".rstrip("0")
    return len(text.partition(".")[2])


def format_number(value: int | float, decimals: int | None = None) -> str:
    """`value` with thousands separators and `decimals` decimals (default: as many as it
    needs, at most 2).

    >>> [format_number(v) for v in (296815.7, 1674, -0.5, 0.0042, float("nan"))]
    ['296,815.7', '1,674', '-0.5', '0.0042', 'nan']
    >>> format_number(115320.0, 2)
    '115,320.00'
    """
    if not math.isfinite(value):
        return str(value)
    places = decimals_needed(value) if decimals is None else decimals
    # Whole numbers stay exact (a float would round 20-digit integers).
    text = f"{value:,}" if isinstance(value, int) and not places else f"{value:,.{places}f}"
    if value and not any(c in "123456789" for c in text):
        return f"{value:.2g}"  # would read as zero
    return text


def column_cells(name: str, values: list[Any]) -> list[str]:
    """A column's cells as text; numbers by the rule above, other values as they are."""
    numbers = [v for v in values if v is not None]
    if not numbers or not all(_is_number(v) for v in numbers):
        return [_cell(v) for v in values]
    if all(isinstance(v, int) for v in numbers) and _PLAIN_INTEGER_COLUMN.search(name.strip()):
        return [_cell(v) for v in values]
    places = max(decimals_needed(float(v)) for v in numbers)
    return ["" if v is None else format_number(v, places) for v in values]


def format_big_number(value: str, number_format: Any) -> str:
    """A big number's value in the block's format (`currency`, `percent`, else a number);
    text that is not a number stays as it is.

    >>> [format_big_number("296815.7", f) for f in ("currency", "number", "percent", None)]
    ['$296,815.70', '296,815.7', '29,681,570%', '296,815.7']
    >>> format_big_number("n/a", "currency"), format_big_number("-3.5", "currency")
    ('n/a', '-$3.50')
    """
    number = _number(value)
    if number is None or value.strip().lower() in ("nan", "inf", "-inf"):
        return value
    if number_format == "currency":
        text = f"${abs(number):,.2f}"
        return "-" + text if number < 0 else text
    if number_format == "percent":
        return format_number(number * 100) + "%"
    return format_number(number)


def _table(block_id: str, title: str, frame: Mapping[str, Any]) -> TableResult | None:
    raw_rows = [r for r in as_items(frame.get("rows")) if isinstance(r, Mapping)]
    names: list[str] = []
    for column in as_items(frame.get("columns")):
        name = as_str(column.get("name")) if isinstance(column, Mapping) else as_str(column)
        if name is not None and name not in names:
            names.append(name)
    if not names and raw_rows:
        names = [str(k) for k in raw_rows[0]]
    data_columns = [n for n in names if n != INDEX_COLUMN]
    # A default RangeIndex (0, 1, 2 …) says nothing; a labelled one (regions, dates) is the
    # row header, so it is kept as an unnamed first column.
    index = [r.get(INDEX_COLUMN) for r in raw_rows]
    labelled = INDEX_COLUMN in names and any(
        str(v) != str(i) for i, v in enumerate(index) if v is not None
    )
    width = MAX_TABLE_COLUMNS - 1 if labelled else MAX_TABLE_COLUMNS
    keys = ([INDEX_COLUMN] if labelled else []) + data_columns[:width]
    columns = tuple("" if k == INDEX_COLUMN else k for k in keys)
    shown = raw_rows[:MAX_TABLE_ROWS]
    cells = [
        [_cell(r.get(k)) for r in shown]
        if k == INDEX_COLUMN
        else column_cells(k, [r.get(k) for r in shown])
        for k in keys
    ]
    rows = tuple(tuple(column[i] for column in cells) for i in range(len(shown)))
    total_rows = as_int(frame.get("row_count"))
    total_columns = as_int(frame.get("column_count"))
    if not columns:
        return None
    return TableResult(
        block_id=block_id,
        title=title,
        columns=columns,
        rows=rows,
        total_rows=total_rows if total_rows is not None else len(raw_rows),
        total_columns=total_columns if total_columns is not None else len(data_columns),
    )


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.replace(",", "").strip().rstrip("%"))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _signed(value: float) -> str:
    text = f"{value:+,.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("+0", "-0") else text


def _comparison(meta: Mapping[str, Any], payload: Mapping[str, Any], value: str) -> str | None:
    if meta.get("deepnote_big_number_comparison_enabled") is False:
        return None
    title = as_str(
        payload.get("comparisonTitle") or meta.get("deepnote_big_number_comparison_title")
    )
    other = as_str(payload.get("comparisonValue"))
    if not other:
        return None
    kind = meta.get("deepnote_big_number_comparison_type")
    now, then = _number(value), _number(other)
    label = f" {title}" if title else ""
    if kind == "percentage-change" and now is not None and then:
        return f"{_signed((now - then) / abs(then) * 100)}%{label}"
    if kind == "absolute-change" and now is not None and then is not None:
        return f"{_signed(now - then)}{label}"
    return f"{title}: {other}" if title else other


def _json_payload(text: str) -> Any:
    """JSON in a text/plain output, also when the kernel showed it as a quoted str repr.

    >>> _json_payload("'{\\"value\\": \\"7\\"}'")
    {'value': '7'}
    """
    candidate = text.strip()
    if len(candidate) >= 2 and candidate[0] == candidate[-1] and candidate[0] in "'\"":
        try:
            inner = ast.literal_eval(candidate)
        except (ValueError, SyntaxError):
            inner = None
        if isinstance(inner, str):
            candidate = inner
    try:
        return json.loads(candidate)
    except ValueError:
        return None


def _big_number(block: SnapshotBlock, title: str) -> BigNumberResult | None:
    """Deepnote's big-number output is text/plain JSON: {title, value, comparisonTitle, …}."""
    for output in block.outputs:
        text = as_str(output.data.get("text/plain"))
        if text is None:
            continue
        payload = _json_payload(text)
        if not isinstance(payload, Mapping):
            return BigNumberResult(block.id, title, text.strip())
        value = as_str(payload.get("value")) or ""
        # The payload's title is rendered (Jinja filled in); the metadata's is the template.
        shown_title = as_str(payload.get("title")) or block.label or title
        shown = format_big_number(value, block.metadata.get("deepnote_big_number_format"))
        return BigNumberResult(
            block.id, shown_title, shown, _comparison(block.metadata, payload, value)
        )
    return None


def _decoded(value: Any) -> Any:
    """JSON text decoded (None when it is not JSON); any other value as it is.

    >>> _decoded('{"a": 1}'), _decoded("{oops"), _decoded({"a": 1})
    ({'a': 1}, None, {'a': 1})
    """
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return None


def _data_result(block_id: str, title: str, data: Mapping[str, Any]) -> ResultItem | None:
    frame = _decoded(data.get(DATAFRAME_MIME))
    if isinstance(frame, Mapping):
        table = _table(block_id, title, frame)
        if table is not None:
            return table
    for mime in CHART_MIMES:
        spec = _decoded(data.get(mime))
        if isinstance(spec, Mapping):
            return ChartResult(block_id, title, spec)
    for mime in IMAGE_MIMES:
        raw = as_str(data.get(mime))
        if not raw:
            continue
        if mime == "image/svg+xml":
            return ImageResult(block_id, title, mime, raw.encode())
        try:
            return ImageResult(
                block_id, title, mime, base64.b64decode("".join(raw.split()), validate=True)
            )
        except (binascii.Error, ValueError):
            continue
    markdown = as_str(data.get("text/markdown"))
    if markdown and markdown.strip():
        return TextResult(block_id, title, markdown.strip())
    text = as_str(data.get("text/plain"))
    if text and text.strip() and not _PLACEHOLDER.match(text.strip()):
        return TextResult(block_id, title, text.strip("\n"))
    html = as_str(data.get("text/html"))
    if html:
        readable = html_to_text(html)
        if readable:
            return TextResult(block_id, title, readable)
    return None


def _last_expression(content: str) -> str | None:
    lines = [line.strip() for line in content.splitlines() if line.strip()]
    if lines and _IDENTIFIER.fullmatch(lines[-1]):
        return lines[-1]
    return None


def block_names(block: SnapshotBlock, heading: str | None) -> tuple[str, frozenset[str]]:
    """A block's title and the names `--post-outputs` picks its outputs by (case-folded):
    its id, title, variable and label; `heading` is the nearest heading above it."""
    variable = block.name or _last_expression(block.content)
    title = (
        block.label
        or variable
        or heading
        or block.notebook_name
        or f"Output of block {block.id[:8]}"
    )
    return title, frozenset(n.casefold() for n in (block.id, title, variable, block.label) if n)


def heading_of(block: SnapshotBlock) -> str | None:
    """The heading a text or markdown block sets for the blocks below it, if any."""
    if block.type in _HEADING_TYPES:
        return block.content.strip() or None
    if block.type == "markdown":
        for line in block.content.splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip() or None
    return None


@dataclass(frozen=True)
class _Candidate:
    block: SnapshotBlock
    names: frozenset[str]
    item: ResultItem


def _candidates(snapshot: Snapshot, notebook_id: str | None) -> Iterator[_Candidate]:
    blocks = snapshot.blocks
    if notebook_id is not None and any(b.notebook_id == notebook_id for b in blocks):
        blocks = tuple(b for b in blocks if b.notebook_id == notebook_id)
    heading: str | None = None
    notebook: str | None = None
    for block in blocks:
        if block.notebook_id != notebook:
            notebook, heading = block.notebook_id, None
        heading = heading_of(block) or heading
        title, names = block_names(block, heading)
        if block.type == "big-number":
            big = _big_number(block, title)
            if big is not None:
                yield _Candidate(block, names | {big.title.casefold()}, big)
            continue
        if block.type.startswith("input-"):
            continue
        for output in block.outputs:
            item: ResultItem | None = None
            if output.output_type == "stream" and output.name != "stderr":
                text = (output.text or "").strip("\n")
                item = TextResult(block.id, title, text) if text.strip() else None
            elif output.output_type in ("execute_result", "display_data"):
                item = _data_result(block.id, title, output.data)
            if item is not None:
                yield _Candidate(block, names, item)


def key_results(
    snapshot: Snapshot | None, *, select: str | None = None, notebook_id: str | None = None
) -> list[ResultItem]:
    """The outputs worth showing in Slack, in notebook order.

    `select`: None for a report's usual picks (big numbers, tables, images, charts and the last
    text output), "all", "none", or a comma-separated list of block ids, titles or variable
    names (case-insensitive), returned in the order asked. `notebook_id` keeps one notebook's
    blocks when the snapshot holds several.
    """
    if snapshot is None:
        return []
    mode = (select or "").strip().casefold()
    if mode == "none":
        return []
    candidates = list(_candidates(snapshot, notebook_id))
    if mode == "all":
        return [c.item for c in candidates]
    if not mode:
        last_text = next((c for c in reversed(candidates) if isinstance(c.item, TextResult)), None)
        return [c.item for c in candidates if not isinstance(c.item, TextResult) or c is last_text]
    picked: list[ResultItem] = []
    seen: set[int] = set()
    for wanted in _selectors(select or ""):
        for index, candidate in enumerate(candidates):
            if wanted in candidate.names and index not in seen:
                seen.add(index)
                picked.append(candidate.item)
    return picked


def _selectors(select: str) -> list[str]:
    return [s.strip().casefold() for s in select.split(",") if s.strip()]


def unmatched_selectors(
    snapshot: Snapshot | None, select: str, *, notebook_id: str | None = None
) -> list[str]:
    """The names in a comma-separated `select` that match no result (to tell the user)."""
    if select.strip().casefold() in ("", "all", "none"):
        return []
    known: set[str] = set()
    if snapshot is not None:
        for candidate in _candidates(snapshot, notebook_id):
            known |= candidate.names
    return [s.strip() for s in select.split(",") if s.strip() and s.strip().casefold() not in known]


def condition_facts(
    snapshot: Snapshot | None, *, status: str, notebook_id: str | None = None
) -> Facts:
    """What a `--notify-if` condition can read of a run, by the names its cards use.

    Big numbers by title (as shown), template title, variable or block id; a variable's value
    from its block's last text output; a table's row count (all rows, not only those shown).
    """
    values: dict[str, tuple[frozenset[str], Fact]] = {}
    tables: dict[str, tuple[frozenset[str], str, int]] = {}
    if snapshot is not None:
        for candidate in _candidates(snapshot, notebook_id):
            item, block = candidate.item, candidate.block
            names = candidate.names
            if isinstance(item, BigNumberResult):
                variable = as_str(block.metadata.get("deepnote_big_number_value"))
                names = names | {variable} if variable else names
                values.setdefault(block.id, (names, Fact(item.title, item.value)))
            elif isinstance(item, TextResult):
                values[block.id] = (names, Fact(item.title, item.text))  # the last one counts
            elif isinstance(item, TableResult):
                tables.setdefault(block.id, (names, item.title, item.total_rows))
    return Facts.build(
        status,
        values=((names, fact) for names, fact in values.values()),
        tables=tables.values(),
    )
