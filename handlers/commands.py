"""The `/deepnote` slash command: acknowledge at once, then do the slow work in the background.

The acknowledgement answers help and syntax errors straight away (parsing is pure and
fast); anything that needs Deepnote runs after the acknowledgement, on `services.background`,
and replies through the command's `response_url`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.commands.docs import COMMANDS
from bot.commands.parse import parse_command
from bot.commands.types import (
    AliasCommand,
    AliasesCommand,
    Command,
    HelpCommand,
    InputsCommand,
    RunCommand,
    StatusCommand,
    UnaliasCommand,
)
from bot.deepnote.inputs import describe_input, validate_inputs
from bot.deepnote.models import Notebook
from bot.errors import DeepnoteNotFound, UpstreamError, UserError
from bot.runs.service import Requester
from bot.services import Services
from bot.slack.messages.blocks import Message
from bot.slack.messages.cards import status_reply
from bot.slack.messages.help import error_reply, help_message
from bot.slack.messages.inputs import inputs_listing
from bot.slack.run_form import form_wanted
from handlers.aliases import (
    do_alias,
    do_aliases,
    do_unalias,
    remember_notebook,
    resolve_notebook_id,
)
from handlers.interactions import open_run_form, request_for

log = logging.getLogger(__name__)

INTERNAL_ERROR = (
    "Something went wrong inside the bot and nothing was changed. The error was logged; "
    "try again, and tell the admin who installed the bot if it keeps happening."
)


def supported_names() -> list[str]:
    """The subcommands this version serves, in the order help lists them."""
    served = {NAMES[t] for t in HANDLERS if t in NAMES}
    return [c.name for c in COMMANDS if c.name in served]


def supported_commands() -> list[Any]:
    """The command docs of every subcommand this version serves."""
    names = supported_names()
    return [c for c in COMMANDS if c.name in names]


def help_reply(topic: str | None = None) -> Message:
    """The `/deepnote help` message, or the help of one command."""
    docs = supported_commands()
    if topic:
        chosen = [d for d in docs if d.name == topic.lower().strip()]
        if chosen:
            return help_message(chosen)
    return help_message(docs)


def requester(command: dict[str, Any]) -> Requester:
    """Who typed the command, and where."""
    return Requester(
        user_id=str(command.get("user_id", "")),
        team_id=str(command.get("team_id", "")),
        channel_id=str(command.get("channel_id", "")),
        trigger_id=str(command.get("trigger_id") or "") or None,
    )


def load_notebook(services: Services, ref: str, *, team_id: str | None = None) -> Notebook:
    """The notebook a user named (id, link, the team's alias or a unique notebook name),
    or a UserError that says what to check."""
    notebook_id = resolve_notebook_id(services, ref, team_id=team_id)
    try:
        notebook = services.deepnote.get_notebook(notebook_id)
        remember_notebook(services, notebook)
        return notebook
    except DeepnoteNotFound:
        services.notebook_names.forget(notebook_id)
        raise UserError(
            f"Deepnote has no notebook `{notebook_id}` that the bot's API key can see.",
            hint="Check the id, and that the key's owner has access to the project.",
        ) from None


def do_run(services: Services, who: Requester, cmd: RunCommand) -> Message | None:
    """Validate and start a run; the card in the channel is the answer."""
    notebook = load_notebook(services, cmd.notebook, team_id=who.team_id)
    inputs = validate_inputs(notebook, cmd.inputs, today=services.clock.now().date())
    if cmd.options.block_ids and notebook.blocks:
        known = {b.id for b in notebook.blocks}
        unknown = [b for b in cmd.options.block_ids if b not in known]
        if unknown:
            raise UserError(
                f"*{notebook.name}* has no block {', '.join(f'`{b}`' for b in unknown)}.",
                hint="Copy block ids from Deepnote (block menu > Copy link) or leave out "
                "`--blocks` to run the whole notebook.",
            )
    if form_wanted(form_flag=cmd.form, inputs_given=bool(cmd.inputs), notebook=notebook):
        # The run form, prefilled with any inputs given; it starts the run when submitted.
        request = request_for(who, notebook, cmd.options, inputs=inputs)
        return open_run_form(services, notebook, request, trigger_id=who.trigger_id, values=inputs)
    services.runs.start(who, notebook, inputs, cmd.options)
    return None


def do_inputs(services: Services, cmd: InputsCommand, team_id: str | None = None) -> Message:
    """List a notebook's inputs."""
    notebook = load_notebook(services, cmd.notebook, team_id=team_id)
    return inputs_listing(notebook, describe=describe_input)


def do_status(services: Services, cmd: StatusCommand) -> Message:
    """Show the state of a run the bot started."""
    run = services.store.get(cmd.run_id.strip())
    if run is None:
        raise UserError(
            f"The bot has no run `{cmd.run_id[:80]}`.",
            hint="Use the run id shown on a run's card (only runs started from Slack are known).",
        )
    return status_reply(run, now=services.clock.now())


Handler = Callable[[Services, Requester, Any], "Message | None"]

# Every command this version serves, by its parsed type. Other modules add theirs here.
HANDLERS: dict[type[Any], Handler] = {
    RunCommand: do_run,
    InputsCommand: lambda services, who, cmd: do_inputs(services, cmd, who.team_id),
    StatusCommand: lambda services, who, cmd: do_status(services, cmd),
    HelpCommand: lambda services, who, cmd: help_reply(cmd.topic),
    AliasCommand: do_alias,
    AliasesCommand: lambda services, who, cmd: do_aliases(services, who),
    UnaliasCommand: do_unalias,
}

# The subcommand name of each command type, as help and the README name them.
NAMES: dict[type[Any], str] = {
    RunCommand: "run",
    InputsCommand: "inputs",
    StatusCommand: "status",
    HelpCommand: "help",
    AliasCommand: "alias",
    AliasesCommand: "aliases",
    UnaliasCommand: "unalias",
}


# Commands that change something: each one that succeeds is written to the audit log.
# (Runs are logged where they start, whatever started them.)
AUDITED = frozenset({"schedule", "unschedule", "pause", "resume", "trigger", "alias", "unalias"})


def dispatch(services: Services, who: Requester, cmd: Command) -> Message | None:
    """Carry out a parsed command; return the ephemeral reply, if any."""
    handler = HANDLERS.get(type(cmd))
    if handler is None:
        names = ", ".join(f"`{n}`" for n in supported_names())
        raise UserError(
            "That command is not available in this version of the bot.",
            hint=f"Available: {names}. See `/deepnote help`.",
        )
    if not isinstance(cmd, HelpCommand):
        services.config.access().check_channel(who.channel_id)
    reply = handler(services, who, cmd)
    name = NAMES.get(type(cmd), "")
    if name in AUDITED:
        fields = {k: v for k, v in vars(cmd).items() if v not in (None, (), "")}
        target = str(
            fields.get("notebook") or fields.get("schedule_id") or fields.get("name") or ""
        )
        services.audit.record(
            at=services.clock.now(),
            user_id=who.user_id,
            action=name,
            target=target,
            channel_id=who.channel_id,
            details={
                k: v if isinstance(v, str | int | bool) else repr(v) for k, v in fields.items()
            },
        )
    return reply


def reply_for(exc: Exception) -> Message:
    """The ephemeral reply for an error (never a stack trace)."""
    if isinstance(exc, UserError | UpstreamError):
        return error_reply(exc.user_message)
    return error_reply(INTERNAL_ERROR)


def register(app: App, services: Services) -> None:
    """Attach the `/deepnote` listeners to the Bolt app."""

    def acknowledge(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        try:
            cmd = parse_command(str(command.get("text", "")))
        except UserError as exc:
            msg = error_reply(exc.user_message)
            ack(text=msg.text, blocks=msg.blocks)
            return
        if isinstance(cmd, HelpCommand):
            msg = help_reply(cmd.topic)
            ack(text=msg.text, blocks=msg.blocks)
            return
        ack()
        services.background.submit("command", work, cmd, requester(command), respond)

    def work(cmd: Command, who: Requester, respond: Respond) -> None:
        try:
            msg = dispatch(services, who, cmd)
        except Exception as exc:
            if not isinstance(exc, UserError | UpstreamError):
                log.exception(
                    "command failed", extra={"event": "command_error", "channel": who.channel_id}
                )
            msg = reply_for(exc)
        if msg is not None:
            respond(text=msg.text, blocks=msg.blocks, response_type="ephemeral")

    app.command("/deepnote")(acknowledge)


# Registered last: the schedule handlers import `load_notebook` from this module.
from handlers.audit_commands import AUDIT_HANDLERS, AUDIT_NAMES  # noqa: E402
from handlers.schedule_commands import SCHEDULE_HANDLERS, SCHEDULE_NAMES  # noqa: E402

HANDLERS.update(SCHEDULE_HANDLERS)
NAMES.update(SCHEDULE_NAMES)
HANDLERS.update(AUDIT_HANDLERS)
NAMES.update(AUDIT_NAMES)
