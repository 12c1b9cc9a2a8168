"""What each `/deepnote` subcommand is for, as data: usage, summary and examples.

The same table feeds `/deepnote help`, the usage hints of parse errors, the handlers' examples
and the README check, so the help can never drift from the parser.

>>> format_usage("inputs")
'`/deepnote inputs &lt;notebook&gt;`'
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands.types import AUDIT_DEFAULT, AUDIT_MAX, HISTORY_DEFAULT, HISTORY_MAX
from bot.errors import UserError
from bot.text.mrkdwn import code

SLASH = "/deepnote"


# The console's built-in sample notebooks (bot/offline/simulator/samples): every example below
# works against them as it is written, so a newcomer can paste any of them into
# `deepnote-bot console` (tests/e2e/test_help_examples.py runs them all).
SALES = "03fde7a76fa74293aada1a24eb001d0d"
"""The *Sales report* sample (inputs: report_title, region, channels, top_n, period, …)."""
QUALITY = "e6d4cac6fea7454ebbd0ab3fef60e2d7"
"""The *Data quality check* sample (input: dataset; `dataset=orders_with_gaps` fails)."""
HELLO = "8696736f3f1943b98c6fe181a75d3f57"
"""The *Hello world* sample (no inputs)."""
KPI = "7968cafc8e2a4f1d970843603af5071c"
"""The *KPI monitor* sample (big numbers Churn rate, Revenue, Data freshness; table Late orders)."""
SALES_TOTALS_BLOCK = "4794c9154c170c4282779cf54ce8bd1a"
SALES_SETUP_BLOCK = "170bea8ce1ba05e2deb1ca1cda097a2f"
SALES_LINK = (
    "https://deepnote.com/workspace/acme-4f1c2d3e/project/"
    "Sales-a654d97d-2831-4682-b07f-a10d8b44563c/notebook/Sales-report-" + SALES
)

GROUPS: tuple[str, ...] = ("Run notebooks", "Schedules", "Watches", "Aliases", "More")
"""The groups of the help overview, in order."""


@dataclass(frozen=True)
class CommandDoc:
    """One subcommand: usage and examples are written without the leading `/deepnote`.

    `short` is the overview's one-line form of the usage; `details` are the lines
    `help <command>` adds (what each argument and option does).
    """

    name: str
    usage: str
    summary: str
    examples: tuple[str, ...]
    group: str = "More"
    short: str = ""
    details: tuple[str, ...] = ()

    @property
    def brief(self) -> str:
        """The usage as the overview shows it (`short`, else the full usage)."""
        return self.short or self.usage


COMMANDS: tuple[CommandDoc, ...] = (
    CommandDoc(
        "run",
        "run <notebook> [name=value ...] [--as-is | --form] [--blocks ID,ID [--with-dependents]] "
        "[--readonly] [--post-outputs all|none|NAMES] [--notify-if CONDITION]",
        "Run a notebook, optionally with inputs, only some blocks, or a form to fill in.",
        (
            f'run {SALES} region=Europe top_n=5 report_title="Q3 report"',
            f"run {SALES} --as-is",
            f"run {SALES} region=Europe --blocks {SALES_TOTALS_BLOCK} --with-dependents",
            f"run {QUALITY} --form --post-outputs all",
        ),
        group="Run notebooks",
        short="run <notebook> [name=value ...] [options]",
        details=(
            "`<notebook>`: an alias, a 32-character id, a link, or a name in quotes.",
            "`name=value`: sets an input; inputs you leave out keep the notebook's current "
            "values (`/deepnote inputs <notebook>` lists them).",
            "Without inputs, a notebook that has inputs opens a form to fill in.",
            "A bare `/deepnote run` (or the *Run a Deepnote notebook* shortcut) opens the form "
            "with a notebook picker: type a part of a notebook's or project's name, choose one, "
            "and the form fills in with its inputs.",
            "`--as-is`: start at once with the notebook's current values, no form "
            "(for keyboard use and scripts).",
            "`--form`: open the form even when you typed inputs (they fill it in).",
            "`--blocks ID,ID`: run only those blocks; `--with-dependents` also runs the "
            "blocks that depend on them.",
            "`--readonly`: run the whole notebook without saving its outputs back.",
            "`--post-outputs all|none|NAMES`: which results to post in the thread "
            "(block ids or titles; the default is big numbers, tables, images, charts and the "
            "last text output).",
            "`--notify-if CONDITION` (last, no quotes needed): check a condition on the results "
            "when the run ends; the thread reply says first whether it held, with the values.",
        ),
    ),
    CommandDoc(
        "find",
        "find <text>",
        "Find notebooks whose name or project's name contains the text, with buttons to run them.",
        ("find sales", 'find "data quality"'),
        group="Run notebooks",
        details=(
            "Lists the matching notebooks the bot's Deepnote key can see (10 at a time, "
            "*More* for the next ones), each with its project and id and the buttons *Run*, "
            "*Inputs*, *Schedule…* and *Alias…*.",
            "Notebooks that may not be run in this channel are left out.",
            "The list of notebooks is kept for 5 minutes; *Refresh* reads it again.",
        ),
    ),
    CommandDoc(
        "inputs",
        "inputs <notebook>",
        "List a notebook's inputs with their types and allowed values.",
        (f"inputs {SALES}",),
        group="Run notebooks",
        details=("Ends with a `run` command filled in with the current values, to copy.",),
    ),
    CommandDoc(
        "status",
        "status <run-id>",
        "Show how a run is doing, or how it ended.",
        ("status 3f2b7c1e-9a4d-4c1b-8e2f-6a7b8c9d0e1f",),
        group="Run notebooks",
        details=("`<run-id>`: the Deepnote run id on the run's card, or the bot's run id.",),
    ),
    CommandDoc(
        "schedule",
        "schedule <notebook> <when> [name=value ...] [--tz Area/City] "
        "[--notify always|failures|changes] [--post-outputs all|none|NAMES] "
        "[--notify-if CONDITION]",
        "Run a notebook on a schedule and post the results here.",
        (
            f"schedule {SALES} every weekday at 9am region=Europe --tz Europe/Prague",
            f'schedule {QUALITY} "0 9 * * 1-5" dataset=orders_with_gaps --notify failures',
            f"schedule {SALES} every monday at 8:30 --post-outputs top",
            f"schedule {KPI} every day at 9am --notify changes --notify-if churn_rate > 5%",
        ),
        group="Schedules",
        short="schedule <notebook> <when> [name=value ...] [options]",
        details=(
            "`<when>`: plain words (`every weekday at 9am`, `every monday at 8:30`, "
            '`every day at 18:00`) or a crontab in quotes (`"0 9 * * 1-5"`).',
            "`--tz Area/City`: the time zone of `<when>` (default: yours in Slack).",
            "`--notify always|failures|changes`: post every run, only failed ones, or only "
            "when the outcome differs from the last run.",
            "`--post-outputs all|none|NAMES`: which results to post, as for `run`.",
            "`--notify-if CONDITION` (last, no quotes needed): an alert. A run is posted only "
            "when the condition holds on its results (e.g. `churn_rate > 5%`, "
            '`rows("Late orders") > 0`, `revenue < 1M or status == failed`), then once when it '
            "is back to normal; with `--notify changes`, once when it starts holding. Other runs "
            "are recorded quietly (see `/deepnote schedules`).",
        ),
    ),
    CommandDoc(
        "schedules",
        "schedules",
        "List the schedules, with their ids, next run and state.",
        ("schedules",),
        group="Schedules",
    ),
    CommandDoc(
        "edit",
        "edit <schedule-id> [when] [name=value ...] [--tz Area/City] "
        "[--notify always|failures|changes] [--post-outputs all|none|NAMES] "
        "[--notify-if CONDITION|none]",
        "Change a schedule in place: its timing, inputs or settings.",
        (
            "edit 1 every day at 8:00 top_n=3 --notify failures",
            "edit 2 --tz America/New_York --post-outputs all",
            "edit 4 --notify-if churn_rate > 6%",
            "edit 1",
        ),
        group="Schedules",
        short="edit <schedule-id> [when] [name=value ...] [options]",
        details=(
            "Only what you give changes: `edit 1 every weekday at 9am` changes the timing and "
            "keeps the inputs and settings; `name=value` changes that input and keeps the others.",
            "Inputs and `--post-outputs` names are checked against the notebook as for "
            "`schedule`; anything wrong changes nothing.",
            "`--notify-if CONDITION` (last) sets or replaces the alert condition, checked as for "
            "`schedule`; `--notify-if none` removes it (runs are posted by `--notify` again). "
            "A new condition starts its alert afresh (not checked yet).",
            "Without changes it opens a form with the schedule filled in (also the *Edit…* "
            "button on the schedule's message and in the Home tab).",
            "The id, owner and history stay; the change is announced in the schedule's channel "
            "with its next three runs. A run already under way finishes under the settings it "
            "started with; the next one uses the change.",
            "Only the schedule's owner or a bot admin can edit it.",
        ),
    ),
    CommandDoc(
        "pause",
        "pause <schedule-id>",
        "Pause a schedule until you resume it.",
        ("pause 1",),
        group="Schedules",
    ),
    CommandDoc(
        "resume",
        "resume <schedule-id>",
        "Resume a paused schedule.",
        ("resume 1",),
        group="Schedules",
    ),
    CommandDoc(
        "trigger",
        "trigger <schedule-id>",
        "Run a schedule's notebook now, with the schedule's inputs.",
        ("trigger 1",),
        group="Schedules",
    ),
    CommandDoc(
        "unschedule",
        "unschedule <schedule-id>",
        "Delete a schedule.",
        ("unschedule 1",),
        group="Schedules",
    ),
    CommandDoc(
        "watch",
        "watch <notebook> [--notify always|failures|changes] [--notify-if CONDITION]",
        "Post every run of a notebook here from now on, whoever starts it.",
        (
            f"watch {QUALITY} --notify failures",
            f"watch {HELLO}",
            f"watch {KPI} --notify changes --notify-if churn_rate > 5%",
        ),
        group="Watches",
        short="watch <notebook> [options]",
        details=(
            "Runs started in Deepnote's UI, by Deepnote's scheduler, by another API client or "
            "by this bot are followed with the same card, failure reason and results; a run "
            "the bot started is posted once, where it was started.",
            "`--notify always|failures|changes`: post every run, only failed ones, or only "
            "when the outcome differs from the last run.",
            "`--notify-if CONDITION` (last, no quotes needed): an alert, as for `schedule`. A "
            "run is posted only when the condition holds on its results, then once when it is "
            "back to normal; with `--notify changes`, once when it starts holding. The names "
            "are checked against the notebook first: a name it lacks is refused with the names "
            "it has, and nothing is watched. Other runs are recorded quietly (see "
            "`/deepnote watches`).",
            "A notebook is watched in one channel at a time.",
        ),
    ),
    CommandDoc(
        "watches",
        "watches",
        "List the watches of this channel, with their ids, state and last run.",
        ("watches",),
        group="Watches",
    ),
    CommandDoc(
        "unwatch",
        "unwatch <watch-id>",
        "Stop a watch (its owner or a bot admin).",
        ("unwatch 1",),
        group="Watches",
    ),
    CommandDoc(
        "history",
        f"history <notebook> [count, 1-{HISTORY_MAX}]",
        f"Show a notebook's latest runs, whoever started them, with the success rate "
        f"(default {HISTORY_DEFAULT}).",
        (f"history {SALES}", f"history {QUALITY} 25"),
        group="Watches",
        short="history <notebook> [count]",
        details=(
            "Each run: status, when, how long, who or what started it, and why it failed.",
            "Runs the bot neither started nor watched show as started by Deepnote (UI, "
            "scheduler or API): Deepnote's run list does not say more.",
        ),
    ),
    CommandDoc(
        "alias",
        "alias <name> <notebook> [--replace]",
        "Give a notebook a short name to use instead of its id, link or name.",
        (
            f"alias sales-report {SALES}",
            f"alias sales {SALES_LINK}",
            'alias sales-report "Sales report" --replace',
        ),
        group="Aliases",
        short="alias <name> <notebook> [--replace]",
        details=(
            "`<name>`: 1-40 lowercase letters, digits, `-` and `_`; then "
            "`/deepnote run sales-report` works like the id.",
            "`<notebook>`: an id, a link, or a notebook's name as Deepnote shows it.",
            "`--replace`: point an existing alias at another notebook (without it the bot "
            "shows what the alias names now and changes nothing).",
            "The alias is yours: only you or a bot admin can change or remove it. Aliases made "
            "before aliases had owners can be changed by bot admins only.",
        ),
    ),
    CommandDoc(
        "aliases",
        "aliases",
        "List the notebook aliases, with who owns each.",
        ("aliases",),
        group="Aliases",
    ),
    CommandDoc(
        "unalias",
        "unalias <name>",
        "Remove a notebook alias you own (bot admins can remove any).",
        ("unalias sales-report",),
        group="Aliases",
    ),
    CommandDoc(
        "audit",
        f"audit [count, 1-{AUDIT_MAX}]",
        f"Show who ran or scheduled what, newest first (default {AUDIT_DEFAULT} entries).",
        ("audit", "audit 50"),
        short="audit [count]",
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
    "blocks": f"--blocks {SALES_SETUP_BLOCK},{SALES_TOTALS_BLOCK}",
    "post-outputs": "--post-outputs all",
    "tz": "--tz Europe/Prague",
    "notify": "--notify failures",
}
"""An example of each option that takes a value, for "needs a value" hints."""

INPUT_EXAMPLE = "region=Europe"
"""A `name=value` input of the *Sales report* sample, for hints about writing inputs."""
QUOTED_EXAMPLE = 'report_title="Q3 report"'
"""A quoted input value of the *Sales report* sample, for hints about quoting."""
SALES_BIG_NUMBER_BLOCK = "7b5e0009938448f7bb9c8426ef3e4e88"
POST_OUTPUTS_NAMES_EXAMPLE = f"--post-outputs top,{SALES_BIG_NUMBER_BLOCK}"
"""`--post-outputs` with a result's name and a block id (the *Sales report* sample's table
and big number)."""
DEPENDENTS_EXAMPLE = f"--blocks {SALES_TOTALS_BLOCK} --with-dependents"
"""`--with-dependents` with the `--blocks` it needs."""

HINT_EXAMPLES: tuple[str, ...] = (
    *OPTION_EXAMPLES.values(),
    INPUT_EXAMPLE,
    QUOTED_EXAMPLE,
    POST_OUTPUTS_NAMES_EXAMPLE,
    DEPENDENTS_EXAMPLE,
)
"""Every command fragment an error hint shows (each one works against the samples)."""


def usage_hint(command: str) -> str:
    """The usage line and first example of a subcommand, for the hint of a parse error."""
    return f"Usage: {format_usage(command)}\nExample: {format_example(command)}"


def usage_error(command: str, problem: str) -> UserError:
    """A `UserError` for a subcommand used wrongly, with its usage and an example as the hint."""
    return UserError(problem, hint=usage_hint(command))
