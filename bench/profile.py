"""Summaries of a py-spy `--format raw` profile (collapsed stacks: `f1;f2;...;fn count`)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

_FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
PROJECT_DIRS = ("/bot/", "/handlers/", "/storage/")


def function_of(frame: str) -> str:
    """A frame without its line number, with the file shortened to its last two parts.

    >>> function_of("poll (/work/main/bot/runs.py:301)")
    'poll (bot/runs.py)'
    """
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    parts = match["file"].replace("\\", "/").split("/")
    return f"{match['name']} ({'/'.join(parts[-2:])})"


def _is_project(frame: str) -> bool:
    match = _FRAME.match(frame.strip())
    path = match["file"] if match else frame
    return any(d in path for d in PROJECT_DIRS) and "site-packages" not in path


def summarise(text: str, top: int = 15) -> dict[str, Any]:
    """Total samples, the top functions by own samples, and by inclusive samples.

    `project_inclusive` lists only the project's own functions (bot/, handlers/, storage/).

    >>> s = summarise("a (x/m.py:1);b (x/n.py:2) 3\\na (x/m.py:1) 1\\n")
    >>> s["samples"], s["self"][0], s["inclusive"][0]
    (4, ['b (x/n.py)', 3, 75.0], ['a (x/m.py)', 4, 100.0])
    """
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    project: Counter[str] = Counter()
    total = 0
    for line in text.splitlines():
        stack, _, raw_count = line.rpartition(" ")
        if not stack or not raw_count.isdigit():
            continue
        count = int(raw_count)
        total += count
        frames = stack.split(";")
        own[function_of(frames[-1])] += count
        seen = {function_of(f) for f in frames}
        for name in seen:
            inclusive[name] += count
        for name in {function_of(f) for f in frames if _is_project(f)}:
            project[name] += count

    def rows(counter: Counter[str]) -> list[list[Any]]:
        return [[n, c, round(100 * c / total, 1)] for n, c in counter.most_common(top)]

    return {
        "samples": total,
        "self": rows(own),
        "inclusive": rows(inclusive),
        "project_inclusive": rows(project),
    }


def summarise_file(path: Path, top: int = 15) -> dict[str, Any]:
    """`summarise` of a profile file, with its path."""
    return {"file": str(path), **summarise(path.read_text(errors="replace"), top)}
