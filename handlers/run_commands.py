"""The notebook subcommands: `run`, `inputs` and `status`."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.commands.types import InputsCommand, RunCommand, StatusCommand
from bot.deepnote.condition_names import check_condition
from bot.deepnote.inputs import NOTHING_STARTED, describe_input, validate_inputs
from bot.deepnote.models import Notebook
from bot.deepnote.output_names import check_post_outputs
from bot.errors import UserError
from bot.runs.service import Requester
from bot.services import Services
from bot.slack.messages.blocks import Message
from bot.slack.messages.cards import status_reply
from bot.slack.messages.inputs import inputs_listing
from bot.slack.run_form import FormRequest, form_wanted
from bot.text.mrkdwn import Markup, code, fill
from handlers.forms import open_run_form, request_for
from handlers.notebooks import load_checked, load_notebook
from handlers.picker import open_picker


def _check_blocks(notebook: Notebook, block_ids: tuple[str, ...]) -> None:
    """Refuse `--blocks` that name no block of the notebook."""
    if not block_ids or not notebook.blocks:
        return
    known = {b.id for b in notebook.blocks}
    unknown = [b for b in block_ids if b not in known]
    if unknown:
        raise UserError(
            fill(
                "*{name}* has no block {blocks}.",
                name=notebook.name,
                blocks=Markup(", ".join(code(b, limit=60) for b in unknown[:10])),
            ),
            hint="Copy block ids from Deepnote (block menu > Copy link) or leave out "
            "`--blocks` to run the whole notebook.",
        )


def do_run(services: Services, who: Requester, cmd: RunCommand) -> Message | None:
    """Validate and start a run; the card in the channel is the answer."""

    def check(notebook: Notebook) -> dict[str, Any]:
        inputs = validate_inputs(notebook, cmd.inputs, today=services.clock.now().date())
        _check_blocks(notebook, cmd.options.block_ids)
        check_post_outputs(
            notebook,
            cmd.options.post_outputs,
            read_block=services.deepnote.get_block,
            refused=NOTHING_STARTED,
        )
        if cmd.options.notify_if is not None:
            check_condition(
                notebook,
                cmd.options.notify_if,
                read_block=services.deepnote.get_block,
                refused=NOTHING_STARTED,
            )
        return inputs

    if not cmd.notebook:  # a bare `run`: the form opens with a notebook picker
        request = FormRequest("", who.team_id, who.user_id, who.channel_id, who.thread_ts)
        open_picker(services, who, replace(request, options=cmd.options))
        return None
    # A refusal by a cached copy of the notebook is checked against Deepnote's current one.
    notebook, inputs = load_checked(services, cmd.notebook, check, team_id=who.team_id)
    wanted = form_wanted(form_flag=cmd.form, inputs_given=bool(cmd.inputs), notebook=notebook)
    if wanted and not cmd.as_is:
        # The run form, prefilled with any inputs given; it starts the run when submitted.
        request = request_for(who, notebook, cmd.options, inputs=inputs)
        return open_run_form(services, notebook, request, trigger_id=who.trigger_id, values=inputs)
    services.runs.start(who, notebook, inputs, cmd.options)
    return None


def do_inputs(services: Services, who: Requester, cmd: InputsCommand) -> Message:
    """List a notebook's inputs, where the notebook may be run (the rules of `run`)."""
    notebook = load_notebook(services, cmd.notebook, team_id=who.team_id)
    services.runs.access.check_notebook(
        who.channel_id, notebook.id, notebook.name, use="have its inputs listed in"
    )
    return inputs_listing(notebook, describe=describe_input)


def do_status(services: Services, who: Requester, cmd: StatusCommand) -> Message:
    """Show the state of a run the bot started, where its notebook may be run (inputs are
    shown, so the rules of `run` apply: a restricted notebook's runs stay in its channels)."""
    run = services.store.get(cmd.run_id.strip())
    if run is None:
        raise UserError(
            fill("The bot has no run {run}.", run=code(cmd.run_id, limit=80)),
            hint="Use the run id shown on a run's card (only runs started from Slack are known).",
        )
    services.runs.access.check_notebook(
        who.channel_id, run.notebook_id, run.notebook_name, use="have its runs shown in"
    )
    return status_reply(run, now=services.clock.now())
