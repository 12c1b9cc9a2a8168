"""The run card in the channel, and the ephemeral status of one run."""

from __future__ import annotations

from datetime import datetime

from bot.slack.messages.blocks import (
    BUTTON_VALUE_CHARS,
    Block,
    Message,
    actions,
    button,
    context,
    make_message,
    section,
)
from bot.slack.messages.inputs import input_lines
from bot.slack.messages.status import is_finished, notebook_ref, outcome, starter, status_emoji
from bot.text.mrkdwn import code, escape, is_safe_url, slack_date, truncate
from storage.records import CREATING, RunRecord

CARD_REASON_CHARS = 300


def _inputs_section(run: RunRecord) -> Block | None:
    if not run.inputs:
        return None
    return section("\n".join(["*Inputs*", *input_lines(run.inputs)]))


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


def _run_context(run: RunRecord) -> Block:
    parts = [*_flags(run)]
    if run.run_id:
        parts.append(f"Deepnote run {code(run.run_id, limit=60)}")
    elif run.status == CREATING:
        parts.append("Deepnote run: not created yet")
    parts.append(f"Created {slack_date(run.created_at)}")
    if run.completed_at is not None:
        parts.append(f"Ended {slack_date(run.completed_at)}")
    return context(parts)


def _reason_short(run: RunRecord) -> str | None:
    if not run.error or run.status == "success":
        return None
    first = run.error.strip().splitlines()[0] if run.error.strip() else ""
    return f"*Why:* {escape(truncate(first, CARD_REASON_CHARS))}" if first else None


def _summary_text(run: RunRecord, now: datetime, *, linked: bool) -> str:
    by = starter(run)
    lines = [
        f"{status_emoji(run.status)} {notebook_ref(run, linked=linked)} {outcome(run, now)}",
        by[:1].upper() + by[1:],
    ]
    reason = _reason_short(run)
    if reason:
        lines.append(reason)
    return "\n".join(lines)


def _fallback(run: RunRecord, now: datetime) -> str:
    name = escape(truncate(run.notebook_name or run.notebook_id, 150))
    return f"{status_emoji(run.status)} {name} {outcome(run, now)} ({starter(run)})"


def _summary_blocks(run: RunRecord, now: datetime, *, linked: bool) -> list[Block]:
    """Status, inputs and ids: what the card and the status reply both show (`linked`: the
    name links to the notebook, for the status reply, which has no buttons)."""
    blocks = [section(_summary_text(run, now, linked=linked))]
    inputs = _inputs_section(run)
    if inputs is not None:
        blocks.append(inputs)
    blocks.append(_run_context(run))
    return blocks


def _buttons(run: RunRecord) -> list[Block]:
    buttons = []
    if is_safe_url(run.notebook_url):
        buttons.append(button("Open in Deepnote", "open_notebook", url=run.notebook_url))
    if 0 < len(run.id) <= BUTTON_VALUE_CHARS:
        buttons.append(button("Re-run", "rerun", value=run.id))
        buttons.append(button("Re-run with changes…", "rerun_form", value=run.id))
    # A snapshot read inline is linked through the notebook's runs list, which the reply
    # links: the card keeps its one notebook link (*Open in Deepnote*).
    runs_list = f"{run.notebook_url}?secondary-sidebar=runs" if run.notebook_url else None
    if is_finished(run) and is_safe_url(run.snapshot_url) and run.snapshot_url != runs_list:
        buttons.append(button("Snapshot", "open_snapshot", url=run.snapshot_url))
    return buttons


def run_card(run: RunRecord, *, now: datetime) -> Message:
    """The run's card in the channel, edited in place as the status moves."""
    # The notebook's link is the *Open in Deepnote* button, so the name is not linked too.
    blocks = _summary_blocks(run, now, linked=False)
    buttons = _buttons(run)
    if buttons:
        blocks.append(actions(buttons))
    return make_message(_fallback(run, now), blocks)


def status_reply(run: RunRecord, *, now: datetime) -> Message:
    """An ephemeral summary of one run: status, inputs, ids; no buttons."""
    return make_message(_fallback(run, now), _summary_blocks(run, now, linked=True))
