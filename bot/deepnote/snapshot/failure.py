"""Why a run failed, as Deepnote's tools say it, and the block that failed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.deepnote.snapshot.parse import Snapshot, SnapshotBlock, SnapshotOutput

EXCERPT_LINES = 15
TRACEBACK_LINES = 10
TITLE_CHARS = 80

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]?")
# IPython marks the failing line as "----> 12 x = 1 / 0".
_ARROW_LINE = re.compile(r"^-+>\s*(\d+)\b", re.MULTILINE)


@dataclass(frozen=True)
class FailingBlock:
    """The block that failed: where, what code, and the end of its traceback."""

    block_id: str
    block_type: str
    excerpt: str
    traceback: tuple[str, ...] = ()
    ename: str | None = None
    evalue: str | None = None
    notebook_name: str | None = None
    title: str | None = None
    """What people call the block: its label, else its first line of code."""

    def describe(self) -> str:
        """Plain multi-line text to store in `RunRecord.failing_block`: the first line names
        the block (title, kind, notebook, id), the rest is its code and traceback.

        >>> block = FailingBlock("b1", "code", "x = 1 / 0", notebook_name="Sales", title="x = 1")
        >>> block.describe().splitlines()[0]
        '“x = 1” (code block b1 in Sales)'
        """
        head = f"{self.block_type} block {self.block_id}"
        if self.notebook_name:
            head += f" in {self.notebook_name}"
        if self.title:
            head = f"“{self.title}” ({head})"
        parts = [head]
        if self.excerpt:
            parts += ["", self.excerpt]
        if self.traceback:
            parts += ["", "Traceback (last lines):", *self.traceback]
        return "\n".join(parts)


def strip_ansi(text: str) -> str:
    """Text without ANSI colour and cursor codes.

    >>> strip_ansi("\\x1b[0;31mZeroDivisionError\\x1b[0m")
    'ZeroDivisionError'
    """
    return _ANSI.sub("", text)


def _traceback_tail(traceback: tuple[str, ...], count: int = TRACEBACK_LINES) -> tuple[str, ...]:
    lines = strip_ansi("\n".join(traceback)).splitlines()
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return tuple(lines[-count:])


def _excerpt(content: str, traceback: tuple[str, ...], count: int = EXCERPT_LINES) -> str:
    """About `count` lines of the block's code, around the failing line when IPython marked it."""
    lines = content.splitlines()
    if len(lines) <= count:
        return "\n".join(lines)
    marked = _ARROW_LINE.findall(strip_ansi("\n".join(traceback)))
    start = 0
    if marked:
        failing = int(marked[-1]) - 1
        if 0 <= failing < len(lines):
            start = max(0, min(failing - count // 2, len(lines) - count))
    shown = lines[start : start + count]
    if start > 0:
        shown.insert(0, f"… ({start} lines above)")
    below = len(lines) - (start + count)
    if below > 0:
        shown.append(f"… ({below} more lines)")
    return "\n".join(shown)


def block_title(block: SnapshotBlock, limit: int = TITLE_CHARS) -> str | None:
    """What a person would call a block: its label, else its first non-blank line.

    >>> block_title(SnapshotBlock("b1", "code", "\\n  assert rows > 0, 'empty'\\nmore"))
    "assert rows > 0, 'empty'"
    """
    text = block.label or next((ln.strip() for ln in block.content.splitlines() if ln.strip()), "")
    text = " ".join(strip_ansi(text).split())
    if not text:
        return None
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _first_failing(snapshot: Snapshot | None) -> tuple[SnapshotBlock, SnapshotOutput] | None:
    if snapshot is None:
        return None
    for block in snapshot.blocks:
        error = block.error_output
        if error is not None:
            return block, error
    return None


def failure_reason(
    run_error: str | None, snapshot: Snapshot | None, status: str
) -> tuple[str, FailingBlock | None]:
    """Why a run failed, as Deepnote's tools say it, and the block that failed when known.

    The reason is the run's `error` if set; else the first block with an `error` output as
    "{ename}: {evalue}"; else the status itself.

    >>> failure_reason(None, None, "internal_error")
    ('The run ended with status `internal_error`.', None)
    """
    found = _first_failing(snapshot)
    failing = None
    if found is not None:
        block, error = found
        failing = FailingBlock(
            block_id=block.id,
            block_type=block.type or "unknown",
            excerpt=_excerpt(block.content, error.traceback),
            traceback=_traceback_tail(error.traceback),
            ename=error.ename,
            evalue=error.evalue,
            notebook_name=block.notebook_name,
            title=block_title(block),
        )
    if run_error and run_error.strip():
        return run_error.strip(), failing
    if found is not None:
        _, error = found
        ename = error.ename or "Error"
        return (f"{ename}: {error.evalue}" if error.evalue else ename), failing
    shown = status.replace("`", "'")
    return f"The run ended with status `{shown}`.", failing
