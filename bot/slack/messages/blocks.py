"""Block Kit builders and Slack's size limits, in one place.

The builders use slack_sdk's typed models (which check Slack's limits) and return plain
dicts, ready for `chat.postMessage`; each cuts its text to the limit first, so a long
notebook name shortens a message instead of failing it.

>>> section("*hi*")
{'text': {'text': '*hi*', 'type': 'mrkdwn'}, 'type': 'section'}
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True)
class Message:
    """What to post: `text` is the notification / fallback text, never empty."""

    text: str
    blocks: list[Block] = field(default_factory=list)


def mrkdwn(text: str, limit: int = SECTION_CHARS) -> MarkdownTextObject:
    """A mrkdwn text object cut to `limit` characters."""
    return MarkdownTextObject(text=truncate(text, limit))


def plain_text(text: str, limit: int) -> Block:
    """A plain_text object (emoji shown as emoji), made safe and cut to `limit` characters."""
    return PlainTextObject(text=plain(text, limit=limit), emoji=True).to_dict()


def section(text: str) -> Block:
    """A section of one mrkdwn text."""
    return SectionBlock(text=mrkdwn(text)).to_dict()


def fields(texts: Sequence[str]) -> Block:
    """A section of up to ten mrkdwn fields, shown in two columns."""
    shown = [mrkdwn(t, FIELD_CHARS) for t in texts[:FIELDS_PER_SECTION]]
    return SectionBlock(fields=shown).to_dict()


def context(texts: Sequence[str]) -> Block:
    """A context block (small grey text) of up to ten mrkdwn texts."""
    return ContextBlock(elements=[mrkdwn(t) for t in texts[:CONTEXT_ELEMENTS]]).to_dict()


def header(text: str) -> Block:
    """A header block (large bold plain text)."""
    return HeaderBlock(
        text=PlainTextObject(text=plain(text, limit=HEADER_CHARS), emoji=True)
    ).to_dict()


def button(
    label: str, action_id: str, *, value: str | None = None, url: str | None = None
) -> Block:
    """A button that sends `value` to the bot, or opens `url`."""
    text = PlainTextObject(text=plain(label, limit=BUTTON_CHARS), emoji=True)
    return ButtonElement(text=text, action_id=action_id, value=value, url=url).to_dict()


def actions(elements: Sequence[Block]) -> Block:
    """An actions block holding `elements` (buttons)."""
    return ActionsBlock(elements=list(elements)).to_dict()


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
