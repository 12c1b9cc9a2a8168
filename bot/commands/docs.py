"""What each `/deepnote` subcommand is for, as data: usage, summary and examples.

The same table feeds `/deepnote help`, the usage hints of parse errors, the handlers' examples
and the README check, so the help can never drift from the parser.

>>> format_usage("inputs")
'`/deepnote inputs &lt;notebook&gt;`'
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands.types import AUDIT_DEFAULT, AUDIT_MAX
from bot.errors import UserError
from bot.text.mrkdwn import code

SLASH = "/deepnote"


@dataclass(frozen=True)
class CommandDoc:
    """One subcommand: usage and examples are written without the leading `/deepnote`."""

    name: str
    usage: str
    summary: str
    examples: tuple[str, ...]


COMMANDS: tuple[CommandDoc, ...] = (
    CommandDoc(
        "run",
        "run <notebook> [name=value ...] [--blocks ID,ID [--with-dependents]] [--readonly] "
        "[--form] [--post-outputs all|none|NAMES]",
        "Run a notebook, optionally with inputs, only some blocks, or a form to fill in.",
        (
            'run sales-report region=EU months=6 title="Q3 report"',
            "run 0123456789abcdef0123456789abcdef --blocks 3691e962f28462a191f086357005afc6 "
            "--with-dependents",
            "run sales-report --form --post-outputs revenue_chart,summary",
        ),
    ),
    CommandDoc(
        "inputs",
        "inputs <notebook>",
        "List a notebook's inputs with their types and allowed values.",
        ("inputs sales-report",),
    ),
    CommandDoc(
        "status",
        "status <run-id>",
        "Show how a run is doing, or how it ended.",
        ("status 3f2b7c1e-9a4d-4c1b-8e2f-6a7b8c9d0e1f",),
    ),
    CommandDoc(
        "schedule",
        "schedule <notebook> <when> [name=value ...] [--tz Area/City] "
        "[--notify always|failures|changes] [--post-outputs all|none|NAMES]",
        "Run a notebook on a schedule and post the results here.",
        (
            "schedule sales-report every weekday at 9am region=EU --tz Europe/Prague",
            'schedule sales-report "0 9 * * 1-5" --notify failures',
            "schedule kpi-dashboard every monday at 8:30 --post-outputs revenue_chart",
        ),
    ),
    CommandDoc(
        "schedules",
        "schedules",
        "List the schedules, with their ids, next run and state.",
        ("schedules",),
    ),
    CommandDoc(
        "unschedule",
        "unschedule <schedule-id>",
        "Delete a schedule.",
        ("unschedule 12",),
    ),
    CommandDoc(
        "pause",
        "pause <schedule-id>",
        "Pause a schedule until you resume it.",
        ("pause 12",),
    ),
    CommandDoc(
        "resume",
        "resume <schedule-id>",
        "Resume a paused schedule.",
        ("resume 12",),
    ),
    CommandDoc(
        "trigger",
        "trigger <schedule-id>",
        "Run a schedule's notebook now, with the schedule's inputs.",
        ("trigger 12",),
    ),
    CommandDoc(
        "alias",
        "alias <name> <notebook> [--replace]",
        "Give a notebook a short name to use instead of its id, link or name; the alias is "
        "yours: only you or a bot admin can change or remove it. Pointing an existing alias at "
        "another notebook needs `--replace`.",
        (
            "alias sales-report 0123456789abcdef0123456789abcdef",
            'alias sales-report "Sales report" --replace',
            "alias kpi-dashboard https://deepnote.com/workspace/acme-4f1c2d3e/project/"
            "KPIs-0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e/notebook/"
            "Dashboard-89abcdef0123456789abcdef01234567",
        ),
    ),
    CommandDoc(
        "aliases",
        "aliases",
        "List the notebook aliases, with who owns each.",
        ("aliases",),
    ),
    CommandDoc(
        "unalias",
        "unalias <name>",
        "Remove a notebook alias you own (bot admins can remove any).",
        ("unalias sales-report",),
    ),
    CommandDoc(
        "audit",
        f"audit [count, 1-{AUDIT_MAX}]",
        f"Show who ran or scheduled what, newest first (default {AUDIT_DEFAULT} entries).",
        ("audit", "audit 50"),
    ),
    CommandDoc(
        "help",
        "help [command]",
        "Show what the bot can do, or the details of one command.",
        ("help", "help run", "help schedule"),
    ),
)

_DOCS: dict[str, CommandDoc] = {doc.name: doc for doc in COMMANDS}
HELP_WORDS = frozenset({"help", "-h", "--help", "?", "—help"})


def command_doc(name: str) -> CommandDoc:
    """The documentation of one subcommand (KeyError when there is no such subcommand)."""
    return _DOCS[name]


def format_usage(name: str) -> str:
    """The usage line as a Slack mrkdwn code span, e.g. "`/deepnote inputs &lt;notebook&gt;`"."""
    return code(f"{SLASH} {_DOCS[name].usage}")


def format_example(name: str, index: int = 0) -> str:
    """One example of a subcommand as a Slack mrkdwn code span."""
    return code(f"{SLASH} {_DOCS[name].examples[index]}")


OPTION_EXAMPLES = {
    "blocks": "--blocks 3691e962f28462a191f086357005afc6,dd89e10c880e6aea085862c8fa5d17c5",
    "post-outputs": "--post-outputs all",
    "tz": "--tz Europe/Prague",
    "notify": "--notify failures",
}
"""An example of each option that takes a value, for "needs a value" hints."""


def usage_hint(command: str) -> str:
    """The usage line and first example of a subcommand, for the hint of a parse error."""
    return f"Usage: {format_usage(command)}\nExample: {format_example(command)}"


def usage_error(command: str, problem: str) -> UserError:
    """A `UserError` for a subcommand used wrongly, with its usage and an example as the hint."""
    return UserError(problem, hint=usage_hint(command))
