"""The watch subcommands: `watch`, `watches`, `unwatch`, and a notebook's `history`.

Thin handlers, as for schedules: `WatchService` checks, stores and announces. A new watch
and a stopped one are announced in the channel; listings are shown to the person alone.
"""

from __future__ import annotations

from bot.commands.types import (
    HISTORY_MAX,
    HistoryCommand,
    UnwatchCommand,
    WatchCommand,
    WatchesCommand,
)
from bot.runs.history import notebook_history
from bot.runs.service import Requester
from bot.services import Services
from bot.slack.messages.blocks import Message
from bot.slack.messages.help import info_reply
from bot.slack.messages.watches import history_listing, watch_deleted, watches_listing
from bot.text.mrkdwn import code
from handlers.notebooks import load_notebook


def do_watch(services: Services, who: Requester, cmd: WatchCommand) -> Message | None:
    """Start watching a notebook; its notice in the channel is the answer."""
    notebook = load_notebook(services, cmd.notebook, team_id=who.team_id)
    services.watches.create(who, notebook, notify=cmd.notify, notify_if=cmd.notify_if)
    return None


def do_watches(services: Services, who: Requester, cmd: WatchesCommand) -> Message:
    """List this channel's watches (only to the person asking)."""
    return watches_listing(services.watches.listing(who))


def do_unwatch(services: Services, who: Requester, cmd: UnwatchCommand) -> Message | None:
    """Stop a watch (owner or admin); shown to the person when the channel could not be told."""
    change = services.watches.delete(who, cmd.watch_id)
    if not change.announced:
        return watch_deleted(change.watch, actor=change.actor)
    if who.channel_id != change.watch.channel_id:
        return info_reply(
            f"Stopped watch {code(str(change.watch.id))}; the bot said so in "
            f"<#{change.watch.channel_id}>."
        )
    return None  # the channel's notice is the answer


def do_history(services: Services, who: Requester, cmd: HistoryCommand) -> Message:
    """A notebook's latest runs and success rate (only to the person asking)."""
    notebook = load_notebook(services, cmd.notebook, team_id=who.team_id)
    services.runs.access.check_notebook(
        who.channel_id, notebook.id, notebook.name, use="have its runs shown in"
    )
    entries, more = notebook_history(
        services.deepnote, services.store, notebook.id, count=cmd.count
    )
    return history_listing(notebook.name, entries, more=more, most=HISTORY_MAX)
