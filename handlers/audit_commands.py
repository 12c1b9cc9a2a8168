"""`/deepnote audit`: the audit log, for bot admins only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.access import AccessDenied
from bot.commands.types import AuditCommand
from bot.runs.service import Requester
from bot.services import Services
from bot.slack.messages.blocks import Message
from bot.slack.messages.help import info_reply
from bot.text.mrkdwn import code, escape, truncate


def _when(at: datetime) -> str:
    stamp = int(at.timestamp())
    return f"<!date^{stamp}^{{date_short_pretty}} {{time}}|{at:%Y-%m-%d %H:%M} UTC>"


def render_audit(entries: list[Any]) -> Message:
    """The audit log as one message, newest first, within Slack's limits."""
    if not entries:
        return info_reply("The audit log is empty: nobody has run or changed anything yet.")
    lines = [f"*Audit log* (newest first, {len(entries)} entries)"]
    for entry in entries:
        line = (
            f"• {_when(entry.at)} <@{entry.user_id}> {escape(entry.action)} "
            f"{escape(truncate(entry.target, 120))} in <#{entry.channel_id}>"
        )
        lines.append(line)
    text = "\n".join(lines)
    blocks: list[dict[str, Any]] = []
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > 2900:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
    return Message(text=truncate(text, 39_000), blocks=blocks[:50])


def do_audit(services: Services, who: Requester, cmd: AuditCommand) -> Message:
    """Show the newest audit entries to an admin."""
    policy = services.config.access()
    if not policy.is_admin(who.user_id):
        raise AccessDenied(
            "Only bot admins can read the audit log.",
            hint=policy.who_to_ask()
            + " Admins are listed in the bot's "
            + code("ADMIN_USER_IDS")
            + " setting.",
        )
    return render_audit(services.audit.latest(cmd.limit))
