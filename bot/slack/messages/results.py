"""The one thread reply when a run ends: key results on success, the reason on failure."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.conditions import Evaluation
from bot.slack.messages.alerts import alert_lines
from bot.slack.messages.blocks import (
    FIELDS_PER_SECTION,
    MAX_BLOCKS,
    SECTION_CHARS,
    Block,
    Message,
    context,
    fields,
    make_message,
    section,
    sections,
)
from bot.slack.messages.status import format_duration, notebook_ref, outcome, status_emoji
from bot.text.mrkdwn import code, code_block, escape, is_safe_url, link, truncate, user_mention
from storage import records

REASON_CHARS = 1500
TEXT_RESULT_CHARS = 1500
TABLE_CELL_WIDTHS = (24, 16, 10, 6)

_NEXT_STEP = {
    "error": (
        "Fix the failing block (above) in Deepnote, then press *Re-run* on the run card "
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
    records.CREATE_FAILED: (
        "Nothing ran in Deepnote. Fix the problem above, then start the run again."
    ),
}


_FIND_THE_BLOCK = (
    "Open the run in Deepnote to find the block that failed and fix it, then press *Re-run* "
    "on the run card (or *Re-run with changes…* to try other inputs)."
)
"""What next after an error when the snapshot named no failing block."""

_STATUS_REASON = re.compile(r"The run ended with status `([^`\n]*)`\.")


# --- key results --------------------------------------------------------------------------


def _title(text: str) -> str:
    return f"*{escape(truncate(text, 150))}*"


def _text_result(item: records.TextResult) -> Block:
    return section(f"{_title(item.title)}\n{code_block(item.text, limit=TEXT_RESULT_CHARS)}")


def _big_number_fields(items: Sequence[records.BigNumberResult]) -> list[Block]:
    texts = []
    for item in items:
        text = f"{_title(item.title)}\n{escape(truncate(item.value, 300))}"
        if item.comparison:
            text += f"\n_{escape(truncate(item.comparison, 300))}_"
        texts.append(text)
    return [
        fields(texts[i : i + FIELDS_PER_SECTION]) for i in range(0, len(texts), FIELDS_PER_SECTION)
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


def _table_result(item: records.TableResult) -> Block:
    title = _title(item.title)
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
                return section(text)
    return section(f"{title}\n_The table is too wide to show here; see the snapshot._")


def _attachment_line(item: records.ImageResult | records.ChartResult) -> str:
    title = escape(truncate(item.title, 150))
    if isinstance(item, records.ImageResult):
        kind = item.mime.split("/")[-1].split("+")[0].upper()
        size = max(1, round(len(item.data) / 1024))
        return f"🖼 *{title}*: {kind} image, {size} KB, posted as a file in this thread"
    return f"📈 *{title}*: a chart; open the run in Deepnote to see it"


def results_blocks(results: Sequence[records.ResultItem], *, room: int = MAX_BLOCKS) -> list[Block]:
    """Blocks showing key results, at most `room` of them (the last one says what was left out)."""
    blocks: list[Block] = []
    numbers = [r for r in results if isinstance(r, records.BigNumberResult)]
    blocks += _big_number_fields(numbers)
    attachments: list[str] = []
    for item in results:
        if isinstance(item, records.TableResult):
            blocks.append(_table_result(item))
        elif isinstance(item, records.TextResult):
            blocks.append(_text_result(item))
        elif isinstance(item, records.ImageResult | records.ChartResult):
            attachments.append(_attachment_line(item))
    blocks += sections(attachments)
    room = max(1, room)
    if len(blocks) > room:
        left = len(blocks) - (room - 1)
        blocks = [*blocks[: room - 1], context([f"…and {left} more results in the snapshot."])]
    return blocks


# --- why it failed ------------------------------------------------------------------------


def _reason_block(reason: str) -> str:
    reason = reason.strip()
    ended = _STATUS_REASON.fullmatch(reason)
    if ended:  # failure_reason's own wording: show the status as code, not literal backticks
        return f"*Why it failed:* The run ended with status {code(ended[1], limit=40)}."
    if "\n" in reason or len(reason) > 200:
        return "*Why it failed*\n" + code_block(reason, limit=REASON_CHARS)
    return f"*Why it failed:* {escape(reason)}"


def _failing_block(failing: str) -> str:
    """The block named in words (its first line: title, kind, notebook, id), then its code
    and the end of its traceback as preformatted text."""
    head, _, rest = failing.strip().partition("\n")
    if not rest.strip() and " " not in head:  # a bare block id
        return f"*Failing block:* {code(head, limit=80)}"
    text = f"*Failing block:* {escape(truncate(head, 300))}"
    if rest.strip():
        text += "\n" + code_block(rest.strip("\n"), limit=SECTION_CHARS - len(text) - 10)
    return text


def _failure_blocks(run: records.RunRecord) -> list[Block]:
    """Why the run failed, the failing block, and what to do next."""
    if run.error and run.error.strip():
        blocks = [section(_reason_block(run.error))]
    else:
        ended = f"The run ended with status {code(run.status, limit=40)}."
        blocks = [section(f"*Why it failed:* {ended}")]
    if run.failing_block:
        blocks.append(section(_failing_block(run.failing_block)))
    next_step = _NEXT_STEP.get(run.status)
    if run.status == "error" and not run.failing_block:
        next_step = _FIND_THE_BLOCK
    if next_step:
        blocks.append(section(f"*What next:* {next_step}"))
    return blocks


# --- the reply ----------------------------------------------------------------------------
# The reply sits in the thread of the card, whose *Open in Deepnote* button links the notebook:
# the name here is not linked again (the lost-run reply links the notebook's runs instead).


def _runs_url(url: str | None) -> str | None:
    if not url or not is_safe_url(url):
        return None
    return url + ("&" if "?" in url else "?") + "secondary-sidebar=runs"


def _success_lines(run: records.RunRecord) -> list[str]:
    took = run.duration_seconds
    headline = f"{status_emoji(run.status)} {notebook_ref(run, linked=False)} succeeded"
    headline += f" in {format_duration(took)}." if took is not None else "."
    if is_safe_url(run.snapshot_url):
        # A snapshot read inline is linked through the notebook's runs list (see bot.runs.follow).
        inline = run.snapshot_url == _runs_url(run.notebook_url)
        text = "See the run's snapshot in Deepnote" if inline else "Download the run's snapshot"
        return [headline, link(run.snapshot_url, text)]
    return [headline, "Deepnote kept no snapshot for this run."]


def _lost_lines(run: records.RunRecord) -> list[str]:
    why = run.error.strip() if run.error and run.error.strip() else None
    because = (
        escape(truncate(why, REASON_CHARS)) if why else "its status could not be read for too long"
    )
    runs = _runs_url(run.notebook_url)
    where = (
        link(runs, "the notebook's runs in Deepnote") if runs else "the notebook's runs in Deepnote"
    )
    return [
        f"{status_emoji(run.status)} The bot lost track of {notebook_ref(run, linked=False)}.",
        f"It stopped following the run because {because}.",
        f"It may still be running or may have finished: check {where}.",
    ]


def _headline(run: records.RunRecord) -> tuple[list[str], str]:
    """The reply's first lines and its fallback text."""
    name = escape(truncate(run.notebook_name or run.notebook_id, 150))
    emoji = status_emoji(run.status)
    if run.status == "success":
        return _success_lines(run), f"{emoji} {name} succeeded"
    if run.status == records.LOST:
        return _lost_lines(run), f"{emoji} The bot lost track of {name}"
    ended = outcome(run, run.completed_at or run.created_at)
    return [f"{emoji} {notebook_ref(run, linked=False)} {ended}."], f"{emoji} {name} {ended}"


def run_result_reply(
    run: records.RunRecord,
    *,
    results: list[records.ResultItem] | None = None,
    alert: Evaluation | None = None,
) -> Message:
    """The one thread reply when a run ends: results on success, the reason on failure;
    with a `--notify-if` condition, what it said comes first."""
    lines, fallback = _headline(run)
    if alert is not None:
        text, short = alert_lines(alert)
        lines.insert(0, text)
        fallback = f"{short}: {escape(truncate(alert.condition, 100))} · {fallback}"
    if run.trigger == "schedule" and run.status != "success":
        # A failed scheduled run is nobody's in particular unless its owner is called in.
        owner = user_mention(run.user_id)
        lines.append(
            f"{owner}: this run of your schedule {code(run.schedule_id or '?', limit=40)} "
            "did not succeed."
        )
        fallback += f" ({owner}, schedule {run.schedule_id})"
    blocks = [section("\n".join(lines))]
    if run.status not in ("success", records.LOST):
        blocks += _failure_blocks(run)
    if results:
        blocks += results_blocks(results, room=MAX_BLOCKS - len(blocks) - 1)
    ids = [f"Deepnote run {code(run.run_id, limit=60)}"] if run.run_id else []
    blocks.append(context([*ids, f"Bot run {code(run.id, limit=60)}"]))
    return make_message(fallback, blocks)
