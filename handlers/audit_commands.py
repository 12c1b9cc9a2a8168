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
from storage.audit import AuditEntry


def _when(at: datetime) -> str:
    stamp = int(at.timestamp())
    return f"<!date^{stamp}^{{date_short_pretty}} {{time}}|{at:%Y-%m-%d %H:%M} UTC>"


# How each stored action reads after the person's name ("<@U1> created schedule 3: …").
_VERBS = {
    "schedule": "created",
    "pause": "paused",
    "resume": "resumed",
    "unschedule": "deleted",
    "edit": "edited",
    "alias": "set the alias",
    "unalias": "removed the alias",
    "run": "ran",
    "scheduled run": "ran (on its schedule)",
}


def describe_entry(entry: AuditEntry) -> str:
    """What the person did, as mrkdwn: a verb, then the entry's target (escaped).

    >>> from datetime import UTC
    >>> e = AuditEntry(datetime(2026, 1, 1, tzinfo=UTC), "U1", "schedule",
    ...                "schedule 3: Sales (ab12)", "C1", {"schedule": 3})
    >>> describe_entry(e)
    'created schedule 3: Sales (ab12)'
    >>> describe_entry(AuditEntry(e.at, "U1", "run", "Sales (ab12)", "C1",
    ...                           {"trigger": "trigger", "schedule": "3"}))
    'ran schedule 3 now: Sales (ab12)'
    """
    target = escape(truncate(entry.target, 120))
    details = entry.details
    if entry.action == "run" and details.get("trigger") == "trigger" and details.get("schedule"):
        return f"ran schedule {escape(str(details['schedule']))} now: {target}"
    if entry.action == "alias" and details.get("replaced"):
        return f"repointed the alias {target}"
    verb = _VERBS.get(entry.action, escape(entry.action))
    if entry.action == "edit" and isinstance(details.get("changes"), list):
        return f"{verb} {target}: {_edits(details['changes'])}"
    return f"{verb} {target}"


def _edits(changes: list[Any]) -> str:
    """An edit's changes as `field old → new`, escaped (values are what people typed).

    >>> _edits([["when", "every day at 09:00", "every hour"], ["inputs.region", None, "Asia"]])
    'when every day at 09:00 → every hour; inputs.region (not set) → Asia'
    """
    shown = []
    for change in changes[:10]:
        if isinstance(change, list) and len(change) == 3:
            field, old, new = (
                "(not set)" if v is None else escape(truncate(str(v), 60)) for v in change
            )
            shown.append(f"{field} {old} → {new}")
    more = f"; and {len(changes) - 10} more" if len(changes) > 10 else ""
    return "; ".join(shown) + more


def render_audit(entries: list[Any]) -> Message:
    """The audit log as one message, newest first, within Slack's limits."""
    if not entries:
        return info_reply("The audit log is empty: nobody has run or changed anything yet.")
    lines = [f"*Audit log* (newest first, {len(entries)} entries)"]
    for entry in entries:
        line = (
            f"• {_when(entry.at)} <@{entry.user_id}> {describe_entry(entry)} "
            f"in <#{entry.channel_id}>"
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
