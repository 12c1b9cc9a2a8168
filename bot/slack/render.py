"""Slack messages the bot sends, as pure functions from records to Block Kit.

Every function returns a `Message` within Slack's limits (50 blocks, 3,000 characters a
section, 75 a button, 150 a header, 10 context elements, 40,000 of fallback text), and every
string that came from a user or a notebook goes through `bot.text.mrkdwn` first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.deepnote.models import Notebook, NotebookInput
from bot.text.mrkdwn import (
    code,
    code_block,
    escape,
    is_safe_url,
    link,
    plain,
    slack_date,
    truncate,
    user_mention,
)
from storage.records import (
    CREATE_FAILED,
    CREATING,
    LOST,
    TERMINAL_STATUSES,
    BigNumberResult,
    ChartResult,
    ImageResult,
    ResultItem,
    RunRecord,
    TableResult,
    TextResult,
)
from storage.schedules import ScheduleRecord

MAX_BLOCKS = 50
SECTION_CHARS = 3000
FIELD_CHARS = 2000
FIELDS_PER_SECTION = 10
BUTTON_CHARS = 75
HEADER_CHARS = 150
CONTEXT_ELEMENTS = 10
TEXT_CHARS = 40_000
BUTTON_VALUE_CHARS = 2000

MAX_INPUTS_SHOWN = 20
INPUT_NAME_CHARS = 40
INPUT_VALUE_CHARS = 90
REASON_CHARS = 1500
CARD_REASON_CHARS = 300
TEXT_RESULT_CHARS = 1500
TABLE_CELL_WIDTHS = (24, 16, 10, 6)

FINISHED_STATUSES = TERMINAL_STATUSES | {CREATE_FAILED, LOST}

TRIGGER_NOW = "trigger"
"""`RunRecord.trigger` of a run started with `/deepnote trigger <schedule-id>`."""


@dataclass(frozen=True)
class Message:
    """What to post: `text` is the notification / fallback text, never empty."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


class CommandDocLike(Protocol):
    """What `help_message` needs to know about a command."""

    @property
    def name(self) -> str: ...

    @property
    def usage(self) -> str: ...

    @property
    def summary(self) -> str: ...

    @property
    def examples(self) -> tuple[str, ...]: ...


# --- durations and statuses ---------------------------------------------------------------


def format_duration(seconds: float) -> str:
    """A duration in words, to the second below an hour.

    >>> [format_duration(s) for s in (4, 125, 3780, 0.2)]
    ['4 s', '2 min 5 s', '1 h 3 min', 'less than 1 s']
    """
    if not math.isfinite(seconds) or seconds < 1:
        return "less than 1 s"
    total = int(seconds)
    if total < 60:
        return f"{total} s"
    if total < 3600:
        minutes, secs = divmod(total, 60)
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    if total < 86400:
        hours, minutes = divmod(total // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(total // 3600, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


STATUS_EMOJI = {
    CREATING: "⏳",
    "pending": "⏳",
    "running": "🏃",
    "success": "✅",
    "error": "❌",
    "internal_error": "⚠️",
    "stopped": "⏹",
    CREATE_FAILED: "❌",
    LOST: "⚠️",
}


def status_emoji(status: str) -> str:
    """The emoji for a status; unknown statuses are treated as still pending."""
    return STATUS_EMOJI.get(status, "⏳")


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _elapsed(start: datetime, end: datetime) -> float:
    return max(0.0, (_aware(end) - _aware(start)).total_seconds())


def is_finished(run: RunRecord) -> bool:
    """True when the run will not change any more (Deepnote's terminal statuses, or the bot's)."""
    return run.status in FINISHED_STATUSES


def _outcome(run: RunRecord, now: datetime) -> str:
    """What happened, in words after the notebook name ("succeeded in 2 min 5 s")."""
    took = run.duration_seconds
    after = f" after {format_duration(took)}" if took is not None else ""
    since = _elapsed(run.started_at or run.created_at, now)
    match run.status:
        case "success":
            return f"succeeded in {format_duration(took)}" if took is not None else "succeeded"
        case "error":
            return "failed" + after
        case "internal_error":
            return "hit an internal error in Deepnote" + after
        case "stopped":
            return "was stopped" + after
        case "create_failed":
            return "could not be started"
        case "lost":
            return "is no longer followed by the bot" + after
        case "running":
            return f"has been running for {format_duration(since)}"
        case "pending":
            return f"has been waiting to start for {format_duration(since)}"
        case "creating":
            return "is starting…"
        case _:
            return f"has status {code(run.status, limit=40)} ({format_duration(since)} so far)"


# --- block builders -----------------------------------------------------------------------


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_CHARS)}}


def _fields(texts: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": truncate(t, FIELD_CHARS)} for t in texts[:FIELDS_PER_SECTION]
        ],
    }


def _context(texts: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": truncate(t, SECTION_CHARS)} for t in texts[:CONTEXT_ELEMENTS]
        ],
    }


def _header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": plain(text, limit=HEADER_CHARS), "emoji": True},
    }


def _button(
    label: str, action_id: str, *, value: str | None = None, url: str | None = None
) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": plain(label, limit=BUTTON_CHARS), "emoji": True},
        "action_id": action_id,
    }
    if value is not None:
        button["value"] = value
    if url is not None:
        button["url"] = url
    return button


def _pack(lines: Iterable[str], limit: int = SECTION_CHARS) -> list[str]:
    """Group lines into texts of at most `limit` characters (a too-long line is cut)."""
    texts: list[str] = []
    current = ""
    for line in lines:
        line = truncate(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            texts.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        texts.append(current)
    return texts


def _message(text: str, blocks: list[dict[str, Any]]) -> Message:
    """Cap the blocks at 50 (keeping a trailing actions block) and the text at 40,000."""
    if len(blocks) > MAX_BLOCKS:
        tail = [blocks[-1]] if blocks[-1]["type"] == "actions" else []
        body = blocks[: len(blocks) - len(tail)]
        keep = MAX_BLOCKS - 1 - len(tail)
        note = _context([f"…and {len(body) - keep} more not shown (Slack allows 50 blocks)."])
        blocks = [*body[:keep], note, *tail]
    fallback = truncate(text.strip(), TEXT_CHARS) or "Deepnote bot"
    return Message(text=fallback, blocks=blocks)


# --- pieces of a run ----------------------------------------------------------------------


def _notebook_ref(run: RunRecord) -> str:
    name = run.notebook_name or run.notebook_id
    return f"*{link(run.notebook_url, truncate(name, 150))}*"


def _starter(run: RunRecord) -> str:
    if run.trigger == "schedule" or (run.schedule_id and not run.user_id):
        return f"started by schedule {code(run.schedule_id or 'unknown', limit=60)}"
    if run.trigger == TRIGGER_NOW:
        schedule = code(run.schedule_id or "unknown", limit=60)
        return f"started by {user_mention(run.user_id)} from schedule {schedule}"
    return f"started by {user_mention(run.user_id)}"


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(_value_text(v) for v in value)
    if value is None:
        return ""
    return str(value)


def _input_lines(inputs: dict[str, Any]) -> list[str]:
    lines = [
        f"• {code(name, limit=INPUT_NAME_CHARS)} = {code(_value_text(v), limit=INPUT_VALUE_CHARS)}"
        for name, v in list(inputs.items())[:MAX_INPUTS_SHOWN]
    ]
    hidden = len(inputs) - MAX_INPUTS_SHOWN
    if hidden > 0:
        lines.append(f"…and {hidden} more")
    return lines


def _inputs_section(run: RunRecord) -> dict[str, Any] | None:
    if not run.inputs:
        return None
    return _section("\n".join(["*Inputs*", *_input_lines(run.inputs)]))


def _flags(run: RunRecord) -> list[str]:
    flags = []
    if run.block_ids:
        shown = ", ".join(code(b, limit=40) for b in run.block_ids[:5])
        more = f" and {len(run.block_ids) - 5} more" if len(run.block_ids) > 5 else ""
        dependents = " and the blocks that depend on them" if run.run_dependents else ""
        flags.append(f"Blocks {shown}{more}{dependents}")
    if run.readonly:
        flags.append("Read-only: the notebook's files are not changed")
    return flags


def _run_context(run: RunRecord) -> dict[str, Any]:
    parts = [*_flags(run)]
    if run.run_id:
        parts.append(f"Deepnote run {code(run.run_id, limit=60)}")
    elif run.status == CREATING:
        parts.append("Deepnote run: not created yet")
    parts.append(f"Created {slack_date(run.created_at)}")
    if run.completed_at is not None:
        parts.append(f"Ended {slack_date(run.completed_at)}")
    return _context(parts)


def _reason_short(run: RunRecord) -> str | None:
    if not run.error or run.status == "success":
        return None
    first = run.error.strip().splitlines()[0] if run.error.strip() else ""
    return f"*Why:* {escape(truncate(first, CARD_REASON_CHARS))}" if first else None


def _summary_text(run: RunRecord, now: datetime) -> str:
    starter = _starter(run)
    lines = [
        f"{status_emoji(run.status)} {_notebook_ref(run)} {_outcome(run, now)}",
        starter[:1].upper() + starter[1:],
    ]
    reason = _reason_short(run)
    if reason:
        lines.append(reason)
    return "\n".join(lines)


def _fallback(run: RunRecord, now: datetime) -> str:
    name = escape(truncate(run.notebook_name or run.notebook_id, 150))
    return f"{status_emoji(run.status)} {name} {_outcome(run, now)} ({_starter(run)})"


def _runs_url(url: str | None) -> str | None:
    if not url or not is_safe_url(url):
        return None
    return url + ("&" if "?" in url else "?") + "secondary-sidebar=runs"


# --- run card -----------------------------------------------------------------------------


def run_card(run: RunRecord, *, now: datetime) -> Message:
    """The run's card in the channel, edited in place as the status moves."""
    blocks = [_section(_summary_text(run, now))]
    inputs = _inputs_section(run)
    if inputs is not None:
        blocks.append(inputs)
    blocks.append(_run_context(run))
    buttons = []
    if is_safe_url(run.notebook_url):
        buttons.append(_button("Open in Deepnote", "open_notebook", url=run.notebook_url))
    if 0 < len(run.id) <= BUTTON_VALUE_CHARS:
        buttons.append(_button("Re-run", "rerun", value=run.id))
        buttons.append(_button("Re-run with changes…", "rerun_form", value=run.id))
    if is_finished(run) and is_safe_url(run.snapshot_url):
        buttons.append(_button("Snapshot", "open_snapshot", url=run.snapshot_url))
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return _message(_fallback(run, now), blocks)


def status_reply(run: RunRecord, *, now: datetime) -> Message:
    """An ephemeral summary of one run: status, inputs, ids; no buttons."""
    blocks = [_section(_summary_text(run, now))]
    inputs = _inputs_section(run)
    if inputs is not None:
        blocks.append(inputs)
    blocks.append(_run_context(run))
    return _message(_fallback(run, now), blocks)


# --- the thread reply when a run ends -----------------------------------------------------

_NEXT_STEP = {
    "error": (
        "Fix the failing block in Deepnote, then press *Re-run* on the run card "
        "(or *Re-run with changes…* to try other inputs)."
    ),
    "internal_error": (
        "This went wrong on Deepnote's side, not in the notebook. Press *Re-run* to try again; "
        "if it keeps failing, check the notebook's runs in Deepnote."
    ),
    "stopped": (
        "The run was stopped before it finished (in Deepnote, or by a time limit). "
        "Press *Re-run* to start it again."
    ),
    CREATE_FAILED: "Nothing ran in Deepnote. Fix the problem above, then start the run again.",
}


_STATUS_REASON = re.compile(r"The run ended with status `([^`\n]*)`\.")


def _reason_block(reason: str) -> str:
    reason = reason.strip()
    ended = _STATUS_REASON.fullmatch(reason)
    if ended:  # failure_reason's own wording: show the status as code, not literal backticks
        return f"*Why it failed:* The run ended with status {code(ended[1], limit=40)}."
    if "\n" in reason or len(reason) > 200:
        return "*Why it failed*\n" + code_block(reason, limit=REASON_CHARS)
    return f"*Why it failed:* {escape(reason)}"


def _failing_block(failing: str) -> str:
    failing = failing.strip()
    if "\n" in failing:
        return "*Failing block*\n" + code_block(failing, limit=SECTION_CHARS - 20)
    return f"*Failing block:* {code(failing, limit=80)}"


def _text_result(item: TextResult) -> dict[str, Any]:
    title = f"*{escape(truncate(item.title, 150))}*"
    return _section(f"{title}\n{code_block(item.text, limit=TEXT_RESULT_CHARS)}")


def _big_number_fields(items: Sequence[BigNumberResult]) -> list[dict[str, Any]]:
    texts = []
    for item in items:
        text = f"*{escape(truncate(item.title, 150))}*\n{escape(truncate(item.value, 300))}"
        if item.comparison:
            text += f"\n_{escape(truncate(item.comparison, 300))}_"
        texts.append(text)
    return [
        _fields(texts[i : i + FIELDS_PER_SECTION]) for i in range(0, len(texts), FIELDS_PER_SECTION)
    ]


def _looks_numeric(text: str) -> bool:
    try:
        float(text.replace(",", "").rstrip("%").lstrip("$"))
    except ValueError:
        return False
    return True


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table_text(columns: Sequence[str], rows: Sequence[Sequence[str]], width: int = 24) -> str:
    """Rows aligned by column for a monospace block; numbers right-aligned.

    >>> print(table_text(["name", "n"], [["a", "1"], ["bb", "22"]]))
    name   n
    ────  ──
    a      1
    bb    22
    """
    header = [_cut(c, width) for c in columns]
    body = [[_cut(str(v), width) for v in row] + [""] * (len(header) - len(row)) for row in rows]
    widths = [max([len(header[i]), *(len(r[i]) for r in body)]) for i in range(len(header))]
    numeric = [
        bool(body) and all(_looks_numeric(r[i]) or not r[i] for r in body)
        for i in range(len(header))
    ]

    def line(cells: Sequence[str]) -> str:
        out = [
            c.rjust(widths[i]) if numeric[i] else c.ljust(widths[i])
            for i, c in enumerate(cells[: len(header)])
        ]
        return "  ".join(out).rstrip()

    rule = "  ".join("─" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in body)])


def _table_result(item: TableResult) -> dict[str, Any]:
    title = f"*{escape(truncate(item.title, 150))}*"
    rows = list(item.rows)
    columns = list(item.columns)
    # An unnamed column is the row labels (the dataframe's index), not a data column.
    shown_columns = len([c for c in columns if c])
    total_columns = max(item.total_columns, shown_columns)
    for width in TABLE_CELL_WIDTHS:
        for count in range(len(rows), -1, -1):
            shown_rows = rows[:count]
            notes = []
            if item.total_rows > len(shown_rows):
                notes.append(f"{len(shown_rows)} of {item.total_rows} rows")
            if total_columns > shown_columns:
                notes.append(f"{shown_columns} of {total_columns} columns")
            note = f"\n_Showing {', '.join(notes)}._" if notes else ""
            body = code_block(table_text(columns, shown_rows, width))
            text = f"{title}\n{body}{note}"
            if len(text) <= SECTION_CHARS:
                return _section(text)
    return _section(f"{title}\n_The table is too wide to show here; see the snapshot._")


def _attachment_line(item: ImageResult | ChartResult) -> str:
    title = escape(truncate(item.title, 150))
    if isinstance(item, ImageResult):
        kind = item.mime.split("/")[-1].split("+")[0].upper()
        size = max(1, round(len(item.data) / 1024))
        return f"🖼 *{title}*: {kind} image, {size} KB, posted as a file in this thread"
    return f"📈 *{title}*: a chart; open the run in Deepnote to see it"


def results_blocks(
    results: Sequence[ResultItem], *, room: int = MAX_BLOCKS
) -> list[dict[str, Any]]:
    """Blocks showing key results, at most `room` of them (the last one says what was left out)."""
    blocks: list[dict[str, Any]] = []
    numbers = [r for r in results if isinstance(r, BigNumberResult)]
    blocks += _big_number_fields(numbers)
    attachments: list[str] = []
    for item in results:
        if isinstance(item, TableResult):
            blocks.append(_table_result(item))
        elif isinstance(item, TextResult):
            blocks.append(_text_result(item))
        elif isinstance(item, ImageResult | ChartResult):
            attachments.append(_attachment_line(item))
    blocks += [_section(t) for t in _pack(attachments)]
    room = max(1, room)
    if len(blocks) > room:
        left = len(blocks) - (room - 1)
        blocks = [*blocks[: room - 1], _context([f"…and {left} more results in the snapshot."])]
    return blocks


def run_result_reply(run: RunRecord, *, results: list[ResultItem] | None = None) -> Message:
    """The one thread reply when a run ends: results on success, the reason on failure."""
    name = escape(truncate(run.notebook_name or run.notebook_id, 150))
    emoji = status_emoji(run.status)
    took = run.duration_seconds
    lines: list[str] = []
    if run.status == "success":
        headline = f"{emoji} {_notebook_ref(run)} succeeded"
        headline += f" in {format_duration(took)}." if took is not None else "."
        lines.append(headline)
        if is_safe_url(run.snapshot_url):
            lines.append(link(run.snapshot_url, "Download the run's snapshot"))
        else:
            lines.append("Deepnote kept no snapshot for this run.")
        fallback = f"{emoji} {name} succeeded"
    elif run.status == LOST:
        lines.append(f"{emoji} The bot lost track of {_notebook_ref(run)}.")
        why = run.error.strip() if run.error and run.error.strip() else None
        lines.append(
            "It stopped following the run because "
            + (
                escape(truncate(why, REASON_CHARS))
                if why
                else "its status could not be read for too long"
            )
            + "."
        )
        runs = _runs_url(run.notebook_url)
        where = (
            link(runs, "the notebook's runs in Deepnote")
            if runs
            else "the notebook's runs in Deepnote"
        )
        lines.append(f"It may still be running or may have finished: check {where}.")
        fallback = f"{emoji} The bot lost track of {name}"
    else:
        outcome = _outcome(run, run.completed_at or run.created_at)
        lines.append(f"{emoji} {_notebook_ref(run)} {outcome}.")
        fallback = f"{emoji} {name} {outcome}"
    if run.trigger == "schedule" and run.status != "success":
        # A failed scheduled run is nobody's in particular unless its owner is called in.
        owner = user_mention(run.user_id)
        lines.append(
            f"{owner}: this run of your schedule {code(run.schedule_id or '?', limit=40)} "
            "did not succeed."
        )
        fallback += f" ({owner}, schedule {run.schedule_id})"
    blocks = [_section("\n".join(lines))]
    if run.status not in ("success", LOST):
        if run.error and run.error.strip():
            blocks.append(_section(_reason_block(run.error)))
        else:
            ended = f"The run ended with status {code(run.status, limit=40)}."
            blocks.append(_section(f"*Why it failed:* {ended}"))
        if run.failing_block:
            blocks.append(_section(_failing_block(run.failing_block)))
        next_step = _NEXT_STEP.get(run.status)
        if next_step:
            blocks.append(_section(f"*What next:* {next_step}"))
    if results:
        blocks += results_blocks(results, room=MAX_BLOCKS - len(blocks) - 1)
    ids = [f"Deepnote run {code(run.run_id, limit=60)}"] if run.run_id else []
    blocks.append(_context([*ids, f"Bot run {code(run.id, limit=60)}"]))
    return _message(fallback, blocks)


# --- inputs listing, help, plain replies --------------------------------------------------


def _command_value(value: Any) -> str:
    """A value as the run command takes it: quoted when it holds spaces or quotes."""
    if isinstance(value, (list, tuple)):
        text = ",".join(_value_text(v) for v in value)
    else:
        text = _value_text(value)
    if not text or any(c.isspace() or c in "\"'\\" for c in text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def example_command(notebook: Notebook) -> str:
    """`/deepnote run <id> name=value …` with the notebook's current values (raw text)."""
    pairs = [
        f"{i.name}={_command_value(_typed_value(i))}"
        for i in notebook.inputs
        if i.value is not None
    ]
    return " ".join([f"/deepnote run {notebook.id}", *pairs])


def _typed_value(item: NotebookInput) -> Any:
    """A current value written the way the command takes it (a date range as START..END)."""
    value = item.value
    if item.type == "input-date-range" and isinstance(value, list | tuple) and len(value) == 2:
        return f"{value[0]}..{value[1]}"
    return value


def inputs_listing(notebook: Notebook, *, describe: Callable[[NotebookInput], str]) -> Message:
    """`/deepnote inputs`: each input's name, type, current value and allowed values."""
    name = escape(truncate(notebook.name or notebook.id, 150))
    blocks = [_section(f"*Inputs of {name}* ({code(notebook.id, limit=60)})")]
    if not notebook.inputs:
        blocks.append(_section("This notebook has no inputs."))
    entries = []
    for item in notebook.inputs:
        label = (
            f" ({escape(truncate(item.label, 80))})"
            if item.label and item.label != item.name
            else ""
        )
        current = _typed_value(item)
        value = "not set" if current is None else code(_value_text(current), limit=200)
        entries.append(
            f"{code(item.name, limit=60)}{label} · {escape(item.type)}\n"
            f"Current: {value}\n"
            f"Allowed: {escape(truncate(describe(item), 600))}"
        )
    room = MAX_BLOCKS - 3
    sections = _pack(entries, SECTION_CHARS) if len(entries) > room else entries
    blocks += [_section(t) for t in sections[:room]]
    if len(sections) > room:
        blocks.append(_context([f"…and more inputs not shown ({len(notebook.inputs)} in all)."]))
    command = example_command(notebook)
    blocks.append(
        _section("*Run it with these values:*\n" + code_block(command, limit=SECTION_CHARS - 40))
    )
    fallback = f"Inputs of {name}: " + (
        ", ".join(escape(i.name) for i in notebook.inputs) if notebook.inputs else "none"
    )
    return _message(fallback, blocks)


def help_message(commands: Sequence[CommandDocLike]) -> Message:
    """One section per command: name and summary, usage in code, examples."""
    blocks = [_header("Deepnote bot commands")]
    for command in commands[: MAX_BLOCKS - 1]:
        lines = [
            f"*{escape(command.name)}*: {escape(command.summary)}",
            f"Usage: {code(command.usage, limit=400)}",
        ]
        if command.examples:
            lines.append("Examples:")
            lines += [f"• {code(e, limit=300)}" for e in command.examples[:8]]
        blocks.append(_section("\n".join(lines)))
    fallback = "Deepnote bot commands: " + ", ".join(escape(c.name) for c in commands)
    return _message(fallback, blocks)


def error_reply(message: str) -> Message:
    """An ephemeral error. `message` is bot-written mrkdwn; callers escape any user input in it."""
    text = f":warning: {message.strip()}"
    return _message(text, [_section(t) for t in _pack(text.splitlines())])


def info_reply(text: str) -> Message:
    """An ephemeral note. `text` is bot-written mrkdwn; callers escape any user input in it."""
    text = text.strip() or "Done."
    return _message(text, [_section(t) for t in _pack(text.splitlines())])


# --- schedules ----------------------------------------------------------------------------

NOTIFY_WORDS = {
    "always": "every run is posted here",
    "failures": "only failed runs are posted here; successes are recorded quietly",
    "changes": "a run is posted when its outcome differs from the previous run's "
    "(a first run only when it fails)",
}


def format_slot(when: datetime, tz: str) -> str:
    """A firing instant as people in the schedule's zone read it.

    >>> format_slot(datetime(2026, 11, 26, 8, tzinfo=UTC), "Europe/Prague")
    'Thu 26 Nov 2026, 09:00 CET'
    """
    local = _aware(when).astimezone(ZoneInfo(tz))
    return f"{local:%a %d %b %Y, %H:%M} {local.tzname()}"


def _schedule_id(schedule: ScheduleRecord) -> str:
    return code(str(schedule.id), limit=20)


def _schedule_name(schedule: ScheduleRecord) -> str:
    return f"*{escape(truncate(schedule.notebook_name or schedule.notebook_id, 150))}*"


def _command(name: str, schedule: ScheduleRecord) -> str:
    return code(f"/deepnote {name} {schedule.id}")


def _plain_message(lines: Sequence[str], fallback: str) -> Message:
    return _message(fallback, [_section(t) for t in _pack(lines)])


def schedule_created(
    schedule: ScheduleRecord, *, words: str, tz_source: str, next_runs: Sequence[datetime]
) -> Message:
    """The channel's notice of a new schedule: when in words, zone, next runs, inputs, notify.

    `words` is `schedule_math.describe` of the schedule (bot-written mrkdwn).
    """
    sid, name, owner = _schedule_id(schedule), _schedule_name(schedule), schedule.owner_id
    head = f"🗓️ {user_mention(owner)} scheduled {name} in this channel: schedule {sid}."
    when = [
        f"*When:* {words}",
        f"*Time zone:* {escape(schedule.tz)} ({escape(tz_source)})",
        "*Next runs:*",
        *(f"• {format_slot(t, schedule.tz)}" for t in next_runs),
    ]
    if schedule.inputs:
        inputs = "\n".join(["*Inputs:*", *_input_lines(dict(schedule.inputs))])
    else:
        inputs = "*Inputs:* none, so the notebook's own values are used"
    settings = [f"*Notify:* {code(schedule.notify)}: {NOTIFY_WORDS.get(schedule.notify, '')}"]
    if schedule.post_outputs:
        settings.append(f"*Outputs posted:* {code(schedule.post_outputs, limit=200)}")
    manage = ", ".join(_command(c, schedule) for c in ("pause", "trigger", "unschedule"))
    blocks = [
        _section(head),
        _section("\n".join(when)),
        _section(inputs),
        _section("\n".join(settings)),
        _context(
            [
                f"Cron {code(schedule.expression)} · Manage it with {manage}; only "
                f"{user_mention(owner)} or a bot admin can."
            ]
        ),
    ]
    first = format_slot(next_runs[0], schedule.tz) if next_runs else "none"
    fallback = (
        f"🗓️ Schedule {schedule.id}: {escape(schedule.notebook_name)} {words} "
        f"({escape(schedule.tz)}); next run {first}"
    )
    return _message(fallback, blocks)


def _last_result(schedule: ScheduleRecord) -> str:
    if schedule.last_status is None:
        return "no runs yet"
    emoji = "✅" if schedule.last_status == "success" else "❌"
    when = f" {slack_date(schedule.last_finished_at)}" if schedule.last_finished_at else ""
    failures = schedule.consecutive_failures
    streak = f" ({failures} failures in a row)" if failures > 1 else ""
    return f"{emoji} {escape(schedule.last_status)}{when}{streak}"


def _schedule_line(schedule: ScheduleRecord, words: str) -> str:
    sid, name = _schedule_id(schedule), _schedule_name(schedule)
    if schedule.paused:
        # Bot-written ("paused by <@U…>"), so shown as it is.
        why = f" ({truncate(schedule.paused_reason, 200)})" if schedule.paused_reason else ""
        state = f"⏸️ *Paused*{why}; resume with {_command('resume', schedule)}"
    elif schedule.next_fire_at is not None:
        state = f"*Next:* {format_slot(schedule.next_fire_at, schedule.tz)}"
    else:
        state = "*Next:* none"
    return "\n".join(
        [
            f"{sid} {name}: {words} · {escape(schedule.tz)}",
            f"{state} · *Last:* {_last_result(schedule)}",
            f"Owner {user_mention(schedule.owner_id)} · notify {code(schedule.notify)}",
        ]
    )


def schedules_listing(schedules: Sequence[tuple[ScheduleRecord, str]], *, example: str) -> Message:
    """`/deepnote schedules`: each schedule with its words (given), next run and last result.

    `example` is a ready mrkdwn example of the schedule command, for the empty case.
    """
    if not schedules:
        return _plain_message(
            [
                "There are no schedules in this channel yet.",
                f"Create one with, for example, {example}",
            ],
            "There are no schedules in this channel yet.",
        )
    room = MAX_BLOCKS - 2
    blocks = [_section(f"*Schedules in this channel* ({len(schedules)})")]
    blocks += [_section(_schedule_line(s, words)) for s, words in schedules[:room]]
    if len(schedules) > room:
        blocks.append(_context([f"…and {len(schedules) - room} more not shown."]))
    fallback = "Schedules in this channel: " + ", ".join(
        f"{s.id} ({escape(truncate(s.notebook_name, 60))})" for s, _ in schedules[:100]
    )
    return _message(fallback, blocks)


def schedule_paused(schedule: ScheduleRecord, *, actor: str, words: str) -> Message:
    """The channel's notice that someone paused a schedule."""
    text = (
        f"⏸️ {user_mention(actor)} paused schedule {_schedule_id(schedule)} "
        f"({_schedule_name(schedule)}, {words}, {escape(schedule.tz)}). "
        f"It will not run until someone resumes it with {_command('resume', schedule)}."
    )
    return _plain_message([text], f"Schedule {schedule.id} paused")


def schedule_resumed(schedule: ScheduleRecord, *, actor: str, words: str) -> Message:
    """The channel's notice that a schedule runs again, from its next slot on."""
    after = format_slot(schedule.next_fire_at, schedule.tz) if schedule.next_fire_at else "none"
    text = (
        f"▶️ {user_mention(actor)} resumed schedule {_schedule_id(schedule)} "
        f"({_schedule_name(schedule)}, {words}, {escape(schedule.tz)}). "
        f"Next run: {after}. Runs missed while it was paused are not made up."
    )
    return _plain_message([text], f"Schedule {schedule.id} resumed; next run {after}")


def schedule_deleted(schedule: ScheduleRecord, *, actor: str, words: str) -> Message:
    """The channel's notice that a schedule is gone."""
    text = (
        f"🗑️ {user_mention(actor)} deleted schedule {_schedule_id(schedule)} "
        f"({_schedule_name(schedule)}, {words}, {escape(schedule.tz)}). It will not run again."
    )
    return _plain_message([text], f"Schedule {schedule.id} deleted")


def schedule_skipped(
    schedule: ScheduleRecord,
    *,
    first: datetime,
    last: datetime,
    count: int,
    late_seconds: float,
    grace_seconds: float,
    running: datetime | None,
) -> Message:
    """One note for a burst of slots missed while the bot was down (never one per slot)."""
    sid, name, tz = _schedule_id(schedule), _schedule_name(schedule), schedule.tz
    if count == 1:
        what = f"the run due {format_slot(first, tz)}"
    else:
        shown = f"{count:,}" if count < 1000 else "1,000 or more"
        what = f"{shown} runs due from {format_slot(first, tz)} to {format_slot(last, tz)}"
    lines = [
        f"⏭️ Schedule {sid} ({name}) skipped {what}: the bot was not running then, and it came "
        f"back {format_duration(late_seconds)} after "
        + ("it" if count == 1 else "the last of them")
        + f", more than the {format_duration(grace_seconds)} grace period."
    ]
    if running is not None:
        lines.append(f"The run due {format_slot(running, tz)} is starting now.")
    elif schedule.next_fire_at is not None:
        lines.append(f"Next run: {format_slot(schedule.next_fire_at, tz)}.")
    return _plain_message(lines, f"Schedule {schedule.id} skipped {count} missed run(s)")


def schedule_not_started(schedule: ScheduleRecord, *, reason: str) -> Message:
    """A scheduled run that could not start. `reason` is mrkdwn (escape user text in it)."""
    owner = user_mention(schedule.owner_id)
    lines = [
        f"❌ Schedule {_schedule_id(schedule)} could not start {_schedule_name(schedule)}.",
        f"*Why:* {reason.strip()}",
        f"{owner}: check the notebook and its inputs "
        f"({code(f'/deepnote inputs {schedule.notebook_id}')}). If the inputs changed, delete "
        f"this schedule with {_command('unschedule', schedule)} and create it again.",
    ]
    return _plain_message(
        lines,
        f"❌ Schedule {schedule.id} could not start {escape(schedule.notebook_name)} ({owner})",
    )


def schedule_back_to_normal(schedule: ScheduleRecord, *, failures: int) -> Message:
    """Said under a successful scheduled run that follows failed ones."""
    runs = "run" if failures == 1 else f"{failures} runs"
    text = (
        f"✅ Back to normal: schedule {_schedule_id(schedule)} ({_schedule_name(schedule)}) "
        f"succeeded after the previous {runs} failed."
    )
    return _plain_message([text], f"✅ Schedule {schedule.id} is back to normal")


def schedule_auto_paused(schedule: ScheduleRecord, *, failures: int, words: str) -> Message:
    """The channel's notice that a schedule paused itself after failing too often."""
    owner = user_mention(schedule.owner_id)
    lines = [
        f"⏸️ Schedule {_schedule_id(schedule)} ({_schedule_name(schedule)}, {words}, "
        f"{escape(schedule.tz)}) paused itself after {failures} failed runs in a row.",
        f"{owner}: fix the notebook or its inputs, try it once with "
        f"{_command('trigger', schedule)}, then turn it back on with "
        f"{_command('resume', schedule)}.",
    ]
    return _plain_message(
        lines, f"⏸️ Schedule {schedule.id} paused itself after {failures} failures ({owner})"
    )
