"""A notebook's latest runs, whatever started them: Deepnote's run list plus the bot's rows.

One listing request (GET /v2/notebooks/{id}/runs, newest first); who started each run and
why it failed come from the bot's own store (runs it started, or followed for a watch).
"""

from __future__ import annotations

from bot.deepnote.client import DeepnoteClient
from bot.errors import DeepnoteNotFound, NotebookNotFound
from bot.slack.messages.watches import HistoryEntry
from storage.runs import RunStore


def notebook_history(
    deepnote: DeepnoteClient, store: RunStore, notebook_id: str, *, count: int
) -> tuple[list[HistoryEntry], bool]:
    """The notebook's newest `count` runs, and whether older ones exist."""
    try:
        summaries, token = deepnote.list_notebook_runs_page(notebook_id, page_size=count)
    except DeepnoteNotFound:
        raise NotebookNotFound(notebook_id) from None
    known = store.by_run_ids([s.run_id for s in summaries])
    entries = [
        HistoryEntry(
            run_id=s.run_id,
            status=s.status,
            created_at=s.created_at,
            completed_at=s.completed_at,
            known=known.get(s.run_id),
        )
        for s in summaries[:count]
    ]
    return entries, bool(token)
