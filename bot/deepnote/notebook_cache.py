"""Notebooks read from Deepnote (`GET /v2/notebooks/{id}`), kept briefly.

Every command that names a notebook checks its inputs against the notebook, so a busy team
would read the same notebook again and again. A read is kept for `CACHE_SECONDS`; a check it
fails (an input or option the cached copy does not have) reads it once more before refusing
(see `handlers.notebooks.load_checked`), so a notebook changed in Deepnote a moment ago works.
At most `MAX_ENTRIES` notebooks are kept; the oldest read goes first.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.deepnote.client import DeepnoteClient
from bot.deepnote.models import Notebook

CACHE_SECONDS = 60.0
MAX_ENTRIES = 1000


class NotebookCache:
    """Notebooks by id, each as Deepnote answered it at most `seconds` ago."""

    def __init__(
        self, client: DeepnoteClient, clock: Clock, seconds: float = CACHE_SECONDS
    ) -> None:
        self._client = client
        self._clock = clock
        self._lifetime = timedelta(seconds=seconds)
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[Notebook, datetime]] = {}

    def get(
        self, notebook_id: str, *, retries: int | None = None, fresh: bool = False
    ) -> tuple[Notebook, bool]:
        """The notebook, and whether it came from the cache (False: read from Deepnote now).

        `fresh` reads it from Deepnote whatever the cache holds. Deepnote's errors propagate.
        """
        now = self._clock.now()
        if not fresh:
            with self._lock:
                entry = self._entries.get(notebook_id)
            if entry is not None and now - entry[1] < self._lifetime:
                return entry[0], True
        notebook = self._client.get_notebook(notebook_id, retries=retries)
        with self._lock:
            self._entries.pop(notebook_id, None)  # re-inserted last: the newest read
            self._entries[notebook_id] = (notebook, now)
            while len(self._entries) > MAX_ENTRIES:
                del self._entries[next(iter(self._entries))]
        return notebook, False

    def forget(self, notebook_id: str) -> None:
        """Drop the notebook (Deepnote said it is gone)."""
        with self._lock:
            self._entries.pop(notebook_id, None)
