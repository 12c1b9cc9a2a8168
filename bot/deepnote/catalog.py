"""Every notebook the API key can see, found by name: `GET /v2/projects`, cached briefly.

Deepnote lists projects with their notebooks, a page at a time (`nameContains` filters on
project names only, so finding a notebook by its own name means reading every page). The
listing is kept for `CACHE_SECONDS`; a name it does not hold, once it is older than
`REFRESH_ON_MISS_SECONDS`, reads it once more (a notebook made a minute ago can be named).
A key that may not list projects (403) is not asked again for as long.
Each page is one request of the bot's Deepnote budget, like any other; at most `MAX_PAGES`
pages are read. Concurrent lookups share one load.

How a name is matched (`match_notebooks`), the first rule that finds something wins:
1. the notebook's name, ignoring case and extra spaces;
2. `Project / Notebook`, each part matched like a name;
3. a part of the notebook's name.

Searching (`/deepnote find`, the run form's notebook picker: `search_notebooks`) matches a
text anywhere in a notebook's name or its project's name, from the same cached listing (a
notebook's own name is only in the full listing). When the listing was cut short at
`MAX_PAGES`, the projects whose *name* matches are also asked for with `nameContains` (at most
`NAMED_PAGES` pages), so a project beyond the cut is still found by its name.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.deepnote.client import DeepnoteClient
from bot.deepnote.models import ListedNotebook
from bot.deepnote.notebook_ref import UnknownNotebookRef, parse_notebook_ref
from bot.errors import DeepnoteForbidden
from storage.aliases import name_key

log = logging.getLogger(__name__)

CACHE_SECONDS = 300.0
REFRESH_ON_MISS_SECONDS = 30.0
PAGE_SIZE = 100
MAX_PAGES = 50
"""5,000 projects: beyond that a lookup would spend too much of the budget (and time)."""
NAMED_PAGES = 3
"""Pages of `nameContains` results read for a search when the listing was cut short."""

EXACT, PROJECT_AND_NAME, PART = "exact", "project and name", "part"


@dataclass(frozen=True)
class Listing:
    """The notebooks the key could see at `loaded_at`; `complete` is False when cut short."""

    notebooks: tuple[ListedNotebook, ...]
    loaded_at: datetime
    complete: bool = True
    pages: int = 0


@dataclass(frozen=True)
class Matches:
    """The notebooks a name matched, and by which rule (`EXACT`, `PROJECT_AND_NAME`, `PART`)."""

    rule: str | None
    notebooks: tuple[ListedNotebook, ...] = ()


def _notebook_id(raw: str) -> str:
    """Notebook ids as the rest of the bot spells them (32 lowercase hex), when they are ids."""
    try:
        return parse_notebook_ref(raw)
    except UnknownNotebookRef:
        return raw


def match_notebooks(notebooks: Sequence[ListedNotebook], text: str) -> Matches:
    """The notebooks `text` names, by the first rule that finds any (see the module's doc).

    >>> nbs = [ListedNotebook("a", "Sales report", "p1", "Finance"),
    ...        ListedNotebook("b", "Sales report", "p2", "Marketing"),
    ...        ListedNotebook("c", "Churn", "p2", "Marketing")]
    >>> m = match_notebooks(nbs, "sales  REPORT"); m.rule, [n.id for n in m.notebooks]
    ('exact', ['a', 'b'])
    >>> m = match_notebooks(nbs, "marketing / sales report"); m.rule, [n.id for n in m.notebooks]
    ('project and name', ['b'])
    >>> m = match_notebooks(nbs, "chur"); m.rule, [n.id for n in m.notebooks]
    ('part', ['c'])
    >>> match_notebooks(nbs, "forecast").rule is None
    True
    """
    key = name_key(text)
    if not key:
        return Matches(None)
    exact = tuple(n for n in notebooks if name_key(n.name) == key)
    if exact:
        return Matches(EXACT, exact)
    pairs = [(name_key(text[:i]), name_key(text[i + 1 :])) for i, c in enumerate(text) if c == "/"]
    qualified = tuple(
        n
        for n in notebooks
        if any(
            name_key(n.project_name) == project and name_key(n.name) == name
            for project, name in pairs
        )
    )
    if qualified:
        return Matches(PROJECT_AND_NAME, qualified)
    part = tuple(n for n in notebooks if key in name_key(n.name))
    return Matches(PART, part) if part else Matches(None)


def _search_rank(notebook: ListedNotebook, key: str) -> int:
    """How well `key` matches: the notebook's name exactly, at its start, inside it; then the
    project's name exactly, inside it; -1 when it does not match at all."""
    name, project = name_key(notebook.name), name_key(notebook.project_name)
    for rank, hit in enumerate(
        (name == key, name.startswith(key), key in name, project == key, key in project)
    ):
        if hit:
            return rank
    return -1


def search_notebooks(notebooks: Sequence[ListedNotebook], text: str) -> list[ListedNotebook]:
    """The notebooks whose own or project's name contains `text` (case and extra spaces
    ignored), best matches first: the notebook's name before its project's, whole before part.

    >>> nbs = [ListedNotebook("a", "Weekly sales", "p1", "Finance"),
    ...        ListedNotebook("b", "Sales", "p2", "Marketing"),
    ...        ListedNotebook("c", "Churn", "p3", "Sales team"),
    ...        ListedNotebook("d", "Churn", "p4", "Product")]
    >>> [n.id for n in search_notebooks(nbs, "SALES")]
    ['b', 'a', 'c']
    >>> search_notebooks(nbs, "  ")
    []
    """
    key = name_key(text)
    if not key:
        return []
    ranked = [(rank, n) for n in notebooks if (rank := _search_rank(n, key)) >= 0]
    ranked.sort(key=lambda p: (p[0], name_key(p[1].name), name_key(p[1].project_name), p[1].id))
    return [n for _, n in ranked]


@dataclass(frozen=True)
class Found:
    """What a search found (best first) and the listing it searched."""

    notebooks: tuple[ListedNotebook, ...]
    listing: Listing


class NotebookCatalog:
    """The cached listing of the key's notebooks (thread-safe; one load at a time)."""

    def __init__(
        self,
        deepnote: DeepnoteClient,
        clock: Clock,
        *,
        cache_seconds: float = CACHE_SECONDS,
        refresh_on_miss_seconds: float = REFRESH_ON_MISS_SECONDS,
        max_pages: int = MAX_PAGES,
    ) -> None:
        self._deepnote = deepnote
        self._clock = clock
        self._ttl = timedelta(seconds=cache_seconds)
        self._miss_age = timedelta(seconds=refresh_on_miss_seconds)
        self._max_pages = max_pages
        self._listing: Listing | None = None
        self._forbidden: DeepnoteForbidden | None = None
        self._forbidden_at: datetime | None = None
        self._lock = threading.Lock()

    def cached(self) -> Listing | None:
        """The listing when it is fresh enough to answer from, else None (no request)."""
        listing = self._listing
        if listing is None or self._clock.now() - listing.loaded_at >= self._ttl:
            return None
        return listing

    def listing(self, *, max_age: timedelta | None = None, retries: int | None = None) -> Listing:
        """The listing, read again from Deepnote when older than `max_age` (the cache's life)."""
        limit = self._ttl if max_age is None else max_age
        with self._lock:
            now = self._clock.now()
            current = self._listing
            if current is not None and now - current.loaded_at < limit:
                return current
            forbidden, since = self._forbidden, self._forbidden_at
            if forbidden is not None and since is not None and now - since < self._ttl:
                # A key that may not list projects is not asked again for a while.
                raise DeepnoteForbidden(forbidden.message, status=forbidden.status)
            try:
                self._listing = self._load(retries)
            except DeepnoteForbidden as exc:
                # Kept without its traceback (and the frames it holds).
                self._forbidden = DeepnoteForbidden(exc.message, status=exc.status)
                self._forbidden_at = now
                raise
            self._forbidden = self._forbidden_at = None
            return self._listing

    def find(self, text: str, *, retries: int | None = None) -> tuple[Matches, Listing]:
        """The notebooks `text` names and the listing it was matched against; a name the
        listing does not hold reads it again when it is older than the refresh-on-miss age."""
        listing = self.listing(retries=retries)
        found = match_notebooks(listing.notebooks, text)
        if found.rule is None:
            listing = self.listing(max_age=self._miss_age, retries=retries)
            found = match_notebooks(listing.notebooks, text)
        return found, listing

    def search(self, text: str, *, refresh: bool = False, retries: int | None = None) -> Found:
        """The notebooks whose own or project's name contains `text`, best first.

        `refresh` reads the listing again unless it is younger than the refresh-on-miss age
        (so pressing *Refresh* repeatedly cannot spend the request budget on the same pages).
        """
        max_age = self._miss_age if refresh else None
        listing = self.listing(max_age=max_age, retries=retries)
        found = search_notebooks(listing.notebooks, text)
        if not listing.complete:
            known = {n.id for n in found}
            extra = [n for n in self.named_projects(text, retries=retries) if n.id not in known]
            found = search_notebooks([*found, *extra], text)
        return Found(tuple(found), listing)

    def named_projects(
        self, text: str, *, pages: int = NAMED_PAGES, retries: int | None = None
    ) -> list[ListedNotebook]:
        """The notebooks of projects whose name contains `text` (`nameContains`, at most
        `pages` pages): what Deepnote can filter itself, without the whole listing."""
        notebooks: list[ListedNotebook] = []
        token: str | None = None
        for _ in range(pages):
            projects, token = self._deepnote.list_projects_page(
                page_size=PAGE_SIZE, page_token=token, name_contains=text, retries=retries
            )
            notebooks += [
                ListedNotebook(_notebook_id(n.id), n.name, n.project_id, n.project_name)
                for project in projects
                for n in project.notebooks
            ]
            if token is None:
                break
        return notebooks

    def forget(self, notebook_id: str) -> None:
        """Drop a notebook Deepnote no longer has from the cached listing."""
        with self._lock:
            listing = self._listing
            if listing is not None:
                kept = tuple(n for n in listing.notebooks if n.id != notebook_id)
                self._listing = Listing(kept, listing.loaded_at, listing.complete, listing.pages)

    def _load(self, retries: int | None) -> Listing:
        """Read every page of GET /v2/projects (at most `max_pages`)."""
        started = self._clock.now()
        notebooks: list[ListedNotebook] = []
        token: str | None = None
        pages = 0
        while True:
            projects, token = self._deepnote.list_projects_page(
                page_size=PAGE_SIZE, page_token=token, retries=retries
            )
            pages += 1
            for project in projects:
                notebooks += [
                    ListedNotebook(_notebook_id(n.id), n.name, n.project_id, n.project_name)
                    for n in project.notebooks
                ]
            if token is None or pages >= self._max_pages:
                break
        complete = token is None
        log.info(
            "notebooks listed",
            extra={
                "event": "notebooks_listed",
                "count": len(notebooks),
                "pages": pages,
                "complete": complete,
            },
        )
        return Listing(tuple(notebooks), started, complete, pages)
