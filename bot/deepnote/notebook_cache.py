"""Notebooks read from Deepnote (`GET /v2/notebooks/{id}`), kept briefly.

Every command that names a notebook checks its inputs against the notebook, so a busy team
would read the same notebook again and again. A read is kept for `CACHE_SECONDS`; a check it
fails (an input or option the cached copy does not have) reads it once more before refusing
(see `handlers.notebooks.load_checked`), so a notebook changed in Deepnote a moment ago works.
At most `MAX_ENTRIES` notebooks are kept; the oldest read goes first. Commands naming the same
notebook at the same moment wait for one read instead of each making its own.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.deepnote.client import DeepnoteClient
from bot.deepnote.models import Notebook

CACHE_SECONDS = 60.0
MAX_ENTRIES = 1000
# Reads of one notebook are made one at a time; notebooks share these locks by hash.
READ_LOCKS = 64


class NotebookCache:
    """Notebooks by id, each as Deepnote answered it at most `seconds` ago."""

    def __init__(
        self, client: DeepnoteClient, clock: Clock, seconds: float = CACHE_SECONDS
    ) -> None:
        self._client = client
        self._clock = clock
        self._lifetime = timedelta(seconds=seconds)
        self._lock = threading.Lock()
        # Each notebook with when its read began, and that read's number (see `get`).
        self._entries: dict[str, tuple[Notebook, datetime, int]] = {}
        self._reads_begun = 0
        self._reads = [threading.Lock() for _ in range(READ_LOCKS)]

    def get(
        self, notebook_id: str, *, retries: int | None = None, fresh: bool = False
    ) -> tuple[Notebook, bool]:
        """The notebook, and whether it came from the cache (False: read from Deepnote now).

        `fresh` wants a copy read after this call began: the cached one will not do, but a
        read another thread began meanwhile will. Deepnote's errors propagate.
        """
        with self._lock:
            begun = self._reads_begun
        if not fresh:
            cached = self._entry(notebook_id)
            if cached is not None:
                return cached, True
        with self._reads[hash(notebook_id) % READ_LOCKS]:
            # Another call may have read it while this one waited for the lock.
            cached = self._entry(notebook_id, after=begun if fresh else None)
            if cached is not None:
                return cached, not fresh
            now = self._clock.now()
            with self._lock:
                self._reads_begun += 1
                number = self._reads_begun
            notebook = self._client.get_notebook(notebook_id, retries=retries)
            with self._lock:
                self._entries.pop(notebook_id, None)  # re-inserted last: the newest read
                self._entries[notebook_id] = (notebook, now, number)
                while len(self._entries) > MAX_ENTRIES:
                    del self._entries[next(iter(self._entries))]
        return notebook, False

    def _entry(self, notebook_id: str, *, after: int | None = None) -> Notebook | None:
        """The cached notebook: read less than the lifetime ago, or (with `after`) by a read
        begun after that many reads had begun."""
        with self._lock:
            entry = self._entries.get(notebook_id)
        if entry is None:
            return None
        notebook, read_at, number = entry
        if after is not None:
            return notebook if number > after else None
        return notebook if self._clock.now() - read_at < self._lifetime else None

    def forget(self, notebook_id: str) -> None:
        """Drop the notebook (Deepnote said it is gone)."""
        with self._lock:
            self._entries.pop(notebook_id, None)
