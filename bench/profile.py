"""Summaries of a py-spy `--format raw` profile (collapsed stacks: `f1;f2;...;fn count`)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

_FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
PROJECT_DIRS = ("bot/", "handlers/", "storage/")


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


def package_of(frame: str) -> str:
    """The top-level package (or stdlib module) a frame's code lives in.

    >>> package_of("handle_request (httpcore/_sync/http11.py:65)"), package_of("f (threading.py:3)")
    ('httpcore', 'threading')
    """
    match = _FRAME.match(frame.strip())
    if not match:
        return "?"
    first = match["file"].replace("\\", "/").lstrip("/").split("/")[0]
    return first.removesuffix(".py") or "?"


def _is_project(frame: str) -> bool:
    match = _FRAME.match(frame.strip())
    path = match["file"] if match else frame
    # py-spy prints paths relative to sys.path entries: "bot/runs.py", "slack_bolt/app/app.py".
    path = path.replace("\\", "/")
    return "site-packages" not in path and any(
        path.startswith(d) or f"/{d}" in path for d in PROJECT_DIRS
    )


def summarise(text: str, top: int = 15) -> dict[str, Any]:
    """Total samples, the top functions by own samples, and by inclusive samples.

    `project_inclusive` lists only the project's own functions (bot/, handlers/, storage/).

    >>> s = summarise("a (x/m.py:1);b (x/n.py:2) 3\\na (x/m.py:1) 1\\n")
    >>> s["samples"], s["self"][0], s["inclusive"][0]
    (4, ['b (x/n.py)', 3, 75.0], ['a (x/m.py)', 4, 100.0])
    """
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
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
        packages[package_of(frames[-1])] += count
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
        "packages": rows(packages),
        "inclusive": rows(inclusive),
        "project_inclusive": rows(project),
    }


def summarise_file(path: Path, top: int = 15) -> dict[str, Any]:
    """`summarise` of a profile file, with its path."""
    return {"file": str(path), **summarise(path.read_text(errors="replace"), top)}
