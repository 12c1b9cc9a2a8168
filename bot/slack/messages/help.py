"""The help message, and plain error and info replies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.slack.messages.blocks import (
    MAX_BLOCKS,
    Message,
    context,
    header,
    make_message,
    section,
    sections,
)
from bot.text.mrkdwn import code, escape


class CommandDocLike(Protocol):
    """What the help messages need to know about a command."""

    @property
    def name(self) -> str: ...

    @property
    def usage(self) -> str: ...

    @property
    def summary(self) -> str: ...

    @property
    def examples(self) -> tuple[str, ...]: ...

    @property
    def group(self) -> str: ...

    @property
    def brief(self) -> str: ...

    @property
    def details(self) -> tuple[str, ...]: ...


HELP_HINT = (
    "`/deepnote help &lt;command&gt;` shows a command's options and examples, e.g. "
    "`/deepnote help run`."
)


def _written(text: str) -> str:
    """Bot-written mrkdwn (backticks and bold kept) with `&`, `<` and `>` as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def help_overview(commands: Sequence[CommandDocLike], groups: Sequence[str] = ()) -> Message:
    """The compact `/deepnote help`: one line per command, grouped, and how to get details."""
    order = list(dict.fromkeys([*groups, *(c.group for c in commands)]))
    blocks = [header("Deepnote bot commands")]
    for group in order[: MAX_BLOCKS - 2]:
        lines = [f"*{escape(group)}*"]
        lines += [
            f"{code(c.brief, limit=120)}  {escape(c.summary)}" for c in commands if c.group == group
        ]
        if len(lines) > 1:
            blocks.append(section("\n".join(lines)))
    blocks.append(context([HELP_HINT]))
    fallback = "Deepnote bot commands: " + ", ".join(escape(c.name) for c in commands)
    return make_message(fallback, blocks)


def command_help(command: CommandDocLike) -> Message:
    """`/deepnote help <command>`: what it does, its usage, each option, and examples."""
    blocks = [
        header(f"/deepnote {command.name}"),
        section(
            f"{escape(command.summary)}\nUsage: {code('/deepnote ' + command.usage, limit=400)}"
        ),
    ]
    if command.details:
        blocks.append(section("\n".join(f"• {_written(line)}" for line in command.details[:20])))
    if command.examples:
        lines = ["*Examples*"] + [
            f"• {code('/deepnote ' + e, limit=300)}" for e in command.examples[:8]
        ]
        blocks.append(section("\n".join(lines)))
    return make_message(f"/deepnote {escape(command.name)}: {escape(command.summary)}", blocks)


def error_reply(message: str) -> Message:
    """An ephemeral error. `message` is bot-written mrkdwn; callers escape any user input in it."""
    text = f":warning: {message.strip()}"
    return make_message(text, sections(text.splitlines()))


def info_reply(text: str) -> Message:
    """An ephemeral note. `text` is bot-written mrkdwn; callers escape any user input in it."""
    text = text.strip() or "Done."
    return make_message(text, sections(text.splitlines()))
