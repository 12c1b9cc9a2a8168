"""Parse `/deepnote` slash command text into typed commands (pure; raises only `UserError`).

>>> cmd = parse_command('run sales-report region=Europe report_title="Q3" --post-outputs all')
>>> cmd.notebook, cmd.inputs, cmd.options.post_outputs
('sales-report', (('region', 'Europe'), ('report_title', 'Q3')), 'all')
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from bot.commands import types
from bot.commands.conditions import split_notify_if, with_condition
from bot.commands.docs import COMMANDS, DEPENDENTS_EXAMPLE, HELP_WORDS, SLASH, usage_error
from bot.commands.scan import (
    Option,
    Pair,
    Word,
    check_input_count,
    input_pair,
    notebook_word,
    plain_words,
    scan,
    stray_word,
)
from bot.commands.values import ID_RE, parse_block_ids, parse_notify, parse_post_outputs, parse_tz
from bot.deepnote.notebook_ref import UnknownNotebookRef, parse_notebook_ref
from bot.errors import UserError
from bot.text.mrkdwn import code
from bot.text.tokens import Token, closest, quote_token, tokenize_tokens, unescape_slack
from storage.records import RunOptions

MAX_TEXT = 4000
_NAMES = tuple(doc.name for doc in COMMANDS)


def _check_run_flags(flags: set[str], block_ids: tuple[str, ...]) -> None:
    """Refuse `run` flags that cannot go together, saying which to drop."""
    if "with-dependents" in flags and not block_ids:
        raise usage_error(
            "run",
            "`--with-dependents` only works with `--blocks`: it also runs the blocks that "
            f"depend on them, e.g. `{DEPENDENTS_EXAMPLE}`.",
        )
    if "readonly" in flags and block_ids:
        raise usage_error(
            "run",
            "`--readonly` cannot be combined with `--blocks`: Deepnote offers read-only "
            "storage only for full-notebook runs. Drop one of them.",
        )
    if "as-is" in flags and "form" in flags:
        raise usage_error(
            "run",
            "`--as-is` and `--form` contradict each other: `--as-is` starts the run at once "
            "with the notebook's current values, `--form` opens the form first. Drop one of them.",
        )


def _parse_run(tokens: Sequence[Token]) -> types.RunCommand:
    options = {
        "readonly": False,
        "blocks": True,
        "with-dependents": False,
        "form": False,
        "as-is": False,
        "post-outputs": True,
    }
    notebook: str | None = None
    inputs: list[tuple[str, str]] = []
    seen: set[str] = set()
    flags: set[str] = set()
    values: dict[str, str] = {}
    for item in scan("run", tokens, options, kv=True):
        if isinstance(item, Word):
            if notebook is not None:
                raise stray_word("run", item)
            notebook = notebook_word("run", item)
        elif isinstance(item, Pair):
            inputs.append(input_pair("run", item, seen))
        elif item.value is None:
            flags.add(item.name)
        else:
            values[item.name] = item.value
    if notebook is None and (inputs or "blocks" in values or flags & {"as-is", "with-dependents"}):
        raise usage_error("run", "`run` needs a notebook: an alias, id, name or link.")
    check_input_count("run", inputs)
    block_ids = parse_block_ids(values["blocks"]) if "blocks" in values else ()
    _check_run_flags(flags, block_ids)
    post = parse_post_outputs(values["post-outputs"]) if "post-outputs" in values else None
    return types.RunCommand(
        notebook=notebook or "",  # none: a form that starts with a notebook picker
        inputs=tuple(inputs),
        options=RunOptions(
            readonly="readonly" in flags,
            block_ids=block_ids,
            run_dependents="with-dependents" in flags,
            post_outputs=post,
        ),
        form="form" in flags or notebook is None,
        as_is="as-is" in flags,
    )


def _parse_schedule(tokens: Sequence[Token]) -> types.ScheduleCommand:
    options = {"tz": True, "notify": True, "post-outputs": True}
    notebook: str | None = None
    when: list[Word] = []
    when_closed = False
    inputs: list[tuple[str, str]] = []
    seen: set[str] = set()
    values: dict[str, str] = {}
    for item in scan("schedule", tokens, options, kv=True):
        if isinstance(item, Word):
            if notebook is None:
                notebook = notebook_word("schedule", item)
            elif not when_closed:
                when.append(item)
            else:
                raise stray_word(
                    "schedule",
                    item,
                    " The schedule goes right after the notebook, before inputs and options "
                    '(or quote it: `"every weekday at 9am"`).',
                )
            continue
        if when:
            when_closed = True
        if isinstance(item, Pair):
            inputs.append(input_pair("schedule", item, seen))
        elif item.value is not None:
            values[item.name] = item.value
    if notebook is None:
        raise usage_error("schedule", "`schedule` needs a notebook and when to run it.")
    if not when:
        raise usage_error(
            "schedule",
            "`schedule` needs to know when to run, right after the notebook: plain words like "
            '`every weekday at 9am`, or a crontab in quotes like `"0 9 * * 1-5"`.',
        )
    if when[0].quoted and len(when) > 1:
        raise usage_error(
            "schedule",
            f"{quote_token(when[1].text)} follows the quoted schedule {quote_token(when[0].text)}. "
            'Put the whole schedule in one pair of quotes, e.g. `"0 9 * * 1-5"`.',
        )
    when_text = " ".join(unescape_slack(" ".join(w.text for w in when)).split())
    if not when_text:
        raise usage_error(
            "schedule", "The schedule is empty: say when to run, e.g. `every weekday at 9am`."
        )
    check_input_count("schedule", inputs)
    return types.ScheduleCommand(
        notebook=notebook,
        when=when_text,
        inputs=tuple(inputs),
        tz=parse_tz(values["tz"]) if "tz" in values else None,
        notify=parse_notify(values["notify"]) if "notify" in values else "always",
        post_outputs=parse_post_outputs(values["post-outputs"])
        if "post-outputs" in values
        else None,
    )


def _parse_edit(tokens: Sequence[Token]) -> types.EditCommand:
    options = {"tz": True, "notify": True, "post-outputs": True}
    raw_id: Word | None = None
    when: list[Word] = []
    when_closed = False
    inputs: list[tuple[str, str]] = []
    seen: set[str] = set()
    values: dict[str, str] = {}
    for item in scan("edit", tokens, options, kv=True):
        if isinstance(item, Word):
            if raw_id is None:
                raw_id = item
            elif not when_closed:
                when.append(item)
            else:
                raise stray_word(
                    "edit",
                    item,
                    " The new schedule goes right after the schedule id, before inputs and "
                    'options (or quote it: `"every weekday at 9am"`).',
                )
            continue
        if when:
            when_closed = True
        if isinstance(item, Pair):
            inputs.append(input_pair("edit", item, seen))
        elif item.value is not None:
            values[item.name] = item.value
    if raw_id is None:
        raise usage_error(
            "edit",
            "`edit` needs a schedule id (`/deepnote schedules` lists them) and what to change.",
        )
    schedule_id = _schedule_id("edit", [Token(raw_id.text, raw_id.quoted)])
    if when and when[0].quoted and len(when) > 1:
        raise usage_error(
            "edit",
            f"{quote_token(when[1].text)} follows the quoted schedule {quote_token(when[0].text)}. "
            'Put the whole schedule in one pair of quotes, e.g. `"0 9 * * 1-5"`.',
        )
    when_text = " ".join(unescape_slack(" ".join(w.text for w in when)).split()) or None
    check_input_count("edit", inputs)
    return types.EditCommand(
        schedule_id=schedule_id,
        when=when_text,
        inputs=tuple(inputs),
        tz=parse_tz(values["tz"]) if "tz" in values else None,
        notify=parse_notify(values["notify"]) if "notify" in values else None,
        post_outputs=parse_post_outputs(values["post-outputs"])
        if "post-outputs" in values
        else None,
    )


def _schedule_id(command: str, tokens: Sequence[Token]) -> str:
    (raw,) = plain_words(command, tokens, 1, 1, "a schedule id")
    text = raw.strip().removeprefix("#")
    if not ID_RE.fullmatch(text):
        raise usage_error(
            command,
            f"{quote_token(raw)} is not a schedule id. "
            "`/deepnote schedules` lists the schedules with their ids.",
        )
    return text


_ALIAS_RE = re.compile(r"[a-z0-9_-]{1,40}")


def _alias_name(command: str, raw: str, *, new: bool) -> str:
    name = unescape_slack(raw).strip().lower()
    if not _ALIAS_RE.fullmatch(name):
        suggestion = re.sub(r"[^a-z0-9_-]+", "-", name).strip("-")[:40] or "sales-report"
        raise usage_error(
            command,
            f"{quote_token(raw)} is not a valid alias name: use 1-40 lowercase letters, "
            f"digits, `-` and `_`, e.g. {code(suggestion)}.",
        )
    if new:
        try:
            parse_notebook_ref(name)
        except UnknownNotebookRef:
            return name
        raise usage_error(
            command,
            f"{quote_token(raw)} looks like a notebook id, so it cannot be an alias name. "
            "Pick a word, e.g. `sales-report`.",
        )
    return name


def _parse_help(tokens: Sequence[Token]) -> types.HelpCommand:
    words = plain_words("help", tokens, 0, 1, "one command name")
    if not words:
        return types.HelpCommand(None)
    topic = words[0].strip().lower()
    if topic in HELP_WORDS:
        return types.HelpCommand("help")
    if topic not in _NAMES:
        raise _unknown_command(words[0], "There is no help on")
    return types.HelpCommand(topic)


def _parse_status(tokens: Sequence[Token]) -> types.StatusCommand:
    (raw,) = plain_words("status", tokens, 1, 1, "a run id")
    text = raw.strip()
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,100}", text):
        raise usage_error(
            "status",
            f"{quote_token(raw)} is not a run id. "
            "Run ids look like `3f2b7c1e-9a4d-4c1b-8e2f-6a7b8c9d0e1f`.",
        )
    return types.StatusCommand(text)


def _parse_audit(tokens: Sequence[Token]) -> types.AuditCommand:
    words = plain_words("audit", tokens, 0, 1, "a number of entries")
    if not words:
        return types.AuditCommand(types.AUDIT_DEFAULT)
    text = words[0].strip()
    if not re.fullmatch(r"\d{1,6}", text) or not 1 <= int(text) <= types.AUDIT_MAX:
        raise usage_error(
            "audit", f"{quote_token(words[0])} is not a number from 1 to {types.AUDIT_MAX}."
        )
    return types.AuditCommand(int(text))


def _parse_alias(tokens: Sequence[Token]) -> types.AliasCommand:
    items = scan("alias", tokens, {"replace": False}, kv=False)
    replace = any(isinstance(item, Option) for item in items)
    words = [item.text for item in items if isinstance(item, Word)]
    if len(words) < 2:
        raise usage_error("alias", "`alias` needs a name and a notebook (id, link or name).")
    if len(words) > 2:
        raise usage_error(
            "alias",
            f"{quote_token(words[2])} is not expected: `alias` takes a name and a notebook "
            '(quote a name with spaces: `"Sales report"`).',
        )
    notebook = unescape_slack(words[1]).strip()
    if not notebook:
        raise usage_error("alias", "`alias` needs a notebook id or link, but it is empty.")
    return types.AliasCommand(_alias_name("alias", words[0], new=True), notebook, replace)


def _parse_inputs(tokens: Sequence[Token]) -> types.InputsCommand:
    (raw,) = plain_words("inputs", tokens, 1, 1, "a notebook")
    return types.InputsCommand(notebook_word("inputs", Word(raw, False, None, None)))


def _parse_find(tokens: Sequence[Token]) -> types.FindCommand:
    words = plain_words("find", tokens, 1, types.FIND_WORDS, "a part of a notebook's name")
    text = " ".join(unescape_slack(w) for w in words).strip()
    if not text:
        raise usage_error("find", "`find` needs a part of a notebook's or project's name.")
    if len(text) > types.FIND_CHARS:
        raise usage_error(
            "find", f"That is {len(text)} characters; search with at most {types.FIND_CHARS}."
        )
    return types.FindCommand(text)


def _parse_schedules(tokens: Sequence[Token]) -> types.SchedulesCommand:
    plain_words("schedules", tokens, 0, 0, "nothing")
    return types.SchedulesCommand()


def _parse_aliases(tokens: Sequence[Token]) -> types.AliasesCommand:
    plain_words("aliases", tokens, 0, 0, "nothing")
    return types.AliasesCommand()


def _parse_unalias(tokens: Sequence[Token]) -> types.UnaliasCommand:
    (raw,) = plain_words("unalias", tokens, 1, 1, "an alias name")
    return types.UnaliasCommand(_alias_name("unalias", raw, new=False))


def _parse_watch(tokens: Sequence[Token]) -> types.WatchCommand:
    notebook: str | None = None
    notify: types.Notify = "always"
    for item in scan("watch", tokens, {"notify": True}, kv=False):
        if isinstance(item, Word):
            if notebook is not None:
                raise usage_error(
                    "watch",
                    f"{quote_token(item.text)} is not expected: `watch` takes one notebook "
                    '(quote a name with spaces: `"Sales report"`) and `--notify`.',
                )
            notebook = notebook_word("watch", item)
        elif isinstance(item, Option) and item.value is not None:
            notify = parse_notify(item.value)
    if notebook is None:
        raise usage_error("watch", "`watch` needs a notebook: an alias, id, name or link.")
    return types.WatchCommand(notebook, notify)


def _parse_watches(tokens: Sequence[Token]) -> types.WatchesCommand:
    plain_words("watches", tokens, 0, 0, "nothing")
    return types.WatchesCommand()


def _parse_unwatch(tokens: Sequence[Token]) -> types.UnwatchCommand:
    (raw,) = plain_words("unwatch", tokens, 1, 1, "a watch id")
    text = raw.strip().removeprefix("#")
    if not ID_RE.fullmatch(text):
        raise usage_error(
            "unwatch",
            f"{quote_token(raw)} is not a watch id. "
            "`/deepnote watches` lists the watches with their ids.",
        )
    return types.UnwatchCommand(text)


def _parse_history(tokens: Sequence[Token]) -> types.HistoryCommand:
    words = plain_words("history", tokens, 1, 2, "a notebook and, optionally, a count")
    notebook = notebook_word("history", Word(words[0], False, None, None))
    if len(words) == 1:
        return types.HistoryCommand(notebook)
    text = words[1].strip()
    if not re.fullmatch(r"\d{1,6}", text) or not 1 <= int(text) <= types.HISTORY_MAX:
        raise usage_error(
            "history",
            f"{quote_token(words[1])} is not a number of runs from 1 to {types.HISTORY_MAX}.",
        )
    return types.HistoryCommand(notebook, int(text))


_SCHEDULE_ACTIONS: dict[str, Callable[[str], types.Command]] = {
    "unschedule": types.UnscheduleCommand,
    "pause": types.PauseCommand,
    "resume": types.ResumeCommand,
    "trigger": types.TriggerCommand,
}

_PARSERS: dict[str, Callable[[Sequence[Token]], types.Command]] = {
    "help": _parse_help,
    "run": _parse_run,
    "find": _parse_find,
    "inputs": _parse_inputs,
    "status": _parse_status,
    "schedule": _parse_schedule,
    "schedules": _parse_schedules,
    "edit": _parse_edit,
    "alias": _parse_alias,
    "aliases": _parse_aliases,
    "unalias": _parse_unalias,
    "audit": _parse_audit,
    "watch": _parse_watch,
    "watches": _parse_watches,
    "unwatch": _parse_unwatch,
    "history": _parse_history,
}


def _unknown_command(word: str, lead: str = "") -> UserError:
    guess = closest(word, _NAMES)
    suggestion = f" Did you mean `{guess}`?" if guess else ""
    problem = (
        f"{lead} {quote_token(word)}.{suggestion}"
        if lead
        else f"{quote_token(word)} is not a `{SLASH}` command.{suggestion}"
    )
    hint = "Commands: " + ", ".join(f"`{n}`" for n in _NAMES) + f". See `{SLASH} help`."
    if guess is None:
        try:
            parse_notebook_ref(unescape_slack(word))
        except UnknownNotebookRef:
            pass
        else:
            hint = f"To run that notebook: {code(f'{SLASH} run {word}', limit=120)}.\n" + hint
    return UserError(problem, hint=hint)


def parse_command(text: str) -> types.Command:
    """The command in `/deepnote` slash command text; raises only `UserError`.

    >>> parse_command("")
    HelpCommand(topic=None)
    >>> cmd = parse_command("schedule sales every weekday at 9am region=Europe --tz europe/prague")
    >>> cmd.when, cmd.inputs, cmd.tz, cmd.notify
    ('every weekday at 9am', (('region', 'Europe'),), 'Europe/Prague', 'always')
    """
    if len(text) > MAX_TEXT:
        raise UserError(
            f"That command is {len(text):,} characters long; the limit is {MAX_TEXT:,}.",
            hint=f"Pass fewer or shorter inputs, or use `{SLASH} run <notebook> --form`.".replace(
                "<", "&lt;"
            ).replace(">", "&gt;"),
        )
    text, condition = split_notify_if(text)
    command = _parse_tokens(text)
    if condition is None:
        return command
    return with_condition(command, condition)


def _parse_tokens(text: str) -> types.Command:
    tokens = tokenize_tokens(text)
    if tokens and not tokens[0].quoted and tokens[0].text.lower() == SLASH:
        tokens = tokens[1:]
    if not tokens:
        return types.HelpCommand(None)
    head = tokens[0].text.strip().lower()
    if head in HELP_WORDS:
        head = "help"
    action = _SCHEDULE_ACTIONS.get(head)
    if action is not None:
        return action(_schedule_id(head, tokens[1:]))
    parser = _PARSERS.get(head)
    if parser is None:
        raise _unknown_command(tokens[0].text)
    return parser(tokens[1:])
