"""The inputs listing, example commands, help and plain replies."""

from __future__ import annotations

import pytest

from bot.commands.docs import CommandDoc
from bot.deepnote.models import Notebook, NotebookInput
from bot.slack.messages.help import command_help, error_reply, help_overview, info_reply
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
        "run <notebook> [name=value ...] [--as-is]",
        "Start a run & follow it.",
        ("run abc region=EU",),
        group="Run notebooks",
        short="run <notebook> [options]",
        details=("`--as-is`: no form for <notebook>.",),
    ),
    CommandDoc("inputs", "inputs <notebook>", "List a notebook's inputs.", (), group="Run"),
    CommandDoc("audit", "audit", "Who did what.", ("audit",)),
]


def test_help_overview_is_one_line_per_command_grouped() -> None:
    msg = help_overview(COMMANDS, ("More", "Run notebooks"))
    assert_valid_message(msg)
    assert msg.blocks[0]["type"] == "header"
    texts = mrkdwn_texts(msg.blocks)
    assert texts[0].splitlines() == ["*More*", "`audit`  Who did what."]
    assert texts[1].splitlines() == [
        "*Run notebooks*",
        "`run &lt;notebook&gt; [options]`  Start a run &amp; follow it.",
    ]
    assert texts[2].splitlines() == [
        "*Run*",
        "`inputs &lt;notebook&gt;`  List a notebook's inputs.",
    ]
    # No examples or option details in the overview: they are one `help <command>` away.
    assert "region=EU" not in all_text(msg)
    assert "`/deepnote help &lt;command&gt;`" in texts[-1]
    assert msg.text == "Deepnote bot commands: run, inputs, audit"


def test_command_help_has_usage_options_and_examples() -> None:
    msg = command_help(COMMANDS[0])
    assert_valid_message(msg)
    assert msg.blocks[0]["text"]["text"] == "/deepnote run"
    texts = mrkdwn_texts(msg.blocks)
    assert texts[0].splitlines() == [
        "Start a run &amp; follow it.",
        "Usage: `/deepnote run &lt;notebook&gt; [name=value ...] [--as-is]`",
    ]
    assert texts[1] == "• `--as-is`: no form for &lt;notebook&gt;."
    assert texts[2].splitlines() == ["*Examples*", "• `/deepnote run abc region=EU`"]


def test_help_messages_with_huge_docs_stay_valid() -> None:
    many = [
        CommandDoc(
            f"c{i}",
            f"c{i} " + "<x> " * 200,
            "s" * 5000,
            ("e",) * 50,
            group=f"g{i % 60}",
            details=("d" * 500,) * 30,
        )
        for i in range(80)
    ]
    assert_valid_message(help_overview(many))
    assert_valid_message(command_help(many[0]))


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
