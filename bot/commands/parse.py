"""Parse `/deepnote` slash command text into typed commands (pure; raises only `UserError`).

>>> cmd = parse_command('run sales-report region=EU title="Q3 report" --post-outputs all')
>>> cmd.notebook, cmd.inputs, cmd.options.post_outputs
('sales-report', (('region', 'EU'), ('title', 'Q3 report')), 'all')
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from bot.deepnote.notebook_ref import UnknownNotebookRef, parse_notebook_ref
from bot.errors import UserError
from bot.text.mrkdwn import code
from bot.text.tokens import (
    Token,
    closest,
    quote_token,
    tokenize_tokens,
    unescape_slack,
)
from storage.records import RunOptions

SLASH = "/deepnote"
MAX_TEXT = 4000
MAX_INPUTS = 100
MAX_IDS = 100
AUDIT_DEFAULT = 20
AUDIT_MAX = 200

Notify = Literal["always", "failures", "changes"]
NOTIFY_CHOICES: tuple[Notify, ...] = ("always", "failures", "changes")
Inputs = tuple[tuple[str, str], ...]


# --- commands ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HelpCommand:
    """`help [command]`, and empty text."""

    topic: str | None


@dataclass(frozen=True)
class RunCommand:
    """`run <notebook> ...`; `notebook` is the raw reference, resolved later."""

    notebook: str
    inputs: Inputs
    options: RunOptions
    form: bool


@dataclass(frozen=True)
class InputsCommand:
    """`inputs <notebook>`."""

    notebook: str


@dataclass(frozen=True)
class StatusCommand:
    """`status <run-id>`."""

    run_id: str


@dataclass(frozen=True)
class ScheduleCommand:
    """`schedule <notebook> <when> ...`; `when` is extracted, not validated."""

    notebook: str
    when: str
    inputs: Inputs
    tz: str | None
    notify: Notify
    post_outputs: str | None


@dataclass(frozen=True)
class SchedulesCommand:
    """`schedules`."""


@dataclass(frozen=True)
class UnscheduleCommand:
    """`unschedule <schedule-id>`."""

    schedule_id: str


@dataclass(frozen=True)
class PauseCommand:
    """`pause <schedule-id>`."""

    schedule_id: str


@dataclass(frozen=True)
class ResumeCommand:
    """`resume <schedule-id>`."""

    schedule_id: str


@dataclass(frozen=True)
class TriggerCommand:
    """`trigger <schedule-id>`."""

    schedule_id: str


@dataclass(frozen=True)
class AliasCommand:
    """`alias <name> <notebook>`; `notebook` is the raw reference, resolved later."""

    name: str
    notebook: str


@dataclass(frozen=True)
class AliasesCommand:
    """`aliases`."""


@dataclass(frozen=True)
class UnaliasCommand:
    """`unalias <name>`."""

    name: str


@dataclass(frozen=True)
class AuditCommand:
    """`audit [count]`."""

    limit: int


Command = (
    HelpCommand
    | RunCommand
    | InputsCommand
    | StatusCommand
    | ScheduleCommand
    | SchedulesCommand
    | UnscheduleCommand
    | PauseCommand
    | ResumeCommand
    | TriggerCommand
    | AliasCommand
    | AliasesCommand
    | UnaliasCommand
    | AuditCommand
)


# --- documentation, as data -------------------------------------------------------------------


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
        "alias <name> <notebook-id-or-link>",
        "Give a notebook a short name to use instead of its id or link.",
        (
            "alias sales-report 0123456789abcdef0123456789abcdef",
            "alias kpi-dashboard https://deepnote.com/workspace/acme-4f1c2d3e/project/"
            "KPIs-0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e/notebook/"
            "Dashboard-89abcdef0123456789abcdef01234567",
        ),
    ),
    CommandDoc(
        "aliases",
        "aliases",
        "List the notebook aliases.",
        ("aliases",),
    ),
    CommandDoc(
        "unalias",
        "unalias <name>",
        "Remove a notebook alias.",
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
_HELP_WORDS = frozenset({"help", "-h", "--help", "?", "—help"})


def command_doc(name: str) -> CommandDoc:
    """The documentation of one subcommand (KeyError when there is no such subcommand)."""
    return _DOCS[name]


def format_usage(name: str) -> str:
    """The usage line as a Slack mrkdwn code span, e.g. "`/deepnote inputs &lt;notebook&gt;`"."""
    return code(f"{SLASH} {_DOCS[name].usage}")


def format_example(name: str, index: int = 0) -> str:
    """One example of a subcommand as a Slack mrkdwn code span."""
    return code(f"{SLASH} {_DOCS[name].examples[index]}")


# --- scanning tokens into options, inputs and words ------------------------------------------


class _Opt(NamedTuple):
    name: str
    value: str | None
    raw: str


class _KV(NamedTuple):
    key: str
    value: str
    raw: str


class _Word(NamedTuple):
    text: str
    quoted: bool
    prev_raw: str | None
    next_raw: str | None


_Item = _Opt | _KV | _Word

_OPTION_RE = re.compile(r"(?:--|—|–|−−|-)(?=[A-Za-z])")
_SLACK_LINK = re.compile(r"<((?:https?|mailto):[^<>|]*)(?:\|([^<>]*))?>")
_OPTION_EXAMPLES = {
    "blocks": "--blocks 3691e962f28462a191f086357005afc6,dd89e10c880e6aea085862c8fa5d17c5",
    "post-outputs": "--post-outputs all",
    "tz": "--tz Europe/Prague",
    "notify": "--notify failures",
}


def _value(text: str) -> str:
    """An input value as the user meant it: Slack's link wrapping and entities undone."""
    link = _SLACK_LINK.fullmatch(text)
    if link:
        url, label = link.group(1), link.group(2)
        text = label if label else url.removeprefix("mailto:")
    return unescape_slack(text)


def _split_kv(text: str) -> tuple[str, str] | None:
    """`key=value` split at the first `=`; None for words and for links (`...?a=b`)."""
    key, sep, value = text.partition("=")
    if not sep or any(c in key for c in "/:<>"):
        return None
    return key, value


def _usage_error(command: str, problem: str) -> UserError:
    doc = _DOCS[command]
    return UserError(
        problem,
        hint=f"Usage: {format_usage(command)}\nExample: {format_example(doc.name)}",
    )


def _scan(
    command: str, tokens: Sequence[Token], options: Mapping[str, bool], kv: bool
) -> list[_Item]:
    """Classify tokens; `options` maps each option name to whether it takes a value."""
    items: list[_Item] = []
    seen: set[str] = set()
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        prefix = None if tok.quoted else _OPTION_RE.match(tok.text)
        if prefix is None:
            pair = _split_kv(tok.text) if kv else None
            if pair is not None:
                items.append(_KV(pair[0], _value(pair[1]), tok.text))
            else:
                prev = tokens[i - 2].text if i >= 2 else None
                nxt = tokens[i].text if i < len(tokens) else None
                items.append(_Word(tok.text, tok.quoted, prev, nxt))
            continue
        body = tok.text[prefix.end() :]
        name, sep, inline = body.partition("=")
        name = name.lower().replace("_", "-")
        if name not in options:
            raise _unknown_option(command, tok.text, name, options)
        if not options[name]:
            if sep:
                raise _usage_error(
                    command, f"`--{name}` takes no value: got {quote_token(tok.text)}."
                )
            items.append(_Opt(name, None, tok.text))
            continue
        if name in seen:
            raise _usage_error(command, f"`--{name}` is given twice; give it once.")
        seen.add(name)
        value: str | None = inline if sep else None
        if value is None and i < len(tokens):
            nxt_tok = tokens[i]
            if nxt_tok.quoted or not _OPTION_RE.match(nxt_tok.text):
                value = nxt_tok.text
                i += 1
        if value is None or not value.strip():
            raise UserError(
                f"`--{name}` needs a value.",
                hint=f"For example: {code(_OPTION_EXAMPLES.get(name, f'--{name} VALUE'))}",
            )
        items.append(_Opt(name, unescape_slack(value), tok.text))
    return items


def _unknown_option(command: str, raw: str, name: str, options: Mapping[str, bool]) -> UserError:
    if not options:
        return _usage_error(command, f"{quote_token(raw)}: `{command}` takes no options.")
    valid = ", ".join(f"`--{o}`" for o in options)
    guess = closest(name, list(options))
    suggestion = f" Did you mean `--{guess}`?" if guess else ""
    return _usage_error(
        command,
        f"{quote_token(raw)} is not an option of `{command}`.{suggestion} "
        f"Its options are: {valid}.",
    )


def _stray_word(command: str, word: _Word, after: str = "") -> UserError:
    prev, nxt = word.prev_raw or "", word.next_raw or ""
    if prev.endswith("=") and word.text != "=":
        spaced: str | None = prev + word.text
    elif nxt == "=":
        spaced = word.text + "=..."
    elif nxt.startswith("="):
        spaced = word.text + nxt
    else:
        spaced = "region=EU" if word.text == "=" else None
    hint = (
        f"Write inputs without spaces around `=`, e.g. {code(spaced, limit=60)}; "
        if spaced
        else "Write inputs as `name=value`, e.g. `region=EU`; "
    ) + 'quote a value with spaces: `title="Q3 report"`.'
    doc = _DOCS[command]
    return UserError(
        f"{quote_token(word.text)} is not a `name=value` input.{after}",
        hint=f"{hint}\nUsage: {format_usage(command)}\nExample: {format_example(doc.name)}",
    )


_IDENTIFIER_HINT = re.compile(r"[^0-9A-Za-z_]+")


def _input_pair(command: str, item: _KV, seen: set[str]) -> tuple[str, str]:
    key = item.key.strip()
    if not key:
        raise _usage_error(
            command,
            f"{quote_token(item.raw)} has no input name before `=`. "
            "Write `name=value` with no spaces, e.g. `region=EU`.",
        )
    if not key.isidentifier():
        fixed = _IDENTIFIER_HINT.sub("_", key).strip("_") or "region"
        if fixed[0].isdigit():
            fixed = "_" + fixed
        raise _usage_error(
            command,
            f"{quote_token(key)} is not an input name: names are like Python variables "
            "(letters, digits and `_`, not starting with a digit)"
            f", e.g. {code(fixed + '=...')}.",
        )
    if key in seen:
        raise _usage_error(command, f"The input {quote_token(key)} is given twice; give it once.")
    seen.add(key)
    return key, item.value


def _check_input_count(command: str, inputs: Sequence[tuple[str, str]]) -> None:
    if len(inputs) > MAX_INPUTS:
        raise _usage_error(
            command,
            f"That is {len(inputs)} inputs; at most {MAX_INPUTS} can be given in one command.",
        )


# --- option values ----------------------------------------------------------------------------

_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _parse_block_ids(value: str) -> tuple[str, ...]:
    pieces = [p.strip() for p in re.split(r"[,\s]+", value) if p.strip()]
    if not pieces:
        raise UserError(
            "`--blocks` needs at least one block id.",
            hint=f"For example: `{_OPTION_EXAMPLES['blocks']}`",
        )
    for piece in pieces:
        if not _ID_RE.fullmatch(piece):
            raise UserError(
                f"{quote_token(piece)} is not a block id.",
                hint="Block ids are letters, digits, `-` and `_`, separated by commas, e.g. "
                f"`{_OPTION_EXAMPLES['blocks']}`. Copy them from the block's link in Deepnote.",
            )
    unique = tuple(dict.fromkeys(pieces))
    if len(unique) > MAX_IDS:
        raise UserError(f"That is {len(unique)} block ids; at most {MAX_IDS} can be run at once.")
    return unique


def _parse_post_outputs(value: str) -> str:
    pieces = [p.strip() for p in value.split(",") if p.strip()]
    example = (
        "Use `--post-outputs all`, `--post-outputs none`, or block names or ids, "
        "e.g. `--post-outputs revenue_chart,summary`."
    )
    if not pieces:
        raise UserError("`--post-outputs` needs a value.", hint=example)
    lowered = [p.lower() for p in pieces]
    if len(pieces) == 1 and lowered[0] in ("all", "none"):
        return lowered[0]
    for piece, low in zip(pieces, lowered, strict=True):
        if low in ("all", "none"):
            raise UserError(
                f"{quote_token(piece)} cannot be combined with block names in `--post-outputs`.",
                hint=example,
            )
        if len(piece) > 200:
            raise UserError(
                f"{quote_token(piece)} is too long for a block name or id.", hint=example
            )
    unique = list(dict.fromkeys(pieces))
    if len(unique) > MAX_IDS:
        raise UserError(
            f"That is {len(unique)} blocks in `--post-outputs`; at most {MAX_IDS}.", hint=example
        )
    return ",".join(unique)


_NOTIFY_WORDS: dict[str, Notify] = {
    "always": "always",
    "failures": "failures",
    "failure": "failures",
    "changes": "changes",
    "change": "changes",
}


def _parse_notify(value: str) -> Notify:
    word = value.strip().lower()
    if word in _NOTIFY_WORDS:
        return _NOTIFY_WORDS[word]
    guess = closest(word, NOTIFY_CHOICES)
    suggestion = f" Did you mean `{guess}`?" if guess else ""
    raise UserError(
        f"{quote_token(value)} is not a `--notify` choice.{suggestion}",
        hint="Use `--notify always` (every run), `--notify failures` (failed runs only) or "
        "`--notify changes` (when the outcome differs from the last run).",
    )


_TZ_RE = re.compile(r"(?=.{1,64}$)[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*")
_TZ_ABBREVIATIONS = {
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "mst": "America/Denver",
    "mdt": "America/Denver",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "est": "America/New_York",
    "edt": "America/New_York",
    "bst": "Europe/London",
    "cest": "Europe/Berlin",
    "ist": "Asia/Kolkata",
    "jst": "Asia/Tokyo",
    "aest": "Australia/Sydney",
}


@functools.lru_cache(maxsize=1)
def _zones() -> dict[str, str]:
    """Every known time zone, by lowercase name."""
    return {z.lower(): z for z in zoneinfo.available_timezones()}


@functools.lru_cache(maxsize=1)
def _cities() -> dict[str, str]:
    """Zones by their lowercase last part: "prague" -> "Europe/Prague"."""
    return {z.rsplit("/", 1)[-1].lower(): z for z in sorted(_zones().values()) if "/" in z}


def _zone_exists(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def parse_tz(value: str) -> str:
    """The canonical IANA time zone name for `value` (any case), or a `UserError`.

    >>> parse_tz("europe/prague")
    'Europe/Prague'
    """
    name = value.strip()
    canonical = _zones().get(name.lower()) if len(name) <= 64 else None
    # Without a zone list (no tzdata), ask zoneinfo about the name itself.
    if canonical is None and not _zones() and _TZ_RE.fullmatch(name) and _zone_exists(name):
        canonical = name
    if canonical is not None:
        return canonical
    low = name.lower()
    guess: str | None = _TZ_ABBREVIATIONS.get(low)
    if guess is None and low:
        guess = _cities().get(low.replace(" ", "_")) or closest(name, list(_zones().values()))
    suggestion = f" Did you mean `--tz {guess}`?" if guess else ""
    raise UserError(
        f"{quote_token(value)} is not a time zone I know.{suggestion}",
        hint="Use an IANA zone name, e.g. `--tz Europe/Prague`, `--tz America/New_York`, "
        "`--tz UTC`.",
    )


# --- subcommand parsers -----------------------------------------------------------------------


def _notebook_word(command: str, word: _Word) -> str:
    text = unescape_slack(word.text).strip()
    if not text:
        raise _usage_error(command, f"`{command}` needs a notebook, but it is empty.")
    return text


def _parse_run(tokens: Sequence[Token]) -> RunCommand:
    options = {
        "readonly": False,
        "blocks": True,
        "with-dependents": False,
        "form": False,
        "post-outputs": True,
    }
    notebook: str | None = None
    inputs: list[tuple[str, str]] = []
    seen: set[str] = set()
    flags: set[str] = set()
    values: dict[str, str] = {}
    for item in _scan("run", tokens, options, kv=True):
        if isinstance(item, _Word):
            if notebook is not None:
                raise _stray_word("run", item)
            notebook = _notebook_word("run", item)
        elif isinstance(item, _KV):
            inputs.append(_input_pair("run", item, seen))
        elif item.value is None:
            flags.add(item.name)
        else:
            values[item.name] = item.value
    if notebook is None:
        raise _usage_error("run", "`run` needs a notebook: an alias, id, name or link.")
    _check_input_count("run", inputs)
    block_ids = _parse_block_ids(values["blocks"]) if "blocks" in values else ()
    if "with-dependents" in flags and not block_ids:
        raise _usage_error(
            "run",
            "`--with-dependents` only works with `--blocks`: it also runs the blocks that "
            "depend on them, e.g. `--blocks 3691e962f28462a191f086357005afc6 --with-dependents`.",
        )
    if "readonly" in flags and block_ids:
        raise _usage_error(
            "run",
            "`--readonly` cannot be combined with `--blocks`: Deepnote offers read-only "
            "storage only for full-notebook runs. Drop one of them.",
        )
    post = _parse_post_outputs(values["post-outputs"]) if "post-outputs" in values else None
    return RunCommand(
        notebook=notebook,
        inputs=tuple(inputs),
        options=RunOptions(
            readonly="readonly" in flags,
            block_ids=block_ids,
            run_dependents="with-dependents" in flags,
            post_outputs=post,
        ),
        form="form" in flags,
    )


def _parse_schedule(tokens: Sequence[Token]) -> ScheduleCommand:
    options = {"tz": True, "notify": True, "post-outputs": True}
    notebook: str | None = None
    when: list[_Word] = []
    when_closed = False
    inputs: list[tuple[str, str]] = []
    seen: set[str] = set()
    values: dict[str, str] = {}
    for item in _scan("schedule", tokens, options, kv=True):
        if isinstance(item, _Word):
            if notebook is None:
                notebook = _notebook_word("schedule", item)
            elif not when_closed:
                when.append(item)
            else:
                raise _stray_word(
                    "schedule",
                    item,
                    " The schedule goes right after the notebook, before inputs and options "
                    '(or quote it: `"every weekday at 9am"`).',
                )
            continue
        if when:
            when_closed = True
        if isinstance(item, _KV):
            inputs.append(_input_pair("schedule", item, seen))
        elif item.value is not None:
            values[item.name] = item.value
    if notebook is None:
        raise _usage_error("schedule", "`schedule` needs a notebook and when to run it.")
    if not when:
        raise _usage_error(
            "schedule",
            "`schedule` needs to know when to run, right after the notebook: plain words like "
            '`every weekday at 9am`, or a crontab in quotes like `"0 9 * * 1-5"`.',
        )
    if when[0].quoted and len(when) > 1:
        raise _usage_error(
            "schedule",
            f"{quote_token(when[1].text)} follows the quoted schedule {quote_token(when[0].text)}. "
            'Put the whole schedule in one pair of quotes, e.g. `"0 9 * * 1-5"`.',
        )
    when_text = " ".join(unescape_slack(" ".join(w.text for w in when)).split())
    if not when_text:
        raise _usage_error(
            "schedule", "The schedule is empty: say when to run, e.g. `every weekday at 9am`."
        )
    _check_input_count("schedule", inputs)
    return ScheduleCommand(
        notebook=notebook,
        when=when_text,
        inputs=tuple(inputs),
        tz=parse_tz(values["tz"]) if "tz" in values else None,
        notify=_parse_notify(values["notify"]) if "notify" in values else "always",
        post_outputs=_parse_post_outputs(values["post-outputs"])
        if "post-outputs" in values
        else None,
    )


def _words(
    command: str, tokens: Sequence[Token], at_least: int, at_most: int, what: str
) -> list[str]:
    """The plain arguments of a subcommand that takes no options, checking how many there are."""
    words = [item.text for item in _scan(command, tokens, {}, kv=False) if isinstance(item, _Word)]
    if len(words) < at_least:
        raise _usage_error(command, f"`{command}` needs {what}.")
    if len(words) > at_most:
        extra = words[at_most]
        takes = f"takes only {what}" if at_most else "takes nothing else"
        raise _usage_error(command, f"{quote_token(extra)} is not expected: `{command}` {takes}.")
    return words


def _schedule_id(command: str, tokens: Sequence[Token]) -> str:
    (raw,) = _words(command, tokens, 1, 1, "a schedule id")
    text = raw.strip().removeprefix("#")
    if not _ID_RE.fullmatch(text):
        raise _usage_error(
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
        raise _usage_error(
            command,
            f"{quote_token(raw)} is not a valid alias name: use 1-40 lowercase letters, "
            f"digits, `-` and `_`, e.g. {code(suggestion)}.",
        )
    if new:
        try:
            parse_notebook_ref(name)
        except UnknownNotebookRef:
            return name
        raise _usage_error(
            command,
            f"{quote_token(raw)} looks like a notebook id, so it cannot be an alias name. "
            "Pick a word, e.g. `sales-report`.",
        )
    return name


def _parse_help(tokens: Sequence[Token]) -> HelpCommand:
    words = _words("help", tokens, 0, 1, "one command name")
    if not words:
        return HelpCommand(None)
    topic = words[0].strip().lower()
    if topic in _HELP_WORDS:
        return HelpCommand("help")
    if topic not in _DOCS:
        raise _unknown_command(words[0], "There is no help on")
    return HelpCommand(topic)


def _parse_status(tokens: Sequence[Token]) -> StatusCommand:
    (raw,) = _words("status", tokens, 1, 1, "a run id")
    text = raw.strip()
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,100}", text):
        raise _usage_error(
            "status",
            f"{quote_token(raw)} is not a run id. "
            "Run ids look like `3f2b7c1e-9a4d-4c1b-8e2f-6a7b8c9d0e1f`.",
        )
    return StatusCommand(text)


def _parse_audit(tokens: Sequence[Token]) -> AuditCommand:
    words = _words("audit", tokens, 0, 1, "a number of entries")
    if not words:
        return AuditCommand(AUDIT_DEFAULT)
    text = words[0].strip()
    if not re.fullmatch(r"\d{1,6}", text) or not 1 <= int(text) <= AUDIT_MAX:
        raise _usage_error(
            "audit", f"{quote_token(words[0])} is not a number from 1 to {AUDIT_MAX}."
        )
    return AuditCommand(int(text))


def _parse_alias(tokens: Sequence[Token]) -> AliasCommand:
    words = _words("alias", tokens, 2, 2, "a name and a notebook id or link")
    notebook = unescape_slack(words[1]).strip()
    if not notebook:
        raise _usage_error("alias", "`alias` needs a notebook id or link, but it is empty.")
    return AliasCommand(_alias_name("alias", words[0], new=True), notebook)


def _parse_inputs(tokens: Sequence[Token]) -> InputsCommand:
    (raw,) = _words("inputs", tokens, 1, 1, "a notebook")
    return InputsCommand(_notebook_word("inputs", _Word(raw, False, None, None)))


def _parse_schedules(tokens: Sequence[Token]) -> SchedulesCommand:
    _words("schedules", tokens, 0, 0, "nothing")
    return SchedulesCommand()


def _parse_aliases(tokens: Sequence[Token]) -> AliasesCommand:
    _words("aliases", tokens, 0, 0, "nothing")
    return AliasesCommand()


def _parse_unalias(tokens: Sequence[Token]) -> UnaliasCommand:
    (raw,) = _words("unalias", tokens, 1, 1, "an alias name")
    return UnaliasCommand(_alias_name("unalias", raw, new=False))


_SCHEDULE_ACTIONS: dict[str, Callable[[str], Command]] = {
    "unschedule": UnscheduleCommand,
    "pause": PauseCommand,
    "resume": ResumeCommand,
    "trigger": TriggerCommand,
}

_PARSERS: dict[str, Callable[[Sequence[Token]], Command]] = {
    "help": _parse_help,
    "run": _parse_run,
    "inputs": _parse_inputs,
    "status": _parse_status,
    "schedule": _parse_schedule,
    "schedules": _parse_schedules,
    "alias": _parse_alias,
    "aliases": _parse_aliases,
    "unalias": _parse_unalias,
    "audit": _parse_audit,
}


def _unknown_command(word: str, lead: str = "") -> UserError:
    names = [doc.name for doc in COMMANDS]
    guess = closest(word, names)
    suggestion = f" Did you mean `{guess}`?" if guess else ""
    problem = (
        f"{lead} {quote_token(word)}.{suggestion}"
        if lead
        else f"{quote_token(word)} is not a `{SLASH}` command.{suggestion}"
    )
    hint = "Commands: " + ", ".join(f"`{n}`" for n in names) + f". See `{SLASH} help`."
    if guess is None:
        try:
            parse_notebook_ref(unescape_slack(word))
        except UnknownNotebookRef:
            pass
        else:
            hint = f"To run that notebook: {code(f'{SLASH} run {word}', limit=120)}.\n" + hint
    return UserError(problem, hint=hint)


def parse_command(text: str) -> Command:
    """The command in `/deepnote` slash command text; raises only `UserError`.

    >>> parse_command("")
    HelpCommand(topic=None)
    >>> cmd = parse_command("schedule sales every weekday at 9am region=EU --tz europe/prague")
    >>> cmd.when, cmd.inputs, cmd.tz, cmd.notify
    ('every weekday at 9am', (('region', 'EU'),), 'Europe/Prague', 'always')
    """
    if len(text) > MAX_TEXT:
        raise UserError(
            f"That command is {len(text):,} characters long; the limit is {MAX_TEXT:,}.",
            hint=f"Pass fewer or shorter inputs, or use `{SLASH} run <notebook> --form`.".replace(
                "<", "&lt;"
            ).replace(">", "&gt;"),
        )
    tokens = tokenize_tokens(text)
    if tokens and not tokens[0].quoted and tokens[0].text.lower() == SLASH:
        tokens = tokens[1:]
    if not tokens:
        return HelpCommand(None)
    head = tokens[0].text.strip().lower()
    if head in _HELP_WORDS:
        head = "help"
    action = _SCHEDULE_ACTIONS.get(head)
    if action is not None:
        return action(_schedule_id(head, tokens[1:]))
    parser = _PARSERS.get(head)
    if parser is None:
        raise _unknown_command(tokens[0].text)
    return parser(tokens[1:])
