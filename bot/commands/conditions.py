"""`--notify-if <condition>`: the rest of the command after it is the condition.

A condition is full of characters the command's tokenizer would split or unquote
(`rows("Late orders") > 0`), so it is cut off the raw text first: everything after
`--notify-if` belongs to it (quotes around the whole of it are dropped), and the option must
come last. It is parsed here, so a condition that cannot be read is refused before anything
else happens; the names it reads are checked against the notebook later.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.commands import types
from bot.commands.docs import usage_error
from bot.conditions import describe, parse_condition
from bot.errors import UserError
from bot.text.mrkdwn import code
from bot.text.tokens import unescape_slack

_OPTION = re.compile(r"(?:^|\s)(?:--|—|–|−−)notify[-_]if(?=\s|=|$)", re.IGNORECASE)
_LATER_OPTION = re.compile(r"(?:^|\s)(?:--|—|–)[A-Za-z][\w-]*")
_PAIRS = {'"': '"“”', "“": '"“”', "'": "'‘’", "‘": "'‘’"}
EXAMPLE = "--notify-if churn_rate > 5%"


def split_notify_if(text: str) -> tuple[str, str | None]:
    """The command without `--notify-if …`, and the condition (None when there is none).

    >>> split_notify_if('run kpi --as-is --notify-if rows("Late orders") > 0')
    ('run kpi --as-is', 'rows("Late orders") > 0')
    >>> split_notify_if("schedule kpi every day --notify-if='churn_rate > 5%'")
    ('schedule kpi every day', 'churn_rate > 5%')
    """
    match = _OPTION.search(text)
    if match is None:
        return text, None
    rest = unescape_slack(text[match.end() :]).strip().removeprefix("=").strip()
    if len(rest) >= 2 and rest[0] in _PAIRS and rest[-1] in _PAIRS[rest[0]]:
        inner = rest[1:-1]
        if not any(c in _PAIRS[rest[0]] for c in inner):
            rest = inner.strip()
    return text[: match.start()], rest


FAILURES_REFUSED = (
    "`--notify failures` and `--notify-if` do not go together: with a condition, "
    "the condition decides which runs are posted (a run that fails is posted when the "
    "condition cannot be checked). Use `--notify always` (every run where it holds) "
    "or `--notify changes` (once when it starts holding, once when it stops)."
)
"""Why a schedule cannot post failures only and have a condition (schedule and edit)."""

REMOVE_WORDS = ("none",)
"""`edit <id> --notify-if none` removes the condition (`none` cannot be a condition)."""


def with_condition(command: types.Command, condition: str) -> types.Command:
    """`command` with its `--notify-if` condition read (in its canonical spelling).

    >>> with_condition(types.EditCommand("3"), "None").notify_if == types.REMOVE_CONDITION
    True
    """
    takes = types.RunCommand | types.ScheduleCommand | types.WatchCommand | types.EditCommand
    if not isinstance(command, takes):
        raise UserError(
            "`--notify-if` works with `run`, `schedule`, `watch` and `edit` only.",
            hint=f"For example: {code(f'/deepnote schedule <notebook> every day {EXAMPLE}')}",
        )
    name = {
        types.RunCommand: "run",
        types.ScheduleCommand: "schedule",
        types.WatchCommand: "watch",
    }.get(type(command), "edit")
    if not condition:
        raise usage_error(name, f"`--notify-if` needs a condition, e.g. {code(EXAMPLE)}.")
    later = _LATER_OPTION.search(condition)
    if later is not None:
        raise usage_error(
            name,
            f"`--notify-if` takes the rest of the command as its condition, so "
            f"{code(later.group().strip(), limit=40)} must come before it: put `--notify-if` last.",
        )
    if isinstance(command, types.EditCommand) and condition.casefold() in REMOVE_WORDS:
        return replace(command, notify_if=types.REMOVE_CONDITION)
    canonical = describe(parse_condition(condition))
    if isinstance(command, types.RunCommand):
        return replace(command, options=replace(command.options, notify_if=canonical))
    if command.notify == "failures":
        raise usage_error(name, FAILURES_REFUSED)
    return replace(command, notify_if=canonical)
