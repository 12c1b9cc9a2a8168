"""The console's exit codes: the README's table and `deepnote-bot console --help` list the
same codes with the same meanings."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_codes() -> dict[int, str]:
    """The exit-code table of the README's Quick start."""
    match = re.search(
        r"<!-- console-exit-codes:start -->\n(.*?)<!-- console-exit-codes:end -->", README, re.S
    )
    assert match, "README must keep the console's exit codes between their markers"
    rows = re.findall(r"^\| `(\d+)` \| (.+?) \|$", match.group(1), re.M)
    return {int(code): meaning for code, meaning in rows}


def help_codes() -> dict[int, str]:
    """The `exit status:` list at the end of `deepnote-bot console --help`."""
    shown = subprocess.run(
        [sys.executable, "-m", "bot", "console", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    ).stdout
    _, found, tail = shown.partition("\nexit status:\n")
    assert found, f"console --help has no exit status list:\n{shown}"
    codes: dict[int, str] = {}
    last = None
    for line in tail.splitlines():
        entry = re.match(r"^  (\d+)\s+(.*)$", line)
        if entry:
            last = int(entry.group(1))
            codes[last] = entry.group(2).strip()
        elif line.startswith("      ") and last is not None:
            codes[last] += " " + line.strip()
    return codes


def test_readme_and_help_list_the_same_exit_codes() -> None:
    readme, helped = readme_codes(), help_codes()
    assert readme == helped
    # The codes the console really uses, timeout and interruption included.
    assert set(readme) == {0, 1, 2, 3, 130}
    assert "--timeout" in readme[3]
