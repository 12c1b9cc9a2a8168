"""Why a run failed: the reason, the failing block, its excerpt and traceback."""

from __future__ import annotations

import pytest
import yaml

from bot.deepnote.snapshot import (
    FailingBlock,
    Snapshot,
    failure_reason,
    parse_snapshot,
    strip_ansi,
)
from bot.deepnote.snapshot.failure import block_title
from bot.deepnote.snapshot.parse import SnapshotBlock
from tests.bot.deepnote.snapshot.support import (
    HELLO,
    SHOWCASE,
    load,
    raw,
    snapshot_of,
)

# --- why a run failed ---------------------------------------------------------------------

TRACEBACK = (
    "\x1b[0;31m---------------------------------------------------------------------------\x1b[0m",
    "\x1b[0;31mZeroDivisionError\x1b[0m                         Traceback (most recent call last)",
    "Cell \x1b[0;32mIn[3], line 30\x1b[0m\n\x1b[1;32m     29\x1b[0m y \x1b[38;5;241m=\x1b[39m 2\n"
    "\x1b[0;32m---> 30\x1b[0m x \x1b[38;5;241m=\x1b[39m "
    "\x1b[38;5;241m1\x1b[39m \x1b[38;5;241m/\x1b[39m 0",
    "\x1b[0;31mZeroDivisionError\x1b[0m: division by zero",
)
LONG_CODE = "\n".join(
    [f"line_{n} = {n}" for n in range(1, 30)]
    + ["x = 1 / 0"]
    + [f"after_{n} = 0" for n in range(10)]
)


def failing_snapshot() -> Snapshot:
    doc = raw(SHOWCASE)
    blocks = doc["project"]["notebooks"][0]["blocks"]
    target = next(b for b in blocks if b["id"] == "b000000000000000000000000000000d")
    target["content"] = LONG_CODE
    target["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": "partial\n"},
        {
            "output_type": "error",
            "ename": "ZeroDivisionError",
            "evalue": "division by zero",
            "traceback": list(TRACEBACK),
        },
    ]
    later = next(b for b in blocks if b["id"] == "b000000000000000000000000000000e")
    later["outputs"] = [
        {"output_type": "error", "ename": "NameError", "evalue": "x", "traceback": []}
    ]
    parsed = parse_snapshot(yaml.safe_dump(doc, allow_unicode=True))
    assert parsed is not None
    return parsed


@pytest.mark.parametrize(
    ("run_error", "use_snapshot", "status", "reason", "failing_id"),
    [
        (
            "Hardware unable to start",
            True,
            "error",
            "Hardware unable to start",
            "b000000000000000000000000000000d",
        ),
        ("  Out of memory \n", False, "error", "Out of memory", None),
        (
            None,
            True,
            "error",
            "ZeroDivisionError: division by zero",
            "b000000000000000000000000000000d",
        ),
        (
            "   ",
            True,
            "error",
            "ZeroDivisionError: division by zero",
            "b000000000000000000000000000000d",
        ),
        (None, False, "internal_error", "The run ended with status `internal_error`.", None),
        (None, False, "stopped", "The run ended with status `stopped`.", None),
        ("", False, "error", "The run ended with status `error`.", None),
        (None, False, "we`ird", "The run ended with status `we'ird`.", None),
    ],
)
def test_failure_reason(
    run_error: str | None, use_snapshot: bool, status: str, reason: str, failing_id: str | None
) -> None:
    snapshot = failing_snapshot() if use_snapshot else load(HELLO)
    got, failing = failure_reason(run_error, snapshot, status)
    assert got == reason
    assert (failing.block_id if failing else None) == failing_id


def test_failure_reason_without_snapshot() -> None:
    assert failure_reason(None, None, "error") == ("The run ended with status `error`.", None)


def test_failing_block_excerpt_and_traceback() -> None:
    _, failing = failure_reason(None, failing_snapshot(), "error")
    assert isinstance(failing, FailingBlock)
    assert (failing.block_type, failing.ename, failing.evalue) == (
        "code",
        "ZeroDivisionError",
        "division by zero",
    )
    code_lines = [line for line in failing.excerpt.splitlines() if not line.startswith("…")]
    assert len(code_lines) == 15
    assert "x = 1 / 0" in code_lines
    assert failing.excerpt.startswith("… (")
    assert failing.excerpt.endswith("more lines)")
    assert len(failing.traceback) <= 10
    assert failing.traceback[-1] == "ZeroDivisionError: division by zero"
    assert not any("\x1b" in line for line in failing.traceback)
    text = failing.describe()
    # The first line names the block as a person sees it (its first line of code), then
    # where it is.
    assert text.splitlines()[0] == (
        "“line_1 = 1” (code block b000000000000000000000000000000d in Dashboard)"
    )
    assert "Traceback (last lines):" in text


@pytest.mark.parametrize(
    ("content", "traceback", "expected"),
    [
        ("a = 1\nb = 2", (), "a = 1\nb = 2"),
        (
            "\n".join(f"l{n}" for n in range(20)),
            (),
            "\n".join([*(f"l{n}" for n in range(15)), "… (5 more lines)"]),
        ),
        (
            "\n".join(f"l{n}" for n in range(40)),
            ("---> 40 l39",),
            "\n".join(["… (25 lines above)", *(f"l{n}" for n in range(25, 40))]),
        ),
    ],
)
def test_failing_block_excerpt_window(
    content: str, traceback: tuple[str, ...], expected: str
) -> None:
    snapshot = snapshot_of(
        {
            "id": "a",
            "type": "code",
            "content": content,
            "outputs": [
                {"output_type": "error", "ename": "E", "evalue": "v", "traceback": list(traceback)}
            ],
        }
    )
    _, failing = failure_reason(None, snapshot, "error")
    assert failing is not None
    assert failing.excerpt == expected


def test_error_output_without_evalue() -> None:
    snapshot = snapshot_of(
        {
            "id": "a",
            "type": "code",
            "outputs": [{"output_type": "error", "ename": "KeyboardInterrupt"}],
        }
    )
    assert failure_reason(None, snapshot, "stopped")[0] == "KeyboardInterrupt"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\x1b[0;31mError\x1b[0m", "Error"),
        ("\x1b[38;5;241m=\x1b[39m", "="),
        ("plain", "plain"),
        ("\x1b]8;;http://x\x07link\x1b]8;;\x07", "link"),
        ("\x1b[1;32m---> 3\x1b[0m", "---> 3"),
    ],
)
def test_strip_ansi(text: str, expected: str) -> None:
    assert strip_ansi(text) == expected


@pytest.mark.parametrize(
    ("content", "label", "title"),
    [
        ("\n\n  # Check the totals\nx = 1", None, "# Check the totals"),
        ("x = 1", "Region", "Region"),
        ("", None, None),
        ("y = '" + "a" * 200 + "'", None, "y = '" + "a" * 74 + "…"),
        ("\x1b[31mred\x1b[0m = 1", None, "red = 1"),
    ],
)
def test_block_title_is_the_label_or_first_line(
    content: str, label: str | None, title: str | None
) -> None:
    assert block_title(SnapshotBlock("b1", "code", content, label=label)) == title
