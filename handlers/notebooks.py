"""Finding the notebook a person named: an alias, an id or link, or its name in Deepnote.

`load_notebook` is what every listener that takes a notebook goes through: it resolves the
reference, reads the notebook from Deepnote and remembers its name. A notebook Deepnote does
not have is one `NotebookNotFound`, whoever asked.

A reference is tried, in this order (the first that names a notebook wins):
1. the team's alias (`/deepnote alias`);
2. a notebook id, dashed UUID or Deepnote link;
3. a name the bot has already seen, when it names exactly one notebook and the listing of
   Deepnote's notebooks is not in the cache (this costs no request);
4. Deepnote's listing of every notebook the key can see (`bot.deepnote.catalog`, cached for
   5 minutes): the exact name, then `Project / Notebook`, then a unique part of a name.
Several matches are a `UserError` listing them with their projects and ids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from bot.deepnote.catalog import EXACT, PAGE_SIZE, Listing, Matches
from bot.deepnote.models import ListedNotebook, Notebook
from bot.deepnote.notebook_ref import UnknownNotebookRef, parse_notebook_ref
from bot.errors import DeepnoteForbidden, DeepnoteNotFound, NotebookNotFound, UserError
from bot.services import Services
from bot.text.mrkdwn import code, escape, truncate
from bot.text.tokens import closest, quote_token
from storage.aliases import name_key

MAX_CANDIDATES = 10
T = TypeVar("T")

_ALIASES_HINT = (
    "See this workspace's aliases with `/deepnote aliases`, or paste the notebook's link or its "
    "32-character id. Name a notebook with `/deepnote alias &lt;name&gt; &lt;link&gt;`."
)


def remember_notebook(services: Services, notebook: Notebook) -> None:
    """Note a fetched notebook's name, so people can name it later."""
    services.notebook_names.remember(notebook.id, notebook.name, now=services.clock.now())


def _read_notebook(
    services: Services, notebook_id: str, *, retries: int | None, fresh: bool = False
) -> tuple[Notebook, bool]:
    """The notebook (from the short-lived cache unless `fresh`), its name remembered, and
    whether it came from the cache; `NotebookNotFound` when Deepnote has none."""
    try:
        notebook, cached = services.notebooks.get(notebook_id, retries=retries, fresh=fresh)
    except DeepnoteNotFound:
        services.notebooks.forget(notebook_id)
        services.notebook_names.forget(notebook_id)
        services.catalog.forget(notebook_id)
        raise NotebookNotFound(notebook_id) from None
    if not cached:
        remember_notebook(services, notebook)
    return notebook, cached


def fetch_notebook(services: Services, notebook_id: str, *, retries: int | None = None) -> Notebook:
    """The notebook with this id, its name remembered; `NotebookNotFound` when Deepnote has none
    (`retries`: Deepnote's retries, 0 when a person is waiting on a 3-second trigger).
    A read of the last minute is reused (`bot.deepnote.notebook_cache`)."""
    return _read_notebook(services, notebook_id, retries=retries)[0]


def load_notebook(
    services: Services, ref: str, *, team_id: str | None = None, retries: int | None = None
) -> Notebook:
    """The notebook a person named (alias, id, link or name), or a UserError that says what
    to check."""
    notebook_id = resolve_notebook_id(services, ref, team_id=team_id, retries=retries)
    return fetch_notebook(services, notebook_id, retries=retries)


def load_checked(
    services: Services,
    ref: str,
    check: Callable[[Notebook], T],
    *,
    team_id: str | None = None,
    retries: int | None = None,
) -> tuple[Notebook, T]:
    """The notebook a person named and what `check(notebook)` returns.

    When the check refuses (UserError: an input or option the notebook lacks) a notebook that
    came from the cache, the notebook is read from Deepnote once more and checked again: it
    may have changed there since it was cached.
    """
    notebook_id = resolve_notebook_id(services, ref, team_id=team_id, retries=retries)
    notebook, cached = _read_notebook(services, notebook_id, retries=retries)
    try:
        return notebook, check(notebook)
    except UserError:
        if not cached:
            raise
    notebook, _ = _read_notebook(services, notebook_id, retries=retries, fresh=True)
    return notebook, check(notebook)


def _alias_target(services: Services, name: str, team_id: str | None) -> str | None:
    """The notebook id an alias names; without a team, only when every team agrees."""
    if team_id:
        alias = services.aliases.get(team_id, name)
        return alias.notebook_id if alias else None
    targets = {a.notebook_id for a in services.aliases.named_in_any_team(name)}
    return targets.pop() if len(targets) == 1 else None


def _candidate_line(notebook: ListedNotebook) -> str:
    """`• *Name* (project *Project*) `id``: Deepnote's names escaped."""
    name = escape(truncate(notebook.name or "(no name)", 100))
    project = escape(truncate(notebook.project_name or "(no name)", 80))
    return f"• *{name}* (project *{project}*) {code(notebook.id)}"


def _ambiguous(text: str, found: Matches) -> UserError:
    """The refusal of a name that matches several notebooks, listing them."""
    notebooks = found.notebooks
    lines = [_candidate_line(n) for n in notebooks[:MAX_CANDIDATES]]
    if len(notebooks) > MAX_CANDIDATES:
        lines.append(f"…and {len(notebooks) - MAX_CANDIDATES} more")
    how = "are named" if found.rule == EXACT else "match"
    first = notebooks[0]
    example = f'"{first.project_name} / {first.name}"'
    distinct = {(name_key(n.project_name), name_key(n.name)) for n in notebooks}
    pick = (
        f"its id, or its project and name in quotes, e.g. {code(example, limit=120)}"
        if len(distinct) == len(notebooks)
        else "its id"
    )
    return UserError(
        f"{len(notebooks)} notebooks {how} {quote_token(text)}:\n" + "\n".join(lines),
        hint=f"Name the one you mean by {pick}; or give it an alias with "
        "`/deepnote alias &lt;name&gt; &lt;id&gt;`.",
    )


def _seen_ambiguous(text: str, known: Sequence[tuple[str, str]]) -> UserError:
    """The refusal of a name several notebooks the bot has seen share (no project known)."""
    lines = [f"• *{escape(truncate(name, 100))}* {code(nid)}" for nid, name in known]
    return UserError(
        f"{len(known)} notebooks are named {quote_token(text)}:\n"
        + "\n".join(lines[:MAX_CANDIDATES]),
        hint="Use the id of the one you mean, or give it an alias with "
        "`/deepnote alias &lt;name&gt; &lt;id&gt;`.",
    )


def _listing(services: Services, text: str, retries: int | None) -> tuple[Matches, Listing | None]:
    """The notebooks Deepnote's listing matches; (no match, None) when the key may not list."""
    try:
        return services.catalog.find(text, retries=retries)
    except DeepnoteForbidden:
        # A key that may open notebooks but not list projects: names the bot has seen still work.
        return Matches(None), None


def _not_found(
    services: Services, text: str, listing: Listing | None, team_id: str | None
) -> UserError:
    """The refusal of a name nothing matches, with the closest name as a suggestion."""
    choices = [a.name for a in services.aliases.for_team(team_id)] if team_id else []
    if listing is not None:
        choices += [n.name for n in listing.notebooks]
    choices += [k.name for k in services.notebook_names.recent()]
    guess = closest(text, choices)
    did_you_mean = f" Did you mean {code(guess, limit=80)}?" if guess else ""
    if listing is None:
        where = "the name of a notebook the bot has seen (its API key may not list projects)"
    elif listing.complete:
        where = "the name of a notebook the bot's API key can see in Deepnote"
    else:
        where = (
            f"the name of a notebook in the first {listing.pages * PAGE_SIZE:,} projects the bot's "
            "API key can see"
        )
    return UserError(
        f"{quote_token(text)} is not an alias, {where}, a notebook id or a link.{did_you_mean}",
        hint=_ALIASES_HINT,
    )


def resolve_notebook_id(
    services: Services, ref: str, *, team_id: str | None, retries: int | None = None
) -> str:
    """The notebook id `ref` names (see the module's doc for the order things are tried).

    Raises `UserError` naming the candidates when a name is ambiguous, and suggesting
    `/deepnote aliases` when nothing matches.
    """
    text = " ".join(ref.split())
    target = _alias_target(services, text.lower(), team_id)
    if target is not None:
        return target
    try:
        return parse_notebook_ref(ref)
    except UnknownNotebookRef as exc:
        if exc.link or "://" in ref:
            raise  # a link that does not point to a notebook: its own message says so
    known = [(k.id, k.name) for k in services.notebook_names.named(text)]
    if len(known) == 1 and services.catalog.cached() is None:
        return known[0][0]
    found, listing = _listing(services, text, retries)
    if len(found.notebooks) == 1:
        return found.notebooks[0].id
    if found.notebooks:
        raise _ambiguous(text, found)
    if len(known) == 1:
        return known[0][0]  # seen, but not listed: Deepnote's fetch will tell
    if known:
        raise _seen_ambiguous(text, known)
    raise _not_found(services, text, listing, team_id)
