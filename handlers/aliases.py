"""The alias commands: `alias`, `aliases` and `unalias` name notebooks per team.

Names are resolved in `handlers.notebooks.resolve_notebook_id`. An alias belongs to whoever
made it: only they and the bot's admins may repoint or remove it (everyone may list them), and
repointing needs `--replace`, so nobody moves an alias by accident. Each change is one entry
in the audit log, written here.
"""

from __future__ import annotations

from typing import Any

from bot.commands.types import AliasCommand, AliasesCommand, UnaliasCommand
from bot.deepnote.models import Notebook
from bot.errors import UserError
from bot.runs.service import Requester
from bot.services import Services
from bot.slack.messages.blocks import Message
from bot.slack.messages.help import info_reply
from bot.text.mrkdwn import code, escape, fill, truncate, user_mention
from bot.text.tokens import closest
from handlers.notebooks import load_notebook
from storage.aliases import Alias, MayChange

MAX_LISTED = 200


def _owner_check(services: Services, who: Requester, action: str) -> MayChange:
    """Refuse to `action` an alias that belongs to someone else, unless `who` is an admin."""
    policy = services.runs.access

    def check(alias: Alias) -> None:
        if alias.owner_id == who.user_id or policy.is_admin(who.user_id):
            return
        if alias.owner_id is None:
            raise UserError(
                fill(
                    "Only a bot admin can {action} the alias {name}: it was made before aliases "
                    "had owners, so the bot does not know whose it is.",
                    action=action,
                    name=code(alias.name),
                ),
                hint=policy.who_to_ask(),
            )
        raise UserError(
            fill(
                "The alias {name} belongs to {owner}; only they or a bot admin can {action} it.",
                name=code(alias.name),
                owner=user_mention(alias.owner_id),
                action=action,
            ),
            hint="Pick another name for your alias, or ask its owner.",
        )

    return check


def _replace_check(cmd: AliasCommand, notebook: Notebook, check_owner: MayChange) -> MayChange:
    """Refuse to repoint an alias without `--replace` (after the owner check)."""

    def check(alias: Alias) -> None:
        check_owner(alias)
        if cmd.replace or alias.notebook_id == notebook.id:
            return
        was = escape(truncate(alias.notebook_name or alias.notebook_id, 150))
        new = escape(truncate(notebook.name or notebook.id, 150))
        owner = f", made by {user_mention(alias.owner_id)}" if alias.owner_id else ""
        again = f"/deepnote alias {cmd.name} {notebook.id} --replace"
        raise UserError(
            f"{code(alias.name)} already names *{was}* ({code(alias.notebook_id)}){owner}. "
            "Nothing was changed.",
            hint=f"To point it at *{new}* instead, add `--replace`: {code(again)}. "
            "Or pick another name for this notebook.",
        )

    return check


def _audit(services: Services, who: Requester, action: str, alias: Alias, **details: Any) -> None:
    """One audit entry per change of an alias."""
    services.audit.record(
        at=services.clock.now(),
        user_id=who.user_id,
        action=action,
        target=f"{alias.name} → {alias.notebook_name} ({alias.notebook_id})",
        channel_id=who.channel_id,
        details={"alias": alias.name, "notebook": alias.notebook_id, **details},
    )


def do_alias(services: Services, who: Requester, cmd: AliasCommand) -> Message:
    """`/deepnote alias <name> <notebook> [--replace]`: name a notebook (it must exist in
    Deepnote); an existing alias is repointed only by its owner or an admin, with `--replace`."""
    check_owner = _owner_check(services, who, "change")
    existing = services.aliases.get(who.team_id, cmd.name)
    if existing is not None:
        check_owner(existing)  # before asking Deepnote anything
    notebook = load_notebook(services, cmd.notebook, team_id=who.team_id)
    shown = escape(truncate(notebook.name or notebook.id, 150))
    if existing is not None and existing.notebook_id == notebook.id:
        return info_reply(
            f"{code(cmd.name)} already names *{shown}* ({code(notebook.id)}); nothing changed."
        )
    alias = Alias(
        team_id=who.team_id,
        name=cmd.name,
        notebook_id=notebook.id,
        notebook_name=notebook.name,
        created_by=who.user_id,
        created_at=services.clock.now(),
        # An admin repointing someone's alias leaves it theirs.
        owner_id=existing.owner_id if existing is not None else who.user_id,
    )
    previous = services.aliases.set(alias, may_change=_replace_check(cmd, notebook, check_owner))
    lines = [f"{code(cmd.name)} now names *{shown}* ({code(notebook.id)})."]
    if previous is not None and previous.notebook_id != notebook.id:
        was = escape(truncate(previous.notebook_name, 150))
        lines.append(f"It used to name *{was}* ({code(previous.notebook_id)}).")
        _audit(services, who, "alias", alias, replaced=previous.notebook_id)
    else:
        _audit(services, who, "alias", alias)
    lines.append(f"Try {code(f'/deepnote run {cmd.name}')}.")
    return info_reply("\n".join(lines))


def do_aliases(services: Services, who: Requester, cmd: AliasesCommand) -> Message:
    """`/deepnote aliases`: the team's aliases."""
    aliases = services.aliases.for_team(who.team_id)
    if not aliases:
        return info_reply(
            "This workspace has no notebook aliases yet. Add one with "
            "`/deepnote alias &lt;name&gt; &lt;notebook-id-or-link&gt;`."
        )
    lines = [f"*Notebook aliases* ({len(aliases)})"]
    for alias in aliases[:MAX_LISTED]:
        owner = (
            user_mention(alias.owner_id)
            if alias.owner_id
            else f"unknown (admins only; added by {user_mention(alias.created_by)})"
        )
        name = escape(truncate(alias.notebook_name, 100))
        lines.append(f"• {code(alias.name)} → *{name}* {code(alias.notebook_id)} · owner {owner}")
    if len(aliases) > MAX_LISTED:
        lines.append(f"…and {len(aliases) - MAX_LISTED} more")
    return info_reply("\n".join(lines))


def do_unalias(services: Services, who: Requester, cmd: UnaliasCommand) -> Message:
    """`/deepnote unalias <name>`: remove an alias."""
    removed = services.aliases.remove(
        who.team_id, cmd.name, may_change=_owner_check(services, who, "remove")
    )
    if removed is None:
        guess = closest(cmd.name, [a.name for a in services.aliases.for_team(who.team_id)])
        did_you_mean = f" Did you mean {code(guess)}?" if guess else ""
        raise UserError(
            f"There is no alias {code(cmd.name)}.{did_you_mean}",
            hint="See the aliases with `/deepnote aliases`.",
        )
    _audit(services, who, "unalias", removed)
    name = escape(truncate(removed.notebook_name, 150))
    return info_reply(
        f"Removed the alias {code(cmd.name)} (it named *{name}*, {code(removed.notebook_id)})."
    )
