"""Notebook inputs in messages: the `/deepnote inputs` listing, input lines, example command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.deepnote.models import Notebook, NotebookInput
from bot.slack.messages.blocks import (
    MAX_BLOCKS,
    SECTION_CHARS,
    Message,
    context,
    make_message,
    pack,
    section,
)
from bot.text.mrkdwn import code, code_block, escape, truncate

MAX_INPUTS_SHOWN = 20
INPUT_NAME_CHARS = 40
INPUT_VALUE_CHARS = 90


def value_text(value: Any) -> str:
    """An input value as text: booleans in lower case, lists joined with commas.

    >>> value_text([True, 2, None])
    'true, 2, '
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(value_text(v) for v in value)
    if value is None:
        return ""
    return str(value)


def input_lines(inputs: dict[str, Any]) -> list[str]:
    """One `• name = value` line an input, the first twenty, then how many more."""
    lines = [
        f"• {code(name, limit=INPUT_NAME_CHARS)} = {code(value_text(v), limit=INPUT_VALUE_CHARS)}"
        for name, v in list(inputs.items())[:MAX_INPUTS_SHOWN]
    ]
    hidden = len(inputs) - MAX_INPUTS_SHOWN
    if hidden > 0:
        lines.append(f"…and {hidden} more")
    return lines


def _command_value(value: Any) -> str:
    """A value as the run command takes it: quoted when it holds spaces or quotes."""
    if isinstance(value, (list, tuple)):
        text = ",".join(value_text(v) for v in value)
    else:
        text = value_text(value)
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


def _entry(item: NotebookInput, describe: Callable[[NotebookInput], str]) -> str:
    """One input of the listing: name, label, type, current and allowed values."""
    label = (
        f" ({escape(truncate(item.label, 80))})" if item.label and item.label != item.name else ""
    )
    current = _typed_value(item)
    value = "not set" if current is None else code(value_text(current), limit=200)
    return (
        f"{code(item.name, limit=60)}{label} · {escape(item.type)}\n"
        f"Current: {value}\n"
        f"Allowed: {escape(truncate(describe(item), 600))}"
    )


def inputs_listing(notebook: Notebook, *, describe: Callable[[NotebookInput], str]) -> Message:
    """`/deepnote inputs`: each input's name, type, current value and allowed values."""
    name = escape(truncate(notebook.name or notebook.id, 150))
    blocks = [section(f"*Inputs of {name}* ({code(notebook.id, limit=60)})")]
    if not notebook.inputs:
        blocks.append(section("This notebook has no inputs."))
    entries = [_entry(item, describe) for item in notebook.inputs]
    room = MAX_BLOCKS - 3
    texts = pack(entries, SECTION_CHARS) if len(entries) > room else entries
    blocks += [section(t) for t in texts[:room]]
    if len(texts) > room:
        blocks.append(context([f"…and more inputs not shown ({len(notebook.inputs)} in all)."]))
    command = example_command(notebook)
    blocks.append(
        section("*Run it with these values:*\n" + code_block(command, limit=SECTION_CHARS - 40))
    )
    fallback = f"Inputs of {name}: " + (
        ", ".join(escape(i.name) for i in notebook.inputs) if notebook.inputs else "none"
    )
    return make_message(fallback, blocks)
