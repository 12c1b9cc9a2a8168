"""The answer to `/deepnote find <text>`: a page of matching notebooks, each with buttons.

Each result shows the notebook's name, its project and its id, and the buttons *Run*,
*Inputs*, *Schedule…* and *Alias…* (their value is the notebook's id). Below the page:
*More* (the next page) and *Refresh* (read Deepnote's listing again), whose value carries the
search text and where the page starts. Every name comes from Deepnote and is escaped.

>>> from datetime import UTC, datetime
>>> nb = ListedNotebook("ab" * 16, "Sales <report>", "p", "Finance")
>>> msg = find_results("sales", [nb], start=0, total=1, age_seconds=5.0)
>>> msg.blocks[1]["text"]["text"].splitlines()[0]
'*Sales &lt;report&gt;*'
>>> [b["action_id"] for b in msg.blocks[2]["elements"]]
['find_run', 'find_inputs', 'find_schedule', 'find_alias']
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.deepnote.models import ListedNotebook
from bot.slack.messages.blocks import (
    Block,
    Message,
    actions,
    button,
    context,
    make_message,
    section,
)
from bot.text.mrkdwn import code, escape, truncate

PAGE_SIZE = 10
"""Results per page: two blocks each, well inside Slack's 50 blocks per message."""
TEXT_CHARS = 100
"""The longest search text (`FIND_CHARS` of the parser): a longer one in a button is not ours."""

FIND_RUN = "find_run"
FIND_INPUTS = "find_inputs"
FIND_SCHEDULE = "find_schedule"
FIND_ALIAS = "find_alias"
FIND_MORE = "find_more"
FIND_REFRESH = "find_refresh"


def page_value(text: str, start: int) -> str:
    """The value of *More* and *Refresh*: the search text and the first result to show.

    >>> read_page_value(page_value("sales", 10))
    ('sales', 10)
    """
    return json.dumps({"q": text, "o": start}, ensure_ascii=False, separators=(",", ":"))


def read_page_value(value: str) -> tuple[str, int] | None:
    """The search text and start in a *More*/*Refresh* value; None when it is not one."""
    try:
        data: Any = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    text, start = data.get("q"), data.get("o")
    if not isinstance(text, str) or not isinstance(start, int) or isinstance(start, bool):
        return None
    fits = 0 < len(text.strip()) <= TEXT_CHARS and 0 <= start <= 100_000
    return (text, start) if fits else None


def _age(seconds: float) -> str:
    """How old the listing is, in words.

    >>> _age(3), _age(61), _age(3600)
    ('just now', '1 min ago', '60 min ago')
    """
    return "just now" if seconds < 60 else f"{int(seconds // 60)} min ago"


def _result(notebook: ListedNotebook) -> list[Block]:
    """One result: what it is, then its buttons."""
    name = escape(truncate(notebook.name or notebook.id, 150))
    project = escape(truncate(notebook.project_name or notebook.project_id, 150))
    text = f"*{name}*\nProject: {project} · {code(notebook.id, limit=40)}"
    block = section(text)
    buttons = actions(
        [
            button("Run", FIND_RUN, value=notebook.id),
            button("Inputs", FIND_INPUTS, value=notebook.id),
            button("Schedule…", FIND_SCHEDULE, value=notebook.id),
            button("Alias…", FIND_ALIAS, value=notebook.id),
        ]
    )
    buttons["block_id"] = f"find:{notebook.id}"[:255]
    return [block, buttons]


def find_results(
    text: str,
    page: Sequence[ListedNotebook],
    *,
    start: int,
    total: int,
    age_seconds: float,
    hidden: int = 0,
    incomplete: bool = False,
) -> Message:
    """A page of results (`page` starts at result `start` of `total`)."""
    shown = code(text, limit=120)
    if total == 0:
        lead = f"No notebook or project name contains {shown}."
    else:
        end = start + len(page)
        which = f"{start + 1}–{end} of {total}" if total > len(page) else f"{total}"
        lead = f"*Notebooks matching {shown}* ({which})"
    notes = [f"Deepnote's list of notebooks, read {_age(age_seconds)}."]
    if hidden:
        notes.append(f"{hidden} more may not be run in this channel, so they are not shown.")
    if incomplete:
        notes.append("The key sees more projects than the bot lists; notebook names beyond them")
        notes[-1] += " are not searched (project names are)."
    if total == 0:
        notes.append("Try a shorter part of the name, or *Refresh* for notebooks made just now.")
    blocks: list[Block] = [section(lead)]
    for notebook in page:
        blocks += _result(notebook)
    blocks.append(context([" ".join(notes)]))
    paging = []
    if start + len(page) < total:
        paging.append(button(f"More ({total - start - len(page)})", FIND_MORE))
        paging[-1]["value"] = page_value(text, start + len(page))
    paging.append(button("Refresh", FIND_REFRESH, value=page_value(text, 0)))
    blocks.append(actions(paging))
    count = "no notebooks" if total == 0 else f"{total} notebook(s)"
    return make_message(f"Find {escape(truncate(text, 120))}: {count}", blocks)
