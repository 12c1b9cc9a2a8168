"""`/deepnote find <text>`: the notebooks whose own or project's name contains the text.

The search reads the cached listing of every notebook the key can see
(`bot.deepnote.catalog`); notebooks that may not be run in the channel are left out (and
counted). The answer's buttons are handled in handlers/finder.py.
"""

from __future__ import annotations

from bot.access import AccessDenied
from bot.commands.types import FindCommand
from bot.runs.service import Requester
from bot.services import Services
from bot.slack.messages.blocks import Message
from bot.slack.messages.find import PAGE_SIZE, find_results
from bot.slack.messages.help import info_reply
from bot.slack.messages.inputs import example_command
from bot.text.mrkdwn import code_block, escape, truncate
from handlers.notebooks import fetch_notebook

SCHEDULE_WHEN = "every weekday at 9am"


def may_run(services: Services, channel_id: str, notebook_id: str) -> bool:
    """Whether NOTEBOOK_ACCESS lets this notebook be run from this channel."""
    try:
        services.runs.access.check_notebook(channel_id, notebook_id, notebook_id)
    except AccessDenied:
        return False
    return True


def find_page(
    services: Services, who: Requester, text: str, *, start: int = 0, refresh: bool = False
) -> Message:
    """One page of the notebooks matching `text` that may be run in the person's channel."""
    found = services.catalog.search(text, refresh=refresh)
    allowed = [n for n in found.notebooks if may_run(services, who.channel_id, n.id)]
    start = min(start, max(0, len(allowed) - 1) // PAGE_SIZE * PAGE_SIZE)
    age = (services.clock.now() - found.listing.loaded_at).total_seconds()
    return find_results(
        text,
        allowed[start : start + PAGE_SIZE],
        start=start,
        total=len(allowed),
        age_seconds=max(0.0, age),
        hidden=len(found.notebooks) - len(allowed),
        incomplete=not found.listing.complete,
    )


def do_find(services: Services, who: Requester, cmd: FindCommand) -> Message:
    """`/deepnote find <text>`: the first page of matching notebooks."""
    return find_page(services, who, cmd.text)


def schedule_offer(services: Services, who: Requester, notebook_id: str) -> Message:
    """The `schedule` command for a notebook, filled in with its current inputs, to edit."""
    notebook = fetch_notebook(services, notebook_id)
    services.runs.access.check_notebook(
        who.channel_id, notebook.id, notebook.name, use="be scheduled in"
    )
    run = example_command(notebook)
    inputs = run[len(f"/deepnote run {notebook.id}") :]
    command = f"/deepnote schedule {notebook.id} {SCHEDULE_WHEN}{inputs}"
    name = escape(truncate(notebook.name or notebook.id, 150))
    return info_reply(
        f"To run *{name}* on a schedule in this channel, send this command with the time and "
        "inputs you want (e.g. `every monday at 8:30`, or a crontab in quotes; "
        "`/deepnote help schedule` lists the options):\n" + code_block(command, limit=2500)
    )
