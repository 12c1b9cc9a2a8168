"""The inputs listing, example commands, help and plain replies."""

from __future__ import annotations

import pytest

from bot.commands.docs import CommandDoc
from bot.deepnote.models import Notebook, NotebookInput
from bot.slack.messages.help import error_reply, help_message, info_reply
from bot.slack.messages.inputs import example_command, inputs_listing
from tests.bot.slack.checks import (
    HOSTILE,
    all_text,
    assert_valid_message,
    mrkdwn_texts,
)

# --- inputs listing -----------------------------------------------------------------------


def describe(item: NotebookInput) -> str:
    if item.options:
        return "one of " + ", ".join(item.options)
    return "any text" if item.type.startswith("input-text") else item.type


SHOWCASE_NOTEBOOK = Notebook(
    id="0123456789abcdef0123456789abcdef",
    name="Sales performance",
    inputs=(
        NotebookInput("report_title", "input-text", "Q1 2026 Sales Review", "Report title"),
        NotebookInput(
            "region", "input-select", "All regions", "Region", options=("All regions", "Europe")
        ),
        NotebookInput(
            "trailing_months", "input-slider", "6", "Trailing months", min=3, max=12, step=1
        ),
        NotebookInput("show_forecast", "input-checkbox", True, "Show forecast"),
        NotebookInput(
            "period", "input-date-range", ["2026-01-01", "2026-03-31"], "Reporting period"
        ),
        NotebookInput("notes", "input-textarea", 'say "hi"\\now', "notes"),
        NotebookInput("unset", "input-file", None),
    ),
)


def test_inputs_listing() -> None:
    msg = inputs_listing(SHOWCASE_NOTEBOOK, describe=describe)
    assert_valid_message(msg)
    texts = mrkdwn_texts(msg.blocks)
    assert texts[0] == "*Inputs of Sales performance* (`0123456789abcdef0123456789abcdef`)"
    assert (
        texts[2] == "`region` (Region) · input-select\nCurrent: `All regions`\n"
        "Allowed: one of All regions, Europe"
    )
    assert "`unset` · input-file\nCurrent: not set\nAllowed: input-file" in texts
    assert texts[-1] == (
        "*Run it with these values:*\n```/deepnote run 0123456789abcdef0123456789abcdef "
        """report_title="Q1 2026 Sales Review" region="All regions" trailing_months=6 """
        'show_forecast=true period=2026-01-01..2026-03-31 notes="say \\"hi\\"\\\\now"```'
    )
    assert msg.text.startswith("Inputs of Sales performance: report")


def test_example_command_quotes() -> None:
    notebook = Notebook(
        "nb",
        "n",
        inputs=(NotebookInput("a", "input-text", ""), NotebookInput("b", "input-text", "x y")),
    )
    assert example_command(notebook) == '/deepnote run nb a="" b="x y"'


def test_inputs_listing_without_inputs() -> None:
    msg = inputs_listing(Notebook("nb1", "Empty"), describe=describe)
    assert_valid_message(msg)
    assert "This notebook has no inputs." in all_text(msg)
    assert "/deepnote run nb1```" in all_text(msg)


def test_inputs_listing_hostile_and_huge() -> None:
    inputs = tuple(
        NotebookInput(f"in_{i}", "input-select", HOSTILE * 3, HOSTILE, options=(HOSTILE,) * 5)
        for i in range(200)
    )
    msg = inputs_listing(Notebook("nb", HOSTILE, inputs=inputs), describe=describe)
    assert_valid_message(msg)
    assert msg.blocks[-1]["text"]["text"].startswith("*Run it with these values:*")


# --- help and plain replies ---------------------------------------------------------------


COMMANDS = [
    CommandDoc(
        "run",
        "/deepnote run <notebook> [name=value ...]",
        "Start a run & follow it.",
        ("/deepnote run abc region=EU",),
    ),
    CommandDoc("inputs", "/deepnote inputs <notebook>", "List a notebook's inputs.", ()),
]


def test_help_message() -> None:
    msg = help_message(COMMANDS)
    assert_valid_message(msg)
    assert msg.blocks[0]["type"] == "header"
    run = msg.blocks[1]["text"]["text"]
    assert run.splitlines() == [
        "*run*: Start a run &amp; follow it.",
        "Usage: `/deepnote run &lt;notebook&gt; [name=value ...]`",
        "Examples:",
        "• `/deepnote run abc region=EU`",
    ]
    assert "Examples" not in msg.blocks[2]["text"]["text"]
    assert msg.text == "Deepnote bot commands: run, inputs"


def test_help_message_many_commands() -> None:
    many = [
        CommandDoc(f"c{i}", f"/deepnote c{i} " + "<x> " * 200, "s" * 5000, ("e",) * 50)
        for i in range(80)
    ]
    assert_valid_message(help_message(many))


@pytest.mark.parametrize(
    ("message", "first"),
    [
        ("Unknown notebook `abc`.", ":warning: Unknown notebook `abc`."),
        ("  spaced  ", ":warning: spaced"),
        ("x" * 10_000, ":warning: " + "x" * 2989 + "…"),
    ],
)
def test_error_reply(message: str, first: str) -> None:
    msg = error_reply(message)
    assert_valid_message(msg)
    assert msg.blocks[0]["text"]["text"] == first
    assert msg.text.startswith(":warning:")


def test_error_reply_many_lines() -> None:
    msg = error_reply("\n".join(f"problem {i}: " + "y" * 100 for i in range(2000)))
    assert_valid_message(msg)
    assert len(msg.blocks) == 50


@pytest.mark.parametrize(
    ("text", "expected"), [("Scheduled.", "Scheduled."), ("", "Done."), ("  ", "Done.")]
)
def test_info_reply(text: str, expected: str) -> None:
    msg = info_reply(text)
    assert_valid_message(msg)
    assert msg.blocks[0]["text"]["text"] == expected
    assert msg.text == expected
