"""Jupyter outputs as a real run leaves them: streams, tracebacks, data frames, PNG charts."""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

# -- output helpers -------------------------------------------------------------------------


def stream(text: str, name: str = "stdout") -> dict[str, Any]:
    """An nbformat stream output."""
    return {"output_type": "stream", "name": name, "text": text}


def python_str(value: Any) -> str:
    """How Python's print() shows an input's value."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(repr(v) for v in value) + "]"
    return str(value)


def ipython_traceback(
    ename: str, evalue: str, *, cell: int, code: str, line: int
) -> tuple[str, ...]:
    """A traceback shaped like IPython's, ANSI colour codes included, as Deepnote stores it."""
    lines = code.splitlines()
    shown = []
    for number in range(max(line - 2, 1), min(line + 1, len(lines)) + 1):
        marker = "---> " if number == line else "     "
        shown.append(f"\x1b[0;32m{marker}{number:>3}\x1b[0m {lines[number - 1]}")
    return (
        "\x1b[0;31m" + "-" * 75 + "\x1b[0m",
        f"\x1b[0;31m{ename}\x1b[0m{' ' * max(42 - len(ename), 1)}Traceback (most recent call last)",
        f"Cell \x1b[0;32mIn[{cell}], line {line}\x1b[0m\n" + "\n".join(shown) + "\n",
        f"\x1b[0;31m{ename}\x1b[0m: {evalue}",
    )


def line_of(code: str, needle: str) -> int:
    for number, text in enumerate(code.splitlines(), start=1):
        if needle in text:
            return number
    return 1


def dataframe_output(
    columns: Sequence[tuple[str, str]], rows: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """An execute_result holding a dataframe, in Deepnote's dataframe.v3 shape plus text/plain."""
    described = []
    for name, dtype in columns:
        values = [row[name] for row in rows]
        stats: dict[str, Any] = {"unique_count": len(set(values)), "nan_count": 0}
        if dtype in ("int64", "float64") and values:
            low, high = min(values), max(values)
            width = (high - low) / 10 or 1
            bins = [
                {
                    "bin_start": low + width * i,
                    "bin_end": low + width * (i + 1),
                    "count": sum(
                        1
                        for v in values
                        if low + width * i <= v < low + width * (i + 1) or (i == 9 and v == high)
                    ),
                }
                for i in range(10)
            ]
            stats.update(min=str(low), max=str(high), histogram=bins, categories=None)
        else:
            top = [{"name": str(v), "count": 1} for v in values[:2]]
            if len(values) > 2:
                top.append({"name": f"{len(values) - 2} others", "count": len(values) - 2})
            stats.update(min=None, max=None, histogram=None, categories=top)
        described.append({"name": name, "dtype": dtype, "stats": stats})
    described.append({"name": "_deepnote_index_column", "dtype": "int64"})
    table_rows = [
        {**{name: row[name] for name, _ in columns}, "_deepnote_index_column": index}
        for index, row in enumerate(rows)
    ]
    return {
        "output_type": "execute_result",
        "data": {
            "application/vnd.deepnote.dataframe.v3+json": {
                "column_count": len(columns),
                "columns": described,
                "row_count": len(rows),
                "preview_row_count": len(rows),
                "rows": table_rows,
                "type": "dataframe",
            },
            "text/plain": _frame_text([name for name, _ in columns], rows),
        },
        "metadata": {"table_state_spec": "{}"},
    }


def _frame_text(names: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    """Roughly how pandas prints a small frame."""
    cells = [[str(i)] + [_cell(row[n]) for n in names] for i, row in enumerate(rows)]
    header = ["", *names]
    widths = [max(len(c) for c in column) for column in zip(header, *cells, strict=True)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def png_bar_chart(values: Sequence[float], *, width: int = 320, height: int = 160) -> str:
    """A small bar chart as a base64 PNG, drawn without any imaging library."""
    background, bar_colour, axis = (255, 255, 255), (59, 130, 246), (120, 120, 120)
    pixels = [[background] * width for _ in range(height)]
    margin, top_pad = 12, 10
    for x in range(margin, width - margin):
        pixels[height - margin][x] = axis
    peak = max(values, default=0) or 1
    slot = (width - 2 * margin) / max(len(values), 1)
    for i, value in enumerate(values):
        bar_height = int((height - margin - top_pad) * value / peak)
        left, right = (
            int(margin + slot * i + slot * 0.15),
            int(margin + slot * (i + 1) - slot * 0.15),
        )
        for y in range(height - margin - bar_height, height - margin):
            for x in range(left, max(right, left + 1)):
                pixels[y][x] = bar_colour
    raw = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(png).decode("ascii")
