"""The help message, and plain error and info replies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.slack.messages.blocks import MAX_BLOCKS, Message, header, make_message, section, sections
from bot.text.mrkdwn import code, escape


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


def help_message(commands: Sequence[CommandDocLike]) -> Message:
    """One section per command: name and summary, usage in code, examples."""
    blocks = [header("Deepnote bot commands")]
    for command in commands[: MAX_BLOCKS - 1]:
        lines = [
            f"*{escape(command.name)}*: {escape(command.summary)}",
            f"Usage: {code(command.usage, limit=400)}",
        ]
        if command.examples:
            lines.append("Examples:")
            lines += [f"• {code(e, limit=300)}" for e in command.examples[:8]]
        blocks.append(section("\n".join(lines)))
    fallback = "Deepnote bot commands: " + ", ".join(escape(c.name) for c in commands)
    return make_message(fallback, blocks)


def error_reply(message: str) -> Message:
    """An ephemeral error. `message` is bot-written mrkdwn; callers escape any user input in it."""
    text = f":warning: {message.strip()}"
    return make_message(text, sections(text.splitlines()))


def info_reply(text: str) -> Message:
    """An ephemeral note. `text` is bot-written mrkdwn; callers escape any user input in it."""
    text = text.strip() or "Done."
    return make_message(text, sections(text.splitlines()))
