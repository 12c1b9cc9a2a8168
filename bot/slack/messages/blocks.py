"""Block Kit builders and Slack's size limits, in one place.

The builders use slack_sdk's typed models (which check Slack's limits) and return plain
dicts through `to_json`, ready for `chat.postMessage`; each cuts its text to the limit
first, so a long notebook name shortens a message instead of failing it.

>>> section("*hi*")
{'type': 'section', 'text': {'type': 'mrkdwn', 'text': '*hi*'}}
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.basic_objects import JsonObject
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.text.mrkdwn import plain, truncate

MAX_BLOCKS = 50
SECTION_CHARS = 3000
FIELD_CHARS = 2000
FIELDS_PER_SECTION = 10
BUTTON_CHARS = 75
HEADER_CHARS = 150
CONTEXT_ELEMENTS = 10
TEXT_CHARS = 40_000
BUTTON_VALUE_CHARS = 2000

Block = dict[str, Any]

# slack_sdk sorts the keys of what it serializes; the bot sends them in Slack's documented
# order (type first), as it always has, so the JSON on the wire does not change.
_KEY_ORDER = {
    key: rank
    for rank, key in enumerate(
        (
            *("type", "callback_id", "title", "submit", "close", "private_metadata", "blocks"),
            *("block_id", "optional", "label", "element", "hint", "text", "emoji", "fields"),
            *("elements", "multiline", "is_decimal_allowed", "min_value", "max_value"),
            *("options", "initial_options", "initial_option", "initial_value", "initial_date"),
            *("placeholder", "action_id", "value", "url"),
        )
    )
}


def _in_order(value: Any) -> Any:
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (_KEY_ORDER.get(k, len(_KEY_ORDER)), k))
        return {k: _in_order(value[k]) for k in keys}
    if isinstance(value, list):
        return [_in_order(v) for v in value]
    return value


def to_json(model: JsonObject) -> Block:
    """A slack_sdk model as the dict to send: validated, keys in Slack's order (type first).

    >>> to_json(PlainTextObject(text="Run", emoji=True))
    {'type': 'plain_text', 'text': 'Run', 'emoji': True}
    """
    return dict(_in_order(model.to_dict()))


@dataclass(frozen=True)
class Message:
    """What to post: `text` is the notification / fallback text, never empty."""

    text: str
    blocks: list[Block] = field(default_factory=list)


def mrkdwn(text: str, limit: int = SECTION_CHARS) -> MarkdownTextObject:
    """A mrkdwn text object cut to `limit` characters."""
    return MarkdownTextObject(text=truncate(text, limit))


def plain_text(text: str, limit: int) -> PlainTextObject:
    """A plain_text object (emoji shown as emoji), made safe and cut to `limit` characters."""
    return PlainTextObject(text=plain(text, limit=limit), emoji=True)


def section(text: str) -> Block:
    """A section of one mrkdwn text."""
    return to_json(SectionBlock(text=mrkdwn(text)))


def fields(texts: Sequence[str]) -> Block:
    """A section of up to ten mrkdwn fields, shown in two columns."""
    shown = [mrkdwn(t, FIELD_CHARS) for t in texts[:FIELDS_PER_SECTION]]
    return to_json(SectionBlock(fields=shown))


def context(texts: Sequence[str]) -> Block:
    """A context block (small grey text) of up to ten mrkdwn texts."""
    return to_json(ContextBlock(elements=[mrkdwn(t) for t in texts[:CONTEXT_ELEMENTS]]))


def header(text: str) -> Block:
    """A header block (large bold plain text)."""
    return to_json(HeaderBlock(text=plain_text(text, HEADER_CHARS)))


def button(
    label: str, action_id: str, *, value: str | None = None, url: str | None = None
) -> Block:
    """A button that sends `value` to the bot, or opens `url`."""
    text = plain_text(label, BUTTON_CHARS)
    return to_json(ButtonElement(text=text, action_id=action_id, value=value, url=url))


def actions(elements: Sequence[Block]) -> Block:
    """An actions block holding `elements` (buttons)."""
    return to_json(ActionsBlock(elements=list(elements)))


def pack(lines: Iterable[str], limit: int = SECTION_CHARS) -> list[str]:
    """Group lines into texts of at most `limit` characters (a too-long line is cut).

    >>> pack(["ab", "cd", "ef"], limit=5)
    ['ab\\ncd', 'ef']
    """
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


def sections(lines: Iterable[str]) -> list[Block]:
    """Lines packed into as few sections as fit."""
    return [section(t) for t in pack(lines)]


def make_message(text: str, blocks: list[Block]) -> Message:
    """Cap the blocks at 50 (keeping a trailing actions block) and the text at 40,000."""
    if len(blocks) > MAX_BLOCKS:
        tail = [blocks[-1]] if blocks[-1]["type"] == "actions" else []
        body = blocks[: len(blocks) - len(tail)]
        keep = MAX_BLOCKS - 1 - len(tail)
        note = context([f"…and {len(body) - keep} more not shown (Slack allows 50 blocks)."])
        blocks = [*body[:keep], note, *tail]
    fallback = truncate(text.strip(), TEXT_CHARS) or "Deepnote bot"
    return Message(text=fallback, blocks=blocks)
