"""Finding the notebook a person named: by id, link, the team's alias or a unique name.

`load_notebook` is what every listener that takes a notebook goes through: it resolves the
reference, reads the notebook from Deepnote and remembers its name, so people can name it
later. A notebook Deepnote does not have is one `NotebookNotFound`, whoever asked.
"""

from __future__ import annotations

from bot.deepnote.models import Notebook
from bot.deepnote.notebook_ref import UnknownNotebookRef, parse_notebook_ref
from bot.errors import DeepnoteNotFound, NotebookNotFound, UserError
from bot.services import Services
from bot.text.mrkdwn import code, escape, truncate
from bot.text.tokens import closest, quote_token

MAX_CANDIDATES = 10

_ALIASES_HINT = (
    "See this workspace's aliases with `/deepnote aliases`, or paste the notebook's link or its "
    "32-character id. Name a notebook with `/deepnote alias &lt;name&gt; &lt;link&gt;`."
)


def remember_notebook(services: Services, notebook: Notebook) -> None:
    """Note a fetched notebook's name, so people can name it later."""
    services.notebook_names.remember(notebook.id, notebook.name, now=services.clock.now())


def fetch_notebook(services: Services, notebook_id: str, *, retries: int | None = None) -> Notebook:
    """The notebook with this id, its name remembered; `NotebookNotFound` when Deepnote has none
    (`retries`: Deepnote's retries, 0 when a person is waiting on a 3-second trigger)."""
    try:
        notebook = services.deepnote.get_notebook(notebook_id, retries=retries)
    except DeepnoteNotFound:
        services.notebook_names.forget(notebook_id)
        raise NotebookNotFound(notebook_id) from None
    remember_notebook(services, notebook)
    return notebook


def load_notebook(
    services: Services, ref: str, *, team_id: str | None = None, retries: int | None = None
) -> Notebook:
    """The notebook a person named (id, link, the team's alias or a unique notebook name),
    or a UserError that says what to check."""
    return fetch_notebook(
        services, resolve_notebook_id(services, ref, team_id=team_id), retries=retries
    )


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
