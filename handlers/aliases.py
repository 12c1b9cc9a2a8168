"""Naming notebooks: aliases per team, unique notebook names, and the alias commands.

`resolve_notebook_id` is what every place that takes a notebook goes through: an id, a dashed
UUID or a Deepnote link first; then the team's aliases; then the names of the notebooks the
bot has seen, when exactly one has that name.
"""

from __future__ import annotations

from bot.commands.types import AliasCommand, UnaliasCommand
from bot.deepnote.models import Notebook
from bot.deepnote.notebook_ref import UnknownNotebookRef, parse_notebook_ref
from bot.errors import DeepnoteNotFound, UserError
from bot.runs.service import Requester
from bot.services import Services
from bot.slack.messages.blocks import Message
from bot.slack.messages.help import info_reply
from bot.text.mrkdwn import code, escape, truncate, user_mention
from bot.text.tokens import closest, quote_token
from storage.aliases import Alias

MAX_CANDIDATES = 10
MAX_LISTED = 200

_ALIASES_HINT = (
    "See this workspace's aliases with `/deepnote aliases`, or paste the notebook's link or its "
    "32-character id. Name a notebook with `/deepnote alias &lt;name&gt; &lt;link&gt;`."
)


def remember_notebook(services: Services, notebook: Notebook) -> None:
    """Note a fetched notebook's name, so people can name it later."""
    services.notebook_names.remember(notebook.id, notebook.name, now=services.clock.now())


def _alias_target(services: Services, name: str, team_id: str | None) -> str | None:
    """The notebook id an alias names; without a team, only when every team agrees."""
    if team_id:
        alias = services.aliases.get(team_id, name)
        return alias.notebook_id if alias else None
    targets = {a.notebook_id for a in services.aliases.named_in_any_team(name)}
    return targets.pop() if len(targets) == 1 else None


def _notebook_line(notebook_id: str, name: str) -> str:
    return f"• *{escape(truncate(name, 100))}* {code(notebook_id)}"


def resolve_notebook_id(services: Services, ref: str, *, team_id: str | None) -> str:
    """The notebook id `ref` names: id, UUID or link; an alias; or a unique notebook name.

    Raises `UserError` naming the candidates when a name is ambiguous, and suggesting
    `/deepnote aliases` when nothing matches.
    """
    try:
        return parse_notebook_ref(ref)
    except UnknownNotebookRef as exc:
        if "/" in ref or "://" in ref:
            raise  # a link that does not point to a notebook: its own message says so
        unknown = exc
    text = " ".join(ref.split())
    target = _alias_target(services, text.lower(), team_id)
    if target is not None:
        return target
    known = services.notebook_names.named(text)
    if len(known) == 1:
        return known[0].id
    if known:
        lines = [_notebook_line(k.id, k.name) for k in known[:MAX_CANDIDATES]]
        if len(known) > MAX_CANDIDATES:
            lines.append(f"…and {len(known) - MAX_CANDIDATES} more")
        raise UserError(
            f"{len(known)} notebooks are named {quote_token(text)}:\n" + "\n".join(lines),
            hint="Use the id of the one you mean, or give it an alias with "
            "`/deepnote alias &lt;name&gt; &lt;id&gt;`.",
        )
    choices = [a.name for a in services.aliases.for_team(team_id)] if team_id else []
    choices += [k.name for k in services.notebook_names.recent()]
    guess = closest(text, choices)
    did_you_mean = f" Did you mean {code(guess, limit=80)}?" if guess else ""
    raise UserError(
        f"{quote_token(unknown.text)} is not an alias, the name of a notebook the bot has seen, "
        f"a notebook id or a link.{did_you_mean}",
        hint=_ALIASES_HINT,
    )


def _fetch(services: Services, notebook_id: str) -> Notebook:
    try:
        notebook = services.deepnote.get_notebook(notebook_id)
    except DeepnoteNotFound:
        services.notebook_names.forget(notebook_id)
        raise UserError(
            f"Deepnote has no notebook `{notebook_id}` that the bot's API key can see.",
            hint="Check the id, and that the key's owner has access to the project.",
        ) from None
    remember_notebook(services, notebook)
    return notebook


def do_alias(services: Services, who: Requester, cmd: AliasCommand) -> Message:
    """`/deepnote alias <name> <notebook>`: name a notebook (it must exist in Deepnote)."""
    notebook = _fetch(services, resolve_notebook_id(services, cmd.notebook, team_id=who.team_id))
    previous = services.aliases.set(
        Alias(
            team_id=who.team_id,
            name=cmd.name,
            notebook_id=notebook.id,
            notebook_name=notebook.name,
            created_by=who.user_id,
            created_at=services.clock.now(),
        )
    )
    shown = escape(truncate(notebook.name or notebook.id, 150))
    lines = [f"{code(cmd.name)} now names *{shown}* ({code(notebook.id)})."]
    if previous is not None and previous.notebook_id != notebook.id:
        was = escape(truncate(previous.notebook_name, 150))
        lines.append(f"It used to name *{was}* ({code(previous.notebook_id)}).")
    lines.append(f"Try {code(f'/deepnote run {cmd.name}')}.")
    return info_reply("\n".join(lines))


def do_aliases(services: Services, who: Requester) -> Message:
    """`/deepnote aliases`: the team's aliases."""
    aliases = services.aliases.for_team(who.team_id)
    if not aliases:
        return info_reply(
            "This workspace has no notebook aliases yet. Add one with "
            "`/deepnote alias &lt;name&gt; &lt;notebook-id-or-link&gt;`."
        )
    lines = [f"*Notebook aliases* ({len(aliases)})"]
    for alias in aliases[:MAX_LISTED]:
        name = escape(truncate(alias.notebook_name, 100))
        lines.append(
            f"• {code(alias.name)} → *{name}* {code(alias.notebook_id)} · added by "
            f"{user_mention(alias.created_by)}"
        )
    if len(aliases) > MAX_LISTED:
        lines.append(f"…and {len(aliases) - MAX_LISTED} more")
    return info_reply("\n".join(lines))


def do_unalias(services: Services, who: Requester, cmd: UnaliasCommand) -> Message:
    """`/deepnote unalias <name>`: remove an alias."""
    removed = services.aliases.remove(who.team_id, cmd.name)
    if removed is None:
        guess = closest(cmd.name, [a.name for a in services.aliases.for_team(who.team_id)])
        did_you_mean = f" Did you mean {code(guess)}?" if guess else ""
        raise UserError(
            f"There is no alias {code(cmd.name)}.{did_you_mean}",
            hint="See the aliases with `/deepnote aliases`.",
        )
    name = escape(truncate(removed.notebook_name, 150))
    return info_reply(
        f"Removed the alias {code(cmd.name)} (it named *{name}*, {code(removed.notebook_id)})."
    )
