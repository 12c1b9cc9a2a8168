"""Which handler serves each parsed command: the one table, built here from the per-command
modules, and `dispatch`, which slash commands and mentions both go through."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from bot.commands import types
from bot.commands.docs import COMMANDS, GROUPS, CommandDoc
from bot.errors import UserError
from bot.runs.service import Requester
from bot.services import Services
from bot.slack.messages.blocks import Message
from bot.slack.messages.help import command_help, help_overview
from handlers import (
    aliases,
    audit_commands,
    find_command,
    run_commands,
    schedule_commands,
    watch_commands,
)

Handler = Callable[[Services, Requester, Any], "Message | None"]


class Route(NamedTuple):
    """A subcommand's name (as help and the README call it) and its handler."""

    name: str
    handler: Handler


def do_help(services: Services, who: Requester, cmd: types.HelpCommand) -> Message:
    """`/deepnote help [command]`."""
    return help_reply(cmd.topic)


ROUTES: Mapping[type[Any], Route] = MappingProxyType(
    {
        types.RunCommand: Route("run", run_commands.do_run),
        types.FindCommand: Route("find", find_command.do_find),
        types.InputsCommand: Route("inputs", run_commands.do_inputs),
        types.StatusCommand: Route("status", run_commands.do_status),
        types.HelpCommand: Route("help", do_help),
        types.AliasCommand: Route("alias", aliases.do_alias),
        types.AliasesCommand: Route("aliases", aliases.do_aliases),
        types.UnaliasCommand: Route("unalias", aliases.do_unalias),
        types.ScheduleCommand: Route("schedule", schedule_commands.do_schedule),
        types.SchedulesCommand: Route("schedules", schedule_commands.do_schedules),
        types.UnscheduleCommand: Route("unschedule", schedule_commands.do_unschedule),
        types.PauseCommand: Route("pause", schedule_commands.do_pause),
        types.ResumeCommand: Route("resume", schedule_commands.do_resume),
        types.TriggerCommand: Route("trigger", schedule_commands.do_trigger),
        types.EditCommand: Route("edit", schedule_commands.do_edit),
        types.AuditCommand: Route("audit", audit_commands.do_audit),
        types.WatchCommand: Route("watch", watch_commands.do_watch),
        types.WatchesCommand: Route("watches", watch_commands.do_watches),
        types.UnwatchCommand: Route("unwatch", watch_commands.do_unwatch),
        types.HistoryCommand: Route("history", watch_commands.do_history),
    }
)
"""Every command this version serves, by its parsed type."""

# Commands that change something (a restart does not repeat one that had begun). Each change
# writes its one audit entry where it is made: the schedule service, the run starter (runs,
# `trigger` included) and the alias handlers, so Home buttons are logged the same way.
CHANGES = frozenset(
    {
        "schedule",
        "unschedule",
        "pause",
        "resume",
        "trigger",
        "edit",
        "alias",
        "unalias",
        "watch",
        "unwatch",
    }
)


def changes_something(cmd: types.Command) -> bool:
    """Whether carrying out `cmd` changes something (other than starting a run of its own)."""
    route = ROUTES.get(type(cmd))
    return route is not None and route.name in CHANGES


def supported_names() -> list[str]:
    """The subcommands this version serves, in the order help lists them."""
    served = {route.name for route in ROUTES.values()}
    return [c.name for c in COMMANDS if c.name in served]


def supported_commands() -> list[CommandDoc]:
    """The command docs of every subcommand this version serves."""
    names = supported_names()
    return [c for c in COMMANDS if c.name in names]


def help_reply(topic: str | None = None) -> Message:
    """The compact `/deepnote help` overview, or the details of one command."""
    docs = supported_commands()
    if topic:
        chosen = [d for d in docs if d.name == topic.lower().strip()]
        if chosen:
            return command_help(chosen[0])
    return help_overview(docs, GROUPS)


def dispatch(services: Services, who: Requester, cmd: types.Command) -> Message | None:
    """Carry out a parsed command; return the ephemeral reply, if any."""
    route = ROUTES.get(type(cmd))
    if route is None:
        names = ", ".join(f"`{n}`" for n in supported_names())
        raise UserError(
            "That command is not available in this version of the bot.",
            hint=f"Available: {names}. See `/deepnote help`.",
        )
    if not isinstance(cmd, types.HelpCommand):
        services.config.access().check_channel(who.channel_id)
    return route.handler(services, who, cmd)
