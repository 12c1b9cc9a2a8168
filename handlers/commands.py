"""The `/deepnote` slash command: acknowledge at once, then do the slow work in the background.

The acknowledgement answers help and syntax errors straight away (parsing is pure and
fast); anything that needs Deepnote runs after the acknowledgement, on `services.background`,
and replies through the command's `response_url`.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.commands.parse import parse_command
from bot.commands.types import Command, HelpCommand
from bot.errors import UserError
from bot.runs.service import Requester
from bot.services import Services
from bot.slack.messages.help import error_reply
from handlers import errors
from handlers.dispatch import dispatch, help_reply


def requester(command: dict[str, Any]) -> Requester:
    """Who typed the command, and where."""
    return Requester(
        user_id=str(command.get("user_id", "")),
        team_id=str(command.get("team_id", "")),
        channel_id=str(command.get("channel_id", "")),
        trigger_id=str(command.get("trigger_id") or "") or None,
    )


class SlashCommand:
    """The `/deepnote` listener."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def acknowledge(self, ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        """Answer help and syntax errors in the acknowledgement; queue everything else."""
        try:
            cmd = parse_command(str(command.get("text", "")))
        except UserError as exc:
            msg = error_reply(exc.user_message)
            ack(text=msg.text, blocks=msg.blocks)
            return
        if isinstance(cmd, HelpCommand):
            msg = help_reply(cmd.topic)
            ack(text=msg.text, blocks=msg.blocks)
            return
        ack()
        self.services.background.submit("command", self.work, cmd, requester(command), respond)

    def work(self, cmd: Command, who: Requester, respond: Respond) -> None:
        """Carry out the command and reply through its `response_url` (errors included)."""
        msg = errors.answer(
            lambda: dispatch(self.services, who, cmd),
            "command failed",
            event="command_error",
            channel=who.channel_id,
        )
        if msg is not None:
            respond(text=msg.text, blocks=msg.blocks, response_type="ephemeral")


def register(app: App, services: Services) -> None:
    """Attach the `/deepnote` listener to the Bolt app."""
    errors.install(app)
    app.command("/deepnote")(SlashCommand(services).acknowledge)
